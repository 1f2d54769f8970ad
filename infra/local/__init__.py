"""The local stack and demo data: the top floor, which may import everything and is imported by
nothing but its own commands (`run_console`, `seed_demo`, `local_shell`)."""
