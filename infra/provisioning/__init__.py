"""Provisioning: plan, apply, check and tear down a stage's tables and buckets, as declared in
infra.core.resources (`manage.py provision`, `manage.py teardown`)."""
