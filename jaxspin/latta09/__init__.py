"""Placeholder: the latta09 models land here."""
