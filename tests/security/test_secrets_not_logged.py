"""Secrets never reach a log record, stdout or stderr, on the error paths above all.

The secrets: the Rocket.Chat webhook token, the bot's personal access token, the email
webhook secret, the SMTP relay password, the IMAP password, the database URL's password
and the Rocket.Chat admin password of `crmbot rocketchat setup`. Each is looked for as
written, percent-encoded (as it sits in a URL) and base64-encoded (as SMTP AUTH and HTTP
Basic carry it).

* `crmbot serve`'s app over loopback, against the fake Rocket.Chat, a real SMTP relay and
  PostgreSQL, with every logger at DEBUG: a wrong webhook token, a wrong email signature,
  Rocket.Chat answering 401 to the bot's reply, the relay refusing the bot's login.
* the IMAP poller logging in to a real Dovecot with a wrong password.
* the `crmbot` command line with every secret set, on each way it can stop with one line.
* the objects holding secrets: their repr hides them.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, Session
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.bootstrap import sender_config
from bot.cli import main
from bot.server import IMAP_KEY, build_app, imap_account
from bot.settings import Settings
from store.db import create_engine, session_factory
from store.models import ChatChannel
from store.services.catalogue import VendorData, upsert_vendor
from store.services.contacts import ContactData, upsert_contact
from store.services.documents import DocumentDraft, LineDraft, create_document
from store.services.users import set_role
from store.vocab import DocumentKind
from tests import databases
from tests.e2e.test_webhook import QueueTransport, make_settings, serving
from tests.fakes.rocketchat import FakeRocketChat
from tests.support.dovecot import running_dovecot
from webhooks.email import SIGNATURE_HEADER, sign

WEBHOOK_TOKEN = "whk-S3cr3t-9Zq4"
EMAIL_SECRET = "ehs-S3cr3t-7Kp2"
RELAY_USER, RELAY_PASSWORD = "crm-relay", "relay-S3cr3t/4Wd+8"
IMAP_PASSWORD = "imap-S3cr3t-2Xc6"
ADMIN_PASSWORD = "adm-S3cr3t-3Lm0"
# With the local server's trust authentication any password is accepted; a configured
# server's own password is the secret then.
DB_PASSWORD = make_url(databases.PG_URL).password or "db-S3cr3t/5Yh+1"
SECRETS = [WEBHOOK_TOKEN, EMAIL_SECRET, RELAY_PASSWORD, IMAP_PASSWORD, ADMIN_PASSWORD, DB_PASSWORD]
CONTACT, VENDOR = "ana@cliente.test", "pedidos@ferreteria.test"
# Unreachable on purpose: the command line stops at them.
DB = f"postgresql+asyncpg://crm:{quote(DB_PASSWORD, safe='')}@127.0.0.1:1/crm"
RELAY = f"smtp://{RELAY_USER}:{quote(RELAY_PASSWORD, safe='')}@relay.test"


def encodings(secret: str, user: str = "") -> set[str]:
    """How a secret may show up: as written, in a URL, base64 alone or in SMTP AUTH."""
    forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    if user:  # AUTH PLAIN: base64 of "\0user\0password"
        forms.add(base64.b64encode(f"\0{user}\0{secret}".encode()).decode())
    return forms


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    forms = {form for secret in secrets for form in encodings(secret, RELAY_USER)}
    return [f"{form!r} in {text[:300]!r}" for text in texts for form in forms if form in text]


class Everything(logging.Handler):
    """Every record of every logger, as a handler would write it (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def saw(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in self.lines)

    async def until(self, pattern: str) -> None:
        for _ in range(1000):  # a bounded wait for a background task, not a timing assumption
            if self.saw(pattern):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"nothing logged matches {pattern!r}")


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[Everything]:
    caplog.set_level(logging.DEBUG)
    handler = Everything()
    root = logging.getLogger()
    root.addHandler(handler)
    # The test relay's own DEBUG lines carry the AUTH exchange it receives; crmbot's SMTP
    # listener is off in these tests, so nothing of crmbot's is left out with them.
    relay_log = logging.getLogger("mail.log")
    relay_log.propagate = False
    try:
        yield handler
    finally:
        relay_log.propagate = True
        root.removeHandler(handler)


# --- the server -------------------------------------------------------------------------------


@dataclass
class RefusingRelay:
    """A real SMTP server on loopback that offers AUTH without TLS and refuses every login."""

    url: str = ""
    attempts: list[str] = field(default_factory=list)

    def authenticate(
        self, server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        self.attempts.append(mechanism)
        return AuthResult(success=False, handled=False)


@asynccontextmanager
async def refusing_relay() -> AsyncIterator[RefusingRelay]:
    relay = RefusingRelay()
    server = await asyncio.get_running_loop().create_server(
        lambda: SmtpServer(
            object(), hostname="relay.test", auth_require_tls=False,
            authenticator=relay.authenticate,
        ),
        "127.0.0.1", 0,
    )  # fmt: skip
    port = server.sockets[0].getsockname()[1]
    relay.url = f"smtp://{RELAY_USER}:{quote(RELAY_PASSWORD, safe='')}@127.0.0.1:{port}"
    try:
        yield relay
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def pg_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh PostgreSQL database, its URL carrying a password."""
    request.getfixturevalue("pg_template")
    name = await databases.clone_pg()
    url = make_url(databases.pg_url_for(name)).set(password=DB_PASSWORD)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await databases.drop_pg(name)


async def _seed(url: str, room_id: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as s:
            await set_role(s, "ana", "compras")
            ana, _ = await upsert_contact(s, ContactData("Ana", "Gil", email=CONTACT))
            vendor, _ = await upsert_vendor(s, VendorData("Ferretería Sur", email=VENDOR))
            s.add(ChatChannel(contact_id=ana.id, room_id=room_id, room_name="acme"))
            line = [LineDraft("Tornillo", Decimal(10), Decimal("0.50"))]
            draft = DocumentDraft(
                DocumentKind.PURCHASE_ORDER, ana.id, "Tornillería", dt.date(2026, 11, 28), line,
                vendor_id=vendor.id,
            )  # fmt: skip
            await create_document(s, draft)
    finally:
        await engine.dispose()


def _mail() -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = CONTACT, "crm@crm.localhost"
    message["Subject"], message["Message-ID"] = "Hola", "<secrets@cliente.test>"
    message.set_content("Hola.")
    return message.as_bytes(policy=policy.SMTP)


async def test_serve_error_paths_log_no_secret(
    rc: FakeRocketChat,
    pg_url: str,
    tmp_path: Path,
    logged: Everything,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ana = rc.add_user("ana")
    room = rc.add_room("acme", members=[ana, rc.bot])
    await _seed(pg_url, room.id)
    async with refusing_relay() as relay:
        settings = make_settings(
            pg_url, tmp_path / "files", rocketchat_url=rc.url, rocketchat_user_id=rc.bot.id,
            rocketchat_token=SecretStr(rc.bot.token), webhook_token=SecretStr(WEBHOOK_TOKEN),
            email_webhook_secret=SecretStr(EMAIL_SECRET), smtp_relay_url=SecretStr(relay.url),
            mail_domain="crm.localhost",
        )  # fmt: skip
        assert settings.smtp_port is None  # crmbot's own SMTP listener stays off (see logged)
        async with serving(build_app(settings)) as (_, url), aiohttp.ClientSession() as http:
            rc.add_outgoing_webhook(url + "/webhooks/rocketchat", WEBHOOK_TOKEN)
            # A delivery with a wrong token.
            body = {"token": WEBHOOK_TOKEN[:-1] + "x", "message_id": "m", "text": "hola"}
            async with http.post(f"{url}/webhooks/rocketchat", data=json.dumps(body)) as r:
                assert r.status == 401
            # A mail signed with another secret, then one signed right.
            raw = _mail()
            for secret, status in ((b"not-the-secret", 401), (EMAIL_SECRET.encode(), 200)):
                headers = {
                    "Content-Type": "message/rfc822",
                    SIGNATURE_HEADER: sign(secret, int(time.time()), raw),
                }
                async with http.post(f"{url}/webhooks/email", data=io.BytesIO(raw),
                                     headers=headers) as r:  # fmt: skip
                    assert r.status == status
            # Rocket.Chat refuses the bot's token once.
            rc.fail_next(1, 401, path="/api/v1/chat.sendMessage")
            await rc.emit_message(room, ana, "!ayuda")
            await logged.until(r"kept queued: .*401")
            # The relay refuses the bot's login.
            await rc.emit_message(room, ana, "!enviar OC-00001")
            await logged.until(r"relay said 535")
    assert relay.attempts  # the password was really offered to the relay
    assert logged.saw(r"webhook from .* refused: invalid or missing token")
    assert logged.saw(r"email webhook from .* refused: invalid or missing signature")
    captured = capfd.readouterr()
    assert leaks([*logged.lines, captured.out, captured.err], [*SECRETS, rc.bot.token]) == []


async def test_an_imap_login_refused_logs_no_password(
    sqlite_database: databases.TestDatabase, tmp_path: Path, logged: Everything
) -> None:
    with running_dovecot() as dovecot:
        mailbox = dovecot.mailbox()
        settings = make_settings(
            sqlite_database.url, tmp_path / "files", imap_host=mailbox.host,
            imap_port=mailbox.port, imap_user=mailbox.user,
            imap_password=SecretStr(IMAP_PASSWORD), imap_ssl=False,
        )  # fmt: skip
        app = build_app(settings, transport_factory=QueueTransport().factory)
        async with serving(app):
            async with asyncio.timeout(15):
                await app[IMAP_KEY].wait_failures(1)
    assert logged.saw("LOGIN failed")
    assert leaks(logged.lines, [IMAP_PASSWORD]) == []


# --- objects that hold secrets -----------------------------------------------------------------


def every_secret_set() -> Settings:
    return make_settings(
        f"postgresql+asyncpg://crm:{quote(DB_PASSWORD, safe='')}@db.test/crm", Path("files"),
        rocketchat_token=SecretStr("pat-S3cr3t-8Rt5"), webhook_token=SecretStr(WEBHOOK_TOKEN),
        email_webhook_secret=SecretStr(EMAIL_SECRET),
        smtp_relay_url=SecretStr(RELAY),
        imap_host="imap.test", imap_user="crm", imap_password=SecretStr(IMAP_PASSWORD),
    )  # fmt: skip


def test_reprs_hide_every_secret() -> None:
    settings = every_secret_set()
    relay = sender_config(settings)
    shown = [repr(settings), str(settings), repr(imap_account(settings)), repr(relay)]
    assert leaks(shown, [*SECRETS, "pat-S3cr3t-8Rt5"]) == []
    assert relay is not None
    assert relay.relay.password == RELAY_PASSWORD


# --- the command line ------------------------------------------------------------------------

ALL_SET = {
    "DATABASE_URL": DB,
    "ROCKETCHAT_URL": "http://127.0.0.1:9",
    "ROCKETCHAT_USER_ID": "bot",
    "ROCKETCHAT_TOKEN": "pat-S3cr3t-8Rt5",
    "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    "EMAIL_WEBHOOK_SECRET": EMAIL_SECRET,
    "SMTP_RELAY_URL": RELAY,
    "IMAP_HOST": "127.0.0.1",
    "IMAP_PORT": "1",
    "IMAP_USER": "crm",
    "IMAP_PASSWORD": IMAP_PASSWORD,
    "IMAP_SSL": "false",
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
}
CLI_CASES = [
    # (what differs from ALL_SET, arguments, what the one line says)
    ({"SMTP_RELAY_URL": RELAY.replace("smtp:", "ftp:")}, ["serve"],
     "CRMBOT_SMTP_RELAY_URL: must start with smtp://"),
    ({"SMTP_RELAY_URL": RELAY + ":99999"}, ["serve"], "CRMBOT_SMTP_RELAY_URL: has an invalid port"),
    ({"SMTP_RELAY_URL": f"{RELAY}/x?p={RELAY_PASSWORD}"}, ["serve"],
     "CRMBOT_SMTP_RELAY_URL: must be only"),
    ({"IMAP_PASSWORD": ""}, ["serve"], "CRMBOT_IMAP_PASSWORD is required"),
    ({"HTTP_PORT": RELAY_PASSWORD}, ["serve"], "CRMBOT_HTTP_PORT: "),
    ({"WEBHOOK_TOKEN": ""}, ["serve"], "CRMBOT_WEBHOOK_TOKEN is required"),
    ({}, ["users", "list"], "database error: "),
    ({}, ["serve"], "database error: "),
    ({"DATABASE_URL": DB.replace(":1/", ":port/")}, ["users", "list"],
     "the database URL cannot be read"),
    ({"DATABASE_URL": DB.replace("+asyncpg", "")}, ["users", "list"], "asyncpg driver"),
    ({"DATABASE_URL": DB.replace("postgresql+asyncpg", "mysql")}, ["db", "upgrade"],
     "unsupported database"),
    ({"DATABASE_URL": DB.replace("://", "//")}, ["db", "upgrade"],
     "the database URL cannot be read"),
]  # fmt: skip


@pytest.mark.parametrize(("changed", "argv", "says"), CLI_CASES)
def test_the_command_line_stops_with_one_line_and_no_secret(
    changed: dict[str, str],
    argv: list[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    logged: Everything,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    for name in [key for key in os.environ if key.startswith("CRMBOT_")]:
        monkeypatch.delenv(name)
    with socket.socket() as probe:  # `serve` gets as far as the database: a free port
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    for name, value in (ALL_SET | {"HTTP_PORT": port} | changed).items():
        monkeypatch.setenv(f"CRMBOT_{name}", value)
    assert main(argv) != 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1, err
    assert err.startswith("crmbot: "), err
    assert says in err
    assert leaks([out, err, *logged.lines], [*SECRETS, "pat-S3cr3t-8Rt5"]) == []


async def test_rocketchat_setup_with_a_wrong_admin_password_shows_none(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    logged: Everything,
) -> None:
    monkeypatch.chdir(tmp_path)
    async with FakeRocketChat() as fake:
        fake.add_user("boss", roles=("admin",), password="the-right-one")
        monkeypatch.setenv("CRMBOT_ROCKETCHAT_URL", fake.url)
        monkeypatch.setenv("CRMBOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        status = await asyncio.to_thread(main, ["rocketchat", "setup", "--admin-user", "boss"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.count("\n") == 1
    assert "wrong admin username or password" in err
    assert leaks([out, err, *logged.lines], [ADMIN_PASSWORD]) == []
