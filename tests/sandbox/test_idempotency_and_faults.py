"""Idempotency-Key replays and injected faults, over real HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from s2b_tui.sandbox import EmbeddedSandbox
from tests.sandbox.helpers import assert_error, create_company, fields


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def total(http: httpx.AsyncClient) -> int:
    return (await http.get("/companies")).json()["totalResults"]


# ---------------------------------------------------------- idempotency


async def test_replay_returns_the_stored_reply(sandbox_http):
    first = await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("k-1"))
    second = await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("k-1"))
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["content-type"] == "application/json"
    assert second.headers["x-correlation-id"] != first.headers["x-correlation-id"]
    assert await total(sandbox_http) == 1


async def test_same_key_different_request_is_422(sandbox_http):
    await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("k-2"))
    other_body = await sandbox_http.post("/companies", json={"name": "Other"}, headers=key("k-2"))
    body = assert_error(other_body, 422, fragment="Idempotency-Key header")
    assert fields(body) == {"Idempotency-Key": "was already used for a different request"}
    company = (await sandbox_http.get("/companies")).json()["results"][0]
    other_path = await sandbox_http.post(
        f"/companies/{company['id']}/connections",
        json={"integrationKey": "XERO"},
        headers=key("k-2"),
    )
    assert_error(other_path, 422)
    assert await total(sandbox_http) == 1


async def test_keys_are_scoped_to_the_api_key(sandbox: EmbeddedSandbox, sandbox_http):
    await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("shared"))
    other_key = sandbox.store.issue_key()
    async with httpx.AsyncClient(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {other_key}"}
    ) as other:
        reply = await other.post("/companies", json={"name": "Acme"}, headers=key("shared"))
    assert reply.status_code == 201
    assert "idempotent-replayed" not in reply.headers
    assert await total(sandbox_http) == 2


async def test_client_errors_are_stored_too(sandbox_http):
    first = await sandbox_http.post("/companies", json={"name": ""}, headers=key("bad-1"))
    again = await sandbox_http.post("/companies", json={"name": ""}, headers=key("bad-1"))
    assert_error(first, 422)
    assert again.status_code == 422
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_patch_and_sandbox_posts_are_idempotent(sandbox_http):
    company = await create_company(sandbox_http)
    auth = (
        await sandbox_http.post(
            f"/companies/{company['id']}/connections", json={"integrationKey": "XERO"}
        )
    ).json()
    complete = f"/sandbox/authorizations/{auth['id']}/complete"
    first = await sandbox_http.post(complete, json={"decision": "allow"}, headers=key("c-1"))
    retry = await sandbox_http.post(complete, json={"decision": "allow"}, headers=key("c-1"))
    assert (first.status_code, retry.status_code) == (200, 200)  # not 410: a replay
    assert retry.json() == first.json()
    url = f"/companies/{company['id']}/connections/{first.json()['connectionId']}"
    unlink = await sandbox_http.patch(url, json={"status": "DISCONNECTED"}, headers=key("u-1"))
    replay = await sandbox_http.patch(url, json={"status": "DISCONNECTED"}, headers=key("u-1"))
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == unlink.json()


@pytest.mark.parametrize("value", ["", "x" * 256, "naïve", "tab\there"])
async def test_bad_idempotency_keys_are_422(refused_http, value):
    response = await refused_http.post(
        "/companies", json={"name": "Acme"}, headers={"Idempotency-Key": value.encode()}
    )
    body = assert_error(response, 422)
    assert fields(body) == {"Idempotency-Key": "must be 1 to 255 printable ASCII characters"}


async def test_longest_key_is_fine(sandbox_http):
    response = await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("~" * 255))
    assert response.status_code == 201


async def test_in_flight_duplicate_is_409_retryable(sandbox_http):
    # Seeding 60,000 companies takes long enough (well over 0.1 s) to overlap.
    seed = {"companies": 60_000, "connectionsPerCompany": 0}

    async def post() -> httpx.Response:
        # A generous timeout: on a busy machine the seed can outlast the default.
        return await sandbox_http.post("/sandbox/seed", json=seed, headers=key("s-1"), timeout=120)

    first = asyncio.create_task(post())
    await asyncio.sleep(0.05)
    second = await post()
    replies = sorted([await first, second], key=lambda r: r.status_code)
    assert [r.status_code for r in replies] == [200, 409]
    assert_error(replies[1], 409, fragment="still in progress", retryable=True)
    replay = await post()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await total(sandbox_http) == 60_000


async def test_replays_work_across_processes_sharing_a_data_dir(tmp_path):
    with EmbeddedSandbox(tmp_path) as one, EmbeddedSandbox(tmp_path) as two:
        assert one.api_key == two.api_key
        headers = {"Authorization": f"Bearer {one.api_key}", **key("cross")}
        async with httpx.AsyncClient(headers=headers) as http:
            first = await http.post(f"{one.base_url}/companies", json={"name": "Acme"})
            second = await http.post(f"{two.base_url}/companies", json={"name": "Acme"})
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()


# --------------------------------------------------------------- faults


async def test_injected_errors_carry_retry_after_and_change_nothing(sandbox_http):
    reply = await sandbox_http.put(
        "/sandbox/faults", json={"errorRate": 1, "errorStatus": 503, "retryAfter": 7}
    )
    assert reply.status_code == 200
    assert reply.json()["errorStatus"] == 503
    failed = await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("f-1"))
    body = assert_error(failed, 503, fragment="fault injected")
    assert body["canBeRetried"] is True
    assert failed.headers["retry-after"] == "7"
    assert_error(await sandbox_http.get("/integrations"), 503)

    # The QA endpoints are never faulted, so faults can always be turned off.
    info = await sandbox_http.get("/sandbox")
    assert info.status_code == 200
    assert info.json()["faults"]["errorRate"] == 1
    assert (await sandbox_http.put("/sandbox/faults", json={})).json()["errorRate"] == 0

    # Nothing was created, and the idempotency key was not used up.
    assert await total(sandbox_http) == 0
    retried = await sandbox_http.post("/companies", json={"name": "Acme"}, headers=key("f-1"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


async def test_rate_limit_fault(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 1, "errorStatus": 429})
    response = await sandbox_http.get("/companies")
    assert_error(response, 429, fragment="Too Many Requests")
    assert response.headers["retry-after"] == "1"


async def test_other_statuses_have_no_retry_after(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 1, "errorStatus": 500})
    response = await sandbox_http.get("/companies")
    assert_error(response, 500)
    assert "retry-after" not in response.headers


async def test_error_count_stops_after_that_many(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 1, "errorCount": 2})
    statuses = [(await sandbox_http.get("/integrations")).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert (await sandbox_http.get("/sandbox")).json()["faults"]["errorCount"] == 0


async def test_path_prefix_limits_the_faults(sandbox_http):
    await sandbox_http.put(
        "/sandbox/faults", json={"errorRate": 1, "errorStatus": 502, "pathPrefix": "/companies"}
    )
    assert (await sandbox_http.get("/integrations")).status_code == 200
    assert_error(await sandbox_http.get("/companies"), 502)


async def test_partial_error_rate_fails_some(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"errorRate": 0.5})
    statuses = [(await sandbox_http.get("/integrations")).status_code for _ in range(60)]
    assert 5 < statuses.count(503) < 55
    assert set(statuses) == {200, 503}


@pytest.mark.exclusive  # bounds on wall time (a 0.3 s timeout within 0.9 s): alone
async def test_latency_is_added_after_the_write(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"latencyMs": 1000, "pathPrefix": "/companies"})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await sandbox_http.post(
            "/companies", json={"name": "Lost Reply Ltd"}, headers=key("slow"), timeout=0.3
        )
    assert time.monotonic() - started < 0.9
    # The reply was lost, but the company exists: the write happened first.
    await sandbox_http.put("/sandbox/faults", json={})
    listed = (await sandbox_http.get("/companies")).json()
    assert [c["name"] for c in listed["results"]] == ["Lost Reply Ltd"]
    # The retry with the same key gets the stored reply instead of a duplicate.
    retry = await sandbox_http.post(
        "/companies", json={"name": "Lost Reply Ltd"}, headers=key("slow")
    )
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == listed["results"][0]["id"]
    assert await total(sandbox_http) == 1


@pytest.mark.exclusive  # bounds on wall time (a reply within 0.2 s): alone on the CPUs
async def test_latency_delays_reads(sandbox_http):
    await sandbox_http.put("/sandbox/faults", json={"latencyMs": 250})
    started = time.monotonic()
    assert (await sandbox_http.get("/integrations")).status_code == 200
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    assert (await sandbox_http.get("/sandbox")).status_code == 200
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"errorRate": 1.5}, "errorRate"),
        ({"errorRate": "half"}, "errorRate"),
        ({"errorRate": True}, "errorRate"),
        ({"latencyMs": -1}, "latencyMs"),
        ({"latencyMs": 600_000}, "latencyMs"),
        ({"errorStatus": 200}, "errorStatus"),
        ({"pathPrefix": "companies"}, "pathPrefix"),
        ({"errorCount": 0}, "errorCount"),
        ({"retryAfter": -5}, "retryAfter"),
        ({"chaos": True}, "chaos"),
    ],
)
async def test_bad_fault_settings_are_422(refused_http, body, field):
    response = await refused_http.put("/sandbox/faults", json=body)
    assert set(fields(assert_error(response, 422))) == {field}
    assert (await refused_http.get("/sandbox")).json()["faults"]["errorRate"] == 0


async def test_faults_belong_to_one_server(tmp_path):
    """Faults are in memory: another process on the same data has none."""
    with EmbeddedSandbox(tmp_path) as one, EmbeddedSandbox(tmp_path) as two:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {one.api_key}"}) as http:
            await http.put(f"{one.base_url}/sandbox/faults", json={"errorRate": 1})
            assert (await http.get(f"{one.base_url}/companies")).status_code == 503
            assert (await http.get(f"{two.base_url}/companies")).status_code == 200
