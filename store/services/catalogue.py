"""Vendors, products, services and taxes: upserts by natural key and prefix search."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeVar

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Product, Service, Tax, Vendor
from store.text import fold, prefix_params, starts_with_param

Item = TypeVar("Item", Product, Service)

# Searches are built once per variant (whether the prefix has an upper bound, and the
# model), bound per call: SQLAlchemy then finds the compiled form in its cache.
_LIMIT: Final = bindparam("limit", type_=Integer)
_VENDORS_BY_PREFIX: Final = {
    bounded: select(Vendor)
    .where(starts_with_param(Vendor.name_key, bounded=bounded))
    .order_by(Vendor.name_key)
    .limit(_LIMIT)
    for bounded in (False, True)
}
_VENDORS_BY_WORD: Final = (
    select(Vendor)
    .where(Vendor.name_key.contains(bindparam("word")))
    .order_by(Vendor.name_key)
    .limit(_LIMIT)
)


def _items_search(model: type[Item], bounded: bool) -> Select[Item]:
    return (
        select(model)
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


_PRODUCT_SEARCHES: Final = {bounded: _items_search(Product, bounded) for bounded in (False, True)}
_SERVICE_SEARCHES: Final = {bounded: _items_search(Service, bounded) for bounded in (False, True)}


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


async def search_vendors(session: AsyncSession, text: str, limit: int = 10) -> list[Vendor]:
    """Vendors whose folded name starts with, or whose words include a prefix of, ``text``."""
    key = fold(text)
    if not key:
        return []
    bounded, params = prefix_params(key)
    rows = await session.scalars(_VENDORS_BY_PREFIX[bounded], {**params, "limit": limit})
    found = list(rows)
    if not found:
        # Fall back to a word anywhere in the name ("iberica" finds "Suministros Ibérica").
        rows = await session.scalars(_VENDORS_BY_WORD, {"word": key, "limit": limit})
        found = list(rows)
    return found


async def search_items(
    session: AsyncSession, model: type[Item], text: str, limit: int = 10
) -> list[Item]:
    """Catalogue items whose SKU or name starts with ``text``; an exact SKU comes first."""
    key = fold(text)
    if not key:
        return []
    bounded, params = prefix_params(key)
    statement = (_PRODUCT_SEARCHES if model is Product else _SERVICE_SEARCHES)[bounded]
    rows = await session.scalars(statement, {**params, "word": f" {key}", "limit": limit})
    found: list[Item] = list(rows)
    found.sort(key=lambda item: item.sku_key != key)
    return found
