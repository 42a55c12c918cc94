"""Profiles: who is watching in an account, their limits, PINs and viewing history."""
