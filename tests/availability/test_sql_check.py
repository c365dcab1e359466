"""``slot_rejection`` (migration 0002), the rules checked inside the booking transaction: each
rule on a hand-made business, then start by start against the Python engine on random rule
sets and on the days of clock changes."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from slotwise.availability import engine
from slotwise.availability.engine import Rejection
from slotwise.availability.repository import load_rules
from slotwise.db.database import Database
from tests.availability.rulesets import (
    DST_HOURS,
    RuleSet,
    dst_rule_set,
    random_rule_set,
    write,
)
from tests.factories import TenantRows, make_appointment, make_history, make_tenant

TZ = "America/Sao_Paulo"  # UTC-03:00 all year
DAY = date(2030, 6, 4)  # a Tuesday
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def at(hhmm: str, d: date = DAY) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(d, time(int(hours), int(minutes)), tzinfo=UTC) + timedelta(hours=3)


async def rejection(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | None,
    professional_id: uuid.UUID,
    service_id: uuid.UUID,
    start: datetime,
    now: datetime = NOW,
) -> str | None:
    """``slot_rejection`` as the app role, inside a transaction scoped to ``tenant_id``."""
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('app.tenant_id', $1, true)", str(tenant_id) if tenant_id else ""
        )
        value = await conn.fetchval(
            "SELECT slot_rejection($1, $2, $3, $4)", professional_id, service_id, start, now
        )
    assert value is None or isinstance(value, str)
    return value


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    """Sao Paulo, open 09:00-18:00 every day, 30-minute service on a 15-minute grid, two
    professionals; lunch 12:00-13:00."""
    rows = await make_tenant(owner_conn, timezone=TZ, hours=(540, 1080), professionals=2)
    await owner_conn.execute(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute)"
        " SELECT $1, d, 720, 780 FROM generate_series(0, 6) d",
        rows.tenant_id,
    )
    return rows


# ----------------------------------------------------------------------- rule by rule


async def test_a_slot_is_bookable(app_conn: asyncpg.Connection, rows: TenantRows) -> None:
    pro, svc = rows.professional_ids[0], rows.service_ids[0]
    assert await rejection(app_conn, rows.tenant_id, pro, svc, at("09:00")) is None
    assert await rejection(app_conn, rows.tenant_id, pro, svc, at("17:30")) is None


async def test_service_not_offered_cases(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    other = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'X', 30)",
        tid,
        other,
    )
    code = "service_not_offered"
    assert await rejection(app_conn, tid, pro, other, at("09:00")) == code  # no offering
    assert await rejection(app_conn, tid, uuid.uuid4(), svc, at("09:00")) == code
    assert await rejection(app_conn, tid, pro, uuid.uuid4(), at("09:00")) == code
    assert await rejection(app_conn, None, pro, svc, at("09:00")) == code  # no tenant set
    await owner_conn.execute("UPDATE professionals SET active = false WHERE id = $1", pro)
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == code
    await owner_conn.execute("UPDATE professionals SET active = true WHERE id = $1", pro)
    await owner_conn.execute("UPDATE services SET active = false WHERE id = $1", svc)
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == code


async def test_another_tenants_professional_is_not_offered(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=TZ)
    got = await rejection(
        app_conn, rows.tenant_id, other.professional_ids[0], other.service_ids[0], at("09:00")
    )
    assert got == "service_not_offered"


async def test_notice_then_horizon(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    now = at("08:00")  # default notice: 60 minutes
    assert await rejection(app_conn, tid, pro, svc, at("08:45"), now) == "insufficient_notice"
    assert await rejection(app_conn, tid, pro, svc, at("09:00"), now) is None
    await owner_conn.execute("UPDATE tenants SET horizon_days = 2 WHERE id = $1", tid)
    in_two_days = at("09:00", DAY + timedelta(days=2))
    in_three_days = at("09:00", DAY + timedelta(days=3))
    assert await rejection(app_conn, tid, pro, svc, in_two_days, now) is None
    assert await rejection(app_conn, tid, pro, svc, in_three_days, now) == "beyond_horizon"
    # Notice comes first when both fail.
    await owner_conn.execute("UPDATE tenants SET min_notice_minutes = 10000 WHERE id = $1", tid)
    assert await rejection(app_conn, tid, pro, svc, in_three_days, now) == "insufficient_notice"


async def test_outside_working_hours_cases(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    code = "outside_working_hours"
    assert await rejection(app_conn, tid, pro, svc, at("08:45")) == code  # before opening
    assert await rejection(app_conn, tid, pro, svc, at("17:45")) == code  # runs past closing
    assert await rejection(app_conn, tid, pro, svc, at("11:45")) == code  # into lunch
    await owner_conn.execute("INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", tid, DAY)
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == code


async def test_special_hours_replace_weekly_hours_and_closure_wins(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    await owner_conn.execute(
        "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
        " VALUES ($1, $2, 1140, 1260)",  # 19:00-21:00 only
        tid,
        DAY,
    )
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == "outside_working_hours"
    assert await rejection(app_conn, tid, pro, svc, at("19:00")) is None
    await owner_conn.execute("INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", tid, DAY)
    assert await rejection(app_conn, tid, pro, svc, at("19:00")) == "outside_working_hours"


async def test_own_hours_breaks_and_time_off(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    other = rows.professional_ids[1]
    await owner_conn.execute(
        "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
        " end_minute) VALUES ($1, $2, 1, 600, 960)",  # Tuesdays 10:00-16:00 only
        tid,
        pro,
    )
    await owner_conn.execute(
        "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute)"
        " VALUES ($1, $2, 1, 900, 930)",  # his own 15:00-15:30 break
        tid,
        pro,
    )
    await owner_conn.execute(
        "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4)",
        tid,
        pro,
        at("13:10"),
        at("13:40"),
    )
    code = "outside_working_hours"
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == code
    assert await rejection(app_conn, tid, pro, svc, at("10:00")) is None
    assert await rejection(app_conn, tid, pro, svc, at("14:45")) == code  # own break
    assert await rejection(app_conn, tid, pro, svc, at("13:00")) == code  # time off
    assert await rejection(app_conn, tid, other, svc, at("13:00")) is None
    assert await rejection(app_conn, tid, other, svc, at("09:00")) is None
    # After time off the grid restarts at its end: 13:40 is on it, 13:45 is not.
    assert await rejection(app_conn, tid, pro, svc, at("13:40")) is None
    assert await rejection(app_conn, tid, pro, svc, at("13:45")) == "slot_unavailable"
    # No own hours on other weekdays means a day off.
    wednesday = at("10:00", DAY + timedelta(days=1))
    assert await rejection(app_conn, tid, pro, svc, wednesday) == code


async def test_slot_unavailable_off_grid_and_busy(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    code = "slot_unavailable"
    assert await rejection(app_conn, tid, pro, svc, at("09:05")) == code
    assert await rejection(app_conn, tid, pro, svc, at("09:00") + timedelta(seconds=1)) == code
    await make_appointment(owner_conn, rows, at("10:00"), buffer_after=15)
    assert await rejection(app_conn, tid, pro, svc, at("10:00")) == code
    assert await rejection(app_conn, tid, pro, svc, at("09:45")) == code  # runs into it
    assert await rejection(app_conn, tid, pro, svc, at("10:30")) == code  # its buffer
    assert await rejection(app_conn, tid, pro, svc, at("10:45")) is None
    assert await rejection(app_conn, tid, pro, svc, at("09:30")) is None  # back to back
    assert await rejection(app_conn, tid, rows.professional_ids[1], svc, at("10:00")) is None


async def test_service_buffers_must_fit_the_window(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    await owner_conn.execute(
        "UPDATE services SET buffer_before_minutes = 15, buffer_after_minutes = 15 WHERE id = $1",
        svc,
    )
    assert await rejection(app_conn, tid, pro, svc, at("09:00")) == "outside_working_hours"
    assert await rejection(app_conn, tid, pro, svc, at("09:15")) is None
    assert await rejection(app_conn, tid, pro, svc, at("17:30")) == "outside_working_hours"
    assert await rejection(app_conn, tid, pro, svc, at("17:15")) is None  # ends 18:00


async def test_cancelled_appointments_do_not_block(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, at("10:00"), status="cancelled")
    got = await rejection(
        app_conn, rows.tenant_id, rows.professional_ids[0], rows.service_ids[0], at("10:00")
    )
    assert got is None


async def test_an_appointment_reaching_in_from_long_before_blocks(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    """Only the last appointment starting before the candidate's end is looked at (they
    never overlap): a long one from earlier still blocks, a cancelled one after it does
    not hide it."""
    await make_appointment(owner_conn, rows, at("09:00"), minutes=150)  # until 11:30
    await make_appointment(owner_conn, rows, at("10:30"), status="cancelled")
    tid, pro, svc = rows.tenant_id, rows.professional_ids[0], rows.service_ids[0]
    assert await rejection(app_conn, tid, pro, svc, at("11:00")) == "slot_unavailable"
    assert await rejection(app_conn, tid, pro, svc, at("11:30")) is None


async def _blocks_read(conn: asyncpg.Connection, rows: TenantRows) -> int:
    """Shared buffers one ``slot_rejection`` call touches (the function's own queries
    included), as the app role, once its plans are cached."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(rows.tenant_id))
        args = (rows.professional_ids[0], rows.service_ids[0], at("14:00"), NOW)
        for _ in range(6):  # past the custom plans: the generic ones are what bookings run
            await conn.fetchval("SELECT slot_rejection($1, $2, $3, $4)", *args)
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT slot_rejection($1, $2, $3, $4)",
            *args,
        )
    top = json.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


async def test_the_check_reads_no_more_with_years_of_history(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    """Row level security keeps non-leakproof conditions such as ``&&`` away from indexes;
    the check must still find its one neighbour by index, not read the professional's
    whole past."""
    before = await _blocks_read(app_conn, rows)
    await make_history(owner_conn, rows, at("09:00", DAY - timedelta(days=1)), 3000)
    await owner_conn.execute("ANALYZE appointments")
    after = await _blocks_read(app_conn, rows)
    assert after - before <= 10, (before, after)


async def test_null_start_is_an_error_not_a_slot(
    app_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    with pytest.raises(asyncpg.NullValueNotAllowedError):
        await app_conn.fetchval(
            "SELECT slot_rejection($1, $2, NULL, now())",
            rows.professional_ids[0],
            rows.service_ids[0],
        )


async def test_only_the_app_role_may_execute_it(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        "SELECT p.proname, p.prosecdef, p.proconfig, p.proacl::text[] AS acl"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.proname IN ('slot_rejection', 'local_instant')"
    )
    assert {r["proname"] for r in rows} == {"slot_rejection", "local_instant"}
    for row in rows:
        assert row["prosecdef"] is False  # SECURITY INVOKER: RLS applies to the caller
        assert any(c.startswith("search_path=") for c in row["proconfig"])
        grantees = {entry.split("=")[0] for entry in row["acl"]}
        assert "slotwise_app" in grantees
        assert "" not in grantees  # not PUBLIC


# ------------------------------------------------------------------- the zone conversion

DST_DAYS = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),
    ("Europe/London", date(2026, 3, 29)),
    ("Europe/London", date(2026, 10, 25)),
    ("America/Sao_Paulo", date(2018, 11, 4)),  # midnight fell into the gap
    ("America/Sao_Paulo", date(2019, 2, 16)),  # 23:00-23:59 happened twice
    ("Asia/Kathmandu", date(2026, 6, 1)),
]


async def test_local_instant_is_zoneinfo_fold_0_on_every_minute(
    owner_conn: asyncpg.Connection,
) -> None:
    """Gap times move forward by the gap, ambiguous times take the first occurrence: the
    engine's conversion, minute by minute over the days of clock changes."""
    mismatches = []
    for tz, day in DST_DAYS:
        got = await owner_conn.fetch(
            "SELECT m, local_instant($1, m, $2) AS instant FROM generate_series(0, 1440) m",
            day,
            tz,
        )
        for row in got:
            want = engine.minutes_to_instant(day, row["m"], tz)
            if row["instant"] != want:
                mismatches.append((tz, day, row["m"], row["instant"], want))
    assert mismatches == []


# ------------------------------------------------------------------ differential checks


async def _compare(database: Database, rules: RuleSet) -> tuple[Counter[str], list[Any]]:
    """Every candidate start of every professional (and one unknown id): the SQL function
    (all of them in one query) and ``engine.check_start`` on the rules ``load_rules`` reads
    back, the two computed at the same time. Returns the answers' tally and the
    disagreements."""
    rng = random.Random(rules.seed)
    candidates = rules.candidates(rng)
    pro_ids = [p.id for p in rules.pros] + [uuid.uuid4()]

    def engine_answers(loaded: engine.BusinessRules) -> dict[tuple[uuid.UUID, datetime], Any]:
        out = {}
        for pid in pro_ids:
            for t in candidates:
                got = engine.check_start(loaded, rules.service_id, pid, t, rules.now)
                out[(pid, t)] = None if got is None else got.value
        return out

    async with database.transaction(rules.tenant_id) as conn:
        loaded = await load_rules(
            conn,
            rules.tenant_id,
            service_id=rules.service_id,
            date_from=rules.day0 - timedelta(days=1),
            date_to=rules.day0 + timedelta(days=4),
            now=rules.now,
        )
        query = conn.execute(
            text(
                "SELECT p.id, c.start, slot_rejection(p.id, :service, c.start, :now)"
                " FROM unnest(CAST(:pros AS uuid[])) AS p(id),"
                " unnest(CAST(:starts AS timestamptz[])) AS c(start)"
            ),
            {"service": rules.service_id, "now": rules.now, "pros": pro_ids, "starts": candidates},
        )
        result, python = await asyncio.gather(query, asyncio.to_thread(engine_answers, loaded))
        sql = {(pid, start): code for pid, start, code in result}
    tally = Counter(str(code) for code in python.values())
    wrong = [
        (rules.seed, rules.timezone, str(key[0])[:8], key[1].isoformat(), sql[key], want)
        for key, want in python.items()
        if sql[key] != want
    ]
    return tally, wrong


async def test_sql_equals_engine_on_random_rule_sets(
    database: Database, owner_conn: asyncpg.Connection
) -> None:
    sets = [random_rule_set(seed) for seed in range(25)]
    for rules in sets:
        await write(owner_conn, rules)
    tally: Counter[str] = Counter()
    wrong: list[Any] = []
    for rules in sets:
        counts, mismatches = await _compare(database, rules)
        tally += counts
        wrong += mismatches
    assert wrong[:20] == [], f"{len(wrong)} disagreements"
    # The comparison is not vacuous: every answer occurs, bookable starts by the hundreds.
    assert set(tally) == {"None", *(r.value for r in Rejection)}
    assert tally["None"] >= 200


@pytest.mark.parametrize(
    ("tz", "change"),
    [
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
        ("Australia/Lord_Howe", date(2026, 10, 4)),
        ("Australia/Lord_Howe", date(2026, 4, 5)),
    ],
)
async def test_sql_equals_engine_across_clock_changes(
    database: Database, owner_conn: asyncpg.Connection, tz: str, change: date
) -> None:
    sets = [dst_rule_set(100 + seed, tz, change, hours) for seed, hours in enumerate(DST_HOURS)]
    for rules in sets:
        await write(owner_conn, rules)
    tally: Counter[str] = Counter()
    wrong: list[Any] = []
    for rules in sets:
        counts, mismatches = await _compare(database, rules)
        tally += counts
        wrong += mismatches
    assert wrong[:20] == [], f"{len(wrong)} disagreements"
    assert tally["None"] > 0
