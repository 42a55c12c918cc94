"""Accounts: subscribers and operators, passwords and web sessions."""
