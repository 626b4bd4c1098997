"""``crmbot rocketchat setup`` against the fake Rocket.Chat over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli_setup import CHANNELS, SetupError, SetupReport, run_setup
from tests.fakes.rocketchat import FakeRocketChat

HOOK = "http://127.0.0.1:8080/webhooks/rocketchat"


async def _setup(rc: FakeRocketChat, password: str = "s3cret", bot: str = "crmbot") -> SetupReport:
    return await asyncio.to_thread(run_setup, rc.url, "boss", password, bot, HOOK)


async def test_creates_one_webhook_per_event_then_updates_them() -> None:
    async with FakeRocketChat() as rc:
        rc.add_user("boss", roles=("admin",), password="s3cret")
        first = await _setup(rc)
        assert first.created == ("crmbot sendMessage", "crmbot fileUploaded")
        assert first.bot_has_role
        assert first.bot_user_id == rc.bot.id
        events = sorted(i.event for i in rc.state.integrations)
        assert events == ["fileUploaded", "sendMessage"]
        for integration in rc.state.integrations:
            assert integration.urls == [HOOK]
            assert integration.token == first.token
            assert integration.username == "crmbot"
            assert integration.channels == CHANNELS.split(",")
        again = await _setup(rc)
        assert again.created == ()
        assert again.updated == ("crmbot sendMessage", "crmbot fileUploaded")
        assert len(rc.state.integrations) == 2
        assert {i.token for i in rc.state.integrations} == {again.token}
        assert again.token != first.token


async def test_reports_a_bot_user_without_the_bot_role() -> None:
    async with FakeRocketChat() as rc:
        rc.add_user("boss", roles=("admin",), password="s3cret")
        rc.add_user("helper", roles=("user",))
        report = await _setup(rc, bot="helper")
        assert not report.bot_has_role


@pytest.mark.parametrize(
    ("password", "bot", "message"),
    [("wrong", "crmbot", "wrong admin username or password"), ("s3cret", "nobody", "nobody")],
)
async def test_refusals_are_one_clear_line(password: str, bot: str, message: str) -> None:
    async with FakeRocketChat() as rc:
        rc.add_user("boss", roles=("admin",), password="s3cret")
        with pytest.raises(SetupError, match=message):
            await _setup(rc, password=password, bot=bot)
        assert rc.state.integrations == []
