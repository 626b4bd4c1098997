"""The webhook token and the email webhook's HMAC are compared in constant time (CONTRACT §3).

No timing is measured: the comparison function is replaced by a spy that records what it is
given and answers what the real ``hmac.compare_digest`` would. The checks prove that

* the presented value and the expected one both reach ``compare_digest`` on every request,
  right or wrong (so no ``==`` short-cuts the comparison for some inputs);
* the verdict is ``compare_digest``'s alone: forcing it to say "equal" lets a wrong value
  in and forcing "different" keeps the right one out, so no second ``==`` decides;
* a value wrong only in its last character and one wrong only in its first are refused with
  the same status and the same body, and nothing is stored or looked up for either.
"""

from __future__ import annotations

import hmac
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

import webhooks.email
import webhooks.rocketchat
from bot.server import build_app
from store.db import session_factory
from store.models import Email, EmailWebhookSignature, ProcessedMessage
from store.signatures import SignatureLedger
from tests.databases import TestDatabase
from tests.e2e.test_webhook import QueueTransport, make_settings, message, serving
from webhooks.email import SIGNATURE_HEADER, sign

TOKEN = "Wk7-q3ZpX9-tRm2-Lv8c"
SECRET = "mail-hook-9Qp-Zt4Kx"
REAL_COMPARE: Callable[..., bool] = hmac.compare_digest


@dataclass
class DigestSpy:
    """Stands in for ``compare_digest``: records each pair, answers the real verdict unless
    ``verdict`` forces one."""

    calls: list[tuple[object, object]] = field(default_factory=list)
    verdict: bool | None = None

    def __call__(self, a: object, b: object) -> bool:
        self.calls.append((a, b))
        if self.verdict is not None:
            return self.verdict
        return REAL_COMPARE(a, b)

    def take(self) -> list[tuple[object, object]]:
        taken, self.calls = self.calls, []
        return taken


def install_spy(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> DigestSpy:
    """The spy wherever the product could reach ``compare_digest`` from."""
    spy = DigestSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    monkeypatch.setattr(secrets, "compare_digest", spy)
    for module in modules:  # a `from hmac import compare_digest` would bind its own name
        if hasattr(module, "compare_digest"):
            monkeypatch.setattr(module, "compare_digest", spy)
    return spy


def one_off(value: str, index: int, alphabet: str) -> str:
    """``value`` with the character at ``index`` replaced by another from ``alphabet``."""
    at = index % len(value)
    replacement = next(c for c in alphabet if c != value[at])
    return value[:at] + replacement + value[at + 1 :]


@dataclass
class Served:
    url: str
    http: aiohttp.ClientSession
    database: TestDatabase
    spy: DigestSpy

    async def chat(self, body: dict[str, object]) -> tuple[int, object]:
        data = json.dumps(body).encode()
        async with self.http.post(
            f"{self.url}/webhooks/rocketchat",
            data=io.BytesIO(data),
            headers={"Content-Type": "application/json"},
        ) as response:
            return response.status, await response.json()

    async def mail(self, raw: bytes, signature: str) -> tuple[int, object]:
        headers = {"Content-Type": "message/rfc822", SIGNATURE_HEADER: signature}
        async with self.http.post(
            f"{self.url}/webhooks/email", data=io.BytesIO(raw), headers=headers
        ) as response:
            return response.status, await response.json()

    async def count(self, model: type[object]) -> int:
        async with session_factory(self.database.engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def served(
    sqlite_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    spy = install_spy(monkeypatch, webhooks.rocketchat, webhooks.email)
    settings = make_settings(
        sqlite_database.url,
        tmp_path / "files",
        webhook_token=SecretStr(TOKEN),
        email_webhook_secret=SecretStr(SECRET),
    )
    app = build_app(settings, transport_factory=QueueTransport().factory)
    async with serving(app) as (_runner, url), aiohttp.ClientSession() as http:
        yield Served(url, http, sqlite_database, spy)


# --- the Rocket.Chat outgoing-webhook token ------------------------------------------------

TOKEN_ALPHABET = "abcdefghijkLMNOPQRS0123456789-"
WRONG_TOKENS = {
    "last": one_off(TOKEN, -1, TOKEN_ALPHABET),
    "first": one_off(TOKEN, 0, TOKEN_ALPHABET),
    "shorter": TOKEN[:-1],
    "longer": TOKEN + "x",
}


async def test_a_right_token_goes_through_compare_digest(served: Served) -> None:
    assert await served.chat(message("m-right", token=TOKEN)) == (200, {})
    assert served.spy.take() == [(TOKEN.encode(), TOKEN.encode())]
    assert await served.count(ProcessedMessage) == 1


async def test_wrong_tokens_go_through_compare_digest_and_are_refused_alike(
    served: Served,
) -> None:
    answers = set()
    for name, wrong in WRONG_TOKENS.items():
        status, body = await served.chat(message(f"m-{name}", token=wrong))
        answers.add((status, json.dumps(body)))
        assert served.spy.take() == [(wrong.encode(), TOKEN.encode())], name
    assert answers == {(401, json.dumps({"error": "invalid or missing token"}))}
    assert await served.count(ProcessedMessage) == 0


async def test_the_verdict_is_compare_digests_alone(served: Served) -> None:
    served.spy.verdict = True  # "equal": a wrong token now passes, so nothing else decides
    assert await served.chat(message("m-forced-in", token=WRONG_TOKENS["last"])) == (200, {})
    served.spy.verdict = False  # "different": the right token is now refused
    assert (await served.chat(message("m-forced-out", token=TOKEN)))[0] == 401
    assert len(served.spy.take()) == 2
    assert await served.count(ProcessedMessage) == 1


def test_the_token_check_compares_bytes_of_the_presented_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = install_spy(monkeypatch, webhooks.rocketchat)
    webhooks.rocketchat.check_token({"token": TOKEN}, TOKEN.encode())
    with pytest.raises(webhooks.rocketchat.Refused) as refused:
        webhooks.rocketchat.check_token({"token": "ñ" + TOKEN[1:]}, TOKEN.encode())
    assert refused.value.status == 401
    # Non-ASCII text is compared as UTF-8 bytes: compare_digest refuses non-ASCII str.
    assert spy.take() == [
        (TOKEN.encode(), TOKEN.encode()),
        (("ñ" + TOKEN[1:]).encode(), TOKEN.encode()),
    ]


# --- the email webhook's HMAC-SHA256 ---------------------------------------------------------

RAW = (
    b"From: ana@vendor.test\r\nTo: crm@crm.localhost\r\nSubject: Oferta\r\n"
    b"Message-ID: <ct-1@vendor.test>\r\n\r\nAdjunto la oferta.\r\n"
)
HEX = "0123456789abcdef"


def signed(raw: bytes = RAW, *, at: int | None = None) -> tuple[int, str]:
    """The timestamp and the right `v1` digest for ``raw``."""
    timestamp = int(time.time()) if at is None else at
    return timestamp, sign(SECRET.encode(), timestamp, raw).rpartition("v1=")[2]


async def test_a_right_signature_goes_through_compare_digest(served: Served) -> None:
    timestamp, digest = signed()
    status, answer = await served.mail(RAW, f"t={timestamp},v1={digest}")
    assert status == 200, answer
    assert served.spy.take() == [(digest, digest)]
    assert await served.count(Email) == 1


async def test_wrong_signatures_go_through_compare_digest_and_are_refused_alike(
    served: Served,
) -> None:
    timestamp, digest = signed()
    answers = set()
    for index in (-1, 0):
        wrong = one_off(digest, index, HEX)
        status, body = await served.mail(RAW, f"t={timestamp},v1={wrong}")
        answers.add((status, json.dumps(body)))
        assert served.spy.take() == [(wrong, digest)]
    assert answers == {(401, json.dumps({"error": "invalid or missing signature"}))}
    # Refused before the replay ledger or the store is touched.
    assert (await served.count(EmailWebhookSignature), await served.count(Email)) == (0, 0)


async def test_every_candidate_is_compared_even_after_a_match(served: Served) -> None:
    timestamp, digest = signed()
    wrong = one_off(digest, 0, HEX)
    status, _ = await served.mail(RAW, f"t={timestamp},v1={digest},v1={wrong}")
    assert status == 200
    assert served.spy.take() == [(digest, digest), (wrong, digest)]


async def test_the_signature_verdict_is_compare_digests_alone(served: Served) -> None:
    timestamp, digest = signed()
    served.spy.verdict = False
    assert (await served.mail(RAW, f"t={timestamp},v1={digest}"))[0] == 401
    served.spy.verdict = True
    status, _ = await served.mail(RAW, f"t={timestamp},v1={one_off(digest, -1, HEX)}")
    assert status == 200
    assert await served.count(Email) == 1


async def test_a_bad_signature_never_reaches_the_replay_ledger(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    claimed: list[str] = []
    real_claim = SignatureLedger.claim

    async def claim(self: SignatureLedger, signature: str, timestamp: int, **kw: int) -> bool:
        claimed.append(signature)
        return await real_claim(self, signature, timestamp, **kw)

    monkeypatch.setattr(SignatureLedger, "claim", claim)
    timestamp, digest = signed()
    for index in (-1, 0):
        await served.mail(RAW, f"t={timestamp},v1={one_off(digest, index, HEX)}")
    assert claimed == []
    assert (await served.mail(RAW, f"t={timestamp},v1={digest}"))[0] == 200
    assert claimed == [digest]
