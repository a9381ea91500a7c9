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
        "settings = Settings(instance_dir=Path(tempfile.mkdtemp()) / 'instance')\n"
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
        "    redacted = session.scalars(select(Response).where(Response.redactions != [])).first()\n"
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


def main() -> None:
    notebook = new_notebook(cells=CELLS, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    path = Path("notebooks/01-import-and-protect.ipynb")
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
