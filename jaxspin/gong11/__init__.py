"""Placeholder: the gong11 models land here."""
