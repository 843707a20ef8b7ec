"""What /openapi.json promises, the server keeps: any value the request
schemas allow is accepted (generated tests such as schemathesis rely on it)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from s2b_tui.sandbox.server import create_app
from s2b_tui.sandbox.server.bodies import CreateCompanyRequest
from s2b_tui.sandbox.store import SandboxStore


def _schema(tmp_path_factory) -> dict:
    store = SandboxStore(tmp_path_factory.mktemp("schema"))
    try:
        return create_app(store).openapi()["components"]["schemas"]["CreateCompanyRequest"]
    finally:
        store.close()


def test_name_and_description_schemas_are_strict_enough(tmp_path_factory):
    properties = _schema(tmp_path_factory)["properties"]
    name, description = properties["name"], properties["description"]
    assert (name["minLength"], name["maxLength"]) == (1, 100)
    assert description["maxLength"] == 500
    assert re.fullmatch(name["pattern"], "Acme Ltd 🚀")
    for bad in ("", "   ", "Acme\x1b[31m", "A\x85B", "tab\there"):
        assert not re.fullmatch(name["pattern"], bad), bad
    assert re.fullmatch(description["pattern"], "two\nlines")
    assert not re.fullmatch(description["pattern"], "tab\there")


_NAME = CreateCompanyRequest.model_json_schema()["properties"]["name"]
_DESCRIPTION = CreateCompanyRequest.model_json_schema()["properties"]["description"]


@settings(max_examples=300, deadline=None)
@given(
    name=st.from_regex(_NAME["pattern"], fullmatch=True).filter(lambda s: 1 <= len(s) <= 100),
    description=st.none()
    | st.from_regex(_DESCRIPTION["pattern"], fullmatch=True).filter(lambda s: len(s) <= 500),
)
def test_every_schema_valid_company_is_accepted(name, description):
    body = CreateCompanyRequest.model_validate({"name": name, "description": description})
    assert body.name == name.strip()
