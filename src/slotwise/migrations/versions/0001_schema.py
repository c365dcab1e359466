"""Schema: tenants, users, catalog, hours, appointments, RLS, exclusion constraint.

Naming convention for constraints and indexes (CONTRIBUTING.md):
pk_<table>, fk_<table>_<what>, uq_<table>_<what>, ck_<table>_<what>, ex_<table>_<what>,
ix_<table>_<what>, and policies <table>_<command>.

Revision ID: 0001
Revises:
"""

from slotwise.migrations.sql import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables owned by a tenant: tenant_id leads their keys; RLS keyed on app.tenant_id.
TENANT_TABLES = (
    "memberships",
    "professionals",
    "services",
    "offerings",
    "business_hours",
    "professional_hours",
    "breaks",
    "closures",
    "special_hours",
    "time_off",
    "customers",
    "appointments",
    "appointment_events",
    "idempotency_keys",
)


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
    CREATE EXTENSION IF NOT EXISTS btree_gist;

    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'slotwise_app') THEN
            CREATE ROLE slotwise_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
    END $$;

    -- The tenant and user of the current transaction; NULL when unset, so policies match nothing.
    CREATE FUNCTION current_tenant_id() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
    CREATE FUNCTION current_user_id() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

    CREATE TABLE tenants (
        id uuid NOT NULL,
        slug text NOT NULL,
        name text NOT NULL,
        timezone text NOT NULL,
        locale text NOT NULL DEFAULT 'en',
        currency text NOT NULL DEFAULT 'USD',
        address text NOT NULL DEFAULT '',
        phone text NOT NULL DEFAULT '',
        email text NOT NULL DEFAULT '',
        slot_step_minutes integer NOT NULL DEFAULT 15,
        min_notice_minutes integer NOT NULL DEFAULT 60,
        horizon_days integer NOT NULL DEFAULT 60,
        cancel_cutoff_minutes integer NOT NULL DEFAULT 120,
        auto_confirm boolean NOT NULL DEFAULT true,
        reminder_hours integer NOT NULL DEFAULT 24,
        embed_origins text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_tenants PRIMARY KEY (id),
        CONSTRAINT uq_tenants_slug UNIQUE (slug),
        CONSTRAINT ck_tenants_slug CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
        CONSTRAINT ck_tenants_name CHECK (length(name) BETWEEN 1 AND 120),
        CONSTRAINT ck_tenants_currency CHECK (currency ~ '^[A-Z]{3}$'),
        CONSTRAINT ck_tenants_locale CHECK (locale IN ('en', 'pt_BR')),
        CONSTRAINT ck_tenants_step CHECK (slot_step_minutes BETWEEN 5 AND 240),
        CONSTRAINT ck_tenants_notice CHECK (min_notice_minutes BETWEEN 0 AND 43200),
        CONSTRAINT ck_tenants_horizon CHECK (horizon_days BETWEEN 1 AND 730),
        CONSTRAINT ck_tenants_cutoff CHECK (cancel_cutoff_minutes BETWEEN 0 AND 43200),
        CONSTRAINT ck_tenants_reminder CHECK (reminder_hours BETWEEN 0 AND 336)
    );

    CREATE TABLE users (
        id uuid NOT NULL,
        email text NOT NULL,
        name text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_users PRIMARY KEY (id),
        CONSTRAINT ck_users_email CHECK (email = lower(email) AND position('@' in email) > 1)
    );
    CREATE UNIQUE INDEX uq_users_email ON users (email);

    CREATE TABLE professionals (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL,
        email text NOT NULL DEFAULT '',
        bio text NOT NULL DEFAULT '',
        display_order integer NOT NULL DEFAULT 0,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_professionals PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_professionals_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_professionals_name CHECK (length(name) BETWEEN 1 AND 120)
    );

    CREATE TABLE memberships (
        tenant_id uuid NOT NULL,
        user_id uuid NOT NULL,
        role text NOT NULL,
        professional_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_memberships PRIMARY KEY (tenant_id, user_id),
        CONSTRAINT fk_memberships_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT fk_memberships_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT fk_memberships_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id) ON DELETE SET NULL (professional_id),
        CONSTRAINT ck_memberships_role CHECK (role IN ('owner', 'manager', 'staff'))
    );
    -- "which businesses is this user in" (login); user_id does not lead the key.
    CREATE INDEX ix_memberships_user ON memberships (user_id);

    CREATE TABLE services (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        duration_minutes integer NOT NULL,
        buffer_before_minutes integer NOT NULL DEFAULT 0,
        buffer_after_minutes integer NOT NULL DEFAULT 0,
        price_minor bigint NOT NULL DEFAULT 0,
        currency text NOT NULL DEFAULT 'USD',
        display_order integer NOT NULL DEFAULT 0,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_services PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_services_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_services_name CHECK (length(name) BETWEEN 1 AND 120),
        CONSTRAINT ck_services_duration CHECK (duration_minutes BETWEEN 1 AND 1440),
        CONSTRAINT ck_services_buffers CHECK (buffer_before_minutes BETWEEN 0 AND 240
                                             AND buffer_after_minutes BETWEEN 0 AND 240),
        CONSTRAINT ck_services_price CHECK (price_minor BETWEEN 0 AND 100000000000),
        CONSTRAINT ck_services_currency CHECK (currency ~ '^[A-Z]{3}$')
    );

    CREATE TABLE offerings (
        tenant_id uuid NOT NULL,
        professional_id uuid NOT NULL,
        service_id uuid NOT NULL,
        CONSTRAINT pk_offerings PRIMARY KEY (tenant_id, professional_id, service_id),
        CONSTRAINT fk_offerings_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT fk_offerings_service FOREIGN KEY (tenant_id, service_id)
            REFERENCES services (tenant_id, id) ON DELETE CASCADE
    );
    -- "who offers service s" (availability for any professional).
    CREATE INDEX ix_offerings_service ON offerings (tenant_id, service_id);

    CREATE TABLE business_hours (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        weekday smallint NOT NULL,
        start_minute smallint NOT NULL,
        end_minute smallint NOT NULL,
        CONSTRAINT pk_business_hours PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_business_hours_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_business_hours_weekday CHECK (weekday BETWEEN 0 AND 6),
        CONSTRAINT ck_business_hours_range CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440),
        CONSTRAINT ex_business_hours_overlap EXCLUDE USING gist
            (tenant_id WITH =, weekday WITH =, int4range(start_minute, end_minute) WITH &&)
    );

    CREATE TABLE professional_hours (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        professional_id uuid NOT NULL,
        weekday smallint NOT NULL,
        start_minute smallint NOT NULL,
        end_minute smallint NOT NULL,
        CONSTRAINT pk_professional_hours PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_professional_hours_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT ck_professional_hours_weekday CHECK (weekday BETWEEN 0 AND 6),
        CONSTRAINT ck_professional_hours_range CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440),
        CONSTRAINT ex_professional_hours_overlap EXCLUDE USING gist
            (tenant_id WITH =, professional_id WITH =, weekday WITH =,
             int4range(start_minute, end_minute) WITH &&)
    );

    -- Weekly recurring breaks: professional_id NULL means business-wide.
    CREATE TABLE breaks (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        professional_id uuid,
        weekday smallint NOT NULL,
        start_minute smallint NOT NULL,
        end_minute smallint NOT NULL,
        label text NOT NULL DEFAULT '',
        CONSTRAINT pk_breaks PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_breaks_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT fk_breaks_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT ck_breaks_weekday CHECK (weekday BETWEEN 0 AND 6),
        CONSTRAINT ck_breaks_range CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
    );

    CREATE TABLE closures (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        date date NOT NULL,
        reason text NOT NULL DEFAULT '',
        CONSTRAINT pk_closures PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_closures_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT uq_closures_date UNIQUE (tenant_id, date)
    );

    -- Special hours replace the weekly hours on their date (a closure wins over them).
    CREATE TABLE special_hours (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        date date NOT NULL,
        start_minute smallint NOT NULL,
        end_minute smallint NOT NULL,
        CONSTRAINT pk_special_hours PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_special_hours_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_special_hours_range CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440),
        CONSTRAINT ex_special_hours_overlap EXCLUDE USING gist
            (tenant_id WITH =, date WITH =, int4range(start_minute, end_minute) WITH &&)
    );

    CREATE TABLE time_off (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        professional_id uuid NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        reason text NOT NULL DEFAULT '',
        CONSTRAINT pk_time_off PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_time_off_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT ck_time_off_range CHECK (ends_at > starts_at)
    );
    -- availability: time off of these professionals overlapping the requested range.
    CREATE INDEX ix_time_off_range ON time_off USING gist
        (tenant_id, professional_id, tstzrange(starts_at, ends_at));

    CREATE TABLE customers (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        email text,
        phone text,
        notes text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_customers PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_customers_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_customers_name CHECK (length(name) BETWEEN 1 AND 120),
        CONSTRAINT ck_customers_contact CHECK (email IS NOT NULL OR phone IS NOT NULL),
        CONSTRAINT ck_customers_email CHECK (email IS NULL OR email = lower(email))
    );
    -- find-or-create of a booking's customer by email.
    CREATE UNIQUE INDEX uq_customers_email ON customers (tenant_id, email) WHERE email IS NOT NULL;
    CREATE INDEX ix_customers_name ON customers (tenant_id, lower(name));

    CREATE TABLE appointments (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        professional_id uuid NOT NULL,
        service_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        buffer_before_minutes integer NOT NULL DEFAULT 0,
        buffer_after_minutes integer NOT NULL DEFAULT 0,
        occupied tstzrange NOT NULL,
        status text NOT NULL DEFAULT 'confirmed',
        version integer NOT NULL DEFAULT 1,
        source text NOT NULL DEFAULT 'public',
        notes text NOT NULL DEFAULT '',
        price_minor bigint NOT NULL DEFAULT 0,
        currency text NOT NULL DEFAULT 'USD',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_appointments PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_appointments_professional FOREIGN KEY (tenant_id, professional_id)
            REFERENCES professionals (tenant_id, id),
        CONSTRAINT fk_appointments_service FOREIGN KEY (tenant_id, service_id)
            REFERENCES services (tenant_id, id),
        CONSTRAINT fk_appointments_customer FOREIGN KEY (tenant_id, customer_id)
            REFERENCES customers (tenant_id, id),
        CONSTRAINT ck_appointments_range CHECK (ends_at > starts_at),
        CONSTRAINT ck_appointments_buffers CHECK (buffer_before_minutes >= 0 AND buffer_after_minutes >= 0),
        CONSTRAINT ck_appointments_status CHECK (status IN ('pending', 'confirmed', 'cancelled', 'completed', 'no_show')),
        CONSTRAINT ck_appointments_source CHECK (source IN ('public', 'staff')),
        CONSTRAINT ck_appointments_occupied CHECK (lower(occupied) <= starts_at AND upper(occupied) >= ends_at),
        -- No double booking, whatever the application does. Its gist index also serves the
        -- availability query "busy ranges of these professionals overlapping the range".
        CONSTRAINT ex_appointments_no_overlap EXCLUDE USING gist
            (tenant_id WITH =, professional_id WITH =, occupied WITH &&)
            WHERE (status <> 'cancelled')
    );
    -- dashboard: appointments of a tenant in a date range (day/week views, lists).
    CREATE INDEX ix_appointments_starts ON appointments (tenant_id, starts_at);
    -- dashboard for staff: one professional's appointments in a range.
    CREATE INDEX ix_appointments_professional_starts ON appointments (tenant_id, professional_id, starts_at);
    CREATE INDEX ix_appointments_customer ON appointments (tenant_id, customer_id);

    -- The occupied range, the version and updated_at are the database's to keep right.
    CREATE FUNCTION appointments_before_write() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        NEW.occupied := tstzrange(
            NEW.starts_at - make_interval(mins => NEW.buffer_before_minutes),
            NEW.ends_at + make_interval(mins => NEW.buffer_after_minutes), '[)');
        IF TG_OP = 'UPDATE' THEN
            NEW.version := OLD.version + 1;
            NEW.updated_at := now();
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER appointments_before_write BEFORE INSERT OR UPDATE ON appointments
        FOR EACH ROW EXECUTE FUNCTION appointments_before_write();

    -- Audit log of appointment changes, written by the database itself.
    CREATE TABLE appointment_events (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        appointment_id uuid NOT NULL,
        action text NOT NULL,
        actor_user_id uuid,
        old_status text,
        new_status text,
        old_starts_at timestamptz,
        new_starts_at timestamptz,
        old_professional_id uuid,
        new_professional_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_appointment_events PRIMARY KEY (tenant_id, id),
        CONSTRAINT fk_appointment_events_appointment FOREIGN KEY (tenant_id, appointment_id)
            REFERENCES appointments (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT ck_appointment_events_action CHECK (action IN ('created', 'updated', 'status_changed', 'rescheduled'))
    );
    CREATE INDEX ix_appointment_events_appointment ON appointment_events (tenant_id, appointment_id);

    CREATE FUNCTION appointments_audit() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        what text;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO appointment_events (tenant_id, appointment_id, action, actor_user_id,
                new_status, new_starts_at, new_professional_id)
            VALUES (NEW.tenant_id, NEW.id, 'created', current_user_id(),
                NEW.status, NEW.starts_at, NEW.professional_id);
            RETURN NEW;
        END IF;
        IF NEW.starts_at IS DISTINCT FROM OLD.starts_at
           OR NEW.professional_id IS DISTINCT FROM OLD.professional_id THEN
            what := 'rescheduled';
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            what := 'status_changed';
        ELSE
            what := 'updated';
        END IF;
        INSERT INTO appointment_events (tenant_id, appointment_id, action, actor_user_id,
            old_status, new_status, old_starts_at, new_starts_at,
            old_professional_id, new_professional_id)
        VALUES (NEW.tenant_id, NEW.id, what, current_user_id(), OLD.status, NEW.status,
            OLD.starts_at, NEW.starts_at, OLD.professional_id, NEW.professional_id);
        RETURN NEW;
    END $$;
    CREATE TRIGGER appointments_audit AFTER INSERT OR UPDATE ON appointments
        FOR EACH ROW EXECUTE FUNCTION appointments_audit();

    CREATE TABLE idempotency_keys (
        tenant_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        status_code integer,
        response_body bytea,
        response_headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours',
        CONSTRAINT pk_idempotency_keys PRIMARY KEY (tenant_id, key),
        CONSTRAINT fk_idempotency_keys_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
        CONSTRAINT ck_idempotency_keys_key CHECK (length(key) BETWEEN 1 AND 255)
    );
    CREATE INDEX ix_idempotency_keys_expires ON idempotency_keys (expires_at);
    """)

    for table in TENANT_TABLES:
        execute_script(_tenant_policies(table))

    execute_script("""
    ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
    ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenants_select ON tenants FOR SELECT USING (id = current_tenant_id());
    CREATE POLICY tenants_insert ON tenants FOR INSERT WITH CHECK (id = current_tenant_id());
    CREATE POLICY tenants_update ON tenants FOR UPDATE
        USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());
    CREATE POLICY tenants_delete ON tenants FOR DELETE USING (id = current_tenant_id());

    -- A user sees himself, and the members of the business of the transaction.
    ALTER TABLE users ENABLE ROW LEVEL SECURITY;
    ALTER TABLE users FORCE ROW LEVEL SECURITY;
    CREATE POLICY users_select ON users FOR SELECT USING (
        id = current_user_id()
        OR EXISTS (SELECT 1 FROM memberships m
                   WHERE m.user_id = users.id AND m.tenant_id = current_tenant_id()));
    CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (id = current_user_id());
    CREATE POLICY users_update ON users FOR UPDATE
        USING (id = current_user_id()
               OR EXISTS (SELECT 1 FROM memberships m
                          WHERE m.user_id = users.id AND m.tenant_id = current_tenant_id()))
        WITH CHECK (id = current_user_id()
               OR EXISTS (SELECT 1 FROM memberships m
                          WHERE m.user_id = users.id AND m.tenant_id = current_tenant_id()));
    CREATE POLICY users_delete ON users FOR DELETE USING (id = current_user_id());

    -- Narrow cross-tenant paths. Each returns only what it names.
    CREATE FUNCTION tenant_id_for_slug(p_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT id FROM public.tenants WHERE slug = p_slug $$;

    CREATE FUNCTION login_candidate(p_email text)
        RETURNS TABLE (user_id uuid, password_hash text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT id, password_hash FROM public.users WHERE email = lower(p_email) $$;

    CREATE FUNCTION memberships_of_user(p_user uuid)
        RETURNS TABLE (tenant_id uuid, slug text, role text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT m.tenant_id, t.slug, m.role FROM public.memberships m
              JOIN public.tenants t ON t.id = m.tenant_id
              WHERE m.user_id = p_user ORDER BY m.created_at $$;

    REVOKE ALL ON FUNCTION tenant_id_for_slug(text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION login_candidate(text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION memberships_of_user(uuid) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION tenant_id_for_slug(text), login_candidate(text),
        memberships_of_user(uuid) TO slotwise_app;

    GRANT USAGE ON SCHEMA public TO slotwise_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO slotwise_app;
    REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM slotwise_app;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION IF EXISTS memberships_of_user(uuid);
    DROP FUNCTION IF EXISTS login_candidate(text);
    DROP FUNCTION IF EXISTS tenant_id_for_slug(text);
    DROP TABLE IF EXISTS idempotency_keys, appointment_events, appointments, customers,
        time_off, special_hours, closures, breaks, professional_hours, business_hours,
        offerings, services, memberships, professionals, users, tenants CASCADE;
    DROP FUNCTION IF EXISTS appointments_audit();
    DROP FUNCTION IF EXISTS appointments_before_write();
    DROP FUNCTION IF EXISTS current_user_id();
    DROP FUNCTION IF EXISTS current_tenant_id();
    """)
