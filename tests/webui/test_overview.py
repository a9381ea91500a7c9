"""The project overview per question and per standard: figures straight from the stored findings, charts
with a text alternative and a table, and counts with and without campaign responses."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.services import access
from coproduce.services import figures as fig
from coproduce.store.models import Campaign, Finding
from tests.webui.conftest import PERSONAL, Seed
from webui.charts import value_label


def overview(client: FlaskClient, seed: Seed) -> str:
    response = client.get(f"/projects/{seed.project_slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row_of(page: str, finding_id: int, seed: Seed) -> list[str]:
    """The cells (tags stripped) of the table row that links to the finding."""
    link = f'href="/projects/{seed.project_slug}/findings/{finding_id}"'
    rows = [r for r in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", page, re.S) if link in r]
    assert rows, f"no row for finding {finding_id}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", rows[0], re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def findings(session_factory: sessionmaker[Session], seed: Seed) -> dict[int, Finding]:
    with session_factory() as session:
        rows = session.scalars(select(Finding).where(Finding.id.in_(seed.finding_ids)))
        return {f.id: f for f in rows}


def test_each_finding_row_shows_the_stored_figures(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    page = overview(login_as("analyst"), seed)
    for finding_id, finding in findings(session_factory, seed).items():
        cells = row_of(page, finding_id, seed)
        total = fig.total(finding.figures)
        without = fig.without_campaigns(finding.figures)
        assert value_label(total.respondents, total.base) in cells[1]
        parent = finding.figures["by_type"]["parent_carer"]
        assert cells[2] == value_label(parent["respondents"], parent["base"])  # the only type in these findings
        assert cells[3] == value_label(without.respondents, without.base)
        assert "Other views: 1" in cells[4]  # the seeded stance is a concern
        assert "Concern 1" in cells[4]


def test_questions_and_standards_are_laid_out_with_contents(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = overview(login_as("young_person"), seed)
    for anchor in ("question-1", "question-2", "standards"):
        assert f'href="#{anchor}"' in page
        assert f'id="{anchor}"' in page
    assert "By national standard" in page
    assert "Timely assessment" in page
    standards = page[page.index('id="standards"') :]
    assert '<td class="govuk-table__cell">Waiting times</td>' in standards  # the standard's linked code
    assert "Codes and themes in answers to question 1" in page
    assert 'href="/projects/send-review/questions/1/overview"' in page
    # Question 1's codes come before its emerging themes.
    assert page.index("Waiting times</a>") < page.index("Long waits for assessment</a>")


def test_scale_chart_has_a_text_alternative_and_a_table(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = overview(login_as("parent_carer"), seed)
    svg = re.search(r"<svg class=\"app-chart__svg\".*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-question-2-title"' in svg
    assert 'aria-describedby="chart-question-2-desc"' in svg
    assert '<title id="chart-question-2-title">Answers to question 2</title>' in svg
    desc = re.search(r"<desc id=\"chart-question-2-desc\">(.*?)</desc>", svg).group(1)
    # From the stored summary of question 2: 4 answered, 3 without the campaign group.
    assert "All respondents: Agree 2 of 4 (50%)" in desc
    assert "Disagree 1 of 4 (25%)" in desc
    assert "Without campaign responses: Agree 2 of 3 (67%)" in desc
    assert "Disagree 0 of 3 (0%)" in desc
    assert 'patternTransform="rotate(45)"' in svg  # the second series is hatched, not only another colour
    # The same figures in a table after the chart.
    table = page[page.index("</svg>") :]
    table = table[: table.index("</table>")]
    assert "<caption" in table and "Answers to question 2" in table
    rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    assert rows == [
        "Answer Respondents Without campaign responses",
        "Agree 2 2",
        "Neither agree nor disagree 0 0",
        "Disagree 1 0",
        "Strongly unsure 1 1",
    ]


def test_campaign_adjusted_counts_are_shown(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = overview(login_as("observer"), seed)
    assert "1 respondent\n" in page or "1 respondent " in page
    assert "(1 campaign group)" in page
    assert "4 of 4 (100%) respondents answered (3 without campaign responses)." in " ".join(page.split())
    assert "Without campaign responses" in page


def test_without_campaigns_the_overview_says_so(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        session.execute(delete(Campaign))
    page = overview(login_as("analyst"), seed)
    assert "No campaign responses were found" in page
    assert "Without campaign responses: Agree" not in page  # a single series chart


def test_a_project_not_yet_analysed(
    login_as: Callable[[str], FlaskClient], seed: Seed, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        session.execute(delete(Finding))
    client = login_as("admin")
    page = overview(client, seed)
    assert "This project has not been analysed yet" in page
    # Scale answers still come from the responses themselves.
    assert "Answers to closed questions" in page
    assert "All respondents: Agree 2 of 4 (50%)" in page
    question = client.get(f"/projects/{seed.project_slug}/questions/1/overview").get_data(as_text=True)
    assert "This project has not been analysed yet." in question


@pytest.mark.parametrize("grant", ["admin", "observer"])
def test_analysis_link_only_when_the_page_exists_and_is_allowed(
    grant: str,
    app: Flask,
    login_as: Callable[[str], FlaskClient],
    seed: Seed,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        session.execute(delete(Finding))
    page = overview(login_as(grant), seed)
    allowed = "runs.index" in app.view_functions and grant in access.PAGE_GRANTS.get("runs.index", ())
    assert ("Go to the analysis page" in page) == allowed


def test_question_overview_shows_stance_and_redacted_quotes(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    client = login_as("young_person")
    page = client.get(f"/projects/{seed.project_slug}/questions/1/overview").get_data(as_text=True)
    assert "<h1" in page and "What has worked well for your family?" in page
    assert "Code: Waiting times" in page
    assert "Emerging theme: Long waits for assessment" in page
    assert "Majority: other views (1 of 1)." in page
    assert "My daughter [PERSON] waited" in page
    assert PERSONAL not in page
    assert client.get(f"/projects/{seed.project_slug}/questions/9/overview").status_code == 404


def test_question_overview_of_the_scale_question(login_as: Callable[[str], FlaskClient], seed: Seed) -> None:
    page = login_as("professional").get(f"/projects/{seed.project_slug}/questions/2/overview").get_data(as_text=True)
    assert 'role="img"' in page
    assert "No codes or themes were found in the answers to this question." in page
    assert "Who answered question 2" in page
