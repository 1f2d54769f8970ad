"""Settings for the benchmarks: the console's own, plus the baseline changelist app."""

from anchor_site.settings import *  # noqa: F403
from anchor_site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.changelist"]
