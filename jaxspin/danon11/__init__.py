"""Placeholder: the danon11 models land here."""
