"""Test helpers that run real services (Dovecot) for the integration tests."""
