"""Dashboard template tag libraries: `{% load anchor %}` and `{% load anchor_logs %}`."""
