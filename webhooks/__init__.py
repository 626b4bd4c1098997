"""The aiohttp edge: webhook and health handlers; the core they feed arrives injected."""
