"""Vendors, products, services and taxes: upserts by natural key and prefix search."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Product, Service, Tax, Vendor
from store.text import fold, starts_with

Item = TypeVar("Item", Product, Service)


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
    rows = await session.scalars(
        select(Vendor)
        .where(starts_with(Vendor.name_key, key))
        .order_by(Vendor.name_key)
        .limit(limit)
    )
    found = list(rows)
    if not found:
        # Fall back to a word anywhere in the name ("iberica" finds "Suministros Ibérica").
        rows = await session.scalars(
            select(Vendor)
            .where(Vendor.name_key.contains(key))
            .order_by(Vendor.name_key)
            .limit(limit)
        )
        found = list(rows)
    return found


async def search_items(
    session: AsyncSession, model: type[Item], text: str, limit: int = 10
) -> list[Item]:
    """Catalogue items whose SKU or name starts with ``text``; an exact SKU comes first."""
    key = fold(text)
    if not key:
        return []
    rows = await session.scalars(
        select(model)
        .where(
            or_(
                starts_with(model.sku_key, key),
                starts_with(model.name_key, key),
                model.name_key.contains(f" {key}"),
            )
        )
        .order_by(model.name_key)
        .limit(limit)
    )
    found = list(rows)
    found.sort(key=lambda item: item.sku_key != key)
    return found
