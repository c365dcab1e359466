"""Create or refresh the demo salon: 3 professionals, 5 services, Mon–Sat hours, a lunch
break, one closure, and some appointments over the next days.

Refreshing keeps the tenant's id and replaces its rows, so links stay valid across runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.passwords import hash_password
from slotwise.db.database import Database

DEMO_SLUG = "demo"
DEMO_TIMEZONE = "America/Sao_Paulo"
OWNER_EMAIL = "owner@demo.slotwise.dev"
OWNER_PASSWORD = "demo-owner-2026"  # noqa: S105 - printed on start, demo only
_NS = uuid.UUID("6f1c1e2a-58a4-4c55-9a53-5b0c7b0b2d11")


def demo_id(name: str) -> uuid.UUID:
    """The demo's fixed ids: the same on every machine, so links and tests can name them."""
    return uuid.uuid5(_NS, name)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


PROFESSIONALS = [("ana", "Ana Souza"), ("bruno", "Bruno Lima"), ("carla", "Carla Mendes")]
# key, name, duration, buffer before, buffer after, price (cents)
SERVICES = [
    ("cut", "Haircut", 30, 0, 10, 6000),
    ("beard", "Beard trim", 20, 0, 5, 3500),
    ("color", "Hair colouring", 90, 10, 15, 22000),
    ("blow", "Blow-dry", 45, 0, 0, 5000),
    ("manicure", "Manicure", 40, 5, 5, 4500),
]
OFFERS = {
    "ana": ["cut", "color", "blow"],
    "bruno": ["cut", "beard"],
    "carla": ["manicure", "blow", "color"],
}


async def _seed(conn: AsyncConnection, tenant_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    params = {"t": tenant_id}
    exists = (await conn.execute(text("SELECT 1 FROM tenants WHERE id = :t"), params)).first()
    if exists:
        for table in (
            "appointments",
            "customers",
            "time_off",
            "special_hours",
            "closures",
            "breaks",
            "business_hours",
            "professional_hours",
            "offerings",
            "memberships",
            "services",
            "professionals",
        ):
            await conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), params)  # noqa: S608
    else:
        await conn.execute(
            text(
                "INSERT INTO tenants (id, slug, name, timezone, currency, locale, address, phone,"
                " email) VALUES (:t, :slug, 'Aurora Hair & Nails', :tz, 'BRL', 'pt_BR',"
                " 'Rua Augusta 1500, São Paulo', '+55 11 3000-0000', 'hello@aurora.example.com')"
            ),
            {**params, "slug": DEMO_SLUG, "tz": DEMO_TIMEZONE},
        )
    await conn.execute(
        text(
            "INSERT INTO users (id, email, name, password_hash) VALUES (:u, :e, 'Olivia Owner', :h)"
            " ON CONFLICT (id) DO UPDATE SET password_hash = EXCLUDED.password_hash"
        ),
        {"u": owner_id, "e": OWNER_EMAIL, "h": hash_password(OWNER_PASSWORD)},
    )
    await conn.execute(
        text("INSERT INTO memberships (tenant_id, user_id, role) VALUES (:t, :u, 'owner')"),
        {**params, "u": owner_id},
    )
    for order, (key, name) in enumerate(PROFESSIONALS):
        await conn.execute(
            text(
                "INSERT INTO professionals (tenant_id, id, name, display_order)"
                " VALUES (:t, :p, :n, :o)"
            ),
            {**params, "p": demo_id(key), "n": name, "o": order},
        )
    for order, (key, name, duration, before, after, price) in enumerate(SERVICES):
        await conn.execute(
            text(
                "INSERT INTO services (tenant_id, id, name, duration_minutes,"
                " buffer_before_minutes, buffer_after_minutes, price_minor, currency,"
                " display_order) VALUES (:t, :s, :n, :d, :b, :a, :price, 'BRL', :o)"
            ),
            {
                **params,
                "s": demo_id(key),
                "n": name,
                "d": duration,
                "b": before,
                "a": after,
                "price": price,
                "o": order,
            },
        )
    for pro, services in OFFERS.items():
        for service in services:
            await conn.execute(
                text(
                    "INSERT INTO offerings (tenant_id, professional_id, service_id)"
                    " VALUES (:t, :p, :s)"
                ),
                {**params, "p": demo_id(pro), "s": demo_id(service)},
            )
    for weekday in range(6):  # Monday–Saturday
        end = 14 * 60 if weekday == 5 else 19 * 60
        await conn.execute(
            text(
                "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
                " VALUES (:t, :w, 540, :e)"
            ),
            {**params, "w": weekday, "e": end},
        )
        if weekday < 5:
            await conn.execute(
                text(
                    "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute, label)"
                    " VALUES (:t, :w, 720, 780, 'Lunch')"
                ),
                {**params, "w": weekday},
            )
    # Carla works afternoons only on Mondays.
    for weekday in range(6):
        start = 780 if weekday == 0 else 540
        end = 14 * 60 if weekday == 5 else 19 * 60
        await conn.execute(
            text(
                "INSERT INTO professional_hours (tenant_id, professional_id, weekday,"
                " start_minute, end_minute) VALUES (:t, :p, :w, :s, :e)"
            ),
            {**params, "p": demo_id("carla"), "w": weekday, "s": start, "e": end},
        )
    zone = ZoneInfo(DEMO_TIMEZONE)
    today = datetime.now(zone).date()
    closure = _next_weekday(today + timedelta(days=10), 2)
    await conn.execute(
        text("INSERT INTO closures (tenant_id, date, reason) VALUES (:t, :d, 'Staff training')"),
        {**params, "d": closure},
    )
    customers = [("Marina Costa", "marina@example.com"), ("João Pereira", "joao@example.com")]
    customer_ids = []
    for name, email in customers:
        customer_id = demo_id("customer-" + email)
        customer_ids.append(customer_id)
        await conn.execute(
            text("INSERT INTO customers (tenant_id, id, name, email) VALUES (:t, :c, :n, :e)"),
            {**params, "c": customer_id, "n": name, "e": email},
        )
    bookings = [
        (1, "ana", "cut", time(10, 0)),
        (1, "bruno", "beard", time(15, 0)),
        (2, "carla", "manicure", time(9, 30)),
        (2, "ana", "color", time(14, 0)),
        (3, "bruno", "cut", time(11, 0)),
    ]
    durations = {key: (d, b, a) for key, _n, d, b, a, _p in SERVICES}
    for index, (offset, pro, service, at) in enumerate(bookings):
        day = today + timedelta(days=offset)
        if day.weekday() == 6 or day == closure:
            day += timedelta(days=1)
        starts_at = datetime.combine(day, at, tzinfo=zone)
        duration, before, after = durations[service]
        await conn.execute(
            text(
                "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
                " starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, occupied,"
                " source) VALUES (:t, :p, :s, :c, :start, :end, :b, :a, 'empty', 'staff')"
            ),
            {
                **params,
                "p": demo_id(pro),
                "s": demo_id(service),
                "c": customer_ids[index % 2],
                "start": starts_at,
                "end": starts_at + timedelta(minutes=duration),
                "b": before,
                "a": after,
            },
        )


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


async def seed_demo(app_url: str) -> DemoLogin:
    database = Database(app_url, pool_size=1, max_overflow=0)
    tenant_id = demo_id("tenant-demo")
    owner_id = demo_id("owner")
    try:
        async with database.transaction(tenant_id, user_id=owner_id) as conn:
            await _seed(conn, tenant_id, owner_id)
    finally:
        await database.dispose()
    return DemoLogin(OWNER_EMAIL, OWNER_PASSWORD)
