"""Use cases: each checks policy, changes the store, and writes the audit record."""
