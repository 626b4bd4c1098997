"""The OpenAPI description of `crmbot serve` (webhooks.openapi): a valid OpenAPI 3 document
that documents exactly the routes the app serves, with the statuses CONTRACT §3 names."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema_rs
import pytest
import schemathesis
from pydantic import SecretStr

from bot.server import build_app
from bot.settings import Settings
from webhooks.email import SIGNATURE_HEADER
from webhooks.openapi import OPENAPI, PATH


def served_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path) of every route `build_app` registers; nothing is opened to build it."""
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        webhook_token=SecretStr("t"),
        files_dir=tmp_path / "files",
    )
    app = build_app(settings)
    # aiohttp adds HEAD beside every GET by itself; it is not part of the contract.
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_the_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(OPENAPI))
    schema.validate()  # raises on any departure from the OpenAPI 3.0 meta-schema
    assert OPENAPI["openapi"].startswith("3.0.")


def test_the_validation_used_above_rejects_a_broken_document() -> None:
    broken = copy.deepcopy(OPENAPI)
    broken["paths"]["/healthz"]["get"]["responses"]["200"] = {"content": "not an object"}
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_served_route_is_documented_and_nothing_else(tmp_path: Path) -> None:
    documented = {(method, path) for path, item in OPENAPI["paths"].items() for method in item}
    assert documented == served_routes(tmp_path)
    assert ("get", PATH) in documented


def test_every_reference_resolves() -> None:
    text = json.dumps(OPENAPI)
    names = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert names == set(OPENAPI["components"]["schemas"])


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/webhooks/rocketchat", "post", {"200", "400", "401", "413", "503"}),
        ("/webhooks/email", "post", {"200", "400", "401", "404", "413", "415", "503"}),
        ("/healthz", "get", {"200", "503"}),
        ("/metrics", "get", {"200"}),
        (PATH, "get", {"200"}),
    ],
)
def test_the_statuses_of_the_contract_are_documented(
    path: str, method: str, statuses: set[str]
) -> None:
    assert set(OPENAPI["paths"][path][method]["responses"]) == statuses


def test_the_webhook_acknowledgement_is_exactly_an_empty_object() -> None:
    schema = OPENAPI["components"]["schemas"]["Acknowledged"]
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({})
    assert not validator.is_valid({"text": "a reply Rocket.Chat would post"})
    assert not validator.is_valid([])


def test_the_email_signature_header_is_the_one_the_handler_reads() -> None:
    scheme = OPENAPI["components"]["securitySchemes"]["emailSignature"]
    assert (scheme["in"], scheme["name"]) == ("header", SIGNATURE_HEADER)
    body = OPENAPI["paths"]["/webhooks/email"]["post"]["requestBody"]["content"]
    assert list(body) == ["message/rfc822"]
