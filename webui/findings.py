"""Finding pages: the list, one finding (figures, quotes, supporting segments, sign-off), sign-off and edits.

Views stay thin: reads come from ``webui.finding_queries``, every write goes through
``coproduce.services.signoff`` or ``coproduce.services.findings`` and is committed here once.
A stale form (the finding changed since the page was loaded) gets an error summary naming who
changed it first, and nothing is overwritten.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from coproduce.errors import BadInputError
from coproduce.services import access
from coproduce.services import figures as fig
from coproduce.services.audit import Actor
from coproduce.services.findings import FindingConflictError, edit_statement, set_you_said_we_did
from coproduce.services.signoff import DECISION_LABELS, my_signature, rule_of, set_rule, sign, signoff_state
from coproduce.store.models import FINDING_KINDS, FINDING_STATUSES, PANEL_ROLES, Finding, Project
from webui import finding_queries as fq
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("findings", __name__, url_prefix="/projects/<slug>/findings")

STATUS_TAG_CLASSES = {
    "draft": "govuk-tag--grey",
    "in_review": "govuk-tag--blue",
    "signed_off": "govuk-tag--green",
    "reopened": "govuk-tag--orange",
}


@bp.app_template_filter("finding_status")
def finding_status_label(status: str) -> str:
    return fq.STATUS_LABELS.get(status, status)


@bp.app_template_filter("finding_status_class")
def finding_status_class(status: str) -> str:
    return STATUS_TAG_CLASSES.get(status, "")


@bp.app_template_filter("decision")
def decision_label(decision: str) -> str:
    return DECISION_LABELS.get(decision, decision)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _can() -> dict[str, bool]:
    grants = g.grants
    return {
        "sign": access.decide("findings.sign", grants) is access.Decision.ALLOW,
        "edit": access.decide("findings.edit", grants) is access.Decision.ALLOW,
        "rule": access.decide("findings.rule", grants) is access.Decision.ALLOW,
        "see_original": access.can_see_original_text(grants),
    }


@bp.get("/")
@project_page
def index(project: Project) -> ResponseReturnValue:
    filters = fq.Filters(
        question=_int_arg("question"),
        standard=request.args.get("standard") or None,
        code=request.args.get("code") or None,
        theme=_int_arg("theme"),
        kind=request.args.get("kind") if request.args.get("kind") in FINDING_KINDS else None,
        status=request.args.get("status") if request.args.get("status") in FINDING_STATUSES else None,
    )
    look, rows = fq.findings(get_session(), project, filters)
    by_question = {
        q.number: [r for r in rows if r.question_number == q.number and r.finding.kind != "standard"]
        for q in look.questions.values()
    }
    return render_template(
        "findings/index.html",
        project=project,
        look=look,
        filters=filters,
        rows=rows,
        by_question=by_question,
        by_standard=[r for r in rows if r.finding.kind == "standard"],
        across=[r for r in rows if r.finding.kind == "emerging_theme" and r.question_number is None],
        selects=_filter_selects(look, filters),
    )


def _select(name: str, label: str, pairs: list[tuple[Any, str]], selected: Any, any_text: str) -> dict[str, Any]:
    items = [{"value": "", "text": any_text}]
    items += [
        {"value": str(v), "text": t, "selected": selected is not None and str(v) == str(selected)} for v, t in pairs
    ]
    return {"id": name, "name": name, "label": {"text": label}, "items": items}


def _filter_selects(look: fq.Lookups, filters: fq.Filters) -> list[dict[str, Any]]:
    questions = sorted(look.questions.values(), key=lambda q: q.number)
    return [
        _select(
            "question",
            "Question",
            [(q.number, f"Question {q.number}") for q in questions],
            filters.question,
            "Any question",
        ),
        _select(
            "standard",
            "National standard",
            [(s.key, s.label) for s in look.standards.values()],
            filters.standard,
            "Any standard",
        ),
        _select("code", "Code", [(c.key, c.label) for c in look.codes.values()], filters.code, "Any code"),
        _select("theme", "Theme", [(t.id, t.label) for t in look.themes.values()], filters.theme, "Any theme"),
        _select("kind", "Kind of finding", list(fq.KIND_LABELS.items()), filters.kind, "Any kind"),
        _select("status", "Sign-off status", list(fq.STATUS_LABELS.items()), filters.status, "Any status"),
    ]


def _load(project: Project, finding_id: int) -> Finding:
    found = fq.finding(get_session(), project, finding_id)
    if found is None:
        abort(404)
    return found


def _detail(
    project: Project, finding: Finding, *, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None
) -> str:
    db = get_session()
    look = fq.Lookups(db, project)
    row = look.row(finding)
    figures = dict(finding.figures or {})
    respondent_type = request.args.get("respondent_type") or None
    stance = request.args.get("stance") or None
    page = fq.supporting_segments(
        db,
        finding,
        respondent_type,
        stance,
        page=request.args.get("page", 1, type=int) or 1,
        size=current_app.config["PAGE_SIZE"],
    )
    types, stances = fq.segment_facets(db, finding)
    mine = my_signature(db, finding, current_user.user)
    return render_template(
        "findings/detail.html",
        project=project,
        finding=finding,
        row=row,
        look=look,
        figures=figures,
        total=fig.total(figures),
        without=fig.without_campaigns(figures),
        by_type=fig.by_type(figures),
        split=fig.stance_split(figures.get("stance") or {}),
        quotes=list(figures.get("quotes") or []),
        page=page,
        segment_filters={"respondent_type": respondent_type, "stance": stance},
        segment_args={k: v for k, v in {"respondent_type": respondent_type, "stance": stance}.items() if v},
        types=types,
        stances=stances,
        state=signoff_state(db, finding),
        mine=mine,
        can=_can(),
        errors=errors or {},
        form=form or {},
        panel_roles=PANEL_ROLES,
    )


@bp.get("/<int:finding_id>")
@project_page
def detail(project: Project, finding_id: int) -> ResponseReturnValue:
    return _detail(project, _load(project, finding_id))


def _expected_version() -> int | None:
    value = request.form.get("expected_version", "").strip()
    return int(value) if value.isdigit() else None


def _refused(project: Project, finding: Finding, error: BadInputError, form: dict[str, Any]) -> ResponseReturnValue:
    get_session().rollback()
    finding = _load(project, finding.id)  # fresh from the database: the page shows the current version
    status = 409 if isinstance(error, FindingConflictError) else 400
    message = error.message if status == 409 else error.message[:1].upper() + error.message[1:]
    if error.hint:
        message += f". {error.hint}"
    return _detail(project, finding, errors={error.field or "form": message}, form=form), status


def _stale(project: Project, finding: Finding, form: dict[str, Any]) -> ResponseReturnValue:
    error = FindingConflictError(
        "Someone else changed this finding while you were saving. Your change has not been saved",
        field="expected_version",
        hint="Check the page, then try again",
    )
    return _refused(project, finding, error, form)


@bp.post("/<int:finding_id>/sign", endpoint="sign")
@project_page
def sign_finding(project: Project, finding_id: int) -> ResponseReturnValue:
    finding = _load(project, finding_id)
    db = get_session()
    form = {"decision": request.form.get("decision", ""), "comment": request.form.get("comment", "")}
    user = current_user.user
    try:
        sign(db, Actor.of(user), user, finding, form["decision"], form["comment"], _expected_version())
        db.commit()
    except BadInputError as error:
        return _refused(project, finding, error, form)
    except StaleDataError:
        return _stale(project, finding, form)
    flash(f"Your decision is recorded: {DECISION_LABELS[form['decision']].lower()}.", "success")
    return redirect(url_for("findings.detail", slug=project.slug, finding_id=finding.id) + "#sign-off")


@bp.post("/<int:finding_id>/statement")
@project_page
def edit(project: Project, finding_id: int) -> ResponseReturnValue:
    finding = _load(project, finding_id)
    db = get_session()
    form = {"statement": request.form.get("statement", "")}
    try:
        changed = edit_statement(db, Actor.of(current_user.user), finding, form["statement"], _expected_version())
        db.commit()
    except BadInputError as error:
        return _refused(project, finding, error, form)
    except StaleDataError:
        return _stale(project, finding, form)
    flash("The statement is saved." if changed else "The statement was already that; nothing changed.", "success")
    return redirect(url_for("findings.detail", slug=project.slug, finding_id=finding.id))


@bp.post("/<int:finding_id>/you-said-we-did")
@project_page
def you_said_we_did(project: Project, finding_id: int) -> ResponseReturnValue:
    finding = _load(project, finding_id)
    db = get_session()
    form = {"you_said_we_did": request.form.get("you_said_we_did", "")}
    try:
        changed = set_you_said_we_did(
            db, Actor.of(current_user.user), finding, form["you_said_we_did"], _expected_version()
        )
        db.commit()
    except BadInputError as error:
        return _refused(project, finding, error, form)
    except StaleDataError:
        return _stale(project, finding, form)
    flash("“You said, we did” is saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("findings.detail", slug=project.slug, finding_id=finding.id) + "#you-said-we-did-heading")


# ---------------------------------------------------------------- the sign-off rule (admins)


def _rule_page(project: Project, values: dict[str, str], errors: dict[str, str]) -> str:
    return render_template("findings/rule.html", project=project, values=values, errors=errors, panel_roles=PANEL_ROLES)


@bp.get("/sign-off-rule")
@project_page
def rule(project: Project) -> ResponseReturnValue:
    needed = rule_of(project)
    return _rule_page(project, {role: str(needed.get(role, 0)) for role in PANEL_ROLES}, {})


@bp.post("/sign-off-rule")
@project_page
def rule_update(project: Project) -> ResponseReturnValue:
    values = {role: request.form.get(f"require_{role}", "").strip() for role in PANEL_ROLES}
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for role, value in values.items():
        if not value.isdigit():
            errors[f"require_{role}"] = "Enter a whole number, 0 or more"
        else:
            numbers[role] = int(value)
    db = get_session()
    if not errors:
        try:
            changed = set_rule(db, Actor.of(current_user.user), project, {"require_roles": numbers})
            db.commit()
        except BadInputError as error:
            db.rollback()
            errors[error.field or "require_parent_carer"] = error.message[:1].upper() + error.message[1:]
        else:
            flash(f"The sign-off rule is saved. {len(changed)} finding(s) changed status under it.", "success")
            return redirect(url_for("findings.rule", slug=project.slug))
    return _rule_page(project, values, errors), 400
