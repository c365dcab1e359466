"""An account is changed by its owner only; a manager renames members through one function.

Until now ``users_update`` let any transaction scoped to a business update every column of
every member's account: a manager (or, to the database, even a staff member) of one
business could have changed the email or password hash of someone who is also the owner of
another business. Now:

- ``users_update`` allows a transaction to update its own user row only;
- ``rename_member(user, name)`` (SECURITY DEFINER) renames a member of the caller's business
  for an owner or manager of it, and only when the account belongs to that business alone
  (or is the caller's own): a person working with several businesses keeps the name he
  chose. It answers whether it renamed; the row lock orders it with the account's other
  writers (``delete_orphan_account``).

Revision ID: 0009
Revises: 0008
"""

from slotwise.migrations.sql import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    DROP POLICY users_update ON users;
    CREATE POLICY users_update ON users FOR UPDATE
        USING (id = current_user_id()) WITH CHECK (id = current_user_id());

    CREATE FUNCTION rename_member(p_user uuid, p_name text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
    DECLARE
        tenant uuid := current_tenant_id();
    BEGIN
        IF tenant IS NULL OR NOT EXISTS (
            SELECT 1 FROM public.memberships m
            WHERE m.tenant_id = tenant AND m.user_id = current_user_id()
              AND m.role IN ('owner', 'manager')
        ) THEN
            RAISE EXCEPTION 'rename_member: caller is not a manager of a tenant'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM public.memberships m
                        WHERE m.tenant_id = tenant AND m.user_id = p_user) THEN
            RAISE EXCEPTION 'rename_member: not a member of the caller''s tenant'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM 1 FROM public.users WHERE id = p_user FOR UPDATE;
        IF p_user IS DISTINCT FROM current_user_id() AND EXISTS (
            SELECT 1 FROM public.memberships m WHERE m.user_id = p_user AND m.tenant_id <> tenant
        ) THEN
            RETURN false;
        END IF;
        UPDATE public.users SET name = p_name WHERE id = p_user;
        RETURN true;
    END
    $$;
    REVOKE ALL ON FUNCTION rename_member(uuid, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION rename_member(uuid, text) TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION IF EXISTS rename_member(uuid, text);
    DROP POLICY users_update ON users;
    CREATE POLICY users_update ON users FOR UPDATE
        USING (id = current_user_id()
               OR EXISTS (SELECT 1 FROM memberships m
                          WHERE m.user_id = users.id AND m.tenant_id = current_tenant_id()))
        WITH CHECK (id = current_user_id()
               OR EXISTS (SELECT 1 FROM memberships m
                          WHERE m.user_id = users.id AND m.tenant_id = current_tenant_id()));
    """)
