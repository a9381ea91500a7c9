"""Theme pages: what members see, what staff can change, and the conflict a second editor gets."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.services import themes as service
from coproduce.services.audit import Actor
from coproduce.store.models import AuditEvent, Finding, Segment, Theme
from tests.webui.conftest import PERSONAL, Seed


def url(seed: Seed, tail: str = "") -> str:
    return f"/projects/{seed.project_slug}/themes{tail}"


def _second_theme(session_factory: sessionmaker[Session], seed: Seed) -> int:
    with session_factory() as session, session.begin():
        first = session.get(Theme, seed.theme_id)
        theme = Theme(
            project_id=first.project_id,
            question_id=first.question_id,
            label="More help wanted",
            keywords=["help"],
            segments=[session.get(Segment, seed.segment_ids[1])],
        )
        session.add(theme)
        session.flush()
        return theme.id


def test_index_lists_themes_by_question_for_every_member(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("young_person").get(url(seed)).get_data(as_text=True)
    assert '<h2 class="govuk-heading-m">Question 1</h2>' in page
    assert "Long waits for assessment" in page
    assert "waited, assessment" in page
    assert "Found by the model" in page
    assert 'href="/projects/send-review/themes/' in page
    assert "<caption" in page


def test_panel_members_read_a_theme_but_get_no_edit_forms(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("parent_carer").get(url(seed, f"/{seed.theme_id}")).get_data(as_text=True)
    assert "My daughter [PERSON] waited" in page
    assert PERSONAL not in page
    assert "rename-form" not in page and "segments-form" not in page and 'name="segment_ids"' not in page


def test_staff_see_edit_forms_with_versions(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("analyst").get(url(seed, f"/{seed.theme_id}")).get_data(as_text=True)
    for form in ("rename-form", "describe-form", "segments-form"):
        assert f'id="{form}"' in page
    assert page.count('name="version" value="1"') >= 3
    assert f'name="segment_ids" type="checkbox" value="{seed.segment_ids[0]}" form="segments-form"' in page
    assert "merge-form" not in page  # the only theme of its question: nothing to merge


def test_rename_saves_audits_and_updates_the_finding(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    client = login_as("analyst")
    response = client.post(url(seed, f"/{seed.theme_id}/rename"), data={"label": "Waiting too long", "version": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(seed, f"/{seed.theme_id}"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Theme renamed" in page and "analyst@example.org" in page
    with session_factory() as session:
        theme = session.get(Theme, seed.theme_id)
        assert (theme.label, theme.version, theme.updated_by_label) == ("Waiting too long", 2, "analyst@example.org")
        assert "“Waiting too long”" in session.get(Finding, seed.finding_ids[2]).statement
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "theme.rename")).one()
        assert event.actor_label == "analyst@example.org" and event.after["label"] == "Waiting too long"


def test_a_second_editor_is_told_who_changed_it_first(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        service.rename(session, Actor(label="first.editor@example.org"), session.get(Theme, seed.theme_id), "Mine", 1)
    client = login_as("admin")
    response = client.post(url(seed, f"/{seed.theme_id}/describe"), data={"description": "Late", "version": "1"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert "first.editor@example.org changed the theme “Mine” first" in page
    assert f'href="{url(seed, f"/{seed.theme_id}")}" id="reload-theme"' in page
    assert 'name="version" value="2"' in page  # the page now holds the fresh version
    with session_factory() as session:
        assert session.get(Theme, seed.theme_id).description == ""


def test_validation_errors_show_a_summary_and_an_inline_message(
    login_as: Callable[[str], FlaskClient], seed: Seed
) -> None:
    response = login_as("admin").post(url(seed, f"/{seed.theme_id}/rename"), data={"label": " ", "version": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and 'href="#label"' in page
    assert "govuk-error-message" in page and "Enter a name for the theme" in page
    assert "<title>Error: " in page


def test_split_and_move_and_merge(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    other_id = _second_theme(session_factory, seed)
    client = login_as("admin")
    page = client.get(url(seed, f"/{seed.theme_id}")).get_data(as_text=True)
    assert 'id="merge-form"' in page and f'name="version_{other_id}" value="1"' in page
    assert 'formaction="/projects/send-review/themes/' in page

    # Move the seed theme's segment to the other theme, then the other theme can split it back out.
    moved = client.post(
        url(seed, f"/{seed.theme_id}/move"),
        data={
            "segment_ids": str(seed.segment_ids[0]),
            "to_theme_id": str(other_id),
            "version": "1",
            f"version_{other_id}": "1",
        },
    )
    assert moved.status_code == 302
    split = client.post(
        url(seed, f"/{other_id}/split"),
        data={"segment_ids": str(seed.segment_ids[0]), "new_label": "Split off", "version": "2"},
    )
    assert split.status_code == 302
    with session_factory() as session:
        made = session.scalars(select(Theme).where(Theme.label == "Split off")).one()
        assert made.origin == "human" and [s.id for s in made.segments] == [seed.segment_ids[0]]
        assert split.headers["Location"].endswith(url(seed, f"/{made.id}"))
        made_id = made.id

    merged = client.post(
        url(seed, f"/{other_id}/merge"),
        data={"merge_ids": [str(made_id)], "version": "3", f"version_{made_id}": "1"},
    )
    assert merged.status_code == 302
    with session_factory() as session:
        assert session.get(Theme, made_id) is None
        assert sorted(s.id for s in session.get(Theme, other_id).segments) == sorted(seed.segment_ids)
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "theme")))
        assert actions == ["theme.move_segments", "theme.split", "theme.create", "theme.merge"]


def test_move_without_a_target_is_refused_inline(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    response = login_as("admin").post(
        url(seed, f"/{seed.theme_id}/move"), data={"segment_ids": str(seed.segment_ids[0]), "version": "1"}
    )
    assert response.status_code == 400
    assert "Choose the theme to move the segments to" in response.get_data(as_text=True)


def test_a_theme_of_another_project_is_not_found(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    assert login_as("admin").get(url(seed, "/999999")).status_code == 404
