"""The availability rules in SQL: slot_rejection(), checked inside booking transactions.

``slot_rejection(professional, service, start, now)`` answers NULL when ``start`` is a slot
(SPEC §2) for that professional and service under the transaction's snapshot, else the first
failing rule in the order of ``engine.check_start``: service_not_offered,
insufficient_notice, beyond_horizon, outside_working_hours, slot_unavailable. It is the
Python engine's twin; ``tests/availability/test_sql_check.py`` compares them start by start.

Local wall-clock minutes become instants with ``local_instant``, which reproduces Python's
``zoneinfo`` with fold=0. PostgreSQL's ``timestamp AT TIME ZONE`` already moves a time in a
spring-forward gap forward by the gap (the offset in force before the change, like fold=0),
but for an ambiguous fall-back time it picks the LATER instant; fold=0 takes the first. So
when the same wall time also exists under the offset in force a day earlier, and that
instant is earlier, it wins. (Correct wherever two offset changes are more than a day apart,
which holds for every zone in the tz database since 1970.)

Revision ID: 0002
Revises: 0001
"""

from slotwise.migrations.sql import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    -- Local minute p_minute (0..1440) of local date p_day in zone p_zone, as zoneinfo fold=0.
    -- x is PostgreSQL's reading of the wall time; e the same wall time under the offset in
    -- force 24 hours before x, which wins when it is a real, earlier reading.
    CREATE FUNCTION local_instant(p_day date, p_minute integer, p_zone text)
        RETURNS timestamptz
        LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY INVOKER
        SET search_path = pg_catalog
        AS $$
    DECLARE
        wall timestamp := p_day + make_interval(mins => p_minute);
        x timestamptz := wall AT TIME ZONE p_zone;
        e timestamptz;
    BEGIN
        e := (wall - ((x - interval '24 hours') AT TIME ZONE p_zone
                      - (x - interval '24 hours') AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC';
        IF e < x AND (e AT TIME ZONE p_zone) = wall THEN
            RETURN e;
        END IF;
        RETURN x;
    END $$;

    CREATE FUNCTION slot_rejection(
        p_professional uuid, p_service uuid, p_start timestamptz, p_now timestamptz)
        RETURNS text
        LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public
        AS $$
    DECLARE
        v_tenant uuid := current_tenant_id();
        v_zone text;
        v_step integer;
        v_notice integer;
        v_horizon integer;
        v_duration integer;
        v_before integer;
        v_after integer;
        v_day date;
        v_weekday integer;
        v_lo timestamptz;
        v_hi timestamptz;
        v_inside boolean;
        v_on_grid boolean;
    BEGIN
        IF p_start IS NULL OR p_now IS NULL THEN
            RAISE EXCEPTION 'slot_rejection: p_start and p_now are required'
                USING ERRCODE = 'null_value_not_allowed';
        END IF;

        -- The professional offers the service, and both are active.
        SELECT s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
               t.timezone, t.slot_step_minutes, t.min_notice_minutes, t.horizon_days
          INTO v_duration, v_before, v_after, v_zone, v_step, v_notice, v_horizon
          FROM services s
          JOIN offerings o ON o.tenant_id = s.tenant_id AND o.service_id = s.id
          JOIN professionals p ON p.tenant_id = o.tenant_id AND p.id = o.professional_id
          JOIN tenants t ON t.id = s.tenant_id
         WHERE s.tenant_id = v_tenant AND s.id = p_service AND s.active
           AND o.professional_id = p_professional AND p.active;
        IF NOT FOUND THEN
            RETURN 'service_not_offered';
        END IF;

        -- Notice, then horizon (counted in the tenant's local dates).
        IF p_start < p_now + make_interval(mins => v_notice) THEN
            RETURN 'insufficient_notice';
        END IF;
        v_day := (p_start AT TIME ZONE v_zone)::date;
        IF v_day > (p_now AT TIME ZONE v_zone)::date + v_horizon THEN
            RETURN 'beyond_horizon';
        END IF;
        v_weekday := extract(isodow FROM v_day)::integer - 1;
        v_lo := p_start - make_interval(mins => v_before);
        v_hi := p_start + make_interval(mins => v_duration + v_after);

        -- Working time of the date in local minutes: a closure wins over special hours,
        -- which replace the weekly hours; intersected with the professional's own hours
        -- when he has any (on any weekday); minus the weekday's breaks, business-wide and
        -- his own. Multiranges merge touching ranges, as the engine does. Each remaining
        -- local window becomes instants (an inverted one, possible around a gap, is
        -- dropped), minus time off. The occupied range must lie inside one open window,
        -- and the start must be on that window's grid.
        SELECT coalesce(bool_or(true), false),
               coalesce(bool_or(
                   (extract(epoch FROM p_start - lower(piece.open)) * 1000000)::bigint
                   % (v_step::bigint * 60000000) = 0), false)
          INTO v_inside, v_on_grid
          FROM (SELECT
                  CASE WHEN EXISTS (SELECT 1 FROM closures c
                                     WHERE c.tenant_id = v_tenant AND c.date = v_day)
                       THEN '{}'::int4multirange
                       ELSE coalesce(
                           (SELECT range_agg(int4range(x.start_minute, x.end_minute))
                              FROM special_hours x
                             WHERE x.tenant_id = v_tenant AND x.date = v_day),
                           (SELECT range_agg(int4range(h.start_minute, h.end_minute))
                              FROM business_hours h
                             WHERE h.tenant_id = v_tenant AND h.weekday = v_weekday),
                           '{}')
                  END
                  * CASE WHEN EXISTS (SELECT 1 FROM professional_hours h
                                       WHERE h.tenant_id = v_tenant
                                         AND h.professional_id = p_professional)
                         THEN coalesce(
                             (SELECT range_agg(int4range(h.start_minute, h.end_minute))
                                FROM professional_hours h
                               WHERE h.tenant_id = v_tenant
                                 AND h.professional_id = p_professional
                                 AND h.weekday = v_weekday),
                             '{}')
                         ELSE '{[0,1441)}'::int4multirange
                    END
                  - coalesce(
                      (SELECT range_agg(int4range(b.start_minute, b.end_minute))
                         FROM breaks b
                        WHERE b.tenant_id = v_tenant AND b.weekday = v_weekday
                          AND (b.professional_id IS NULL
                               OR b.professional_id = p_professional)),
                      '{}') AS minutes) AS working
         CROSS JOIN LATERAL unnest(working.minutes) AS l(minutes)
         CROSS JOIN LATERAL (
               SELECT local_instant(v_day, lower(l.minutes), v_zone) AS ws,
                      local_instant(v_day, upper(l.minutes), v_zone) AS we) w
         CROSS JOIN LATERAL (
               SELECT CASE WHEN w.ws < w.we THEN tstzrange(w.ws, w.we)
                           ELSE 'empty'::tstzrange END AS instants) wr
         CROSS JOIN LATERAL unnest(
               tstzmultirange(wr.instants)
               - coalesce((SELECT range_agg(tstzrange(o.starts_at, o.ends_at))
                             FROM time_off o
                            WHERE o.tenant_id = v_tenant
                              AND o.professional_id = p_professional
                              AND tstzrange(o.starts_at, o.ends_at) && wr.instants),
                          '{}')) AS piece(open)
         WHERE lower(piece.open) <= v_lo AND v_hi <= upper(piece.open);
        IF NOT v_inside THEN
            RETURN 'outside_working_hours';
        END IF;
        IF NOT v_on_grid THEN
            RETURN 'slot_unavailable';
        END IF;

        -- No overlap with the occupied range of a non-cancelled appointment.
        IF EXISTS (SELECT 1 FROM appointments a
                    WHERE a.tenant_id = v_tenant AND a.professional_id = p_professional
                      AND a.status <> 'cancelled' AND a.occupied && tstzrange(v_lo, v_hi)) THEN
            RETURN 'slot_unavailable';
        END IF;
        RETURN NULL;
    END $$;

    REVOKE ALL ON FUNCTION local_instant(date, integer, text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION slot_rejection(uuid, uuid, timestamptz, timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION local_instant(date, integer, text),
        slot_rejection(uuid, uuid, timestamptz, timestamptz) TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION IF EXISTS slot_rejection(uuid, uuid, timestamptz, timestamptz);
    DROP FUNCTION IF EXISTS local_instant(date, integer, text);
    """)
