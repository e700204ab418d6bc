"""Placeholder: the deluca16 models land here."""
