"""The deployment pages: record, actions, build log viewer, live tail, archive, attention feed."""
