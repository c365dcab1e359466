"""Live updates: the change feed written by triggers and relayed to listeners.

Triggers on the tables that shape availability, appointments and the public catalog record
what changed — ids only: tenant, professional (NULL: business-wide), the local dates touched
(NULL: every date), the kind (``availability``/``appointment``/``catalog``), the appointment —
never personal data. Where the change goes is the database setting
``slotwise.live_updates_mode`` (applied by the app at start-up, SPEC §8):

- ``outbox`` (default, unset): a row in ``live_changes``, in the writing transaction. One relay
  per deployment moves the rows to listeners with ``live_changes_relay()``: one
  ``pg_notify`` per batch, so writers never take the global NOTIFY commit lock;
- ``notify``: ``pg_notify`` straight from the writing transaction;
- ``off``: nothing.

Payloads are JSON arrays of ``{"t", "k", "p", "a", "d", "o", "x"}`` (tenant, kind,
professional, appointment, dates, operation, whether availability changed), each below the
8000-byte NOTIFY limit.

Revision ID: 0004
Revises: 0003
"""

from slotwise.migrations.sql import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# In the SQL below: the channel is ``slotwise_live`` (``realtime.changes.CHANNEL``); a change
# touching more than 62 local dates is sent as "every date" (NULL), the widest public query;
# a payload stays at 7999 bytes or less (pg_notify refuses 8000).

TRIGGERED_TABLES = (
    "appointments",
    "business_hours",
    "professional_hours",
    "breaks",
    "closures",
    "special_hours",
    "time_off",
    "offerings",
    "services",
    "professionals",
    "tenants",
)


def upgrade() -> None:
    execute_script("""
    CREATE TABLE live_changes (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        kind text NOT NULL,
        professional_id uuid,
        appointment_id uuid,
        dates date[],
        op text NOT NULL,
        affects_availability boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_live_changes PRIMARY KEY (tenant_id, id),
        CONSTRAINT ck_live_changes_kind CHECK (kind IN ('availability', 'appointment', 'catalog')),
        CONSTRAINT ck_live_changes_op CHECK (op IN ('insert', 'update', 'delete'))
    );
    -- The relay takes the oldest rows of every tenant (not a key: tenant_id leads those).
    CREATE INDEX ix_live_changes_id ON live_changes (id);

    ALTER TABLE live_changes ENABLE ROW LEVEL SECURITY;
    ALTER TABLE live_changes FORCE ROW LEVEL SECURITY;
    CREATE POLICY live_changes_select ON live_changes FOR SELECT
        USING (tenant_id = current_tenant_id());
    CREATE POLICY live_changes_insert ON live_changes FOR INSERT
        WITH CHECK (tenant_id = current_tenant_id());
    CREATE POLICY live_changes_update ON live_changes FOR UPDATE
        USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
    CREATE POLICY live_changes_delete ON live_changes FOR DELETE
        USING (tenant_id = current_tenant_id());
    GRANT SELECT, INSERT, UPDATE, DELETE ON live_changes TO slotwise_app;
    GRANT USAGE ON SEQUENCE live_changes_id_seq TO slotwise_app;

    -- One change as the JSON object of the payloads.
    CREATE FUNCTION live_change_json(p_tenant uuid, p_kind text, p_professional uuid,
            p_appointment uuid, p_dates date[], p_op text, p_affects boolean) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, public
        AS $$ SELECT jsonb_build_object('t', p_tenant, 'k', left(p_kind, 2), 'p', p_professional,
                  'a', p_appointment, 'd', p_dates, 'o', left(p_op, 1), 'x', p_affects)::text $$;

    -- The tenant's local dates of the instants in [p_from, p_to); NULL (every date) when
    -- there are too many, or the tenant is not visible.
    CREATE FUNCTION live_local_dates(p_tenant uuid, p_from timestamptz, p_to timestamptz)
        RETURNS date[]
        LANGUAGE sql STABLE SET search_path = pg_catalog, public
        AS $$
        SELECT CASE WHEN p_to - p_from > interval '61 days' THEN NULL ELSE (
            SELECT array_agg(d::date ORDER BY d)
            FROM generate_series((p_from AT TIME ZONE t.timezone)::date::timestamp,
                                 ((p_to - interval '1 microsecond') AT TIME ZONE t.timezone)::date::timestamp,
                                 interval '1 day') AS d)
        END
        FROM public.tenants t WHERE t.id = p_tenant
        $$;

    -- The local dates whose slots a busy range [p_from, p_to) of one professional can
    -- change: a slot starting at t of a service s overlaps it when
    -- t in (p_from - duration - buffer_after, p_to + buffer_before), over the services the
    -- professional offers. Usually just the dates of the range itself.
    CREATE FUNCTION live_busy_dates(p_tenant uuid, p_professional uuid,
            p_from timestamptz, p_to timestamptz) RETURNS date[]
        LANGUAGE sql STABLE SET search_path = pg_catalog, public
        AS $$
        SELECT public.live_local_dates(p_tenant,
            p_from - make_interval(mins => coalesce(max(s.duration_minutes + s.buffer_after_minutes), 0))
                   + interval '1 microsecond',
            p_to + make_interval(mins => coalesce(max(s.buffer_before_minutes), 0)))
        FROM public.offerings o
        JOIN public.services s ON s.tenant_id = o.tenant_id AND s.id = o.service_id
        WHERE o.tenant_id = p_tenant AND o.professional_id = p_professional
        $$;

    -- The publication mode of this session: notify, outbox (the default) or off.
    CREATE FUNCTION live_mode() RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, public
        AS $$ SELECT coalesce(nullif(current_setting('slotwise.live_updates_mode', true), ''),
                              'outbox') $$;

    -- Record one change where the deployment's mode says.
    CREATE FUNCTION live_publish(p_tenant uuid, p_kind text, p_professional uuid,
            p_dates date[], p_appointment uuid, p_op text, p_affects boolean) RETURNS void
        LANGUAGE plpgsql SET search_path = pg_catalog, public
        AS $$
    DECLARE
        mode text := public.live_mode();
    BEGIN
        IF mode = 'off' THEN
            RETURN;
        END IF;
        IF cardinality(p_dates) > 62 THEN
            p_dates := NULL;
        END IF;
        IF mode = 'notify' THEN
            PERFORM pg_notify('slotwise_live', '[' || public.live_change_json(p_tenant, p_kind,
                p_professional, p_appointment, p_dates, p_op, p_affects) || ']');
        ELSE
            INSERT INTO public.live_changes (tenant_id, kind, professional_id, appointment_id,
                dates, op, affects_availability)
            VALUES (p_tenant, p_kind, p_professional, p_appointment, p_dates, p_op, p_affects);
        END IF;
    END $$;

    -- Appointments: what the staff stream shows, and the busy time the slots depend on.
    CREATE FUNCTION live_appointments_changed() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, public
        AS $$
    DECLARE
        old_busy boolean;
        new_busy boolean;
        dates date[];
    BEGIN
        IF public.live_mode() = 'off' THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            PERFORM public.live_publish(NEW.tenant_id, 'appointment', NEW.professional_id,
                public.live_busy_dates(NEW.tenant_id, NEW.professional_id,
                                       lower(NEW.occupied), upper(NEW.occupied)),
                NEW.id, 'insert', NEW.status <> 'cancelled');
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
            PERFORM public.live_publish(OLD.tenant_id, 'appointment', OLD.professional_id,
                public.live_busy_dates(OLD.tenant_id, OLD.professional_id,
                                       lower(OLD.occupied), upper(OLD.occupied)),
                OLD.id, 'delete', OLD.status <> 'cancelled');
            RETURN NULL;
        END IF;
        old_busy := OLD.status <> 'cancelled';
        new_busy := NEW.status <> 'cancelled';
        IF OLD.professional_id IS DISTINCT FROM NEW.professional_id THEN
            -- Moved to another professional: both days change, both staff see it.
            PERFORM public.live_publish(OLD.tenant_id, 'appointment', OLD.professional_id,
                public.live_busy_dates(OLD.tenant_id, OLD.professional_id,
                                       lower(OLD.occupied), upper(OLD.occupied)),
                OLD.id, 'update', old_busy);
            PERFORM public.live_publish(NEW.tenant_id, 'appointment', NEW.professional_id,
                public.live_busy_dates(NEW.tenant_id, NEW.professional_id,
                                       lower(NEW.occupied), upper(NEW.occupied)),
                NEW.id, 'update', new_busy);
            RETURN NULL;
        END IF;
        dates := public.live_busy_dates(NEW.tenant_id, NEW.professional_id,
                                        lower(NEW.occupied), upper(NEW.occupied));
        IF OLD.occupied IS DISTINCT FROM NEW.occupied THEN
            dates := ARRAY(
                SELECT DISTINCT d FROM unnest(dates || public.live_busy_dates(
                    OLD.tenant_id, OLD.professional_id, lower(OLD.occupied), upper(OLD.occupied))) d
                ORDER BY d);
        END IF;
        PERFORM public.live_publish(NEW.tenant_id, 'appointment', NEW.professional_id, dates,
            NEW.id, 'update',
            old_busy <> new_busy OR ((old_busy OR new_busy) AND OLD.occupied IS DISTINCT FROM NEW.occupied));
        RETURN NULL;
    END $$;

    CREATE TRIGGER live_appointments_insert_delete AFTER INSERT OR DELETE ON appointments
        FOR EACH ROW EXECUTE FUNCTION live_appointments_changed();
    CREATE TRIGGER live_appointments_update
        AFTER UPDATE OF starts_at, ends_at, professional_id, status, service_id,
            buffer_before_minutes, buffer_after_minutes ON appointments
        FOR EACH ROW
        WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at
              OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
              OR OLD.professional_id IS DISTINCT FROM NEW.professional_id
              OR OLD.status IS DISTINCT FROM NEW.status
              OR OLD.service_id IS DISTINCT FROM NEW.service_id
              OR OLD.occupied IS DISTINCT FROM NEW.occupied)
        EXECUTE FUNCTION live_appointments_changed();

    -- Everything else that shapes availability or the public profile. TG_ARGV[0] is the
    -- kind; what is touched depends on the table.
    CREATE FUNCTION live_rules_changed() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, public
        AS $$
    DECLARE
        kind text := TG_ARGV[0];
        side integer;
        tenant uuid;
        professional uuid;
        dates date[];
        published text := NULL;
    BEGIN
        IF public.live_mode() = 'off' THEN
            RETURN NULL;
        END IF;
        -- side 1: the new row (INSERT, UPDATE); side 2: the old row (UPDATE, DELETE),
        -- unless it touches exactly what the new row touched.
        FOREACH side IN ARRAY ARRAY[1, 2] LOOP
            CONTINUE WHEN side = 1 AND TG_OP = 'DELETE';
            CONTINUE WHEN side = 2 AND TG_OP = 'INSERT';
            dates := NULL;
            professional := NULL;
            IF TG_TABLE_NAME = 'tenants' THEN
                tenant := CASE WHEN side = 1 THEN NEW.id ELSE OLD.id END;
            ELSE
                tenant := CASE WHEN side = 1 THEN NEW.tenant_id ELSE OLD.tenant_id END;
            END IF;
            IF TG_TABLE_NAME IN ('professional_hours', 'breaks', 'time_off', 'offerings') THEN
                professional := CASE WHEN side = 1 THEN NEW.professional_id
                                     ELSE OLD.professional_id END;
            ELSIF TG_TABLE_NAME = 'professionals' THEN
                professional := CASE WHEN side = 1 THEN NEW.id ELSE OLD.id END;
            END IF;
            IF TG_TABLE_NAME IN ('closures', 'special_hours') THEN
                dates := ARRAY[CASE WHEN side = 1 THEN NEW.date ELSE OLD.date END];
            ELSIF TG_TABLE_NAME = 'time_off' THEN
                dates := CASE WHEN side = 1
                    THEN public.live_busy_dates(tenant, professional, NEW.starts_at, NEW.ends_at)
                    ELSE public.live_busy_dates(tenant, professional, OLD.starts_at, OLD.ends_at)
                    END;
            END IF;
            CONTINUE WHEN published IS NOT DISTINCT FROM
                concat_ws('|', tenant, professional, dates::text);
            published := concat_ws('|', tenant, professional, dates::text);
            PERFORM public.live_publish(tenant, kind, professional, dates, NULL, lower(TG_OP),
                                        true);
        END LOOP;
        RETURN NULL;
    END $$;

    CREATE TRIGGER live_business_hours AFTER INSERT OR UPDATE OR DELETE ON business_hours
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_professional_hours AFTER INSERT OR UPDATE OR DELETE ON professional_hours
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_breaks AFTER INSERT OR UPDATE OR DELETE ON breaks
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_closures AFTER INSERT OR UPDATE OR DELETE ON closures
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_special_hours AFTER INSERT OR UPDATE OR DELETE ON special_hours
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_time_off AFTER INSERT OR UPDATE OR DELETE ON time_off
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('availability');
    CREATE TRIGGER live_offerings AFTER INSERT OR UPDATE OR DELETE ON offerings
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('catalog');
    CREATE TRIGGER live_services AFTER INSERT OR UPDATE OR DELETE ON services
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('catalog');
    CREATE TRIGGER live_professionals AFTER INSERT OR UPDATE OR DELETE ON professionals
        FOR EACH ROW EXECUTE FUNCTION live_rules_changed('catalog');
    -- The profile and the booking policy; not bookkeeping columns such as updated_at.
    CREATE TRIGGER live_tenants
        AFTER UPDATE OF slug, name, timezone, locale, currency, address, phone, email,
            slot_step_minutes, min_notice_minutes, horizon_days, cancel_cutoff_minutes,
            auto_confirm ON tenants
        FOR EACH ROW
        WHEN ((OLD.slug, OLD.name, OLD.timezone, OLD.locale, OLD.currency, OLD.address,
               OLD.phone, OLD.email, OLD.slot_step_minutes, OLD.min_notice_minutes,
               OLD.horizon_days, OLD.cancel_cutoff_minutes, OLD.auto_confirm)
              IS DISTINCT FROM
              (NEW.slug, NEW.name, NEW.timezone, NEW.locale, NEW.currency, NEW.address,
               NEW.phone, NEW.email, NEW.slot_step_minutes, NEW.min_notice_minutes,
               NEW.horizon_days, NEW.cancel_cutoff_minutes, NEW.auto_confirm))
        EXECUTE FUNCTION live_rules_changed('catalog');

    -- The relay (one per deployment, holding an advisory lock): takes up to p_limit of the
    -- oldest rows of every tenant, deletes them and publishes them, one pg_notify per batch
    -- of at most 7999 bytes, in the caller's transaction. Returns how many
    -- rows it relayed. Cross-tenant by design, and it returns no row data.
    CREATE FUNCTION live_changes_relay(p_limit integer) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
    DECLARE
        item text;
        batch text := '';
        relayed integer := 0;
    BEGIN
        FOR item IN
            WITH picked AS (
                SELECT tenant_id, id FROM public.live_changes
                ORDER BY id LIMIT least(greatest(p_limit, 1), 5000)
                FOR UPDATE SKIP LOCKED
            ), taken AS (
                DELETE FROM public.live_changes c USING picked
                WHERE c.tenant_id = picked.tenant_id AND c.id = picked.id
                RETURNING c.*
            )
            SELECT public.live_change_json(tenant_id, kind, professional_id, appointment_id,
                                           dates, op, affects_availability)
            FROM taken ORDER BY id
        LOOP
            IF batch <> '' AND octet_length(batch) + octet_length(item) + 3 > 7999 THEN
                PERFORM pg_notify('slotwise_live', '[' || batch || ']');
                batch := '';
            END IF;
            batch := CASE WHEN batch = '' THEN item ELSE batch || ',' || item END;
            relayed := relayed + 1;
        END LOOP;
        IF batch <> '' THEN
            PERFORM pg_notify('slotwise_live', '[' || batch || ']');
        END IF;
        RETURN relayed;
    END $$;

    -- Cache warming after a start: the public slugs of the businesses with the most
    -- upcoming appointments. Returns slugs only, which are public anyway.
    CREATE FUNCTION live_busiest_tenants(p_limit integer) RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        SELECT t.slug FROM public.appointments a JOIN public.tenants t ON t.id = a.tenant_id
        WHERE a.starts_at >= now() AND a.starts_at < now() + interval '7 days'
          AND a.status <> 'cancelled'
        GROUP BY t.slug ORDER BY count(*) DESC, t.slug
        LIMIT least(greatest(p_limit, 0), 100)
        $$;

    REVOKE ALL ON FUNCTION live_changes_relay(integer) FROM PUBLIC;
    REVOKE ALL ON FUNCTION live_busiest_tenants(integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION live_changes_relay(integer), live_busiest_tenants(integer)
        TO slotwise_app;
    """)


def downgrade() -> None:
    triggers = {
        "appointments": ("live_appointments_insert_delete", "live_appointments_update"),
        "business_hours": ("live_business_hours",),
        "professional_hours": ("live_professional_hours",),
        "breaks": ("live_breaks",),
        "closures": ("live_closures",),
        "special_hours": ("live_special_hours",),
        "time_off": ("live_time_off",),
        "offerings": ("live_offerings",),
        "services": ("live_services",),
        "professionals": ("live_professionals",),
        "tenants": ("live_tenants",),
    }
    assert set(triggers) == set(TRIGGERED_TABLES)
    drops = "\n".join(
        f"DROP TRIGGER IF EXISTS {name} ON {table};"
        for table, names in triggers.items()
        for name in names
    )
    execute_script(f"""
    {drops}
    DROP FUNCTION IF EXISTS live_busiest_tenants(integer);
    DROP FUNCTION IF EXISTS live_changes_relay(integer);
    DROP FUNCTION IF EXISTS live_rules_changed();
    DROP FUNCTION IF EXISTS live_appointments_changed();
    DROP FUNCTION IF EXISTS live_publish(uuid, text, uuid, date[], uuid, text, boolean);
    DROP FUNCTION IF EXISTS live_busy_dates(uuid, uuid, timestamptz, timestamptz);
    DROP FUNCTION IF EXISTS live_local_dates(uuid, timestamptz, timestamptz);
    DROP FUNCTION IF EXISTS live_change_json(uuid, text, uuid, uuid, date[], text, boolean);
    DROP FUNCTION IF EXISTS live_mode();
    DROP TABLE IF EXISTS live_changes;
    """)
