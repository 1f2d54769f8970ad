"""`manage.py serve` (what `make serve` runs): collect the static files, then gunicorn on the
console's WSGI application, bound to HOST:PORT, with workers and timeouts from settings."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

logger = logging.getLogger("anchor.serve")


def gunicorn_options() -> dict[str, Any]:
    """gunicorn's settings, from Django's (which read the environment)."""
    host = f"[{settings.HOST}]" if ":" in settings.HOST else settings.HOST  # IPv6 in brackets
    options: dict[str, Any] = {
        "bind": [f"{host}:{settings.PORT}"],
        "workers": settings.GUNICORN_WORKERS,
        "threads": settings.GUNICORN_THREADS,
        "worker_class": "gthread",
        "timeout": settings.GUNICORN_TIMEOUT,
        "graceful_timeout": settings.GUNICORN_GRACEFUL_TIMEOUT,
        "keepalive": settings.GUNICORN_KEEPALIVE,
        "accesslog": "-",  # stdout
        "errorlog": "-",  # stderr
        "loglevel": settings.LOG_LEVEL.lower(),
        "proc_name": "anchor-console",
        # No control socket in $HOME: two servers on one machine would share it.
        "control_socket_disable": True,
        # X-Forwarded-* from the proxy are judged by Django (TRUST_PROXY_HEADERS), not gunicorn.
        "forwarded_allow_ips": "",
        # Bounded requests: a slow or huge request cannot tie a worker up.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
    }
    if settings.LOG_FORMAT == "json":
        # gunicorn's own lines (access and errors) as JSON objects too, one a line.
        options["logconfig_dict"] = {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": "infra.core.logs.JsonFormatter"}},
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://sys.stdout",
                },
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://sys.stderr",
                },
            },
            "root": {"level": "INFO", "handlers": ["stderr"]},
            "loggers": {
                "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
            },
        }
    return options


class ConsoleServer(BaseApplication):
    """gunicorn run from Python, configured by gunicorn_options() instead of a config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from anchor_site.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the production server: collectstatic, then gunicorn on HOST:PORT (DEBUG off)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Serve the files already in STATIC_ROOT (collected at build time).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        # Through the log (JSON lines with LOG_FORMAT=json), like everything the server says.
        if settings.DEBUG:
            logger.warning("DEBUG is on: never serve production like this")
        logger.info("serving the console on %s:%s", settings.HOST, settings.PORT)
        connections.close_all()  # nothing opened here may be shared by the forked workers
        ConsoleServer(gunicorn_options()).run()
