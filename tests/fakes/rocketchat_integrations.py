"""Owns the fake's integration admin routes: integrations.list / create / update.

ROCKETCHAT.md does not describe these; their shapes follow Rocket.Chat's developer API
reference (Create Integration, Update Integration, List Integrations): outgoing webhooks
take `type`, `name`, `enabled`, `username`, `channel` (comma-separated), `scriptEnabled`,
`event`, `urls`, optional `token`; the answer carries the integration document. Only
admins may manage them (`manage-outgoing-integrations`)."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.rocketchat_http import STATE_KEY, ApiError, current_user, json_object, success
from tests.fakes.rocketchat_model import JsonObj, OutgoingIntegration
from tests.fakes.rocketchat_state import FakeState
from tests.fakes.rocketchat_webhooks import validate_channels

_EVENTS = {"sendMessage", "fileUploaded"}


def _require_admin(request: web.Request) -> None:
    if "admin" not in current_user(request).roles:
        raise ApiError.forbidden()


def _document(integration: OutgoingIntegration, name: str) -> JsonObj:
    return {
        "_id": integration.id,
        "type": "webhook-outgoing",
        "name": name,
        "enabled": integration.enabled,
        "event": integration.event,
        "urls": list(integration.urls),
        "username": integration.username,
        "channel": list(integration.channels),
        "token": integration.token,
    }


def _fields(state: FakeState, body: JsonObj) -> tuple[str, list[str], str, list[str], str]:
    if body.get("type") != "webhook-outgoing":
        raise ApiError.failure("Invalid integration type.")
    event, urls = body.get("event"), body.get("urls")
    if event not in _EVENTS or not isinstance(urls, list) or not urls:
        raise ApiError.invalid_body(["must have required property 'event' and 'urls'"])
    username = str(body.get("username") or "")
    if state.user_by_username(username) is None:
        raise ApiError.meteor("error-invalid-post-as-user", "Invalid Post As User")
    channels = [c.strip() for c in str(body.get("channel") or "").split(",") if c.strip()]
    token = str(body.get("token") or state.new_id(24))
    return str(event), [str(u) for u in urls], username, validate_channels(channels), token


async def integrations_list(request: web.Request) -> web.Response:
    _require_admin(request)
    state = request.app[STATE_KEY]
    docs = [_document(i, state.integration_names.get(i.id, "")) for i in state.integrations]
    return success({"integrations": docs, "offset": 0, "items": len(docs), "total": len(docs)})


async def integrations_create(request: web.Request) -> web.Response:
    _require_admin(request)
    state, body = request.app[STATE_KEY], await json_object(request)
    event, urls, username, channels, token = _fields(state, body)
    integration = OutgoingIntegration(
        id=state.new_id(), event=event, urls=urls, token=token, username=username,
        channels=channels, enabled=bool(body.get("enabled", True)),
    )  # fmt: skip
    state.integrations.append(integration)
    state.integration_names[integration.id] = str(body.get("name") or "")
    return success({"integration": _document(integration, state.integration_names[integration.id])})


async def integrations_update(request: web.Request) -> web.Response:
    _require_admin(request)
    state, body = request.app[STATE_KEY], await json_object(request)
    found = [i for i in state.integrations if i.id == body.get("integrationId")]
    if not found:
        raise ApiError.meteor("error-invalid-integration", "Invalid integration")
    event, urls, username, channels, token = _fields(state, body)
    integration = found[0]
    integration.event, integration.urls, integration.username = event, urls, username
    integration.channels, integration.token = channels, token
    integration.enabled = bool(body.get("enabled", True))
    state.integration_names[integration.id] = str(body.get("name") or "")
    return success({"integration": _document(integration, state.integration_names[integration.id])})


def add_integration_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/integrations.list", integrations_list)
    app.router.add_post("/api/v1/integrations.create", integrations_create)
    app.router.add_put("/api/v1/integrations.update", integrations_update)
