"""Queued reminders follow the business's reminder lead time when it changes.

A reminder is queued with a booking, ``reminder_hours`` before it (migration 0005). Changing
the setting used to apply to new bookings only: customers already booked got their reminder
at the old time, or none after reminders were switched on. Now, when ``tenants.reminder_hours``
changes, in the same transaction:

- turned off (0): the pending reminders that no worker has tried yet are dropped;
- otherwise they move to ``start - reminder_hours``, or to now when that moment has passed
  (the customer still gets one, at once, rather than none);
- and every upcoming pending or confirmed appointment of a customer with an email that has
  no reminder at all (queued, sent or dead) gets one, due as above, with the payload a
  booking's reminder carries.

A reminder a worker is sending right now (leased) or has already tried is left alone.

Revision ID: 0010
Revises: 0009
"""

from slotwise.migrations.sql import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION tenants_reminders_follow() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        lead interval := make_interval(hours => NEW.reminder_hours);
    BEGIN
        IF NEW.reminder_hours = 0 THEN
            DELETE FROM outbox
            WHERE tenant_id = NEW.id AND id IN (
                SELECT o.id FROM outbox o
                WHERE o.tenant_id = NEW.id AND o.kind = 'customer_reminder'
                  AND o.status = 'pending' AND o.attempts = 0
                  AND (o.leased_until IS NULL OR o.leased_until < now())
                FOR UPDATE SKIP LOCKED);
            RETURN NEW;
        END IF;

        UPDATE outbox o SET next_attempt_at = greatest(a.starts_at - lead, now())
          FROM appointments a
         WHERE o.tenant_id = NEW.id AND o.kind = 'customer_reminder'
           AND o.status = 'pending' AND o.attempts = 0
           AND (o.leased_until IS NULL OR o.leased_until < now())
           AND a.tenant_id = o.tenant_id AND a.id = o.appointment_id;

        INSERT INTO outbox (tenant_id, kind, appointment_id, recipient, payload,
                            next_attempt_at)
        SELECT a.tenant_id, 'customer_reminder', a.id, c.email,
               jsonb_build_object(
                   'event', 'created',
                   'appointment_id', a.id,
                   'professional_id', a.professional_id,
                   'service_id', a.service_id,
                   'customer_id', a.customer_id,
                   'starts_at', a.starts_at,
                   'ends_at', a.ends_at,
                   'status', a.status,
                   'version', a.version),
               greatest(a.starts_at - lead, now())
          FROM appointments a
          JOIN customers c ON c.tenant_id = a.tenant_id AND c.id = a.customer_id
         WHERE a.tenant_id = NEW.id AND a.starts_at > now()
           AND a.status IN ('pending', 'confirmed') AND c.email IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outbox o
                            WHERE o.tenant_id = a.tenant_id AND o.appointment_id = a.id
                              AND o.kind = 'customer_reminder');
        RETURN NEW;
    END $$;

    CREATE TRIGGER tenants_reminders_follow AFTER UPDATE OF reminder_hours ON tenants
        FOR EACH ROW WHEN (OLD.reminder_hours IS DISTINCT FROM NEW.reminder_hours)
        EXECUTE FUNCTION tenants_reminders_follow();
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER IF EXISTS tenants_reminders_follow ON tenants;
    DROP FUNCTION IF EXISTS tenants_reminders_follow();
    """)
