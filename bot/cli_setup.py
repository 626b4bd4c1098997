"""``crmbot rocketchat setup``: creates or updates the outgoing webhooks and checks the bot user.

Runs once, from an operator's terminal, with an admin's credentials, through the
``rocketchat-API`` package (synchronous, which is fine for a one-shot command).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
    RocketBadStatusCodeException,
    RocketConnectionException,
)
from rocketchat_API.rocketchat import RocketChat

EVENTS = ("sendMessage", "fileUploaded")
# Every room the bot can be in: channels, private groups and direct messages (ROCKETCHAT.md §1.5).
CHANNELS = "all_public_channels,all_private_groups,all_direct_messages"


class SetupError(Exception):
    """Rocket.Chat refused or could not be reached: one line for the operator."""


@dataclass(frozen=True, slots=True)
class SetupReport:
    """What setup did and the settings to put in ``.env``."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    token: str
    bot_user_id: str
    bot_has_role: bool

    def env_lines(self, url: str, username: str) -> Iterator[str]:
        """The ``.env`` lines for ``crmbot serve``."""
        yield f"CRMBOT_ROCKETCHAT_URL={url}"
        yield f"CRMBOT_ROCKETCHAT_USERNAME={username}"
        yield f"CRMBOT_ROCKETCHAT_USER_ID={self.bot_user_id}"
        yield "CRMBOT_ROCKETCHAT_TOKEN=<the bot user's personal access token>"
        yield f"CRMBOT_WEBHOOK_TOKEN={self.token}"


def _call(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        result = function(*args, **kwargs)
    except RocketAuthenticationException as exc:
        raise SetupError(f"{what}: wrong admin username or password") from exc
    except (RocketApiException, RocketBadStatusCodeException, RocketConnectionException) as exc:
        raise SetupError(f"{what}: Rocket.Chat answered {exc}") from exc
    except OSError as exc:
        raise SetupError(f"{what}: cannot reach Rocket.Chat ({exc})") from exc
    if isinstance(result, dict) and result.get("success") is False:
        raise SetupError(f"{what}: {result.get('error', 'refused')}")
    return result


def run_setup(
    url: str, admin_user: str, admin_password: str, bot_username: str, webhook_url: str
) -> SetupReport:
    """Create or update one outgoing webhook per event, all with one fresh token."""
    client = _call("login", RocketChat, user=admin_user, password=admin_password, server_url=url)
    bot = _call(
        f"looking up the bot user {bot_username!r}", client.users_info, username=bot_username
    )
    bot_user = bot["user"]
    token = secrets.token_urlsafe(32)
    existing = {
        item.get("name"): item
        for item in _call("listing integrations", lambda: list(client.integrations_list()))
    }
    created, updated = [], []
    for event in EVENTS:
        name = f"crmbot {event}"
        common = ("webhook-outgoing", name, True, bot_username, CHANNELS, False)
        if name in existing:
            _call(f"updating {name!r}", client.integrations_update, *common,
                  existing[name]["_id"], event=event, urls=[webhook_url], token=token)  # fmt: skip
            updated.append(name)
        else:
            _call(f"creating {name!r}", client.integrations_create, *common,
                  event=event, urls=[webhook_url], token=token)  # fmt: skip
            created.append(name)
    return SetupReport(
        created=tuple(created),
        updated=tuple(updated),
        token=token,
        bot_user_id=str(bot_user["_id"]),
        bot_has_role="bot" in bot_user.get("roles", []),
    )
