"""Serve the web UI with gunicorn: several worker processes, each with a few threads.

One Python process cannot use more than one core for page rendering (the GIL), so on a machine with
several cores ``coproduce serve --workers N`` runs N gunicorn workers. The app is built in each
worker after the fork (``preload_app`` off), so no database connection is shared between processes.
Per-process state stays per process: the login throttle counts failures per worker (each worker
still refuses after the limit), and each worker loads its own search model as it starts (the
``warm_search_model`` setting).
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from coproduce.config import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from webui import create_app
        from webui.search import warm_embedder

        app = create_app(settings=self.settings)
        warm_embedder(app)  # in each worker, after the fork
        return app


def serve_gunicorn(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 5000,
    *,
    workers: int = 2,
    threads: int = 4,
    timeout: int = 120,
    upgrade_schema: bool = True,
) -> None:
    """Run the web UI on gunicorn (``gthread`` workers); the schema is brought up to date first."""
    from coproduce.store.db import make_engine
    from coproduce.store.schema import upgrade

    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be at least 1, not {workers} and {threads}")
    if upgrade_schema:
        engine = make_engine(settings)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        # Longer than a reviewer's pause between clicks: with gunicorn's default of 2 s, a browser (or
        # locust) reusing a connection the server had just closed got "connection reset" errors.
        "keepalive": 30,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    _Gunicorn(settings, options).run()
