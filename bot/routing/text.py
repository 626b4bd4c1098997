"""Text folding: the one normal form used to compare command words and search keys."""

import unicodedata

__all__ = ["fold"]


def fold(text: str) -> str:
    """Casefold, drop accents, collapse whitespace: `" Cotización  Ñandú "` -> `"cotizacion nandu"`.

    Casefold comes first because it can itself emit combining marks (`"İ"` -> `"i̇"`), which
    the NFKD pass then strips; NFKD also flattens compatibility forms (`"ﬁ"`, full-width digits).
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())
