"""Rocket.Chat misbehaving on the REST side while the soak runs, through the fake's own knobs.

Episodes are spread evenly over the run's progress (time or message count, whichever is
further along), cycling through:

- ``proxy503`` / ``proxy502``: the reverse proxy answers every request with its HTML error
  page (Rocket.Chat down behind ingress-nginx or plain nginx);
- ``refused``: nothing listens, open connections are cut;
- ``rate429``: the bot account loses `api-bypass-rate-limit` (its `bot` role) and every
  route allows only a few calls a second, answered with real `X-RateLimit-Reset` headers;
- ``fail_after`` / ``close_after``: a burst of `chat.sendMessage` calls that store the
  message and then lose the answer (a 500, or the connection dropped): the ambiguous case
  the transport's exactly-once recipe is for (ROCKETCHAT.md §2.4).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.rocketchat import FakeRocketChat
from tests.fakes.rocketchat_http import RateRule

KINDS = ("proxy503", "fail_after", "refused", "rate429", "close_after", "proxy502")
SEND_PATH = "/api/v1/chat.sendMessage"
RATE_RULE = RateRule(calls=8, window_ms=1000)
BYPASS_ROLES = frozenset({"bot", "admin", "app"})


@dataclass(slots=True)
class Faults:
    """Runs the episodes; ``log`` says what was injected and when."""

    rc: FakeRocketChat
    episodes: int
    seconds: float
    burst: int  # answers lost per fail_after / close_after episode
    log: list[dict[str, object]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Whether every episode has run."""
        return len(self.log) >= self.episodes

    async def run(self, progress: Callable[[], float], started: float) -> None:
        """Episode i starts once ``progress()`` reaches (i + 1) / (episodes + 1)."""
        for number in range(self.episodes):
            kind = KINDS[number % len(KINDS)]
            await _reached(progress, (number + 1) / (self.episodes + 1))
            at = time.perf_counter() - started
            await self.episode(kind)
            self.log.append(
                {
                    "kind": kind,
                    "at_s": round(at, 1),
                    "for_s": round(time.perf_counter() - started - at, 1),
                }
            )

    async def episode(self, kind: str) -> None:
        """One episode; every knob is put back when it ends (or is cancelled)."""
        rc = self.rc
        if kind.startswith("proxy"):
            async with rc.outage("proxy", status=int(kind.removeprefix("proxy"))):
                await asyncio.sleep(self.seconds)
        elif kind == "refused":
            async with rc.outage("refused"):
                await asyncio.sleep(self.seconds)
        elif kind == "rate429":
            await self._rate_limited()
        elif kind == "fail_after":
            rc.fail_next(self.burst, status=500, path=SEND_PATH, when="after")
            await self._until_answered("fail-after", self.burst)
        elif kind == "close_after":
            rc.close_next(self.burst, path=SEND_PATH, when="after")
            await self._until_answered("close-after", self.burst)
        else:
            raise ValueError(f"unknown fault episode {kind!r}")

    async def _rate_limited(self) -> None:
        bot, limiter = self.rc.bot, self.rc.rate_limiter
        roles, rule = bot.roles, limiter.default
        bot.roles = tuple(role for role in roles if role not in BYPASS_ROLES)
        limiter.default = RATE_RULE
        try:
            await asyncio.sleep(self.seconds)
        finally:
            bot.roles, limiter.default = roles, rule

    async def _until_answered(self, label: str, count: int) -> None:
        """Wait until ``count`` requests got the injected fault, or the episode's time is up
        (the rest is taken by the next sends, during the drain at the latest)."""
        requests = self.rc.faults.requests
        seen, index = 0, len(requests)
        deadline = time.perf_counter() + max(self.seconds * 4, 5.0)
        while seen < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
            fresh = requests[index:]
            index += len(fresh)
            seen += sum(1 for record in fresh if record.fault == label)


async def _reached(progress: Callable[[], float], threshold: float) -> None:
    """Return once ``progress()`` is at ``threshold`` (checked ten times a second)."""
    while True:
        if progress() >= threshold:
            return
        await asyncio.sleep(0.1)


def fault_answers(rc: FakeRocketChat) -> dict[str, int]:
    """How many requests the fake answered with each fault, and with 429."""
    counts: Counter[str] = Counter()
    for record in rc.faults.requests:
        if record.fault is not None:
            counts[record.fault] += 1
        elif record.status == 429:
            counts["rate-limited-429"] += 1
    return dict(sorted(counts.items()))
