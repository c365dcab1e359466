"""The members API: who may add, change and remove members, and what removal does."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from slotwise.settings import Settings
from tests.factories import DEFAULT_PASSWORD, TenantRows, bearer, make_member, make_tenant

NEW_MEMBER = {
    "email": "bruno@example.com",
    "name": "Bruno Lima",
    "password": "another long secret",
    "role": "staff",
}


@pytest.fixture
async def shop(owner_conn: asyncpg.Connection) -> TenantRows:
    rows = await make_tenant(owner_conn, "shop-a")
    rows.user_id, _ = await make_member(owner_conn, rows.tenant_id, "owner")
    return rows


async def _as(
    owner_conn: asyncpg.Connection, settings: Settings, rows: TenantRows, role: str
) -> tuple[uuid.UUID, dict[str, str]]:
    user_id, _ = await make_member(
        owner_conn, rows.tenant_id, role, professional_id=rows.professional_ids[0]
    )
    return user_id, bearer(settings, user_id, rows.tenant_id)


async def test_owner_adds_a_staff_member_who_can_log_in(
    client: httpx.AsyncClient, shop: TenantRows, settings: Settings
) -> None:
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    body = {**NEW_MEMBER, "professional_id": str(shop.professional_ids[0])}
    created = await client.post("/api/v1/members", json=body, headers=owner)
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["role"] == "staff"
    assert member["professional_id"] == str(shop.professional_ids[0])

    listed = await client.get("/api/v1/members", headers=owner)
    assert listed.status_code == 200
    assert sorted((m["role"], m["email"] == "bruno@example.com") for m in listed.json()) == [
        ("owner", False),
        ("staff", True),
    ]

    login = await client.post(
        "/api/v1/auth/login", json={"email": "bruno@example.com", "password": body["password"]}
    )
    assert login.status_code == 200
    assert login.json()["user"]["role"] == "staff"
    assert login.json()["user"]["professional_id"] == str(shop.professional_ids[0])


async def test_an_email_with_an_account_is_409_email_taken(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    elsewhere = await make_tenant(owner_conn)
    _, email = await make_member(owner_conn, elsewhere.tenant_id)
    response = await client.post(
        "/api/v1/members",
        json={**NEW_MEMBER, "email": email.upper()},
        headers=bearer(settings, shop.user_id, shop.tenant_id),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM memberships WHERE tenant_id = $1", shop.tenant_id
        )
        == 1
    )


async def test_a_professional_of_another_business_is_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    elsewhere = await make_tenant(owner_conn)
    for professional_id in (elsewhere.professional_ids[0], uuid.uuid4()):
        response = await client.post(
            "/api/v1/members",
            json={**NEW_MEMBER, "professional_id": str(professional_id)},
            headers=bearer(settings, shop.user_id, shop.tenant_id),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "professional_id"
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM users WHERE email = $1", NEW_MEMBER["email"]
        )
        == 0
    )


async def test_members_cannot_be_created_as_owners(
    client: httpx.AsyncClient, shop: TenantRows, settings: Settings
) -> None:
    response = await client.post(
        "/api/v1/members",
        json={**NEW_MEMBER, "role": "owner"},
        headers=bearer(settings, shop.user_id, shop.tenant_id),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"


async def _role_of(owner_conn: asyncpg.Connection, user_id: uuid.UUID) -> str | None:
    role: str | None = await owner_conn.fetchval(
        "SELECT role FROM memberships WHERE user_id = $1", user_id
    )
    return role


async def test_staff_cannot_see_or_manage_members(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    _, staff = await _as(owner_conn, settings, shop, "staff")
    assert (await client.get("/api/v1/members", headers=staff)).status_code == 403
    created = await client.post("/api/v1/members", json=NEW_MEMBER, headers=staff)
    assert created.status_code == 403
    assert created.json()["code"] == "forbidden"
    patched = await client.patch(
        f"/api/v1/members/{shop.user_id}", json={"role": "staff"}, headers=staff
    )
    assert patched.status_code == 403
    deleted = await client.delete(f"/api/v1/members/{shop.user_id}", headers=staff)
    assert deleted.status_code == 403
    assert await _role_of(owner_conn, shop.user_id) == "owner"


async def test_a_manager_manages_staff_but_not_owners(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    _, manager = await _as(owner_conn, settings, shop, "manager")
    staff_id, _ = await _as(owner_conn, settings, shop, "staff")

    created = await client.post(
        "/api/v1/members", json={**NEW_MEMBER, "role": "manager"}, headers=manager
    )
    assert created.status_code == 201
    promoted = await client.patch(
        f"/api/v1/members/{staff_id}", json={"role": "manager", "name": "Carla"}, headers=manager
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "manager"
    assert promoted.json()["name"] == "Carla"

    to_owner = await client.patch(
        f"/api/v1/members/{staff_id}", json={"role": "owner"}, headers=manager
    )
    assert to_owner.status_code == 403
    demote_owner = await client.patch(
        f"/api/v1/members/{shop.user_id}", json={"role": "staff"}, headers=manager
    )
    assert demote_owner.status_code == 403
    remove_owner = await client.delete(f"/api/v1/members/{shop.user_id}", headers=manager)
    assert remove_owner.status_code == 403
    assert await _role_of(owner_conn, shop.user_id) == "owner"


async def test_linking_and_unlinking_a_professional(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    staff_id, _ = await make_member(owner_conn, shop.tenant_id, "staff")
    linked = await client.patch(
        f"/api/v1/members/{staff_id}",
        json={"professional_id": str(shop.professional_ids[0])},
        headers=owner,
    )
    assert linked.status_code == 200
    assert linked.json()["professional_id"] == str(shop.professional_ids[0])
    unknown = await client.patch(
        f"/api/v1/members/{staff_id}", json={"professional_id": str(uuid.uuid4())}, headers=owner
    )
    assert unknown.status_code == 422
    unlinked = await client.patch(
        f"/api/v1/members/{staff_id}", json={"professional_id": None}, headers=owner
    )
    assert unlinked.status_code == 200
    assert unlinked.json()["professional_id"] is None
    assert unlinked.json()["role"] == "staff"


async def test_the_last_owner_cannot_be_demoted_or_removed(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    demoted = await client.patch(
        f"/api/v1/members/{shop.user_id}", json={"role": "manager"}, headers=owner
    )
    assert demoted.status_code == 409
    assert demoted.json()["code"] == "last_owner"
    removed = await client.delete(f"/api/v1/members/{shop.user_id}", headers=owner)
    assert removed.status_code == 409
    assert removed.json()["code"] == "last_owner"

    second_id, _ = await make_member(owner_conn, shop.tenant_id, "owner")
    ok = await client.patch(f"/api/v1/members/{second_id}", json={"role": "manager"}, headers=owner)
    assert ok.status_code == 200
    assert ok.json()["role"] == "manager"
    promoted = await client.patch(
        f"/api/v1/members/{second_id}", json={"role": "owner"}, headers=owner
    )
    assert promoted.status_code == 200
    assert (
        await client.delete(f"/api/v1/members/{shop.user_id}", headers=owner)
    ).status_code == 204
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'",
            shop.tenant_id,
        )
        == 1
    )


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    second_id, _ = await make_member(owner_conn, shop.tenant_id, "owner")
    first = bearer(settings, shop.user_id, shop.tenant_id)
    second = bearer(settings, second_id, shop.tenant_id)
    answers = await asyncio.gather(
        client.patch(f"/api/v1/members/{second_id}", json={"role": "staff"}, headers=first),
        client.patch(f"/api/v1/members/{shop.user_id}", json={"role": "staff"}, headers=second),
    )
    statuses = sorted(a.status_code for a in answers)
    # The loser was either refused as the last owner or had already lost the owner role.
    assert statuses[0] == 200 and statuses[1] in (401, 403, 409)
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'",
            shop.tenant_id,
        )
        == 1
    )


async def test_a_removed_members_token_stops_working_at_once(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    staff_id, staff = await _as(owner_conn, settings, shop, "staff")
    assert (await client.get("/api/v1/auth/me", headers=staff)).status_code == 200
    assert (await client.delete(f"/api/v1/members/{staff_id}", headers=owner)).status_code == 204
    after = await client.get("/api/v1/auth/me", headers=staff)
    assert after.status_code == 401
    assert after.json()["code"] == "unauthorized"
    assert await owner_conn.fetchval("SELECT count(*) FROM users WHERE id = $1", staff_id) == 0


async def test_a_removed_members_email_can_be_added_again(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    created = await client.post("/api/v1/members", json=NEW_MEMBER, headers=owner)
    user_id = created.json()["user_id"]
    assert (await client.delete(f"/api/v1/members/{user_id}", headers=owner)).status_code == 204
    again = await client.post("/api/v1/members", json=NEW_MEMBER, headers=owner)
    assert again.status_code == 201


async def test_removing_a_member_keeps_his_account_in_other_businesses(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    other = await make_tenant(owner_conn)
    user_id, email = await make_member(owner_conn, other.tenant_id, "owner")
    await owner_conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'staff')",
        shop.tenant_id,
        user_id,
    )
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    assert (await client.delete(f"/api/v1/members/{user_id}", headers=owner)).status_code == 204
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["tenant"]["id"] == str(other.tenant_id)


async def test_another_business_cannot_touch_my_members(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    intruder_rows = await make_tenant(owner_conn)
    intruder_id, _ = await make_member(owner_conn, intruder_rows.tenant_id, "owner")
    intruder = bearer(settings, intruder_id, intruder_rows.tenant_id)
    staff_id, _ = await make_member(owner_conn, shop.tenant_id, "staff")

    listed = await client.get("/api/v1/members", headers=intruder)
    assert [m["user_id"] for m in listed.json()] == [str(intruder_id)]
    for target in (shop.user_id, staff_id):
        patched = await client.patch(
            f"/api/v1/members/{target}", json={"role": "manager", "name": "X"}, headers=intruder
        )
        assert patched.status_code == 404
        deleted = await client.delete(f"/api/v1/members/{target}", headers=intruder)
        assert deleted.status_code == 404
    rows = await owner_conn.fetch(
        "SELECT m.role, u.name FROM memberships m JOIN users u ON u.id = m.user_id"
        " WHERE m.tenant_id = $1 ORDER BY m.role",
        shop.tenant_id,
    )
    assert [(r["role"], r["name"]) for r in rows] == [("owner", "Member"), ("staff", "Member")]
    # A token naming my business but issued for the intruder's account is refused too.
    forged_scope = bearer(settings, intruder_id, shop.tenant_id)
    assert (await client.get("/api/v1/members", headers=forged_scope)).status_code == 401


async def test_member_changes_refuse_null_role_and_need_a_token(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    staff_id, _ = await make_member(owner_conn, shop.tenant_id, "staff")
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    nulled = await client.patch(f"/api/v1/members/{staff_id}", json={"role": None}, headers=owner)
    assert nulled.status_code == 422
    assert nulled.json()["errors"][0]["field"] == "role"
    assert (await client.get("/api/v1/members")).status_code == 401
    assert (await client.delete(f"/api/v1/members/{staff_id}")).status_code == 401
    assert (
        await client.patch(f"/api/v1/members/{uuid.uuid4()}", json={"role": "staff"}, headers=owner)
    ).status_code == 404


async def _act_as(
    conn: asyncpg.Connection, tenant_id: uuid.UUID | None, user_id: uuid.UUID
) -> None:
    await conn.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
        str(tenant_id or ""),
        str(user_id),
    )


async def test_only_the_account_functions_write_another_persons_account(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    """Acting as a manager, the app role still cannot insert or delete another user's row
    directly (RLS); ``create_member_account`` and ``delete_orphan_account`` can, and only
    for a manager of the scoped tenant and for an account left without a business."""
    staff_id, _ = await make_member(owner_conn, shop.tenant_id, "staff")
    new_id = uuid.uuid4()
    account = (new_id, "carla@example.com", "Carla", "hash", "staff", None)
    create = "SELECT create_member_account($1, $2, $3, $4, $5, $6)"

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with app_conn.transaction():
            await _act_as(app_conn, shop.tenant_id, shop.user_id)
            await app_conn.execute(
                "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)",
                *account[:4],
            )
    for tenant_id, actor in ((shop.tenant_id, staff_id), (None, shop.user_id)):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await _act_as(app_conn, tenant_id, actor)
                await app_conn.execute(create, *account)
    assert await owner_conn.fetchval("SELECT count(*) FROM users WHERE id = $1", new_id) == 0

    async with app_conn.transaction():
        await _act_as(app_conn, shop.tenant_id, shop.user_id)
        await app_conn.execute(create, *account)
    assert await _role_of(owner_conn, new_id) == "staff"

    async with app_conn.transaction():
        await _act_as(app_conn, shop.tenant_id, shop.user_id)
        deleted = await app_conn.execute("DELETE FROM users WHERE id = $1", new_id)
        still_member = await app_conn.fetchval("SELECT delete_orphan_account($1)", new_id)
        await app_conn.execute(
            "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2", shop.tenant_id, new_id
        )
        orphan = await app_conn.fetchval("SELECT delete_orphan_account($1)", new_id)
    assert (deleted, still_member, orphan) == ("DELETE 0", False, True)
    assert await owner_conn.fetchval("SELECT count(*) FROM users WHERE id = $1", new_id) == 0


async def test_a_member_of_other_businesses_keeps_his_name(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows, settings: Settings
) -> None:
    other = await make_tenant(owner_conn)
    user_id, _ = await make_member(owner_conn, other.tenant_id, "owner", name="Dora")
    await owner_conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'staff')",
        shop.tenant_id,
        user_id,
    )
    owner = bearer(settings, shop.user_id, shop.tenant_id)
    renamed = await client.patch(
        f"/api/v1/members/{user_id}", json={"role": "manager", "name": "Not Dora"}, headers=owner
    )
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "member_of_other_businesses"
    row = await owner_conn.fetchrow(
        "SELECT u.name, m.role FROM users u JOIN memberships m ON m.user_id = u.id"
        " WHERE u.id = $1 AND m.tenant_id = $2",
        user_id,
        shop.tenant_id,
    )
    assert (row["name"], row["role"]) == ("Dora", "staff")  # nothing changed


async def test_a_business_cannot_change_its_members_accounts_directly(
    app_conn: asyncpg.Connection, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    """Even a manager's transaction updates no other account's row: renaming goes through
    ``rename_member``, which staff may not call."""
    staff_id, _ = await make_member(owner_conn, shop.tenant_id, "staff")
    for actor, may_rename in ((shop.user_id, True), (staff_id, False)):
        target, _ = await make_member(owner_conn, shop.tenant_id, "staff", name="Eva")
        async with app_conn.transaction():
            await app_conn.execute(
                "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
                str(shop.tenant_id),
                str(actor),
            )
            status = await app_conn.execute(
                "UPDATE users SET email = 'taken@example.com', password_hash = 'x', name = 'Y'"
                " WHERE id = $1",
                target,
            )
            assert status == "UPDATE 0"
            if may_rename:
                assert await app_conn.fetchval("SELECT rename_member($1, 'Eve')", target)
            else:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await app_conn.fetchval("SELECT rename_member($1, 'Eve')", target)
        row = await owner_conn.fetchrow("SELECT email, name FROM users WHERE id = $1", target)
        assert row["email"] != "taken@example.com"
        assert row["name"] == ("Eve" if may_rename else "Eva")
