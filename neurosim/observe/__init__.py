"""Observers of a run: the action ledger, device-state traces and the run-file recorder."""
