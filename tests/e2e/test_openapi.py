"""Schemathesis over the live `crmbot serve` app on loopback, driven by the `/openapi.json` it
serves (webhooks.openapi): positive and negative requests for every operation, checked for
no server error, documented statuses, documented content types and response schemas.

The app runs on its own event loop in a thread, because schemathesis calls it synchronously
(requests). Most generated deliveries carry the real token and email bodies are signed with
the real secret (the operation's authentication), so requests get past authentication to
the parsing behind it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.transport.serialization import serialize_binary

from bot.server import build_app
from bot.settings import Settings
from tests import databases
from tests.chat import RecordingTransport
from tests.e2e.test_webhook import BOT_ID, TOKEN
from webhooks.email import SIGNATURE_HEADER, sign
from webhooks.openapi import OPENAPI, PATH

EMAIL_SECRET = "openapi-email-secret"
# Per operation and generation mode; with the coverage phase's fixed cases this keeps the
# run to a few seconds per backend.
MAX_EXAMPLES = 30

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            # A NUL-only required field is cleaned to nothing at the edge and refused with
            # a 400 the schema cannot express (test_fuzz_webhook covers NUL itself).
            "allow-x00": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                # Whether a mail can be stored depends on its content, not on a schema: a
                # well-formed request may still be refused as an empty or unreadable message.
                "include-path": "/webhooks/email",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401"]}
                },
            }
        ],
    }
)


# The email body is raw bytes of the declared type; schemathesis serialises it like a file.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


class LiveApp:
    """The `crmbot serve` app on 127.0.0.1, served from an event loop in its own thread."""

    def __init__(self, settings: Settings) -> None:
        self.transport = RecordingTransport()
        self._app = build_app(settings, transport_factory=lambda _s: nullcontext(self.transport))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-app")
        self.url = ""

    def __enter__(self) -> LiveApp:
        self._thread.start()
        self._runner = web.AppRunner(self._app, access_log=None)
        try:
            self.url = self._call(self._start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call(self._runner.cleanup())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()

    def _call(self, coro: Any) -> Any:
        # A guard against a hang, not a timing assumption.
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    async def _start(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"


def _settings(url: str, files: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        rocketchat_url="http://127.0.0.1:9",
        rocketchat_user_id=BOT_ID,
        rocketchat_token=SecretStr("bot-pat"),
        webhook_token=SecretStr(TOKEN),
        email_webhook_secret=SecretStr(EMAIL_SECRET),
        files_dir=files,
        max_file_mb=1,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[LiveApp]:
    """The app over a fresh migrated database of each kind."""
    if request.param == "sqlite":
        url = databases.clone_sqlite(sqlite_template, tmp_path)
        with LiveApp(_settings(url, tmp_path / "files")) as app:
            yield app
        return
    request.getfixturevalue("pg_template")
    name = asyncio.run(databases.clone_pg())
    try:
        with LiveApp(_settings(databases.pg_url_for(name), tmp_path / "files")) as app:
            yield app
    finally:
        asyncio.run(databases.drop_pg(name))


@pytest.fixture
def served_schema(live: LiveApp) -> Any:
    """The description exactly as the app serves it."""
    return schemathesis.openapi.from_url(live.url + PATH, config=CONFIG, timeout=10)


schema = schemathesis.pytest.from_fixture("served_schema")


def _authentic(value: object) -> bool:
    # Deterministic from the generated data, so a failing case replays the same way:
    # three in four deliveries get the real token, the rest keep the generated one.
    return hashlib.sha256(repr(value).encode()).digest()[0] % 4 != 0


def _with_token(case: schemathesis.Case[Any]) -> None:
    body = case.body
    # A token of the wrong type, or none, stays as generated: that is what such a case tests.
    if (
        case.operation.path == "/webhooks/rocketchat"
        and isinstance(body, dict)
        and isinstance(body.get("token"), str)
        and _authentic(body)
    ):
        body["token"] = TOKEN


@schema.auth(refresh_interval=None, retry_on=[]).apply_to(path="/webhooks/email")
class EmailSignature:
    """Signs each generated mail with the real secret, as the configured sender would.

    Registered as the operation's authentication, so schemathesis also sends the same
    requests unsigned and checks that they are refused.
    """

    def get(self, _case: schemathesis.Case[Any], _ctx: schemathesis.AuthContext) -> str:
        return EMAIL_SECRET

    def set(
        self, case: schemathesis.Case[Any], secret: str, _ctx: schemathesis.AuthContext
    ) -> None:
        raw = serialize_binary(case.body)  # the bytes the registered serializer will send
        header = sign(secret.encode(), int(time.time()), raw)
        case.headers[SIGNATURE_HEADER] = header


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_live_app_conforms_to_its_description(
    case: schemathesis.Case[Any], live: LiveApp
) -> None:
    _with_token(case)
    with requests.Session() as session:
        case.call_and_validate(base_url=live.url, session=session, timeout=30)


def test_the_served_description_is_the_module_document(live: LiveApp) -> None:
    response = requests.get(live.url + PATH, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == OPENAPI
