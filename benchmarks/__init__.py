"""Benchmarks that print figures (run with `make bench`); not part of the test suite."""

import os


def setup_django() -> None:
    """Configure Django for a benchmark run: stage `bench`, dummy keys for local emulators."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchor_site.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("ANCHOR_STAGE", "bench")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log lines between the figures
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

    import django

    django.setup()
