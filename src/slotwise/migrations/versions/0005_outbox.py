"""Notifications: the transactional outbox written by the booking transaction.

An AFTER trigger on ``appointments`` writes the outbox rows inside the transaction that
changes the appointment, so nothing is queued before commit and the booking code needs no
change. The worker claims due rows across tenants through ``outbox_claim`` (SECURITY
DEFINER, returns ids only) and processes each row in its own tenant's transaction.

The trigger does not ``NOTIFY``: a notifying commit takes a cluster-wide lock (SPEC §8), so
the worker polls (about once a second) and listens on ``slotwise_outbox`` only for rare
wake-ups such as a manual retry.

Revision ID: 0005
Revises: 0004
"""

from slotwise.migrations.sql import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TENANT_TABLES = ("webhooks", "outbox")


def _tenant_policies(table: str) -> str:
    return f"""
    ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
    CREATE POLICY {table}_select ON {table} FOR SELECT USING (tenant_id = current_tenant_id());
    CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK (tenant_id = current_tenant_id());
    CREATE POLICY {table}_update ON {table} FOR UPDATE
        USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
    CREATE POLICY {table}_delete ON {table} FOR DELETE USING (tenant_id = current_tenant_id());
    """


def upgrade() -> None:
    execute_script("""
    CREATE TABLE webhooks (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        url text NOT NULL,
        secret text NOT NULL,
        description text NOT NULL DEFAULT '',
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_webhooks PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_webhooks_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT uq_webhooks_url UNIQUE (tenant_id, url),
        CONSTRAINT ck_webhooks_url CHECK (url ~ '^https?://' AND length(url) <= 2048),
        CONSTRAINT ck_webhooks_secret CHECK (length(secret) BETWEEN 32 AND 256),
        CONSTRAINT ck_webhooks_description CHECK (length(description) <= 200)
    );

    CREATE TABLE outbox (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        kind text NOT NULL,
        appointment_id uuid,
        webhook_id uuid,
        recipient text NOT NULL,
        payload jsonb NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        leased_until timestamptz,
        last_error text,
        sent_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_outbox PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_outbox_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        -- No foreign key to appointments: a message outlives what it announces.
        CONSTRAINT ck_outbox_kind CHECK (kind IN ('customer_confirmation', 'customer_reschedule',
            'customer_cancellation', 'customer_reminder', 'business_booking',
            'business_cancellation', 'webhook')),
        CONSTRAINT ck_outbox_status CHECK (status IN ('pending', 'sent', 'dead')),
        CONSTRAINT ck_outbox_attempts CHECK (attempts >= 0),
        CONSTRAINT ck_outbox_recipient CHECK (length(recipient) BETWEEN 1 AND 2048),
        CONSTRAINT ck_outbox_webhook CHECK ((kind = 'webhook') = (webhook_id IS NOT NULL)),
        CONSTRAINT ck_outbox_sent CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
        CONSTRAINT ck_outbox_last_error CHECK (length(last_error) <= 2000)
    );
    -- The worker's claim: due pending rows of every tenant, oldest due first.
    CREATE INDEX ix_outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
    -- Staff list (by status, newest first) and the trigger's "pending rows of appointment a".
    CREATE INDEX ix_outbox_status ON outbox (tenant_id, status, created_at DESC);
    CREATE INDEX ix_outbox_appointment ON outbox (tenant_id, appointment_id)
        WHERE appointment_id IS NOT NULL;
    -- Retention: sent rows past their keeping time (maintained by the worker, not bookings).
    CREATE INDEX ix_outbox_sent ON outbox (sent_at) WHERE status = 'sent';
    """)

    for table in TENANT_TABLES:
        execute_script(_tenant_policies(table))

    execute_script("""
    -- Writes the notifications of an appointment change in the same transaction (SECURITY
    -- INVOKER: row level security applies to every row it reads or writes).
    CREATE FUNCTION appointments_outbox() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        tenant record;
        event text;
        customer_kind text;
        business_kind text;
        customer_email text;
        payload jsonb;
        reminder_at timestamptz;
    BEGIN
        IF TG_OP = 'DELETE' THEN
            -- A deleted appointment has nothing left to announce by mail.
            DELETE FROM outbox
            WHERE tenant_id = OLD.tenant_id AND appointment_id = OLD.id
              AND status = 'pending' AND kind <> 'webhook';
            RETURN OLD;
        END IF;

        IF TG_OP = 'INSERT' OR (OLD.status = 'cancelled' AND NEW.status <> 'cancelled') THEN
            IF NEW.status NOT IN ('pending', 'confirmed') THEN
                RETURN NEW;
            END IF;
            event := 'created';
            customer_kind := 'customer_confirmation';
            business_kind := 'business_booking';
        ELSIF NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
            event := 'cancelled';
            customer_kind := 'customer_cancellation';
            business_kind := 'business_cancellation';
        ELSIF NEW.status = 'cancelled' THEN
            RETURN NEW;
        ELSIF NEW.starts_at IS DISTINCT FROM OLD.starts_at
              OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
              OR NEW.professional_id IS DISTINCT FROM OLD.professional_id THEN
            event := 'rescheduled';
            customer_kind := 'customer_reschedule';
        ELSIF OLD.status = 'pending' AND NEW.status = 'confirmed' THEN
            event := 'confirmed';
            customer_kind := 'customer_confirmation';
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            event := 'status_changed';
        ELSE
            RETURN NEW;
        END IF;

        SELECT t.reminder_hours, t.email INTO tenant FROM tenants t WHERE t.id = NEW.tenant_id;
        SELECT c.email INTO customer_email
        FROM customers c WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.customer_id;

        payload := jsonb_build_object(
            'event', event,
            'appointment_id', NEW.id,
            'professional_id', NEW.professional_id,
            'service_id', NEW.service_id,
            'customer_id', NEW.customer_id,
            'starts_at', NEW.starts_at,
            'ends_at', NEW.ends_at,
            'status', NEW.status,
            'version', NEW.version);
        IF TG_OP = 'UPDATE' AND event = 'rescheduled' THEN
            payload := payload || jsonb_build_object(
                'previous_starts_at', OLD.starts_at,
                'previous_professional_id', OLD.professional_id);
        END IF;

        -- The pending reminder follows the appointment: gone when it moves or ends.
        IF TG_OP = 'UPDATE' AND event IN ('cancelled', 'rescheduled', 'status_changed') THEN
            DELETE FROM outbox
            WHERE tenant_id = NEW.tenant_id AND id IN (
                SELECT o.id FROM outbox o
                WHERE o.tenant_id = NEW.tenant_id AND o.appointment_id = NEW.id
                  AND o.kind = 'customer_reminder' AND o.status = 'pending'
                FOR UPDATE SKIP LOCKED);
        END IF;

        IF customer_kind IS NOT NULL AND customer_email IS NOT NULL THEN
            INSERT INTO outbox (tenant_id, kind, appointment_id, recipient, payload)
            VALUES (NEW.tenant_id, customer_kind, NEW.id, customer_email, payload);
        END IF;

        IF event IN ('created', 'rescheduled') AND customer_email IS NOT NULL
           AND tenant.reminder_hours > 0 THEN
            reminder_at := NEW.starts_at - make_interval(hours => tenant.reminder_hours);
            IF reminder_at > now() THEN
                INSERT INTO outbox (tenant_id, kind, appointment_id, recipient, payload,
                    next_attempt_at)
                VALUES (NEW.tenant_id, 'customer_reminder', NEW.id, customer_email, payload,
                    reminder_at);
            END IF;
        END IF;

        -- The business: its own address, else its owners; and the professional, if he has one.
        IF business_kind IS NOT NULL THEN
            INSERT INTO outbox (tenant_id, kind, appointment_id, recipient, payload)
            SELECT DISTINCT NEW.tenant_id, business_kind, NEW.id, r.email, payload
            FROM (
                SELECT tenant.email AS email WHERE tenant.email <> ''
                UNION
                SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE m.tenant_id = NEW.tenant_id AND m.role = 'owner' AND tenant.email = ''
                UNION
                SELECT p.email FROM professionals p
                WHERE p.tenant_id = NEW.tenant_id AND p.id = NEW.professional_id
                  AND p.email <> ''
            ) r;
        END IF;

        INSERT INTO outbox (tenant_id, kind, appointment_id, webhook_id, recipient, payload)
        SELECT NEW.tenant_id, 'webhook', NEW.id, w.id, w.url,
               payload || jsonb_build_object('event', 'appointment.' || event)
        FROM webhooks w WHERE w.tenant_id = NEW.tenant_id AND w.active;
        RETURN NEW;
    END $$;
    CREATE TRIGGER appointments_outbox AFTER INSERT OR UPDATE OR DELETE ON appointments
        FOR EACH ROW EXECUTE FUNCTION appointments_outbox();

    -- The worker's cross-tenant claim: due rows, locked with SKIP LOCKED so concurrent
    -- workers take disjoint sets, leased so that a crashed worker's rows come back.
    -- p_now exists for tests that drive time; the worker passes its clock.
    CREATE FUNCTION outbox_claim(batch integer, lease_seconds integer,
                                 p_now timestamptz DEFAULT now())
        RETURNS TABLE (tenant_id uuid, id uuid)
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        WITH due AS (
            SELECT o.tenant_id, o.id FROM public.outbox o
            WHERE o.status = 'pending' AND o.next_attempt_at <= p_now
              AND (o.leased_until IS NULL OR o.leased_until <= p_now)
            ORDER BY o.next_attempt_at
            LIMIT least(greatest(batch, 1), 1000)
            FOR UPDATE SKIP LOCKED
        )
        UPDATE public.outbox o
        SET leased_until = p_now + make_interval(secs => least(greatest(lease_seconds, 1), 86400))
        FROM due WHERE o.tenant_id = due.tenant_id AND o.id = due.id
        RETURNING o.tenant_id, o.id
        $$;
    REVOKE ALL ON FUNCTION outbox_claim(integer, integer, timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION outbox_claim(integer, integer, timestamptz) TO slotwise_app;

    -- Retention across tenants: sent rows older than p_sent_before go, in bounded batches.
    -- Dead rows stay until someone retries them (or the tenant goes).
    CREATE FUNCTION outbox_purge(p_sent_before timestamptz, p_limit integer DEFAULT 10000)
        RETURNS integer
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        WITH gone AS (
            DELETE FROM public.outbox o
            WHERE (o.tenant_id, o.id) IN (
                SELECT x.tenant_id, x.id FROM public.outbox x
                WHERE x.status = 'sent' AND x.sent_at < p_sent_before
                LIMIT least(greatest(p_limit, 1), 100000))
            RETURNING 1
        )
        SELECT count(*)::integer FROM gone
        $$;
    REVOKE ALL ON FUNCTION outbox_purge(timestamptz, integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION outbox_purge(timestamptz, integer) TO slotwise_app;

    GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, webhooks TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER IF EXISTS appointments_outbox ON appointments;
    DROP FUNCTION IF EXISTS appointments_outbox();
    DROP FUNCTION IF EXISTS outbox_purge(timestamptz, integer);
    DROP FUNCTION IF EXISTS outbox_claim(integer, integer, timestamptz);
    DROP TABLE IF EXISTS outbox, webhooks;
    """)
