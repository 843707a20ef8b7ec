"""SandboxStore on its own: keys, invariants, search, seeding, idempotency rows."""

from __future__ import annotations

import random
import re
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from s2b_tui.api.models import INTEGRATION_NAMES
from s2b_tui.sandbox.store import (
    Conflict,
    Gone,
    IdempotencyState,
    NotFound,
    SandboxStore,
)
from tests.sandbox.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock):
    opened = SandboxStore(tmp_path / "data", clock=clock)
    yield opened
    opened.close()


STAMP = "2026-11-23T10:00:00.000000Z"


def raw_db(store: SandboxStore) -> sqlite3.Connection:
    return sqlite3.connect(store.db_path, isolation_level=None)


# ----------------------------------------------------------------- keys


def test_first_start_issues_a_key_file_only_the_owner_reads(store: SandboxStore):
    assert re.fullmatch(r"sk_test_[A-Za-z0-9]{32}", store.api_key)
    assert store.key_path.read_text().strip() == store.api_key
    assert stat.S_IMODE(store.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700
    # Only a digest is stored.
    with raw_db(store) as db:
        stored = [row[0] for row in db.execute("SELECT key_hash FROM api_keys")]
    assert len(stored) == 1 and store.api_key not in stored[0]


def test_check_key_accepts_only_issued_unrevoked_keys(store: SandboxStore):
    assert store.check_key(store.api_key)
    assert not store.check_key("sk_test_" + "A" * 32)
    assert not store.check_key("")
    extra = store.issue_key()
    assert extra != store.api_key and store.check_key(extra)
    assert store.revoke_key(extra)
    assert not store.check_key(extra)
    assert not store.revoke_key(extra)
    assert store.check_key(store.api_key)


def test_a_revoked_key_is_replaced_on_next_start(tmp_path: Path):
    first = SandboxStore(tmp_path)
    old = first.api_key
    first.revoke_key(old)
    first.close()
    second = SandboxStore(tmp_path)
    assert second.api_key != old
    assert second.check_key(second.api_key) and not second.check_key(old)
    assert second.key_path.read_text().strip() == second.api_key
    second.close()


def test_add_key_takes_fixed_test_keys_only(store: SandboxStore):
    fixed = "sk_test_" + "Demo" * 7
    store.add_key(fixed)
    store.add_key(fixed)  # twice is fine
    assert store.check_key(fixed)
    for bad in ("sk_live_" + "a" * 20, "sk_test_short", "nope"):
        with pytest.raises(ValueError):
            store.add_key(bad)


def test_database_is_in_wal_mode(store: SandboxStore):
    with raw_db(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_unknown_schema_version_is_refused(tmp_path: Path):
    SandboxStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "sandbox.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="schema version 99"):
        SandboxStore(tmp_path)


# ------------------------------------------------------------ invariants


def test_injected_ids_tokens_and_clock_are_used(tmp_path: Path, clock: FakeClock):
    ids = iter(f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 100))
    tokens = iter(f"token-{n}" for n in range(1, 100))
    store = SandboxStore(
        tmp_path, clock=clock, new_id=lambda: next(ids), new_token=lambda: next(tokens)
    )
    company = store.create_company("Acme")
    auth = store.start_authorization(company.id, "XERO")
    assert (company.id, company.link_token, company.created_at) == (
        "00000000-0000-4000-8000-000000000001",
        "token-1",
        clock.now,
    )
    assert (auth.id, auth.token, auth.expires_at) == (
        "00000000-0000-4000-8000-000000000002",
        "token-2",
        clock.now + timedelta(days=7),
    )
    store.close()


def test_one_active_connection_per_integration_even_by_hand(store: SandboxStore):
    company = store.create_company("Acme")
    auth = store.start_authorization(company.id, "XERO")
    connection_id = store.complete_authorization(auth.id, allow=True).connection_id
    assert connection_id is not None
    with raw_db(store) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO connections (company_id, id, integration_key, status, created_at, "
            "updated_at) VALUES (?, ?, 'XERO', 'ERROR', ?, ?)",
            (company.id, str(uuid.uuid4()), STAMP, STAMP),
        )
    # A DISCONNECTED twin is allowed by the schema; reviving it is refused.
    twin = str(uuid.uuid4())
    with raw_db(store) as db:
        db.execute(
            "INSERT INTO connections (company_id, id, integration_key, status, created_at, "
            "updated_at) VALUES (?, ?, 'XERO', 'DISCONNECTED', ?, ?)",
            (company.id, twin, STAMP, STAMP),
        )
    with pytest.raises(Conflict, match="already has an active Xero connection"):
        store.simulate(company.id, twin, "CONNECTED")
    with pytest.raises(Conflict):
        store.simulate(company.id, twin, "ERROR")
    assert store.get_connection(company.id, twin).status == "DISCONNECTED"


def test_store_refusals(store: SandboxStore, clock: FakeClock):
    company = store.create_company("Acme")
    with pytest.raises(NotFound, match="Company not found"):
        store.start_authorization(str(uuid.uuid4()), "XERO")
    with pytest.raises(ValueError):
        store.start_authorization(company.id, "FRESHBOOKS")
    with pytest.raises(NotFound, match="Authorization not found"):
        store.complete_authorization(str(uuid.uuid4()), allow=True)
    auth = store.start_authorization(company.id, "SAGE")
    store.complete_authorization(auth.id, allow=False)
    with pytest.raises(Gone, match="already been used"):
        store.complete_authorization(auth.id, allow=True)
    late = store.start_authorization(company.id, "SAGE")
    clock.advance(days=8)
    with pytest.raises(Gone, match="expired"):
        store.complete_authorization(late.id, allow=True)
    with pytest.raises(ValueError):
        store.list_companies(order_by="size")


def test_delete_cascades(store: SandboxStore):
    company = store.create_company("Cascade Plumbing")
    auth = store.start_authorization(company.id, "XERO")
    store.complete_authorization(auth.id, allow=True)
    store.start_authorization(company.id, "SAGE")
    store.delete_company(company.id)
    with raw_db(store) as db:
        for table in ("connections", "authorizations"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert store.list_companies(query="cascade") == ([], 0)
    assert store.resolve_link(company.link_token) is None


# ---------------------------------------------------------------- search


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Iterator[SandboxStore]:
    store = SandboxStore(tmp_path_factory.mktemp("seeded"), clock=FakeClock())
    store.seed(3000, connections_per_company=2, seed=11)
    for name in ("Ünïcode Bäckerei", "100% Organic_Farm", 'Quote "Co"', "ab"):
        store.create_company(name)
    yield store
    store.close()


def _reference(store: SandboxStore, query: str, order: str) -> list[str]:
    with raw_db(store) as db:
        rows = db.execute("SELECT seq, id, name, created_at FROM companies").fetchall()
    needle = query.strip().lower()
    matched = [r for r in rows if needle in r[2].lower() or r[1] == needle]
    ascii_fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    keys = {
        "name": lambda r: (r[2].translate(ascii_fold), r[0]),
        "createdAt": lambda r: (r[3], r[0]),
    }
    matched.sort(key=keys[order.lstrip("-")], reverse=order.startswith("-"))
    return [r[1] for r in matched]


@pytest.mark.parametrize("order", ["name", "-name", "createdAt", "-createdAt"])
@pytest.mark.parametrize(
    "query",
    # Many matches (the index walk), few (sorting the matches), none, short
    # ones (LIKE), wildcards that must stay literal, and mixed case.
    ["", "son", "SONS PL", "Golden Fern", "zzz", "a", "ab", "%", "_", "0% O", '"co"', "BÄCK"],
)
def test_search_and_order_match_a_plain_python_reference(seeded, query, order):
    expected = _reference(seeded, query, order)
    for page, size in [(1, 50), (2, 50), (7, 13), (40, 20), (1, 500)]:
        records, total = seeded.list_companies(
            page=page, page_size=size, query=query, order_by=order
        )
        assert total == len(expected)
        start = (page - 1) * size
        assert [r.id for r in records] == expected[start : start + size], (page, size)


def test_search_by_id(seeded):
    some = seeded.list_companies(page=3)[0][0]
    for query in (some.id, some.id.upper(), f"  {some.id} "):
        records, total = seeded.list_companies(query=query)
        assert (total, [r.id for r in records]) == (1, [some.id])


def test_page_carries_each_company_connections(seeded):
    records, _ = seeded.list_companies(page=2, page_size=100)
    assert all(len(r.connections) == 2 for r in records)
    for record in records:
        assert {c.company_id for c in record.connections} == {record.id}
        assert len({c.integration_key for c in record.connections}) == 2


# --------------------------------------------------------------- seeding


def _fingerprint(store: SandboxStore) -> list[tuple]:
    records, _ = store.list_companies(page_size=500, order_by="createdAt")
    return [
        (
            r.name,
            r.description,
            r.created_at,
            [(c.integration_key, c.status) for c in r.connections],
        )
        for r in records
    ]


def test_seed_with_a_seed_is_reproducible(tmp_path: Path):
    stores = [SandboxStore(tmp_path / str(n), clock=FakeClock()) for n in range(3)]
    stores[0].seed(300, connections_per_company=3, seed=42)
    stores[1].seed(300, connections_per_company=3, seed=42)
    stores[2].seed(300, connections_per_company=3, seed=43)
    one, two, three = (_fingerprint(s) for s in stores)
    assert one == two
    assert one != three
    for store in stores:
        store.close()


def test_seeded_data_looks_real(seeded):
    records, total = seeded.list_companies(page_size=500)
    assert total == 3004
    names = [r.name for r in records]
    assert len(set(names)) > 400
    assert any(" & Sons " in n for n in names)
    assert all(0 < len(n) <= 100 for n in names)
    statuses = [c.status for r in records for c in r.connections]
    share = {s: statuses.count(s) / len(statuses) for s in set(statuses)}
    assert set(share) == {"CONNECTED", "ERROR", "DISCONNECTED"}
    assert share["CONNECTED"] > 0.5
    for record in records:
        for connection in record.connections:
            assert record.created_at <= connection.created_at <= connection.updated_at
            if connection.status == "ERROR":
                assert connection.error_code and connection.error_message
            else:
                assert connection.error_code is None


def test_seed_checks_its_arguments(store: SandboxStore):
    for n, k in [(0, 1), (1_000_001, 1), (1, -1), (1, 5)]:
        with pytest.raises(ValueError):
            store.seed(n, connections_per_company=k)


def test_seed_in_chunks_keeps_everything(store: SandboxStore, monkeypatch):
    monkeypatch.setattr("s2b_tui.sandbox.store.seeding.SEED_CHUNK", 70)
    store.seed(250, connections_per_company=1, seed=3)
    records, total = store.list_companies(page_size=500)
    assert total == 250
    assert sum(len(r.connections) for r in records) == 250
    assert store.list_companies(query=records[0].name[:6])[1] >= 1


def test_connection_history_adds_disconnected_connections_beside_the_active_ones(
    store: SandboxStore, clock: FakeClock
):
    company = store.create_company("Long Standing Ltd")
    authorization = store.start_authorization(company.id, "XERO")
    active_id = store.complete_authorization(authorization.id, allow=True).connection_id
    assert active_id is not None
    clock.advance(days=30)
    assert store.seed_connection_history(company.id, 21, seed=5) == 21
    connections, total = store.list_connections(company.id, page_size=500)
    assert total == 22
    history = [c for c in connections if c.id != active_id]
    assert {c.status for c in history} == {"DISCONNECTED"}
    assert {c.integration_key for c in history} == set(INTEGRATION_NAMES)
    for connection in history:
        assert company.created_at <= connection.created_at <= connection.updated_at
        assert connection.updated_at <= clock.now
        assert connection.error_code is None
    # The active connection is untouched and still the one a reconnect avoids.
    assert store.get_connection(company.id, active_id).status == "CONNECTED"
    with pytest.raises(NotFound):
        store.seed_connection_history("no-such-company", 1)
    for count in (0, 10_001):
        with pytest.raises(ValueError):
            store.seed_connection_history(company.id, count)


# ------------------------------------------------------------ idempotency


def test_idempotency_lifecycle(store: SandboxStore, clock: FakeClock):
    claim = ("owner", "key-1", "POST", "/v1/companies", "body-hash")
    assert store.idempotency_begin(*claim).state is IdempotencyState.NEW
    assert store.idempotency_begin(*claim).state is IdempotencyState.IN_FLIGHT
    other = store.idempotency_begin("owner", "key-1", "POST", "/v1/companies", "other")
    assert other.state is IdempotencyState.MISMATCH
    assert store.idempotency_begin("someone else", *claim[1:]).state is IdempotencyState.NEW

    store.idempotency_finish("owner", "key-1", 201, "application/json", b'{"id": 1}')
    replay = store.idempotency_begin(*claim)
    assert (replay.state, replay.status, replay.content_type, replay.body) == (
        IdempotencyState.REPLAY,
        201,
        "application/json",
        b'{"id": 1}',
    )
    clock.advance(hours=24, seconds=1)
    assert store.idempotency_begin(*claim).state is IdempotencyState.NEW


def test_abandoned_claims_free_the_key(store: SandboxStore, clock: FakeClock):
    claim = ("owner", "key-2", "POST", "/v1/companies", "h")
    store.idempotency_begin(*claim)
    store.idempotency_abandon("owner", "key-2")
    assert store.idempotency_begin(*claim).state is IdempotencyState.NEW
    # A claim whose process died is taken over after a while.
    clock.advance(minutes=11)
    assert store.idempotency_begin(*claim).state is IdempotencyState.NEW


def test_store_works_from_many_threads(store: SandboxStore):
    import concurrent.futures

    def create(n: int) -> str:
        return store.create_company(f"Thread {n}").id

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(64)))
    assert len(set(ids)) == 64
    assert store.count_companies() == 64
    random.shuffle(ids)
    assert store.get_company(ids[0]).name.startswith("Thread ")


def test_closing_while_another_thread_seeds_interrupts_it_and_does_not_crash(tmp_path: Path):
    """A server stopping mid-seed closes its store from another thread: the
    seed is interrupted, never closed under a running statement (a crash)."""
    import threading

    store = SandboxStore(tmp_path)
    outcome: list[BaseException | int] = []

    def seed() -> None:
        try:
            outcome.append(store.seed(100_000, connections_per_company=0))
        except BaseException as exc:  # what the seed thread sees when closed
            outcome.append(exc)

    worker = threading.Thread(target=seed)
    worker.start()
    threading.Event().wait(0.5)  # the seed is generating or inserting its first chunk
    store.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], (sqlite3.OperationalError, RuntimeError)), outcome
