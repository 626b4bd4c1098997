"""The CRM schema: every table crmbot keeps, re-exported from one place."""

from store.models.activity import (
    Asset,
    CalendarEvent,
    Campaign,
    CampaignContact,
    Case,
    Comment,
    Contract,
    Opportunity,
    Project,
    ProjectContact,
)
from store.models.base import Base
from store.models.catalogue import Product, ProductContact, Service, ServiceContact, Tax, Vendor
from store.models.contacts import Address, ChatChannel, ChatUser, Contact, ContactKey
from store.models.documents import Document, DocumentLine
from store.models.jobs import SendJob
from store.models.mail import Blob, Email, EmailContact, EmailFile, EmailRecord, StoredFile
from store.models.runtime import (
    ChatMemory,
    DialogSession,
    EmailWebhookSignature,
    Meta,
    Outbox,
    ProcessedMessage,
    Sequence,
)

__all__ = [
    "Address",
    "Asset",
    "Base",
    "Blob",
    "CalendarEvent",
    "Campaign",
    "CampaignContact",
    "Case",
    "ChatChannel",
    "ChatMemory",
    "ChatUser",
    "Comment",
    "Contact",
    "ContactKey",
    "Contract",
    "DialogSession",
    "Document",
    "DocumentLine",
    "Email",
    "EmailContact",
    "EmailFile",
    "EmailRecord",
    "EmailWebhookSignature",
    "Meta",
    "Opportunity",
    "Outbox",
    "ProcessedMessage",
    "Product",
    "ProductContact",
    "Project",
    "ProjectContact",
    "SendJob",
    "Sequence",
    "Service",
    "ServiceContact",
    "StoredFile",
    "Tax",
    "Vendor",
]
