"""Owns crmbot's Prometheus metrics (one private registry per app) and the `/metrics` view."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

# Webhook acknowledgements are a few milliseconds on a healthy database; the tail matters.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 20.0)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Unsent outbox rows and the age in seconds of the oldest one (0 when empty)."""

    depth: int
    oldest_age: float


OutboxProbe = Callable[[], Awaitable[OutboxStats]]


class Metrics:
    """Every metric crmbot exports. Its own registry, so two apps in one process (tests,
    a benchmark beside a server) never share or clash over counters."""

    def __init__(self, outbox_probe: OutboxProbe | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.outbox_probe = outbox_probe
        self.messages = Counter(
            "crmbot_messages",
            "Inbound chat messages by outcome: handled, duplicate, ignored, failed.",
            ["outcome"],
            registry=self.registry,
        )
        self._message_children: dict[str, Counter] = {}
        self.dialog_steps = Counter(
            "crmbot_dialog_steps",
            "Dialog (wizard) steps answered, by dialog.",
            ["dialog"],
            registry=self.registry,
        )
        self.errors = Counter(
            "crmbot_errors",
            "Errors and refused requests, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "crmbot_outbox_depth", "Outbox rows not yet delivered.", registry=self.registry
        )
        self.outbox_oldest_age = Gauge(
            "crmbot_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox row.",
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "crmbot_webhook_latency_seconds",
            "Time from a webhook request's start to its answer.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def message(self, outcome: str) -> None:
        """Count one inbound message with its outcome."""
        # ``labels()`` validates and looks the child up under a lock on every call; the few
        # outcomes' children are kept instead (the same objects prometheus_client holds).
        child = self._message_children.get(outcome)
        if child is None:
            child = self._message_children[outcome] = self.messages.labels(outcome=outcome)
        child.inc()

    def dialog_step(self, dialog: str) -> None:
        """Count one answered dialog step (wired by the composition root)."""
        self.dialog_steps.labels(dialog=dialog).inc()

    def error(self, kind: str) -> None:
        """Count one error or refused request."""
        self.errors.labels(kind=kind).inc()

    async def refresh(self) -> None:
        """Compute the scrape-time gauges; on failure they read NaN rather than stale values."""
        if self.outbox_probe is None:
            return
        try:
            stats = await self.outbox_probe()
        except Exception:
            log.warning("outbox metrics unavailable", exc_info=True)
            self.error("metrics_probe")
            self.outbox_depth.set(math.nan)
            self.outbox_oldest_age.set(math.nan)
            return
        self.outbox_depth.set(stats.depth)
        self.outbox_oldest_age.set(stats.oldest_age)

    async def render(self) -> bytes:
        """The Prometheus text exposition, gauges refreshed first."""
        await self.refresh()
        return generate_latest(self.registry)


def metrics_handler(metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /metrics` over ``metrics``."""

    async def handle(_request: web.Request) -> web.Response:
        # CONTENT_TYPE_LATEST carries a charset, which aiohttp's content_type= refuses.
        return web.Response(
            body=await metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return handle
