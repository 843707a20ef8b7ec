"""Properties of the portfolio revision that must hold after any sequence of
changes: every company's stored connectionState equals the state its rows
give, the state counts add up, and the events feed replayed from the start
reproduces every connection's and authorization's current status.

A hypothesis state machine drives random sequences of every kind of change;
two processes writing on one data directory check the same under
concurrency, and that a watcher following `after=` sees every event once.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from s2b_tui.api.models import INTEGRATION_NAMES
from s2b_tui.sandbox.records import StoreError
from s2b_tui.sandbox.store import SandboxStore
from tests.fuzz.counts import tried
from tests.sandbox.helpers import FakeClock

KEYS = list(INTEGRATION_NAMES)

#: The connectionState rules of API.md, as SQL over the stored rows, written
#: apart from the store's own so that the two check each other.
RECOMPUTED_STATE = """
SELECT c.id, c.state,
    CASE
        WHEN (SELECT count(*) FROM connections k WHERE k.company_id = c.id
              AND k.status = 'ERROR') > 0 THEN 'ERROR'
        WHEN (SELECT count(*) FROM connections k WHERE k.company_id = c.id
              AND k.status = 'CONNECTED') > 0 THEN 'CONNECTED'
        WHEN (SELECT count(*) FROM authorizations a WHERE a.company_id = c.id
              AND a.status = 'PENDING' AND a.expires_at > :now) > 0 THEN 'PENDING'
        WHEN (SELECT count(*) FROM connections k WHERE k.company_id = c.id) > 0
            THEN 'DISCONNECTED'
        ELSE 'NOT_CONNECTED'
    END
FROM companies c
"""

CONNECTION_STATUS_AFTER = {
    "connection.connected": "CONNECTED",
    "connection.reconnected": "CONNECTED",
    "connection.recovered": "CONNECTED",
    "connection.failed": "ERROR",
    "connection.disconnected": "DISCONNECTED",
}
AUTHORIZATION_STATUS_AFTER = {
    "authorization.created": "PENDING",
    "authorization.completed": "COMPLETED",
    "authorization.declined": "DECLINED",
    "authorization.expired": "EXPIRED",
    "authorization.cancelled": "CANCELLED",
}


def replay(events) -> tuple[dict[str, str], dict[str, str]]:
    """Connection and authorization statuses as the feed tells them."""
    connections: dict[str, str] = {}
    authorizations: dict[str, str] = {}
    owner: dict[str, str] = {}
    for event in events:
        if event.type == "company.deleted":
            for subject in [s for s, company in owner.items() if company == event.company_id]:
                connections.pop(subject, None)
                authorizations.pop(subject, None)
        elif event.type == "connection.deleted":
            connections.pop(event.connection_id, None)
        elif event.type in CONNECTION_STATUS_AFTER:
            connections[event.connection_id] = CONNECTION_STATUS_AFTER[event.type]
            owner[event.connection_id] = event.company_id
        if event.type in AUTHORIZATION_STATUS_AFTER:
            authorizations[event.authorization_id] = AUTHORIZATION_STATUS_AFTER[event.type]
            owner[event.authorization_id] = event.company_id
    return connections, authorizations


def all_events(store: SandboxStore) -> list:
    events, after = [], 0
    while True:
        feed = store.list_events(after=after, page_size=500)
        events.extend(feed.events)
        if not feed.has_more:
            return events
        after = feed.events[-1].sequence


def check_store(store: SandboxStore, now: str, *, whole_history: bool = True) -> None:
    """Every property of this module, on the store's data as it is now
    (replaying the feed only where it holds the whole history)."""
    store.sweep_expired()
    db = sqlite3.connect(store.db_path)
    try:
        for company_id, stored, recomputed in db.execute(RECOMPUTED_STATE, {"now": now}):
            assert stored == recomputed, (company_id, stored, recomputed)
        counted = Counter(state for (state,) in db.execute("SELECT state FROM companies"))
        kept = dict(db.execute("SELECT state, n FROM state_counts"))
        assert {s: n for s, n in kept.items() if n} == dict(counted)
        connections = dict(db.execute("SELECT id, status FROM connections"))
        authorizations = dict(db.execute("SELECT id, status FROM authorizations"))
        floor = db.execute("SELECT value FROM meta WHERE name = 'events_floor'").fetchone()[0]
    finally:
        db.close()
    by_state, total, lower_bound = store.company_stats()
    assert (sum(by_state.values()), lower_bound) == (total, False)
    assert total == sum(counted.values())
    if whole_history and floor == 0:  # the whole history is still there
        replayed_connections, replayed_authorizations = replay(all_events(store))
        assert replayed_connections == connections
        assert replayed_authorizations == authorizations
    sequences = [e.sequence for e in all_events(store)]
    assert sequences == sorted(set(sequences))


class PortfolioMachine(RuleBasedStateMachine):
    companies = Bundle("companies")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.store: SandboxStore | None = None

    @initialize()
    def open_store(self) -> None:
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="portfolio-")
        self.store = SandboxStore(self.dir, clock=self.clock)

    @property
    def opened(self) -> SandboxStore:
        """The store, which `open_store` sets before any rule runs."""
        assert self.store is not None, "no rule runs before open_store"
        return self.store

    def teardown(self) -> None:
        if self.store is not None:
            self.store.close()

    def attempt(self, call, *args, **kwargs):
        tried("portfolio store operations")
        try:
            return call(*args, **kwargs)
        except StoreError:
            return None

    # ------------------------------------------------------------ changes

    @rule(target=companies, name=st.sampled_from(["Acme", "Harbor Dental", "Kettle & Co"]))
    def create(self, name):
        return self.attempt(self.opened.create_company, name, contact_email="a@b.example").id

    @rule(company=companies, key=st.sampled_from(KEYS), minutes=st.sampled_from([5, 60, 10_080]))
    def start_link(self, company, key, minutes):
        self.attempt(
            self.opened.start_authorization, company, key, lifetime=timedelta(minutes=minutes)
        )

    def _some(self, sql: str, params=()) -> tuple | None:
        return self.opened._db().execute(sql + " ORDER BY random() LIMIT 1", params).fetchone()

    @rule(allow=st.booleans())
    def customer_decides(self, allow):
        row = self._some("SELECT id FROM authorizations WHERE status = 'PENDING'")
        if row:
            self.attempt(self.opened.complete_authorization, row[0], allow=allow)

    @rule()
    def cancel_link(self):
        row = self._some("SELECT company_id, id FROM authorizations")
        if row:
            self.attempt(self.opened.cancel_authorization, *row)

    @rule()
    def expire_link(self):
        row = self._some("SELECT id FROM authorizations WHERE status = 'PENDING'")
        if row:
            self.attempt(self.opened.expire_authorization, row[0])

    @rule(status=st.sampled_from(["ERROR", "DISCONNECTED", "CONNECTED"]))
    def platform(self, status):
        row = self._some("SELECT company_id, id FROM connections")
        if row:
            self.attempt(self.opened.simulate, *row, status)

    @rule()
    def unlink(self):
        row = self._some("SELECT company_id, id FROM connections")
        if row:
            self.attempt(self.opened.disconnect, *row)

    @rule()
    def reauthorize(self):
        row = self._some("SELECT company_id, id FROM connections")
        if row:
            self.attempt(self.opened.reauthorize, *row)

    @rule()
    def delete_connection(self):
        row = self._some("SELECT company_id, id FROM connections")
        if row:
            self.attempt(self.opened.delete_connection, *row)

    @rule(company=consumes(companies))
    def delete_company(self, company):
        self.attempt(self.opened.delete_company, company)

    @rule(company=companies, name=st.sampled_from(["Renamed Ltd", "Acme"]))
    def edit(self, company, name):
        self.attempt(self.opened.update_company, company, {"name": name, "contact_email": None})

    @rule(company=companies)
    def rotate(self, company):
        self.attempt(self.opened.rotate_company_link, company)

    @rule(minutes=st.sampled_from([1, 30, 24 * 60, 8 * 24 * 60]))
    def time_passes(self, minutes):
        self.clock.advance(minutes=minutes)

    @precondition(lambda self: self.store is not None)
    @rule(seed=st.integers(0, 3))
    def seed(self, seed):
        self.attempt(self.opened.seed, 4, seed=seed)

    # ---------------------------------------------------------- invariant

    @invariant()
    def state_counts_and_feed_agree(self):
        if self.store is not None:
            check_store(self.store, self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


PortfolioMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_state_and_events_stay_true = PortfolioMachine.TestCase


# ---------------------------------------------------- two processes at once

WRITER = textwrap.dedent(
    """
    import random, sys
    from s2b_tui.sandbox.records import StoreError
    from s2b_tui.sandbox.store import SandboxStore
    store = SandboxStore(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    keys = ["QUICKBOOKS", "QUICKBOOKS_DESKTOP", "XERO", "SAGE"]
    companies = [store.create_company(f"Writer {sys.argv[2]} #{n}").id for n in range(6)]
    for step in range(int(sys.argv[3])):
        db = store._db()
        try:
            r = rng.random()
            company = rng.choice(companies)
            if r < 0.3:
                store.start_authorization(company, rng.choice(keys))
            elif r < 0.55:
                row = db.execute("SELECT id FROM authorizations WHERE status = 'PENDING' "
                                 "ORDER BY random() LIMIT 1").fetchone()
                if row:
                    store.complete_authorization(row[0], allow=rng.random() < 0.8)
            elif r < 0.8:
                row = db.execute("SELECT company_id, id FROM connections "
                                 "ORDER BY random() LIMIT 1").fetchone()
                if row:
                    store.simulate(*row, rng.choice(["ERROR", "DISCONNECTED", "CONNECTED"]))
            else:
                row = db.execute("SELECT company_id, id FROM authorizations "
                                 "ORDER BY random() LIMIT 1").fetchone()
                if row:
                    store.cancel_authorization(*row)
        except StoreError:
            pass
    store.close()
    """
)


def test_two_processes_keep_state_true_and_a_watcher_misses_nothing(tmp_path: Path):
    store = SandboxStore(tmp_path)
    start = store.list_events().last_sequence
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(n), "300"])
        for n in (1, 2)
    ]
    seen: list[int] = []
    after = start
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = any(w.poll() is None for w in writers)
        feed = store.list_events(after=after, page_size=37)
        seen.extend(e.sequence for e in feed.events)
        if feed.events:
            after = feed.events[-1].sequence
        if not running and not feed.has_more and not feed.events:
            break
        time.sleep(0.005)
    assert [w.wait(timeout=30) for w in writers] == [0, 0]
    everything = [e.sequence for e in all_events(store)]
    assert len(seen) == len(set(seen)), "a watcher saw an event twice"
    assert seen == everything, "a watcher missed events"
    assert len(seen) > 300  # both writers made hundreds of changes
    tried("events followed while two processes wrote", len(seen))
    check_store(store, time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()))
    store.close()


@pytest.mark.parametrize("states", [None, {"ERROR": 0.2, "PENDING": 0.2}])
def test_seeded_history_replays_to_the_seeded_rows(tmp_path: Path, states):
    store = SandboxStore(tmp_path, clock=FakeClock())
    store.seed(2000, seed=5, states=states)
    check_store(store, FakeClock()().strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    by_state, total, _ = store.company_stats()
    assert total == 2000
    assert all(by_state[s] > 0 for s in by_state)
    if states:
        for state, share in states.items():
            assert abs(by_state[state] / total - share) < 0.05
    store.close()


def test_a_first_revision_data_dir_is_migrated_in_place(tmp_path: Path):
    """A data dir written by the first revision (schema 1) opens: its
    companies get their states, its links and key keep working."""
    from s2b_tui.sandbox.schema import split_sql

    first_revision = (Path(__file__).parent / "schema_v1.sql").read_text()
    db = sqlite3.connect(tmp_path / "sandbox.db")
    for statement in split_sql(first_revision):
        db.execute(statement)
    rows = [
        # company, connection statuses, pending links (expires_at)
        ("c-error", ["ERROR", "CONNECTED"], []),
        ("c-connected", ["CONNECTED", "DISCONNECTED"], ["2099-01-01T00:00:00.000000Z"]),
        ("c-pending", ["DISCONNECTED"], ["2099-01-01T00:00:00.000000Z"] * 2),
        ("c-expired", [], ["2000-01-01T00:00:00.000000Z"]),
        ("c-none", [], []),
    ]
    for seq, (company, statuses, links) in enumerate(rows, 1):
        db.execute(
            "INSERT INTO companies VALUES (?, ?, ?, NULL, '2026-01-01T00:00:00.000000Z', ?)",
            (seq, company, company.title(), f"token-{company}"),
        )
        for n, status in enumerate(statuses):
            db.execute(
                "INSERT INTO connections (company_id, id, integration_key, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, '2026-01-02T00:00:00.000000Z', "
                "'2026-01-02T00:00:00.000000Z')",
                (company, f"{company}-k{n}", KEYS[n], status),
            )
        for n, expires in enumerate(links):
            db.execute(
                "INSERT INTO authorizations VALUES (?, ?, 'SAGE', NULL, 'PENDING', ?, ?, ?, NULL)",
                (f"{company}-a{n}", company, f"t-{company}-{n}", f"2026-01-0{n + 3}", expires),
            )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    store = SandboxStore(tmp_path)
    states = {c.id: c.state for c in store.company_page(page_size=10).records}
    assert states == {
        "c-error": "ERROR",
        "c-connected": "CONNECTED",
        "c-pending": "PENDING",
        "c-expired": "NOT_CONNECTED",
        "c-none": "NOT_CONNECTED",
    }
    # Of two live links for one integration, the older is cancelled.
    pending = store.list_authorizations(company_id="c-pending")[0]
    assert sorted((a.id, a.status) for a in pending) == [
        ("c-pending-a0", "CANCELLED"),
        ("c-pending-a1", "PENDING"),
    ]
    assert store.resolve_link("token-c-none") is not None
    # The feed starts at the migration: what happened before was never recorded.
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    check_store(store, now, whole_history=False)
    store.close()


def test_a_rotated_company_link_is_gone(tmp_path: Path):
    from s2b_tui.sandbox.records import Gone

    store = SandboxStore(tmp_path)
    company = store.create_company("Leaky Ltd")
    rotated = store.rotate_company_link(company.id)
    assert rotated.link_token != company.link_token
    target = store.resolve_link(rotated.link_token)
    assert target is not None
    assert target.company.id == company.id
    with pytest.raises(Gone):
        store.resolve_link(company.link_token)
    detail = next(e.detail for e in store.company_events(company.id)[0])
    assert detail is not None
    assert detail.startswith("Company link")
    store.close()


def test_a_reset_tells_even_a_caught_up_watcher(tmp_path: Path):
    from s2b_tui.sandbox.records import Gone

    store = SandboxStore(tmp_path)
    store.create_company("Before Reset Ltd")
    caught_up = store.list_events().last_sequence
    assert store.list_events(after=caught_up).events == []
    store.reset()
    with pytest.raises(Gone):
        store.list_events(after=caught_up)
    fresh = store.list_events().last_sequence
    assert fresh > caught_up
    assert store.list_events(after=fresh).events == []
    store.create_company("After Reset Ltd")
    assert [e.type for e in store.list_events(after=fresh).events] == ["company.created"]
    store.close()
