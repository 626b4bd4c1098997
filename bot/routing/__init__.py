"""Command routing: the es/en words and the pure matchers that turn chat text into routes."""

from bot.routing.matcher import (
    ControlMatch,
    Route,
    Unknown,
    match_command,
    match_control,
    strip_address,
)
from bot.routing.text import fold
from bot.routing.words import Command, Control, Lang, Module

__all__ = [
    "Command",
    "Control",
    "ControlMatch",
    "Lang",
    "Module",
    "Route",
    "Unknown",
    "fold",
    "match_command",
    "match_control",
    "strip_address",
]
