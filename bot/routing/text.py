"""Text folding for command words: the store's normal form, so words and search keys agree."""

from store.text import fold

__all__ = ["fold"]
