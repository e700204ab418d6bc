"""Placeholder: the smirnov24 models land here."""
