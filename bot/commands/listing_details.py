"""Detail views of the records that have no number (assets, emails, files…), as reply params."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Param
from bot.commands.listing_rows import one_line_address, size_parts
from bot.routing import Module
from store import models as m
from store import vocab

Params = dict[str, Param]
DetailLoader = Callable[[AsyncSession, int, int, str], Awaitable[Params | None]]
ModelT = TypeVar("ModelT", bound=m.Base)

_BODY_MAX: Final = 600
_TEXT_MAX: Final = 1500
_SHA_SHOWN: Final = 12


def detail_key(module: Module) -> str:
    """The reply key of a record's detail: ``detail_files`` for ``files``."""
    return "detail_" + module.value.replace("-", "_")


async def _owned(
    session: AsyncSession, model: type[ModelT], contact_id: int, record_id: int
) -> ModelT | None:
    """The record when it exists and is the contact's (ids come from a remembered list)."""
    row = await session.get(model, record_id)
    return row if row is not None and getattr(row, "contact_id", None) == contact_id else None


async def _linked(
    session: AsyncSession, link: Any, target: Any, key: str, contact_id: int, record_id: int
) -> tuple[Any, Any] | None:
    """A many-to-many link row and its target (project, service, product, campaign)."""
    found = await session.execute(
        select(link, target)
        .join(target, getattr(link, key) == target.id)
        .where(link.contact_id == contact_id, target.id == record_id)
    )
    row = found.first()
    return None if row is None else (row[0], row[1])


async def _asset(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    asset = await _owned(session, m.Asset, contact_id, record_id)
    if asset is None:
        return None
    product = await session.get(m.Product, asset.product_id) if asset.product_id else None
    return {
        "name": asset.name,
        "serial": asset.serial or None,
        "status": vocab.label(vocab.ASSET_STATUS, asset.status, locale),
        "product": product.name if product is not None else None,
        "since": asset.date_assigned,
    }


async def _project(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    found = await _linked(session, m.ProjectContact, m.Project, "project_id", contact_id, record_id)
    if found is None:
        return None
    link, project = found
    return {
        "name": project.name,
        "role": link.role or None,
        "status": vocab.label(vocab.PROJECT_STATUS, project.status, locale),
        "starts": project.start_date,
        "until": project.target_end_date,
    }


async def _address(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    address = await _owned(session, m.Address, contact_id, record_id)
    if address is None:
        return None
    parts = {
        key: getattr(address, key) for key in ("street", "postal_code", "city", "state", "country")
    }
    return {
        "label": address.label or None,
        "address": one_line_address(parts) or None,
        **{key: value or None for key, value in parts.items()},
        "primary": address.is_primary,
        "fiscal": address.is_fiscal,
    }


async def _tax_rate(session: AsyncSession, tax_id: int | None) -> Param:
    tax = await session.get(m.Tax, tax_id) if tax_id else None
    return tax.rate if tax is not None else None


async def _service(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    found = await _linked(session, m.ServiceContact, m.Service, "service_id", contact_id, record_id)
    if found is None:
        return None
    link, service = found
    return {
        "name": service.name,
        "sku": service.sku,
        "status": vocab.label(vocab.SERVICE_LINK_STATUS, link.status, locale),
        "price": service.unit_price,
        "tax_rate": await _tax_rate(session, service.tax_id),
    }


async def _contract(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    contract = await _owned(session, m.Contract, contact_id, record_id)
    if contract is None:
        return None
    return {
        "subject": contract.subject,
        "type": contract.type or None,
        "status": vocab.label(vocab.CONTRACT_STATUS, contract.status, locale),
        "starts": contract.start_date,
        "until": contract.end_date,
        "renewal": contract.renewal_date,
        "sla": contract.sla_level or None,
    }


async def _product(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    found = await _linked(session, m.ProductContact, m.Product, "product_id", contact_id, record_id)
    if found is None:
        return None
    link, product = found
    return {
        "name": product.name,
        "sku": product.sku,
        "relation": vocab.label(vocab.PRODUCT_RELATION, link.relation, locale),
        "warranty_end": link.warranty_end,
        "price": product.unit_price,
        "tax_rate": await _tax_rate(session, product.tax_id),
        "stock": product.stock,
    }


async def _event(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    event = await _owned(session, m.CalendarEvent, contact_id, record_id)
    if event is None:
        return None
    return {
        "title": event.title,
        "type": vocab.label(vocab.EVENT_TYPE, event.type, locale),
        "status": vocab.label(vocab.EVENT_STATUS, event.status, locale),
        "starts": event.starts_at,
        "ends": event.ends_at,
        "location": event.location or None,
    }


async def _opportunity(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    opportunity = await _owned(session, m.Opportunity, contact_id, record_id)
    if opportunity is None:
        return None
    return {
        "name": opportunity.name,
        "stage": vocab.label(vocab.OPPORTUNITY_STAGE, opportunity.stage, locale),
        "amount": opportunity.amount,
        "close": opportunity.expected_close,
        "probability": opportunity.probability,
    }


async def _comment(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    comment = await _owned(session, m.Comment, contact_id, record_id)
    if comment is None:
        return None
    return {
        "author": comment.author,
        "at": comment.created_at,
        "text": comment.text,
        "text_max": _TEXT_MAX,
    }


async def _email(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    email = await session.scalar(
        select(m.Email)
        .join(m.EmailContact, m.EmailContact.email_id == m.Email.id)
        .where(m.Email.id == record_id, m.EmailContact.contact_id == contact_id)
    )
    if email is None:
        return None
    files = await session.scalars(
        select(m.StoredFile)
        .join(m.EmailFile, m.EmailFile.file_id == m.StoredFile.id)
        # An email of several contacts made one file per contact: show this contact's.
        .where(m.EmailFile.email_id == email.id, m.StoredFile.contact_id == contact_id)
        .order_by(m.StoredFile.id)
    )
    records = await session.scalars(
        select(m.EmailRecord.record_number)
        .where(m.EmailRecord.email_id == email.id)
        .order_by(m.EmailRecord.position, m.EmailRecord.record_number)
    )
    return {
        "from": email.from_addr,
        "to": email.to_addrs or None,
        "cc": email.cc_addrs or None,
        "at": email.date,
        "subject": email.subject,
        "inbound": email.direction == "inbound",
        "body": email.body.strip() or None,
        "body_max": _BODY_MAX,
        "attachments": [_file_summary(item) for item in files],
        "records": list(records),
    }


def _file_summary(stored: m.StoredFile) -> Param:
    value, unit = size_parts(stored.size)
    return {"name": stored.name, "size": value, "unit": unit}


async def _file(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    stored = await _owned(session, m.StoredFile, contact_id, record_id)
    if stored is None:
        return None
    value, unit = size_parts(stored.size)
    return {
        "name": stored.name,
        "size": value,
        "unit": unit,
        "bytes": stored.size,
        "mime_type": stored.mime_type,
        "sha256": stored.sha256[:_SHA_SHOWN],
        "source": stored.source,
        "note": stored.note or None,
        "created_by": stored.created_by or None,
        "at": stored.created_at,
    }


async def _campaign(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    found = await _linked(
        session, m.CampaignContact, m.Campaign, "campaign_id", contact_id, record_id
    )
    if found is None:
        return None
    link, campaign = found
    return {
        "name": campaign.name,
        "type": campaign.type or None,
        "status": vocab.label(vocab.CAMPAIGN_STATUS, campaign.status, locale),
        "membership": vocab.label(vocab.CAMPAIGN_MEMBER_STATUS, link.status, locale),
        "starts": campaign.start_date,
        "until": campaign.end_date,
        "description": campaign.description.strip() or None,
        "text_max": _BODY_MAX,
    }


async def _channel(
    session: AsyncSession, contact_id: int, record_id: int, locale: str
) -> Params | None:
    channel = await _owned(session, m.ChatChannel, contact_id, record_id)
    if channel is None:
        return None
    return {
        "room": channel.room_name or None,
        "room_id": channel.room_id,
        "linked_by": channel.linked_by or None,
        "at": channel.created_at,
    }


DETAIL_LOADERS: Final[Mapping[Module, DetailLoader]] = MappingProxyType(
    {
        Module.ASSETS: _asset,
        Module.PROJECTS: _project,
        Module.ADDRESSES: _address,
        Module.SERVICES: _service,
        Module.CONTRACTS: _contract,
        Module.PRODUCTS: _product,
        Module.CALENDAR: _event,
        Module.OPPORTUNITIES: _opportunity,
        Module.COMMENTS: _comment,
        Module.EMAILS: _email,
        Module.FILES: _file,
        Module.CAMPAIGNS: _campaign,
        Module.CHANNELS: _channel,
    }
)
