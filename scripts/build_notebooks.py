"""Write the walkthrough notebooks (outputs stripped). Run: .venv/bin/python scripts/build_notebooks.py"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# Import and protect\n\n"
        "This walkthrough builds a throwaway project on the SEND green paper framework, imports every kind of "
        "input in the sample corpus, and shows what the privacy layer did. It only calls the package's "
        "services, the same ones the CLI and the web UI use."
    ),
    new_code_cell(
        "import tempfile\nfrom pathlib import Path\n\n"
        "from coproduce.config import Settings\n"
        "from coproduce.services.demo import build_demo\n"
        "from coproduce.store.db import make_engine, make_session_factory\n"
        "from coproduce.store.schema import upgrade\n\n"
        "settings = Settings.from_env(instance_dir=Path(tempfile.mkdtemp()) / 'instance')\n"
        "engine = make_engine(settings)\n"
        "upgrade(engine)\n"
        "factory = make_session_factory(engine)"
    ),
    new_markdown_cell(
        "## Import the sample corpus\n\nThe demo builder imports the seed submission, a survey "
        "export, voice-of-the-child records and family feedback. Each summary says what was "
        "imported, what was redacted, and what could not be taken."
    ),
    new_code_cell("for line in build_demo(factory, settings):\n    print(line)"),
    new_markdown_cell("## Responses per question and respondent type"),
    new_code_cell(
        "from collections import Counter\nfrom sqlalchemy import select\n"
        "from coproduce.store.models import Question, Respondent, Response\n\n"
        "with factory() as session:\n"
        "    rows = session.execute(\n"
        "        select(Question.number, Respondent.respondent_type)\n"
        "        .select_from(Response).join(Respondent).outerjoin(Question, Response.question_id == Question.id)\n"
        "    ).all()\n"
        "by_type = Counter(t for _, t in rows)\n"
        "by_question = Counter(q for q, _ in rows)\n"
        "print(dict(by_type))\nprint(sorted(by_question.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))\n"
        "assert by_question[1] >= 1"
    ),
    new_markdown_cell(
        "## What a panel member reads\n\nPersonal data is replaced by typed placeholders; "
        "only admins can read the original."
    ),
    new_code_cell(
        "with factory() as session:\n"
        "    # the first answer with something redacted (compared in Python: JSON has no != on PostgreSQL)\n"
        "    redacted = next(r for r in session.scalars(select(Response).order_by(Response.id)) if r.redactions)\n"
        "print(redacted.redacted_text)\nprint([r['type'] for r in redacted.redactions])"
    ),
    new_markdown_cell(
        "## Possible safeguarding disclosures\n\nFlagged for the project's safeguarding lead, never hidden or dropped."
    ),
    new_code_cell(
        "from coproduce.store.models import SafeguardingFlag\n\n"
        "with factory() as session:\n"
        "    for flag in session.scalars(select(SafeguardingFlag)):\n"
        "        print(flag.category, '|', flag.reason)"
    ),
]


ANALYSE = [
    new_markdown_cell(
        "# Analyse and evaluate\n\n"
        "This walkthrough imports the sample corpus into a throwaway project, runs the whole analysis "
        "(segment, embed, code against the SEND framework, themes, stance, campaigns, findings), looks at "
        "the findings, and scores the coder against the hand-labelled seed sentences."
    ),
    new_code_cell(
        "import tempfile\nfrom pathlib import Path\n\n"
        "from coproduce.config import Settings\n"
        "from coproduce.services.analysis import run_analysis\n"
        "from coproduce.services.audit import Actor\n"
        "from coproduce.services.demo import DEMO_SLUG, build_demo\n"
        "from coproduce.store.db import make_engine, make_session_factory\n"
        "from coproduce.store.schema import upgrade\n\n"
        "settings = Settings.from_env(instance_dir=Path(tempfile.mkdtemp()) / 'instance')\n"
        "engine = make_engine(settings)\nupgrade(engine)\nfactory = make_session_factory(engine)\n"
        "for line in build_demo(factory, settings):\n    pass"
    ),
    new_markdown_cell("## Run the analysis\n\nThe same service `coproduce analyse` calls."),
    new_code_cell("report = run_analysis(factory, settings, DEMO_SLUG, Actor('notebook'))\nprint(report.summary())"),
    new_markdown_cell(
        "## Findings for one question\n\nEvery figure counts respondents, by type, with and "
        "without campaign responses, with the stance split and consented, redacted quotes."
    ),
    new_code_cell(
        "from sqlalchemy import select\nfrom coproduce.store.models import Finding\n\n"
        "with factory() as session:\n"
        "    findings = session.scalars(select(Finding).where(Finding.key.like('q1:%')).order_by(Finding.id)).all()\n"
        "for finding in findings[:6]:\n    print(finding.key, '|', finding.statement)\n"
        "assert findings"
    ),
    new_code_cell(
        "top = next(f for f in findings if f.kind == 'question_code')\n"
        "print(top.figures['by_type'])\nprint(top.figures['stance'])\n"
        "for quote in top.figures['quotes']:\n    print('-', quote['respondent_type'], ':', quote['text'])"
    ),
    new_markdown_cell("## Per national standard"),
    new_code_cell(
        "with factory() as session:\n"
        "    for f in session.scalars(select(Finding).where(Finding.kind == 'standard')):\n"
        "        print(f.key, f.figures['respondents'], 'respondents;', f.figures['stance'])"
    ),
    new_markdown_cell(
        "## Evaluate\n\nScore the zero-shot coder on the seed's hand-labelled sentences, when "
        "the shared data is beside the project."
    ),
    new_code_cell(
        "from coproduce.evaluation import harness\n"
        "from coproduce.evaluation.datasets import read_segments\n"
        "from coproduce.pipeline.embed import SentenceEmbedder\n"
        "from coproduce.services.demo import corpus_dir\n\n"
        "gold = corpus_dir().parents[1] / 'shared' / 'data' / 'send-seed-gold' / 'segments.jsonl'\n"
        "framework = corpus_dir() / 'frameworks' / 'send-green-paper-2022.yaml'\n"
        "if gold.exists():\n"
        "    result = harness.zero_shot(read_segments(gold, framework), SentenceEmbedder())\n"
        "    print(result.mode, 'micro-F1', result.scores.micro_f1, 'sample-F1', result.scores.sample_f1)\n"
        "    print('stance accuracy', result.stance)\n"
        "else:\n    print('shared data not found beside the project; skipped')"
    ),
]


def main() -> None:
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for name, cells in (("01-import-and-protect", CELLS), ("02-analyse-and-evaluate", ANALYSE)):
        path = Path(f"notebooks/{name}.ipynb")
        nbformat.write(new_notebook(cells=cells, metadata=metadata), path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
