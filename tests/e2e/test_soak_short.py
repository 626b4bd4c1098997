"""The soak (bench/soak.py) at a small size, bounded by message count: `crmbot serve` as a
process on a demo database, users in shared rooms running purchase orders, commands, uploads
and emails through the fake Rocket.Chat, with redelivered webhooks and Rocket.Chat outages.
Nothing may be answered twice or lost, and every purchase order must be exact."""

from __future__ import annotations

from pathlib import Path

from bench.soak import Plan, run_soak
from tests.databases import TestDatabase

SHORT = Plan(
    users=10,
    rooms=5,
    minutes=30.0,  # never reached: the message cap ends the run
    max_messages=120,
    think_s=0.0,
    redeliver=0.15,
    episodes=3,  # a proxy outage, a burst of lost answers, a refused-connection outage
    outage_s=0.5,
    fault_burst=2,
    reply_timeout_s=60.0,
    drain_s=60.0,
    rss_every_s=1.0,
)


async def test_a_short_soak_answers_everything_once(database: TestDatabase, tmp_path: Path) -> None:
    result = await run_soak(SHORT, database.url, tmp_path)

    messages = result["messages"]
    assert messages["sent"] >= SHORT.max_messages
    assert messages["unacknowledged"] == 0
    assert messages["redeliveries"]["webhook"] > 0  # the same message_id delivered again
    assert "webhook_not_acknowledged" not in messages["redeliveries"]
    assert [episode["kind"] for episode in result["faults"]["episodes"]] == [
        "proxy503",
        "fail_after",
        "refused",
    ]
    assert result["faults"]["answers"]["fail-after"] == SHORT.fault_burst  # stored, answer lost

    assert result["replies_delivered"] == result["replies_owed"] > messages["sent"]
    assert result["notices_delivered"] == result["notices_owed"]
    assert result["duplicate_detail"] == dict.fromkeys(result["duplicate_detail"], 0)
    assert result["lost_detail"] == dict.fromkeys(result["lost_detail"], 0)
    assert (result["duplicates"], result["lost"]) == (0, 0)

    database_view = result["database"]
    orders = database_view["purchase_orders"]
    assert orders["created"] == orders["wizards_completed"] == result["wizards"]["completed"] > 0
    assert (orders["missing"], orders["duplicated"], orders["inexact"]) == (0, 0, 0)
    files = database_view["files"]
    assert files["stored"] == files["uploaded"] > 0
    assert (files["duplicated"], files["wrong_content"]) == (0, 0)
    emails = database_view["emails"]
    assert emails["recorded"] == emails["sent"]
    assert database_view["open_dialogs"] == 0
    outbox = database_view["outbox"]
    assert outbox["rows"] > 0
    assert {key: value for key, value in outbox.items() if key != "rows"} == {
        "pending": 0,
        "dead": 0,
        "posted_but_not_in_chat": 0,
        "in_chat_more_than_once": 0,
        "in_chat_without_row": 0,
    }
    assert result["serve"]["exit_code"] == 0  # stopped cleanly by SIGTERM
    assert result["ok"]
