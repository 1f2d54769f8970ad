"""Reliability: faults, races and chaos (smaller counts in make test, full in make reliability)."""
