"""Demo projects and campaigns, and each contact's activity records and linked chat rooms."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal

from store import demo_data as data
from store.demo_base import Demo, DemoContact, slug
from store.models import (
    Asset,
    Base,
    CalendarEvent,
    Campaign,
    CampaignContact,
    ChatChannel,
    Comment,
    Contract,
    Opportunity,
    ProductContact,
    Project,
    ProjectContact,
    ServiceContact,
)
from store.vocab import (
    CAMPAIGN_MEMBER_STATUS,
    EVENT_TYPE,
    OPPORTUNITY_STAGE,
    PRODUCT_RELATION,
    SERVICE_LINK_STATUS,
)

ROOM_PREFIX = "demo-room-"
ASSET_SKU_PREFIXES = ("INF-", "MOB-")
EVENT_MINUTES = (30, 45, 60, 90)


async def add_activity(demo: Demo) -> None:
    """Every per-contact activity record; full contacts get at least one of each kind."""
    projects = _projects(demo)
    campaigns = _campaigns(demo)
    demo.session.add_all([*projects, *campaigns])
    await demo.session.flush()
    rooms = itertools.count(1)
    rows: list[Base] = []
    for person in demo.people:
        rows += _comments(demo, person)
        rows += _events(demo, person)
        rows += _opportunities(demo, person)
        if not person.full:
            continue  # a new lead has only been called and noted so far
        rows += _assets(demo, person)
        rows += _contracts(demo, person)
        rows += _links(demo, person, projects, campaigns)
        rows += _channels(demo, person, rooms)
    demo.session.add_all(rows)
    await demo.session.flush()


def _projects(demo: Demo) -> list[Project]:
    clock = demo.clock
    projects = []
    for name in data.PROJECTS:
        start = clock.days_ago(demo.rng.randint(30, 480))
        end = start + dt.timedelta(days=demo.rng.randint(90, 300))
        if end < clock.today:
            status = demo.pick(("complete", "complete", "archived"))
        else:
            status = demo.pick(("in_progress", "in_progress", "planning", "on_hold"))
        created = clock.moment_on(start - dt.timedelta(days=demo.rng.randint(5, 30)))
        projects.append(
            Project(
                name=name, status=status, start_date=start, target_end_date=end, created_at=created
            )
        )
    return projects


def _campaigns(demo: Demo) -> list[Campaign]:
    clock = demo.clock
    campaigns = []
    for row in data.CAMPAIGNS:
        start = clock.days_ago(demo.rng.randint(-20, 450))
        end = start + dt.timedelta(days=demo.rng.randint(14, 60))
        status = "completed" if end < clock.today else "active"
        if start > clock.today:
            status = "planning"
        created = clock.moment_on(
            min(start, clock.today) - dt.timedelta(days=demo.rng.randint(10, 40))
        )
        campaigns.append(
            Campaign(
                name=row.name,
                type=row.type,
                status=status,
                start_date=start,
                end_date=end,
                description=row.description,
                created_at=created,
            )
        )
    return campaigns


def _assets(demo: Demo, person: DemoContact) -> list[Asset]:
    candidates = [p for p in demo.products if p.sku.startswith(ASSET_SKU_PREFIXES)]
    assets = []
    for product in demo.some(candidates, 1, 3):
        created = person.created(demo.clock)
        serial = f"SN-{product.sku.split('-')[1]}-{demo.rng.randint(100000, 999999)}"
        assets.append(
            Asset(
                contact_id=person.id,
                name=product.name,
                serial=serial,
                product_id=product.id,
                status="in_service" if demo.rng.random() < 0.85 else "out_of_service",
                date_assigned=created.date(),
                created_at=created,
            )
        )
    return assets


def _contracts(demo: Demo, person: DemoContact) -> list[Contract]:
    clock = demo.clock
    contracts = []
    for subject, kind in demo.some(data.CONTRACT_KINDS, 1, 2):
        created = person.created(clock)
        start = created.date() + dt.timedelta(days=demo.rng.randint(0, 10))
        end = start + dt.timedelta(days=365)
        if end < clock.today:
            status = demo.pick(("complete", "archived"))
        else:
            status = demo.pick(("in_progress", "in_progress", "in_progress", "on_hold", "planning"))
        contracts.append(
            Contract(
                contact_id=person.id,
                subject=subject,
                type=kind,
                status=status,
                start_date=start,
                end_date=end,
                renewal_date=end - dt.timedelta(days=30),
                sla_level=demo.pick(data.SLA_LEVELS),
                created_at=created,
            )
        )
    return contracts


def _links(
    demo: Demo, person: DemoContact, projects: list[Project], campaigns: list[Campaign]
) -> list[Base]:
    """The four many-to-many modules: projects, services, products and campaigns."""
    clock = demo.clock
    rows: list[Base] = [
        ProjectContact(
            project_id=project.id,
            contact_id=person.id,
            role=demo.pick(data.PROJECT_ROLES),
            created_at=person.created(clock),
        )
        for project in demo.some(projects, 1, 2)
    ]
    rows += [
        ServiceContact(
            service_id=service.id,
            contact_id=person.id,
            status=demo.pick(tuple(SERVICE_LINK_STATUS)),
            created_at=person.created(clock),
        )
        for service in demo.some(demo.services, 1, 3)
    ]
    rows += [_product_link(demo, person, product.id) for product in demo.some(demo.products, 1, 3)]
    rows += [
        CampaignContact(
            campaign_id=campaign.id,
            contact_id=person.id,
            status=demo.pick(tuple(CAMPAIGN_MEMBER_STATUS)),
            created_at=person.created(clock),
        )
        for campaign in demo.some(campaigns, 1, 2)
    ]
    return rows


def _product_link(demo: Demo, person: DemoContact, product_id: int) -> ProductContact:
    created = person.created(demo.clock)
    relation = demo.pick(tuple(PRODUCT_RELATION))
    warranty = None
    if relation != "interest":
        warranty = created.date() + dt.timedelta(days=730)
    return ProductContact(
        product_id=product_id,
        contact_id=person.id,
        relation=relation,
        warranty_end=warranty,
        created_at=created,
    )


def _events(demo: Demo, person: DemoContact) -> list[CalendarEvent]:
    clock = demo.clock
    events = []
    for index in range(demo.rng.randint(2, 4)):
        kind = demo.pick(tuple(EVENT_TYPE))
        # The first event of everyone is upcoming, so "calendario" always shows some future.
        upcoming = index == 0 or demo.rng.random() < 0.25
        if upcoming:
            starts = clock.moment_on(clock.days_ago(-demo.rng.randint(1, 45)))
            created = clock.moment_between(
                max(person.first_day, clock.days_ago(20)), clock.yesterday
            )
            status = "planned"
        else:
            starts = person.created(clock)
            created = clock.moment_between(person.first_day, starts.date())
            created = min(created, starts)
            status = "held" if demo.rng.random() < 0.8 else "not_held"
        minutes = demo.pick(EVENT_MINUTES)
        events.append(
            CalendarEvent(
                contact_id=person.id,
                title=demo.pick(data.EVENT_TITLES[kind]),
                type=kind,
                starts_at=starts,
                ends_at=None if kind == "reminder" else starts + dt.timedelta(minutes=minutes),
                location="" if kind in {"task", "reminder"} else demo.pick(data.EVENT_PLACES),
                status=status,
                created_at=created,
            )
        )
    return events


def _opportunities(demo: Demo, person: DemoContact) -> list[Opportunity]:
    clock = demo.clock
    stages = tuple(OPPORTUNITY_STAGE)
    deals = []
    for topic in demo.some(data.OPPORTUNITY_TOPICS, 1, 2):
        created = person.created(clock)
        stage = demo.pick(stages) if person.full else "prospecting"
        closed = stage.startswith("closed_")
        close = (
            clock.day_between(created.date(), clock.yesterday)
            if closed
            else clock.days_ago(-demo.rng.randint(10, 120))
        )
        deals.append(
            Opportunity(
                contact_id=person.id,
                name=f"{topic} · {person.contact.account or person.name}",
                amount=Decimal(demo.rng.randint(6, 480) * 50),
                stage=stage,
                expected_close=close,
                probability=data.STAGE_PROBABILITY[stage],
                created_at=created,
            )
        )
    return deals


def _comments(demo: Demo, person: DemoContact) -> list[Comment]:
    return [
        Comment(
            contact_id=person.id,
            author=demo.pick(data.OWNERS),
            text=text,
            created_at=person.created(demo.clock),
        )
        for text in demo.some(data.COMMENTS, 1, 4)
    ]


def _channels(demo: Demo, person: DemoContact, rooms: Iterator[int]) -> list[ChatChannel]:
    # Named after the person: Rocket.Chat room names are unique, accounts are shared.
    base = slug(person.name, "-")
    names = [f"cliente-{base}"]
    if demo.rng.random() < 0.3:
        names.append(f"soporte-{base}")
    return [
        ChatChannel(
            contact_id=person.id,
            room_id=f"{ROOM_PREFIX}{next(rooms)}",
            room_name=name,
            linked_by=demo.pick(data.OWNERS),
            created_at=person.created(demo.clock),
        )
        for name in names
    ]
