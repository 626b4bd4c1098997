"""The ``crmbot`` command line as a user runs it: a real subprocess on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from store.records import READERS
from tests.databases import TestDatabase

ENV_KEEP = ("PATH", "HOME", "LANG", "SYSTEMROOT")
REPO = Path(__file__).resolve().parents[2]


def run(
    *args: str, cwd: Path, db_url: str | None = None, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` with a clean environment (no stray CRMBOT_* settings)."""
    clean = {key: value for key, value in os.environ.items() if key in ENV_KEEP}
    # This checkout's code, whatever copy of crmbot happens to be installed.
    clean["PYTHONPATH"] = str(REPO)
    if db_url:
        clean["CRMBOT_DATABASE_URL"] = db_url
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_data_then_records_json_for_every_module(
    database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = run("demo-data", cwd=tmp_path, db_url=database.url)
    assert first.returncode == 0, first.stderr
    assert "demo data loaded" in first.stdout
    again = run("demo-data", cwd=tmp_path, db_url=database.url)
    assert again.returncode == 0
    assert "already loaded" in again.stdout
    # The 19 listings run in this process: same entry point, without 19 interpreter starts.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRMBOT_DATABASE_URL", database.url)
    for module in READERS:
        assert main(["records", str(module), "--format", "json"]) == 0, module
        rows = json.loads(capsys.readouterr().out)
        assert rows, f"demo data has no {module}"
        assert {"id", "created_at"} <= set(rows[0]), module


def test_purchase_json_has_contract_fields_and_exact_amounts(
    database: TestDatabase, tmp_path: Path
) -> None:
    assert run("demo-data", cwd=tmp_path, db_url=database.url).returncode == 0
    result = run("records", "purchases", "--format", "json", cwd=tmp_path, db_url=database.url)
    order = json.loads(result.stdout)[0]
    expected = {
        "id", "number", "contact_id", "created_at", "title", "vendor", "date", "status", "items",
        "subtotal", "discount_total", "tax_total", "total", "terms", "delivery_address",
        "billing_address",
    }  # fmt: skip
    assert expected <= set(order)
    assert order["number"].startswith("OC-")
    item = order["items"][0]
    assert {"item", "quantity", "unit_price", "tax_rate", "discount_percent"} <= set(item)
    assert {"discount_amount", "net", "tax", "total"} <= set(item)
    for amount in ("subtotal", "discount_total", "tax_total", "total"):
        assert isinstance(order[amount], str)
        assert len(order[amount].split(".")[1]) == 2, order[amount]


def test_records_of_one_contact(database: TestDatabase, tmp_path: Path) -> None:
    assert run("demo-data", cwd=tmp_path, db_url=database.url).returncode == 0
    result = run(
        "records", "cases", "--contact", "2", "--format", "json", cwd=tmp_path, db_url=database.url
    )
    rows = json.loads(result.stdout)
    assert rows
    assert {row["contact_id"] for row in rows} == {2}
    dates = [row["created_at"] for row in rows]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("records", "nope"), "invalid choice"),
        (("users", "add", "pepe", "--role", "jefe"), "unknown role 'jefe'"),
        (("import", "contacts", "missing.csv"), "no such file"),
        (("records", "cases", "--unmatched"), "--unmatched goes with the emails module"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    assert run("db", "upgrade", cwd=tmp_path, db_url=url).returncode == 0
    result = run(*args, cwd=tmp_path, db_url=url)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_schema_and_bad_settings_exit_1(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    no_schema = run("records", "contacts", cwd=tmp_path, db_url=url)
    assert no_schema.returncode == 1
    assert "crmbot db upgrade" in no_schema.stderr
    bad = run("users", "list", cwd=tmp_path, db_url=url, CRMBOT_LOCALE="fr")
    assert bad.returncode == 1
    assert bad.stderr.startswith("crmbot: CRMBOT_LOCALE")
    assert len(bad.stderr.strip().splitlines()) == 1
    wrong_driver = run("db", "upgrade", cwd=tmp_path, db_url="mysql://x@localhost/db")
    assert wrong_driver.returncode == 1
    assert "unsupported database" in wrong_driver.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = run(
        "db", "upgrade", cwd=tmp_path, db_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("crmbot: database error:")
    assert "Traceback" not in result.stderr


def test_users_add_and_list(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    assert run("db", "upgrade", cwd=tmp_path, db_url=url).returncode == 0
    assert (
        "added pepe: compras"
        in run("users", "add", "@pepe", "--role", "compras", cwd=tmp_path, db_url=url).stdout
    )
    assert (
        "updated pepe: admin"
        in run("users", "add", "pepe", "--role", "admin", cwd=tmp_path, db_url=url).stdout
    )
    listing = run("users", "list", cwd=tmp_path, db_url=url)
    assert listing.stdout.strip() == "pepe\tadmin"


def test_import_contacts_reports_each_row(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    assert run("db", "upgrade", cwd=tmp_path, db_url=url).returncode == 0
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "first_name,last_name,email,city\n"
        "Lucía,Pérez,lucia@example.com,Madrid\n"
        ",Sin Nombre,nadie@example.com,\n"
        "Marta,Ruiz,not-an-email,\n",
        encoding="utf-8",
    )
    result = run("import", "contacts", str(csv), cwd=tmp_path, db_url=url)
    assert result.returncode == 0, result.stderr
    assert "1 created, 0 updated, 2 rejected" in result.stdout
    assert "line 3:" in result.stdout
    assert "line 4:" in result.stdout
    rows = json.loads(
        run("records", "contacts", "--format", "json", cwd=tmp_path, db_url=url).stdout
    )
    assert [(row["first_name"], row["email"]) for row in rows] == [("Lucía", "lucia@example.com")]
