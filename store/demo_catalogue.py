"""Demo taxes, vendors, products, services and contacts with their addresses, via the services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from store import demo_data as data
from store.demo_base import Demo, DemoContact, slug
from store.models import Address, Product, Service, Tax
from store.services.catalogue import ItemData, VendorData, upsert_item, upsert_vendor
from store.services.contacts import AddressData, ContactData, set_main_address, upsert_contact

COUNTRY = "España"
# Catalogue and full contacts arrive 15-18 months ago; leads in the last month.
CATALOGUE_DAYS_AGO = (480, 560)
CONTACT_DAYS_AGO = (400, 540)
LEAD_DAYS_AGO = (2, 30)
FLAT_LETTERS = ("A", "B", "C", "D")


async def load_taxes(demo: Demo) -> None:
    """The demo tax set, by exact name; an existing tax of that name is kept as it is."""
    existing = {tax.name for tax in await demo.session.scalars(select(Tax))}
    demo.session.add_all(
        Tax(name=row.name, rate=row.rate, created_at=_catalogue_time(demo))
        for row in data.TAXES
        if row.name not in existing
    )
    await demo.session.flush()
    demo.taxes = {tax.id: tax for tax in await demo.session.scalars(select(Tax))}


async def load_vendors(demo: Demo) -> None:
    """The vendors, upserted by name."""
    for row in data.VENDORS:
        vendor, created = await upsert_vendor(demo.session, VendorData(*row))
        if created:
            vendor.created_at = _catalogue_time(demo)
        demo.vendors.append(vendor)


async def load_items(demo: Demo) -> None:
    """Products and services, upserted by SKU with their default tax rates."""
    for row in data.PRODUCTS:
        product, created = await upsert_item(demo.session, Product, ItemData(*row))
        if created:
            product.created_at = _catalogue_time(demo)
        demo.products.append(product)
    for row in data.SERVICES:
        service, created = await upsert_item(demo.session, Service, ItemData(*row))
        if created:
            service.created_at = _catalogue_time(demo)
        demo.services.append(service)


def _catalogue_time(demo: Demo) -> dt.datetime:
    clock = demo.clock
    low, high = CATALOGUE_DAYS_AGO
    return clock.moment_between(clock.days_ago(high), clock.days_ago(low))


async def load_contacts(demo: Demo) -> None:
    """Every demo person as a contact with a primary+fiscal address, often a second one."""
    company_addresses: dict[str, AddressData] = {}
    for index, person in enumerate(data.PEOPLE):
        account = data.ACCOUNTS[person.account]
        full = index < len(data.PEOPLE) - data.LEADS
        low, high = CONTACT_DAYS_AGO if full else LEAD_DAYS_AGO
        since = demo.clock.day_between(demo.clock.days_ago(high), demo.clock.days_ago(low))
        contact, _ = await upsert_contact(demo.session, _contact_data(demo, person, account))
        contact.created_at = demo.clock.moment_on(since)
        # Colleagues share their company's address; private people have their own.
        main = company_addresses.get(person.account) or _address(demo, account.city, "Principal")
        if account.name is not None:
            company_addresses[person.account] = main
        address = await set_main_address(demo.session, contact, main)
        address.created_at = contact.created_at
        member = DemoContact(contact, since, full, [address])
        if demo.rng.random() < 0.6:
            member.addresses.append(_second_address(demo, member))
        demo.people.append(member)
    await demo.session.flush()


def _contact_data(demo: Demo, person: data.PersonRow, account: data.AccountRow) -> ContactData:
    first = slug(person.first_name)
    surname = slug(person.last_name.split(" ")[0])
    city = data.CITIES[account.city]
    return ContactData(
        first_name=person.first_name,
        last_name=person.last_name,
        email=f"{first}.{surname}@{account.domain}.{data.DEMO_TLD}",
        phone=_phone(demo, city.phone_prefix),
        mobile=_phone(demo, "6") if demo.rng.random() < 0.7 else None,
        account=account.name,
        owner=demo.pick(data.OWNERS),
    )


def _phone(demo: Demo, prefix: str) -> str:
    number = prefix + "".join(str(demo.rng.randint(0, 9)) for _ in range(9 - len(prefix)))
    return f"+34 {number[:3]} {number[3:6]} {number[6:]}"


def _address(demo: Demo, city_key: str, label: str) -> AddressData:
    city = data.CITIES[city_key]
    street = f"{demo.pick(data.STREETS)} {demo.rng.randint(1, 140)}"
    if demo.rng.random() < 0.4:
        street += f", {demo.rng.randint(1, 8)}º {demo.pick(FLAT_LETTERS)}"
    return AddressData(
        street=street,
        city=city.city,
        state=city.province,
        postal_code=f"{city.postal_prefix}{demo.rng.randint(1, 99):03d}",
        country=COUNTRY,
        label=label,
    )


def _second_address(demo: Demo, member: DemoContact) -> Address:
    city_key = demo.pick(sorted(data.CITIES))
    row = _address(demo, city_key, demo.pick(data.SECOND_ADDRESS_LABELS))
    address = Address(
        contact_id=member.id,
        label=row.label,
        street=row.street,
        city=row.city,
        state=row.state,
        postal_code=row.postal_code,
        country=row.country,
        is_primary=False,
        is_fiscal=False,
        created_at=member.created(demo.clock),
    )
    demo.session.add(address)
    return address
