"""The anchor-deploy staff console: Django project package."""
