"""The project and tenant pages: tenant, project, edit, find."""
