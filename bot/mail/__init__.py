"""Email intake: raw RFC 822 bytes from any transport, parsed, matched and stored once."""
