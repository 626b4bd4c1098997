"""Test data: corpora built in code or committed as files."""
