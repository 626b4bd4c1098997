"""Vendors, products, services and taxes: upserts by natural key and prefix search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import direct
from store.direct import DirectStatement
from store.models import Product, Service, Tax, Vendor
from store.text import fold, prefix_params, starts_with_param

Item = TypeVar("Item", Product, Service)


@dataclass(frozen=True, slots=True)
class VendorMatch:
    """A vendor as a search lists it."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """A product or service as the wizards offer it, with its default tax."""

    kind: str  # "product" or "service"
    id: int
    sku: str
    name: str
    unit_price: Decimal
    tax_name: str | None
    tax_rate: Decimal | None


# Searches run at the wizards' steps, so they go straight to the driver (store.direct) and
# return plain rows: built once per variant (whether the prefix has an upper bound, and
# the model), bound per call.
_LIMIT: Final = bindparam("limit", type_=Integer)
_VENDOR_COLUMNS: Final = (Vendor.id, Vendor.name)
_VENDORS_BY_PREFIX: Final = {
    bounded: DirectStatement(
        select(*_VENDOR_COLUMNS)
        .where(starts_with_param(Vendor.name_key, bounded=bounded))
        .order_by(Vendor.name_key)
        .limit(_LIMIT)
    )
    for bounded in (False, True)
}
_VENDORS_BY_WORD: Final = DirectStatement(
    select(*_VENDOR_COLUMNS)
    .where(Vendor.name_key.contains(bindparam("word")))
    .order_by(Vendor.name_key)
    .limit(_LIMIT)
)


def _item_columns(model: type[Item]) -> Select[int, str, str, str, Decimal, str, Decimal]:
    return select(
        model.id, model.sku, model.sku_key, model.name, model.unit_price, Tax.name, Tax.rate
    ).outerjoin(Tax, Tax.id == model.tax_id)


def _item(kind: str, row: Sequence[Any]) -> tuple[str, CatalogueItem]:
    """(its SKU's search key, the item) from a row of ``_item_columns``."""
    item_id, sku, sku_key, name, unit_price, tax_name, tax_rate = row
    return sku_key, CatalogueItem(kind, item_id, sku, name, unit_price, tax_name, tax_rate)


def _items_search(model: type[Item], bounded: bool) -> DirectStatement:
    return DirectStatement(
        _item_columns(model)
        .where(
            or_(
                starts_with_param(model.sku_key, bounded=bounded),
                starts_with_param(model.name_key, bounded=bounded),
                model.name_key.contains(bindparam("word")),
            )
        )
        .order_by(model.name_key)
        .limit(_LIMIT)
    )


def _item_by_id(model: type[Item]) -> DirectStatement:
    return DirectStatement(_item_columns(model).where(model.id == bindparam("id")))


_KIND_OF: Final[dict[type[Product | Service], str]] = {Product: "product", Service: "service"}
_ITEM_SEARCHES: Final = {
    "product": {bounded: _items_search(Product, bounded) for bounded in (False, True)},
    "service": {bounded: _items_search(Service, bounded) for bounded in (False, True)},
}
_ITEM_BY_ID: Final = {"product": _item_by_id(Product), "service": _item_by_id(Service)}
_TAXES: Final = DirectStatement(select(Tax.id, Tax.name, Tax.rate))


@dataclass(frozen=True, slots=True)
class VendorData:
    """A vendor as it arrives from an import or a wizard; only the name is required."""

    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class ItemData:
    """A product or service of the catalogue; ``stock`` is ignored for services."""

    sku: str
    name: str
    unit_price: Decimal
    tax_rate: Decimal | None = None
    stock: Decimal | None = None


async def upsert_vendor(session: AsyncSession, data: VendorData) -> tuple[Vendor, bool]:
    """Create the vendor or update the one with the same (folded) name."""
    key = fold(data.name)
    vendor = await session.scalar(select(Vendor).where(Vendor.name_key == key))
    created = vendor is None
    if vendor is None:
        vendor = Vendor(name=data.name.strip(), name_key=key)
        session.add(vendor)
    vendor.name = data.name.strip()
    vendor.email = (data.email or "").strip().lower() or vendor.email
    vendor.phone = (data.phone or "").strip() or vendor.phone
    await session.flush()
    return vendor, created


async def tax_for_rate(session: AsyncSession, rate: Decimal) -> Tax:
    """The catalogue tax with this rate, created (named ``IVA <rate> %``) when missing."""
    for tax in await session.scalars(select(Tax)):
        if tax.rate == rate:
            return tax
    tax = Tax(name=f"IVA {rate.normalize():f} %" if rate else "Exento", rate=rate)
    session.add(tax)
    await session.flush()
    return tax


async def upsert_item(
    session: AsyncSession, model: type[Item], data: ItemData
) -> tuple[Item, bool]:
    """Create or update a product or service by SKU."""
    sku = data.sku.strip()
    item = await session.scalar(select(model).where(model.sku == sku))
    created = item is None
    if item is None:
        item = model(sku=sku)
        session.add(item)
    item.sku_key = fold(sku)
    item.name = data.name.strip()
    item.name_key = fold(data.name)
    item.unit_price = data.unit_price
    item.tax_id = (
        (await tax_for_rate(session, data.tax_rate)).id if data.tax_rate is not None else None
    )
    if isinstance(item, Product) and data.stock is not None:
        item.stock = data.stock
    await session.flush()
    return item, created


async def search_vendors(session: AsyncSession, text: str, limit: int = 10) -> list[VendorMatch]:
    """Vendors whose folded name starts with, or whose words include a prefix of, ``text``."""
    key = fold(text)
    if not key:
        return []
    bounded, params = prefix_params(key)
    rows = await direct.fetch(session, _VENDORS_BY_PREFIX[bounded], {**params, "limit": limit})
    if not rows:
        # Fall back to a word anywhere in the name ("iberica" finds "Suministros Ibérica").
        rows = await direct.fetch(session, _VENDORS_BY_WORD, {"word": key, "limit": limit})
    return [VendorMatch(*row) for row in rows]


async def search_items(
    session: AsyncSession, model: type[Item], text: str, limit: int = 10
) -> list[CatalogueItem]:
    """Catalogue items whose SKU or name starts with ``text``; an exact SKU comes first."""
    key = fold(text)
    if not key:
        return []
    bounded, params = prefix_params(key)
    kind = _KIND_OF[model]
    statement = _ITEM_SEARCHES[kind][bounded]
    rows = await direct.fetch(session, statement, {**params, "word": f" {key}", "limit": limit})
    found = [_item(kind, row) for row in rows]
    found.sort(key=lambda keyed: keyed[0] != key)
    return [item for _, item in found]


async def catalogue_item(session: AsyncSession, kind: str, item_id: int) -> CatalogueItem | None:
    """The product or service ``item_id`` (``kind`` says which), or None when it is gone."""
    rows = await direct.fetch(session, _ITEM_BY_ID[kind], {"id": item_id})
    return _item(kind, rows[0])[1] if rows else None


async def tax_rows(session: AsyncSession) -> list[tuple[int, str, Decimal]]:
    """Every tax as (id, name, rate), highest rate first, then by name.

    Sorted here: SQLite keeps rates as text, where "4" sorts after "21".
    """
    rows = [(row[0], row[1], row[2]) for row in await direct.fetch(session, _TAXES, {})]
    return sorted(rows, key=lambda row: (-row[2], row[1]))
