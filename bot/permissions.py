"""Who may do what (CONTRACT §7): actions, the roles allowed each, the role a refusal names."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    """Everything a chat user can ask for that a role may forbid."""

    HELP = "help"
    READ = "read"
    LINK_ROOM = "link_room"
    COMMENT = "comment"
    CREATE_PURCHASE = "create_purchase"
    APPROVE_PURCHASE = "approve_purchase"
    CHANGE_PURCHASE = "change_purchase"  # send, receive, cancel
    CREATE_VENDOR = "create_vendor"
    CREATE_QUOTE = "create_quote"
    CHANGE_QUOTE = "change_quote"
    CHANGE_SALES_ORDER = "change_sales_order"
    CREATE_CASE = "create_case"
    CHANGE_CASE = "change_case"
    SEND_PURCHASE = "send_purchase"
    SEND_QUOTE = "send_quote"


_READERS = frozenset({"admin", "compras", "ventas", "soporte", "lectura"})
_ALLOWED: MappingProxyType[Action, frozenset[str]] = MappingProxyType(
    {
        Action.HELP: frozenset({*_READERS, "none"}),
        Action.READ: _READERS,
        Action.LINK_ROOM: frozenset({"admin", "ventas"}),
        Action.COMMENT: frozenset({"admin", "compras", "ventas", "soporte"}),
        Action.CREATE_PURCHASE: frozenset({"admin", "compras"}),
        Action.APPROVE_PURCHASE: frozenset({"admin"}),
        Action.CHANGE_PURCHASE: frozenset({"admin", "compras"}),
        Action.CREATE_VENDOR: frozenset({"admin", "compras"}),
        Action.CREATE_QUOTE: frozenset({"admin", "ventas"}),
        Action.CHANGE_QUOTE: frozenset({"admin", "ventas"}),
        Action.CHANGE_SALES_ORDER: frozenset({"admin", "ventas"}),
        Action.CREATE_CASE: frozenset({"admin", "soporte"}),
        Action.CHANGE_CASE: frozenset({"admin", "soporte"}),
        Action.SEND_PURCHASE: frozenset({"admin", "compras"}),
        Action.SEND_QUOTE: frozenset({"admin", "ventas"}),
    }
)
# The role a refusal names: the narrowest role that may do it (lectura for reading), admin
# when only admin may.
_NEEDED = MappingProxyType(
    {
        action: next(
            (r for r in ("lectura", "compras", "ventas", "soporte") if r in roles), "admin"
        )
        for action, roles in _ALLOWED.items()
    }
)


def allowed(role: str, action: Action) -> bool:
    """Whether ``role`` may perform ``action``."""
    return role in _ALLOWED[action]


def needed_role(action: Action) -> str:
    """The role to name when refusing ``action``."""
    return _NEEDED[action]
