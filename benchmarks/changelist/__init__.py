"""A benchmark-only Django app: an ordinary ORM model and its stock admin changelist, the
baseline the project page is measured against (installed by benchmarks.settings only)."""
