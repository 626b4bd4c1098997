"""One compact list line per record, for each of the 17 modules, as typed reply params."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from bot.chat import Param
from bot.routing import Module
from store import vocab
from store.records import Row

Item = dict[str, Param]
ItemBuilder = Callable[[Row, str], Item]

_KIB: Final = 1024
_SIZE_UNITS: Final = ("KB", "MB", "GB", "TB")


# --- typed values back from the JSON-ready rows of store.records --------------------------


def text(row: Row, key: str) -> str:
    """A text field, '' when missing."""
    value = row.get(key)
    return "" if value is None else str(value)


def amount(row: Row, key: str) -> Decimal | None:
    """An amount or rate that ``store.records`` printed as an exact string."""
    value = row.get(key)
    return None if value is None or value == "" else Decimal(str(value))


def day(row: Row, key: str) -> dt.date | None:
    """An ISO date field."""
    value = row.get(key)
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def moment(row: Row, key: str) -> dt.datetime | None:
    """An ISO datetime field; stored times are UTC, so a naive one is read as UTC."""
    if not isinstance(value := row.get(key), str) or not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def size_parts(size: int) -> tuple[Decimal, str]:
    """A byte count for people: (value, unit) with one decimal above a kilobyte."""
    if size < _KIB:
        return Decimal(size), "B"
    value = Decimal(size)
    for unit in _SIZE_UNITS:
        value /= _KIB
        if value < _KIB or unit == _SIZE_UNITS[-1]:
            return value.quantize(Decimal("0.1")), unit
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def one_line_address(parts: Mapping[str, object]) -> str:
    """Street, postcode and city, state, country on one line (empty parts left out)."""
    place = " ".join(str(parts.get(k) or "") for k in ("postal_code", "city")).strip()
    pieces = (parts.get("street"), place, parts.get("state"), parts.get("country"))
    return ", ".join(str(piece) for piece in pieces if piece)


# --- one builder per module ---------------------------------------------------------------


def _assets(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "serial": text(row, "serial"),
        "status": vocab.label(vocab.ASSET_STATUS, text(row, "status"), locale),
        "since": day(row, "date_assigned"),
    }


def _projects(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "role": text(row, "role"),
        "status": vocab.label(vocab.PROJECT_STATUS, text(row, "status"), locale),
        "until": day(row, "target_end_date"),
    }


def _addresses(row: Row, locale: str) -> Item:
    return {
        "label": text(row, "label"),
        "address": one_line_address(row),
        "primary": bool(row.get("is_primary")),
        "fiscal": bool(row.get("is_fiscal")),
    }


def _services(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "sku": text(row, "sku"),
        "status": vocab.label(vocab.SERVICE_LINK_STATUS, text(row, "status"), locale),
        "price": amount(row, "unit_price"),
    }


def _contracts(row: Row, locale: str) -> Item:
    return {
        "subject": text(row, "subject"),
        "type": text(row, "type"),
        "status": vocab.label(vocab.CONTRACT_STATUS, text(row, "status"), locale),
        "until": day(row, "end_date"),
    }


def _document(labels: vocab.Labels) -> ItemBuilder:
    def build(row: Row, locale: str) -> Item:
        item: Item = {
            "number": text(row, "number"),
            "title": text(row, "title"),
            "status": vocab.label(labels, text(row, "status"), locale),
            "total": amount(row, "total"),
            "currency": None,  # filled in by the lister, which reads the documents' currency
        }
        if "vendor" in row:
            item["vendor"] = text(row, "vendor")
        if "valid_until" in row:
            item["valid_until"] = day(row, "valid_until")
        return item

    return build


def _products(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "sku": text(row, "sku"),
        "relation": vocab.label(vocab.PRODUCT_RELATION, text(row, "relation"), locale),
        "price": amount(row, "unit_price"),
    }


def _calendar(row: Row, locale: str) -> Item:
    return {
        "starts": moment(row, "starts_at"),
        "type": vocab.label(vocab.EVENT_TYPE, text(row, "type"), locale),
        "title": text(row, "title"),
        "status": vocab.label(vocab.EVENT_STATUS, text(row, "status"), locale),
    }


def _opportunities(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "stage": vocab.label(vocab.OPPORTUNITY_STAGE, text(row, "stage"), locale),
        "amount": amount(row, "amount"),
        "close": day(row, "expected_close"),
    }


def _comments(row: Row, locale: str) -> Item:
    return {
        "at": moment(row, "created_at"),
        "author": text(row, "author"),
        "text": text(row, "text"),
    }


def _cases(row: Row, locale: str) -> Item:
    return {
        "number": text(row, "number"),
        "title": text(row, "title"),
        "status": vocab.label(vocab.CASE_STATUS, text(row, "status"), locale),
        "priority": vocab.label(vocab.CASE_PRIORITY, text(row, "priority"), locale),
    }


def _emails(row: Row, locale: str) -> Item:
    # The row's attachments are the files of every contact of the email; the lister
    # replaces this count with the listed contact's own files.
    attachments = row.get("attachments")
    return {
        "at": moment(row, "date"),
        "from": text(row, "from"),
        "subject": text(row, "subject"),
        "attachments": len(attachments) if isinstance(attachments, list) else 0,
    }


def _files(row: Row, locale: str) -> Item:
    size = row.get("size")
    value, unit = size_parts(size if isinstance(size, int) else 0)
    return {
        "name": text(row, "name"),
        "size": value,
        "unit": unit,
        "source": text(row, "source"),
    }


def _campaigns(row: Row, locale: str) -> Item:
    return {
        "name": text(row, "name"),
        "type": text(row, "type"),
        "status": vocab.label(vocab.CAMPAIGN_MEMBER_STATUS, text(row, "status"), locale),
        "starts": day(row, "start_date"),
    }


def _channels(row: Row, locale: str) -> Item:
    return {
        "room": text(row, "room_name") or text(row, "room_id"),
        "linked_by": text(row, "linked_by"),
        "at": moment(row, "created_at"),
    }


BUILDERS: Final[Mapping[Module, ItemBuilder]] = MappingProxyType(
    {
        Module.ASSETS: _assets,
        Module.PROJECTS: _projects,
        Module.ADDRESSES: _addresses,
        Module.SERVICES: _services,
        Module.CONTRACTS: _contracts,
        Module.SALES_ORDERS: _document(vocab.SALES_ORDER_STATUS),
        Module.QUOTES: _document(vocab.QUOTE_STATUS),
        Module.PURCHASES: _document(vocab.PO_STATUS),
        Module.PRODUCTS: _products,
        Module.CALENDAR: _calendar,
        Module.OPPORTUNITIES: _opportunities,
        Module.COMMENTS: _comments,
        Module.CASES: _cases,
        Module.EMAILS: _emails,
        Module.FILES: _files,
        Module.CAMPAIGNS: _campaigns,
        Module.CHANNELS: _channels,
    }
)

DOCUMENT_MODULES: Final = frozenset({Module.PURCHASES, Module.QUOTES, Module.SALES_ORDERS})


def list_key(module: Module) -> str:
    """The reply key of a module's list: ``list_sales_orders`` for ``sales-orders``."""
    return "list_" + module.value.replace("-", "_")


def build_item(module: Module, row: Row, locale: str) -> Item:
    """The list line's params of one record of ``module``."""
    return BUILDERS[module](row, locale)
