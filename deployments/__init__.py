"""Deployments: schemas, the tenant-scoped repository and the staff pages for deployments."""
