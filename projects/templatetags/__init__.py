"""Template tag libraries of the dashboard (`{% load anchor %}`)."""
