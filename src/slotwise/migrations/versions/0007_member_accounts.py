"""Member accounts: creating and deleting another person's account without acting as him.

The ``users`` policies let a transaction insert or delete only its own user row (sign-up
creates the owner acting as him). An owner or manager adding or removing a member acts as
himself, so these two narrow SECURITY DEFINER functions do the one write to ``users``
that needs more than that:

- ``create_member_account`` inserts the account and its membership in the caller's tenant
  together (an account never exists without a business), and only for an owner or
  manager of that tenant;
- ``delete_orphan_account`` deletes an account only when it belongs to no business any
  more (the membership was removed first, under the tenant's own policies).

Both refuse a caller that is not scoped to a tenant. Deleting checks no role: the
caller's own membership may be the one just removed (an owner leaving), and an account
without any business is of use to nobody. Constraint violations (``uq_users_email``,
``fk_memberships_professional``, ...) surface under their own names as before.

Revision ID: 0007
Revises: 0006
"""

from slotwise.migrations.sql import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION create_member_account(p_user uuid, p_email text, p_name text,
                                          p_password_hash text, p_role text,
                                          p_professional uuid)
        RETURNS void
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
            RAISE EXCEPTION 'create_member_account: caller is not a manager of a tenant'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        INSERT INTO public.users (id, email, name, password_hash)
        VALUES (p_user, p_email, p_name, p_password_hash);
        INSERT INTO public.memberships (tenant_id, user_id, role, professional_id)
        VALUES (tenant, p_user, p_role, p_professional);
    END
    $$;

    -- True when the account was deleted. The row lock makes two businesses removing the
    -- same person at once agree: whichever checks last sees the other's removal.
    CREATE FUNCTION delete_orphan_account(p_user uuid) RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
    BEGIN
        IF current_tenant_id() IS NULL THEN
            RAISE EXCEPTION 'delete_orphan_account: caller is not scoped to a tenant'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM 1 FROM public.users WHERE id = p_user FOR UPDATE;
        DELETE FROM public.users u WHERE u.id = p_user
            AND NOT EXISTS (SELECT 1 FROM public.memberships m WHERE m.user_id = p_user);
        RETURN FOUND;
    END
    $$;

    REVOKE ALL ON FUNCTION create_member_account(uuid, text, text, text, text, uuid) FROM PUBLIC;
    REVOKE ALL ON FUNCTION delete_orphan_account(uuid) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION create_member_account(uuid, text, text, text, text, uuid),
        delete_orphan_account(uuid) TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION IF EXISTS delete_orphan_account(uuid);
    DROP FUNCTION IF EXISTS create_member_account(uuid, text, text, text, text, uuid);
    """)
