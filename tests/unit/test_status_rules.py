"""The status rules as pure data: the transition table, typed status names, record numbers."""

from __future__ import annotations

import itertools

import pytest

from store.services.status import (
    LABELS,
    TRANSITIONS,
    StatusKind,
    can_change,
    match_status,
    next_statuses,
    normalize_number,
    statuses,
)

PO, QUOTE, SO, CASE = (
    StatusKind.PURCHASE_ORDER,
    StatusKind.QUOTE,
    StatusKind.SALES_ORDER,
    StatusKind.CASE,
)

# Written out by hand, independently of the module's table: every allowed move, nothing else.
ALLOWED: frozenset[tuple[StatusKind, str, str]] = frozenset(
    {
        (PO, "created", "approved"),
        (PO, "created", "sent"),
        (PO, "created", "cancelled"),
        (PO, "approved", "sent"),
        (PO, "approved", "cancelled"),
        (PO, "sent", "received"),
        (PO, "sent", "cancelled"),
        (QUOTE, "created", "delivered"),
        (QUOTE, "created", "reviewed"),
        (QUOTE, "created", "accepted"),
        (QUOTE, "created", "rejected"),
        (QUOTE, "delivered", "reviewed"),
        (QUOTE, "delivered", "accepted"),
        (QUOTE, "delivered", "rejected"),
        (QUOTE, "reviewed", "delivered"),
        (QUOTE, "reviewed", "accepted"),
        (QUOTE, "reviewed", "rejected"),
        (SO, "created", "approved"),
        (SO, "created", "cancelled"),
        (SO, "approved", "delivered"),
        (SO, "approved", "cancelled"),
        (CASE, "open", "in_progress"),
        (CASE, "open", "waiting"),
        (CASE, "open", "closed"),
        (CASE, "in_progress", "open"),
        (CASE, "in_progress", "waiting"),
        (CASE, "in_progress", "closed"),
        (CASE, "waiting", "open"),
        (CASE, "waiting", "in_progress"),
        (CASE, "waiting", "closed"),
        (CASE, "closed", "open"),
    }
)

FINAL = {
    PO: {"received", "cancelled"},
    QUOTE: {"accepted", "rejected"},
    SO: {"delivered", "cancelled"},
    CASE: set(),
}

ALL_MOVES = [
    (kind, old, new)
    for kind in StatusKind
    for old, new in itertools.product(statuses(kind), repeat=2)
]


@pytest.mark.parametrize(("kind", "old", "new"), ALL_MOVES)
def test_every_pair_follows_the_table(kind: StatusKind, old: str, new: str) -> None:
    assert can_change(kind, old, new) is ((kind, old, new) in ALLOWED)


def test_statuses_are_the_domain_ones_in_display_order() -> None:
    assert statuses(PO) == ("created", "approved", "sent", "received", "cancelled")
    assert statuses(QUOTE) == ("created", "delivered", "reviewed", "accepted", "rejected")
    assert statuses(SO) == ("created", "approved", "delivered", "cancelled")
    assert statuses(CASE) == ("open", "in_progress", "waiting", "closed")


@pytest.mark.parametrize("kind", list(StatusKind))
def test_table_covers_exactly_the_known_statuses(kind: StatusKind) -> None:
    assert set(TRANSITIONS[kind]) == set(LABELS[kind])
    for targets in TRANSITIONS[kind].values():
        assert set(targets) <= set(LABELS[kind])
        assert len(set(targets)) == len(targets)


@pytest.mark.parametrize("kind", list(StatusKind))
def test_final_statuses_have_no_way_out(kind: StatusKind) -> None:
    assert {code for code in statuses(kind) if not next_statuses(kind, code)} == FINAL[kind]


def test_staying_put_is_never_a_move() -> None:
    assert not any(can_change(kind, code, code) for kind in StatusKind for code in statuses(kind))


def test_next_statuses_are_offered_in_display_order() -> None:
    assert next_statuses(PO, "created") == ("approved", "sent", "cancelled")
    assert next_statuses(CASE, "closed") == ("open",)
    assert next_statuses(CASE, "waiting") == ("open", "in_progress", "closed")
    assert next_statuses(PO, "no-such-status") == ()


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        (PO, "approved", ("approved",)),
        (PO, "aprobada", ("approved",)),
        (PO, "APROBADA", ("approved",)),
        (PO, "aprobado", ("approved",)),
        (PO, "aprob", ("approved",)),
        (PO, "recibida", ("received",)),
        (PO, "Recibido", ("received",)),
        (PO, "enviada", ("sent",)),
        (PO, "Enviada al proveedor", ("sent",)),
        (PO, "sent to vendor", ("sent",)),
        (PO, "canceled", ("cancelled",)),
        (PO, "cancel", ("cancelled",)),
        (PO, "c", ()),
        (PO, "cr", ("created",)),
        (PO, "ca", ("cancelled",)),
        (PO, "closed", ()),
        (PO, "", ()),
        (QUOTE, "aceptada", ("accepted",)),
        (QUOTE, "re", ("reviewed", "rejected")),
        (QUOTE, "revisada", ("reviewed",)),
        (SO, "entregada", ("delivered",)),
        (SO, "approved", ("approved",)),
        (CASE, "en curso", ("in_progress",)),
        (CASE, "EN CURSO", ("in_progress",)),
        (CASE, "in_progress", ("in_progress",)),
        (CASE, "in progress", ("in_progress",)),
        (CASE, "en", ("in_progress", "waiting")),
        (CASE, "en espera", ("waiting",)),
        (CASE, "cerrado", ("closed",)),
        (CASE, "cerrada", ("closed",)),
        (CASE, "abierto", ("open",)),
        (CASE, "reabrir", ()),
        (CASE, "aprobada", ()),
    ],
)
def test_status_names_are_understood(
    kind: StatusKind, typed: str, expected: tuple[str, ...]
) -> None:
    assert match_status(kind, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("OC-00012", "OC-00012"),
        ("oc-12", "OC-00012"),
        ("OC00012", "OC-00012"),
        (" cot-3 ", "COT-00003"),
        ("ov-000002", "OV-00002"),
        ("CAS-7", "CAS-00007"),
        ("CAS-123456", "CAS-123456"),
        ("12", None),
        ("XX-00001", None),
        ("OC-", None),
        ("OC-1a", None),
    ],
)
def test_record_numbers_are_normalised(typed: str, expected: str | None) -> None:
    assert normalize_number(typed) == expected
