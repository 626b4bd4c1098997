"""Use cases over the store: each function works inside the caller's session and transaction."""
