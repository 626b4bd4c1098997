"""Hostile and ordinary mail for the mail pipeline tests."""
