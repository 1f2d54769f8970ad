#!/usr/bin/env python
"""Django's command-line entry point for the anchor-deploy console."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchor_site.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads the settings: a bad environment fails here)
    except ImproperlyConfigured as error:
        # A missing SECRET_KEY or a malformed variable: one line saying what to set, exit 1.
        sys.stderr.write(f"Configuration error: {error}\n")
        sys.exit(1)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
