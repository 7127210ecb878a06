"""Accounts' secrets: password hashing and signed tokens."""
