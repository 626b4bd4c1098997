"""Canonical codes of statuses, stages and kinds, with Spanish and English labels (DOMAIN §2)."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


class DocumentKind(StrEnum):
    """The three inventory documents."""

    PURCHASE_ORDER = "purchase_order"
    QUOTE = "quote"
    SALES_ORDER = "sales_order"


class FileSource(StrEnum):
    """Where a stored file came from."""

    CHAT = "chat"
    EMAIL = "email"
    UPLOAD = "upload"


Labels = MappingProxyType[str, tuple[str, str]]


def _labels(**pairs: tuple[str, str]) -> Labels:
    return MappingProxyType(pairs)


# code -> (es, en), in the order they are offered to users.
PO_STATUS: Final = _labels(
    created=("Creada", "Created"),
    approved=("Aprobada", "Approved"),
    sent=("Enviada al proveedor", "Sent to vendor"),
    received=("Recibida", "Received"),
    cancelled=("Cancelada", "Cancelled"),
)
QUOTE_STATUS: Final = _labels(
    created=("Creada", "Created"),
    delivered=("Entregada", "Delivered"),
    reviewed=("Revisada", "Reviewed"),
    accepted=("Aceptada", "Accepted"),
    rejected=("Rechazada", "Rejected"),
)
SALES_ORDER_STATUS: Final = _labels(
    created=("Creada", "Created"),
    approved=("Aprobada", "Approved"),
    delivered=("Entregada", "Delivered"),
    cancelled=("Cancelada", "Cancelled"),
)
CASE_STATUS: Final = _labels(
    open=("Abierto", "Open"),
    in_progress=("En curso", "In progress"),
    waiting=("En espera de respuesta", "Waiting for response"),
    closed=("Cerrado", "Closed"),
)
CASE_PRIORITY: Final = _labels(
    low=("Baja", "Low"),
    normal=("Normal", "Normal"),
    high=("Alta", "High"),
    urgent=("Urgente", "Urgent"),
)
CASE_SEVERITY: Final = _labels(
    minor=("Menor", "Minor"),
    major=("Mayor", "Major"),
    feature=("Mejora", "Feature"),
    critical=("Crítica", "Critical"),
)
OPPORTUNITY_STAGE: Final = _labels(
    prospecting=("Prospección", "Prospecting"),
    qualification=("Calificación", "Qualification"),
    needs_analysis=("Análisis de necesidades", "Needs analysis"),
    value_proposition=("Propuesta de valor", "Value proposition"),
    decision_makers=("Identificar decisores", "Id. decision makers"),
    perception_analysis=("Análisis de percepción", "Perception analysis"),
    proposal=("Propuesta/Presupuesto", "Proposal/Price quote"),
    negotiation=("Negociación", "Negotiation/Review"),
    closed_won=("Cerrada ganada", "Closed won"),
    closed_lost=("Cerrada perdida", "Closed lost"),
)
ASSET_STATUS: Final = _labels(
    in_service=("En servicio", "In service"), out_of_service=("Fuera de servicio", "Out of service")
)
SERVICE_LINK_STATUS: Final = _labels(
    proposed=("Propuesto", "Proposed"),
    contracted=("Contratado", "Contracted"),
    provided=("Prestado", "Provided"),
)
PRODUCT_RELATION: Final = _labels(
    interest=("Interés", "Interest"),
    purchase=("Compra", "Purchase"),
    assignment=("Asignación", "Assignment"),
)
CAMPAIGN_STATUS: Final = _labels(
    planning=("Planificación", "Planning"),
    active=("Activa", "Active"),
    inactive=("Inactiva", "Inactive"),
    completed=("Completada", "Completed"),
    cancelled=("Cancelada", "Cancelled"),
)
CAMPAIGN_MEMBER_STATUS: Final = _labels(
    none=("—", "—"),
    contacted=("Contactado con éxito", "Contacted - successful"),
    unsuccessful=("Contactado sin éxito", "Contacted - unsuccessful"),
    do_not_contact=("No volver a contactar", "Never contact again"),
)
CONTRACT_STATUS: Final = _labels(
    planning=("En planificación", "In planning"),
    in_progress=("En curso", "In progress"),
    on_hold=("En espera", "On hold"),
    complete=("Completado", "Complete"),
    archived=("Archivado", "Archived"),
)
PROJECT_STATUS: Final = CONTRACT_STATUS
EVENT_STATUS: Final = _labels(
    planned=("Planificado", "Planned"),
    held=("Realizado", "Held"),
    not_held=("No realizado", "Not held"),
)
EVENT_TYPE: Final = _labels(
    call=("Llamada", "Call"),
    meeting=("Reunión", "Meeting"),
    task=("Tarea", "Task"),
    reminder=("Recordatorio", "Reminder"),
)

DOCUMENT_STATUS: Final = MappingProxyType(
    {
        DocumentKind.PURCHASE_ORDER: PO_STATUS,
        DocumentKind.QUOTE: QUOTE_STATUS,
        DocumentKind.SALES_ORDER: SALES_ORDER_STATUS,
    }
)


def label(labels: Labels, code: str, locale: str) -> str:
    """The label of ``code`` in ``locale`` (``es`` or ``en``); an unknown code shows as itself."""
    pair = labels.get(code)
    if pair is None:
        return code
    return pair[1] if locale == "en" else pair[0]
