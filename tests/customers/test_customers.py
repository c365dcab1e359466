"""Customers through the staff API, and phone numbers read in the business's country."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from slotwise.customers.phones import normalize_phone, phone_region
from slotwise.settings import Settings
from tests.factories import TenantRows, bearer, make_customer, make_member, make_tenant


@pytest.fixture
async def shop(owner_conn: asyncpg.Connection) -> TenantRows:
    return await make_tenant(owner_conn, timezone="America/Sao_Paulo")


@pytest.fixture
async def staff(
    owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> dict[str, str]:
    user_id, _ = await make_member(
        owner_conn, shop.tenant_id, "staff", professional_id=shop.professional_ids[0]
    )
    return bearer(settings, user_id, shop.tenant_id)


async def test_create_normalizes_email_and_local_phone(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/customers",
        json={
            "name": " Maria  Silva ",
            "email": "Maria@Example.COM",
            "phone": "(11) 98765-4321",
            "notes": "Prefers mornings",
        },
        headers=staff,
    )
    assert response.status_code == 201, response.text
    customer = response.json()
    assert customer["name"] == "Maria  Silva"
    assert customer["email"] == "maria@example.com"
    assert customer["phone"] == "+5511987654321"  # a São Paulo business: BR numbers
    got = await client.get(f"/api/v1/customers/{customer['id']}", headers=staff)
    assert got.json() == customer


async def test_foreign_numbers_need_the_country_code(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    ok = await client.post(
        "/api/v1/customers", json={"name": "John", "phone": "+1 212 555 0100"}, headers=staff
    )
    assert ok.json()["phone"] == "+12125550100"
    assert ok.json()["email"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ana"}, "email"),
        ({"name": "Ana", "email": None, "phone": None}, "email"),
        ({"name": "Ana", "phone": "12"}, "phone"),
        ({"name": "Ana", "phone": "+99 12345"}, "phone"),
        ({"name": "Ana", "phone": "call me"}, "phone"),
        ({"name": "Ana", "email": "ana@"}, "email"),
        ({"name": "", "email": "ana@example.com"}, "name"),
        ({"name": "Ana", "email": "ana@example.com", "vip": True}, "vip"),
        ({"name": "Ana", "email": "ana@example.com", "notes": "n" * 2001}, "notes"),
    ],
)
async def test_invalid_customers_are_422_naming_the_field(
    client: httpx.AsyncClient,
    staff: dict[str, str],
    owner_conn: asyncpg.Connection,
    body: dict,
    field: str,
) -> None:
    response = await client.post("/api/v1/customers", json=body, headers=staff)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await owner_conn.fetchval("SELECT count(*) FROM customers") == 0


async def test_a_duplicate_email_is_409(
    client: httpx.AsyncClient,
    staff: dict[str, str],
    shop: TenantRows,
    owner_conn: asyncpg.Connection,
) -> None:
    await make_customer(owner_conn, shop.tenant_id, "ana@example.com")
    response = await client.post(
        "/api/v1/customers", json={"name": "Ana", "email": "ANA@example.com"}, headers=staff
    )
    assert response.status_code == 409
    assert response.json()["code"] == "customer_email_taken"
    other = await client.post(
        "/api/v1/customers", json={"name": "Bia", "email": "bia@example.com"}, headers=staff
    )
    taken = await client.patch(
        f"/api/v1/customers/{other.json()['id']}", json={"email": "ana@example.com"}, headers=staff
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "customer_email_taken"


async def test_update_changes_only_what_is_sent(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    created = (
        await client.post(
            "/api/v1/customers", json={"name": "Ana", "email": "ana@example.com"}, headers=staff
        )
    ).json()
    path = f"/api/v1/customers/{created['id']}"
    phoned = await client.patch(path, json={"phone": "11 98765 4321"}, headers=staff)
    assert phoned.status_code == 200
    assert (phoned.json()["phone"], phoned.json()["email"], phoned.json()["name"]) == (
        "+5511987654321",
        "ana@example.com",
        "Ana",
    )
    no_email = await client.patch(path, json={"email": None, "notes": "VIP"}, headers=staff)
    assert (no_email.json()["email"], no_email.json()["notes"]) == (None, "VIP")
    nothing_left = await client.patch(path, json={"phone": None}, headers=staff)
    assert nothing_left.status_code == 422
    assert nothing_left.json()["errors"][0]["field"] == "phone"
    null_name = await client.patch(path, json={"name": None}, headers=staff)
    assert null_name.status_code == 422
    assert (await client.get(path, headers=staff)).json()["phone"] == "+5511987654321"
    assert (
        await client.patch(f"/api/v1/customers/{uuid.uuid4()}", json={"notes": "x"}, headers=staff)
    ).status_code == 404


async def test_search_by_name_email_or_phone_with_pages(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    people = [
        ("Ana Souza", "ana@example.com", None),
        ("Bruno Lima", None, "+5511987650001"),
        ("Carla Dias", "carla@salon.com", "+5511987650002"),
        ("Daniel 100% Real", "daniel@example.com", None),
    ]
    for name, email, phone in people:
        response = await client.post(
            "/api/v1/customers", json={"name": name, "email": email, "phone": phone}, headers=staff
        )
        assert response.status_code == 201

    async def names(**params: object) -> list[str]:
        page = await client.get("/api/v1/customers", params=params, headers=staff)
        assert page.status_code == 200
        return [c["name"] for c in page.json()["items"]]

    assert await names() == ["Ana Souza", "Bruno Lima", "Carla Dias", "Daniel 100% Real"]
    assert await names(q="LIMA") == ["Bruno Lima"]
    assert await names(q="salon.com") == ["Carla Dias"]
    assert await names(q="9876-50002") == ["Carla Dias"]
    assert await names(q="98765") == ["Bruno Lima", "Carla Dias"]
    assert await names(q="100%") == ["Daniel 100% Real"]
    assert await names(q="%") == ["Daniel 100% Real"]  # a literal percent sign, not a wildcard
    assert await names(q="_") == []
    assert await names(q="' OR 1=1 --") == []

    first = (await client.get("/api/v1/customers", params={"limit": 3}, headers=staff)).json()
    assert (first["total"], first["next_offset"], len(first["items"])) == (4, 3, 3)
    last = (
        await client.get("/api/v1/customers", params={"limit": 3, "offset": 3}, headers=staff)
    ).json()
    assert ([c["name"] for c in last["items"]], last["next_offset"]) == (["Daniel 100% Real"], None)
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"q": "x" * 101}):
        assert (
            await client.get("/api/v1/customers", params=params, headers=staff)
        ).status_code == 422


async def test_a_business_never_reaches_another_business_customers(
    client: httpx.AsyncClient, staff: dict[str, str], owner_conn: asyncpg.Connection
) -> None:
    rival = await make_tenant(owner_conn)
    rival_customer = await make_customer(owner_conn, rival.tenant_id, "secret@rival.com")
    before = await owner_conn.fetchrow("SELECT * FROM customers WHERE id = $1", rival_customer)

    assert (
        await client.get(f"/api/v1/customers/{rival_customer}", headers=staff)
    ).status_code == 404
    patched = await client.patch(
        f"/api/v1/customers/{rival_customer}", json={"name": "Mine"}, headers=staff
    )
    assert patched.status_code == 404
    search = await client.get("/api/v1/customers", params={"q": "secret"}, headers=staff)
    assert search.json()["items"] == [] and search.json()["total"] == 0
    everyone = await client.get("/api/v1/customers", headers=staff)
    assert str(rival_customer) not in everyone.text
    # The same email in my business is a different customer, not a conflict.
    mine = await client.post(
        "/api/v1/customers", json={"name": "Me", "email": "secret@rival.com"}, headers=staff
    )
    assert mine.status_code == 201
    assert (
        await owner_conn.fetchrow("SELECT * FROM customers WHERE id = $1", rival_customer) == before
    )


async def test_customers_require_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/customers")).status_code == 401
    assert (
        await client.post("/api/v1/customers", json={"name": "A", "email": "a@b.co"})
    ).status_code == 401


@pytest.mark.parametrize(
    ("zone", "region"),
    [
        ("America/Sao_Paulo", "BR"),
        ("America/New_York", "US"),
        ("Europe/Lisbon", "PT"),
        ("UTC", None),
        ("Etc/GMT+3", None),
    ],
)
def test_phone_region_follows_the_time_zone(zone: str, region: str | None) -> None:
    assert phone_region(zone) == region


def test_normalize_phone_needs_a_plus_without_region() -> None:
    assert normalize_phone("+55 (11) 98765-4321", None) == "+5511987654321"
    with pytest.raises(ValueError):
        normalize_phone("(11) 98765-4321", None)
