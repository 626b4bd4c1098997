"""Owns the OpenAPI 3.0 description of `crmbot serve`'s HTTP endpoints, served at `/openapi.json`.

It states CONTRACT §3 as a machine-readable document: what each endpoint takes, every status
it answers and the shape of each answer, so an operator (or a schema-driven test) can check
the server against it. Built once at import from the handlers' own constants, so a changed
limit or header name changes the document too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

from aiohttp import web

from webhooks.email import CONTENT_TYPE as EMAIL_CONTENT_TYPE
from webhooks.email import SIGNATURE_HEADER, WINDOW_SECONDS
from webhooks.rocketchat import MAX_BODY

PATH: Final = "/openapi.json"
Schema = dict[str, Any]


def _version() -> str:
    try:
        return version("crmbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(description, _ref("Error"))


_NON_EMPTY: Final[Schema] = {"type": "string", "minLength": 1}
# An optional field may be absent or null (read as absent); if present it has this type.
_TEXT: Final[Schema] = {"type": "string", "nullable": True}


def _optional_object(description: str, properties: Schema, **more: object) -> Schema:
    return {
        "type": "object",
        "nullable": True,
        "description": description,
        "properties": properties,
        **more,
    }


# The fields crmbot reads from a `sendMessage` / `fileUploaded` body (ROCKETCHAT.md §1.3, §1.4).
# Anything else Rocket.Chat sends (`timestamp`, `siteUrl`, `alias`, `trigger_word`, …) is
# accepted and ignored, so the object stays open.
_DELIVERY: Final[Schema] = {
    "type": "object",
    "required": ["token", "message_id", "user_id", "user_name", "channel_id"],
    "properties": {
        "token": {
            "type": "string",
            "description": "The outgoing-webhook integration's token (CRMBOT_WEBHOOK_TOKEN); "
            "a wrong or missing one is answered 401 and nothing is stored.",
        },
        "message_id": {**_NON_EMPTY, "description": "Redelivered ids are handled once."},
        "user_id": _NON_EMPTY,
        "user_name": _NON_EMPTY,
        "channel_id": _NON_EMPTY,
        "channel_name": {**_TEXT, "description": "Absent for direct messages."},
        "text": _TEXT,
        "tmid": {**_TEXT, "description": "Thread parent; replies go to the thread."},
        "bot": {"description": "Truthy for integration and bot posts, which are ignored."},
        "isEdited": {"description": "Truthy for edits, which are acknowledged and ignored."},
        "timestamp": {"description": "ISO 8601; not read."},
        "user": _optional_object(
            "`fileUploaded` only: the sender's user document.", {"name": _TEXT}
        ),
        "room": _optional_object(
            "`fileUploaded` only: the room document; `t` is its type (`c`, `p`, `d`, `l`).",
            {"t": _TEXT},
        ),
        "message": _optional_object(
            "`fileUploaded` only: the message document with `file` and `attachments`.",
            {
                "tmid": _TEXT,
                "file": _optional_object(
                    "The uploaded file; an empty object means none.",
                    {
                        "_id": _NON_EMPTY,
                        "name": _TEXT,
                        "type": _TEXT,
                        "size": {"description": "Bytes; a value that is no integer is ignored."},
                    },
                    anyOf=[{"maxProperties": 0}, {"required": ["_id"]}],
                ),
                "attachments": {
                    "description": "Its entry whose `fileId` is the file's `_id` gives the "
                    "download link; anything else in it is ignored."
                },
            },
        ),
    },
}

_ROCKETCHAT: Final[Schema] = {
    "post": {
        "operationId": "rocketchatWebhook",
        "summary": "A Rocket.Chat outgoing-webhook delivery",
        "description": "Answered 200 `{}` once the message is durably recorded (an empty "
        "200 would be retried by Rocket.Chat). Bot messages, the bot's own and edits are "
        f"acknowledged the same way and ignored. Bodies over {MAX_BODY} bytes are refused "
        "before they are read in full.",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _DELIVERY}},
        },
        "responses": {
            "200": _json("Recorded, or acknowledged and ignored.", _ref("Acknowledged")),
            "400": _error("Not JSON, not an object, or a required field is missing or mistyped."),
            "401": _error("Wrong or missing `token`; nothing stored."),
            "413": _error(f"Body larger than {MAX_BODY} bytes; nothing stored."),
            "503": _error(
                "The message could not be recorded (database unavailable or too slow): "
                "Rocket.Chat retries a 503."
            ),
        },
    }
}

_EMAIL: Final[Schema] = {
    "post": {
        "operationId": "emailWebhook",
        "summary": "One raw RFC 822 message, HMAC-signed",
        "description": f"Signed with header `{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex "
        'HMAC-SHA256 of "<t>." + body>` keyed with CRMBOT_EMAIL_WEBHOOK_SECRET; a timestamp '
        f"more than {WINDOW_SECONDS} s off, a bad signature or a signature already used is "
        "answered 401. The body is capped at CRMBOT_MAX_FILE_MB. Nothing is stored on any "
        "error. The endpoint answers 404 while no secret is configured.",
        "security": [{"emailSignature": []}],
        "requestBody": {
            "required": True,
            "content": {EMAIL_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        "responses": {
            "200": _json("Stored, or already stored before.", _ref("EmailStored")),
            "400": _error("Empty, unreadable or refused message."),
            "401": _error("Missing, invalid, stale or replayed signature."),
            "404": _error("The endpoint is off: CRMBOT_EMAIL_WEBHOOK_SECRET is unset."),
            "413": _error("Larger than CRMBOT_MAX_FILE_MB."),
            "415": _error(f"Content-Type is not {EMAIL_CONTENT_TYPE}."),
            "503": _error("The database is unavailable; the sender may retry, signed afresh."),
        },
    }
}

_HEALTH: Final[Schema] = {
    "get": {
        "operationId": "health",
        "summary": "Whether the database answers",
        "responses": {
            "200": _json("The database answers.", _ref("HealthOk")),
            "503": _json("The database does not answer.", _ref("HealthUnavailable")),
        },
    }
}

_METRICS: Final[Schema] = {
    "get": {
        "operationId": "metrics",
        "summary": "Prometheus text exposition",
        "description": "Messages by outcome, dialog steps, errors by kind, outbox depth and "
        "age, webhook latency histogram.",
        "responses": {
            "200": {
                "description": "The metrics.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    }
}

_DESCRIPTION: Final[Schema] = {
    "get": {
        "operationId": "openapi",
        "summary": "This document",
        "responses": {"200": _json("The OpenAPI description.", {"type": "object"})},
    }
}

_SCHEMAS: Final[Schema] = {
    "Acknowledged": {
        "type": "object",
        "description": "Always exactly `{}`.",
        "additionalProperties": False,
        "maxProperties": 0,
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": _NON_EMPTY},
    },
    "EmailStored": {
        "type": "object",
        "required": ["email_id", "duplicate"],
        "additionalProperties": False,
        "properties": {
            "email_id": {"type": "integer", "nullable": True},
            "duplicate": {"type": "boolean"},
        },
    },
    "HealthOk": {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"type": "string", "enum": ["ok"]}},
    },
    "HealthUnavailable": {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"type": "string", "enum": ["unavailable"]}},
    },
}

OPENAPI: Final[Schema] = {
    "openapi": "3.0.3",
    "info": {
        "title": "crmbot",
        "version": _version(),
        "description": "HTTP endpoints of `crmbot serve`: the Rocket.Chat and email webhooks, "
        "health and metrics.",
    },
    "paths": {
        "/webhooks/rocketchat": _ROCKETCHAT,
        "/webhooks/email": _EMAIL,
        "/healthz": _HEALTH,
        "/metrics": _METRICS,
        PATH: _DESCRIPTION,
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "emailSignature": {
                "type": "apiKey",
                "in": "header",
                "name": SIGNATURE_HEADER,
                "description": '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`; '
                "several `v1` are allowed while a secret is rotated.",
            }
        },
    },
}

_BODY: Final = json.dumps(OPENAPI).encode()


def openapi_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /openapi.json`: the document, serialised once."""

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(body=_BODY, content_type="application/json")

    return handle
