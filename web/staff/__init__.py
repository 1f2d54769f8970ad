"""The staff pages: the audit trail and the CSV exports."""
