"""Booking: the reschedule check and the purge of expired idempotency keys.

``reschedule_rejection`` answers "could this appointment move there?" with the very rules of
``slot_rejection`` (migration 0002), the appointment's own occupied range set aside: it
cancels the appointment inside a subtransaction, asks ``slot_rejection`` and rolls the
subtransaction back, so nothing of it (row, version, audit event) survives.

``purge_expired_idempotency_keys`` deletes keys past their 24 hours across every tenant: a
narrow SECURITY DEFINER path for a periodic job, since the app role sees one tenant at a time.

Revision ID: 0003
Revises: 0002
"""

from slotwise.migrations.sql import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION reschedule_rejection(
        p_appointment uuid, p_professional uuid, p_service uuid,
        p_start timestamptz, p_now timestamptz)
        RETURNS text
        LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public
        AS $$
    DECLARE
        verdict text;
    BEGIN
        BEGIN
            UPDATE appointments SET status = 'cancelled'
             WHERE tenant_id = current_tenant_id() AND id = p_appointment;
            verdict := slot_rejection(p_professional, p_service, p_start, p_now);
            -- Undo the cancellation above: leave this block through its exception handler.
            RAISE SQLSTATE 'SWRB1' USING MESSAGE = 'reschedule_rejection: undo';
        EXCEPTION WHEN SQLSTATE 'SWRB1' THEN
            NULL;
        END;
        RETURN verdict;
    END $$;

    CREATE FUNCTION purge_expired_idempotency_keys(p_limit integer DEFAULT 10000)
        RETURNS integer
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        WITH doomed AS (
            SELECT tenant_id, key FROM public.idempotency_keys
             WHERE expires_at <= now()
             ORDER BY expires_at
             LIMIT greatest(p_limit, 0)
             FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM public.idempotency_keys k USING doomed d
             WHERE k.tenant_id = d.tenant_id AND k.key = d.key
            RETURNING 1
        )
        SELECT count(*)::integer FROM gone
        $$;

    REVOKE ALL ON FUNCTION purge_expired_idempotency_keys(integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION purge_expired_idempotency_keys(integer) TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION IF EXISTS purge_expired_idempotency_keys(integer);
    DROP FUNCTION IF EXISTS reschedule_rejection(uuid, uuid, uuid, timestamptz, timestamptz);
    """)
