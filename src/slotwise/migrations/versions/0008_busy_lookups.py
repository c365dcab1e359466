"""Busy-range lookups that row level security lets use an index; a cheaper ``slot_rejection``.

Under the app role every query of ``appointments`` carries the tenant policy, and
PostgreSQL evaluates a policy before any condition that is not leakproof. The range
operator ``&&`` is not, so ``occupied && tstzrange(...)`` could never reach the gist index:
the booking check and the availability loader read every appointment the professional ever
had (2,250 rows and 3.8 ms for one check, measured), a cost growing with history. Plain
``timestamptz`` comparisons are leakproof, so:

- ``occupied_from``/``occupied_to`` (stored, generated from ``occupied``) and the partial
  index ``ix_appointments_busy (tenant_id, professional_id, occupied_from) INCLUDE
  (occupied_to) WHERE status <> 'cancelled'``;
- non-cancelled appointments of one professional never overlap (the exclusion
  constraint), so the only one that can reach into a range from before it is the last one
  starting before it: "overlaps ``[lo, hi)``" becomes "the last one starting before ``hi``
  ends after ``lo``", one index probe; the loader reads the ones starting inside the
  range plus that one per professional;
- time off compares its two columns (``starts_at < hi AND ends_at > lo``).

``slot_rejection`` also walks the day's working windows in a loop: the 0002 body found the
open window in one set query whose planner expanded every use of a window's bounds into
its own ``local_instant`` call (six PL/pgSQL calls per window), about 0.5 ms of the 0.7 ms
a call cost. Now each window's bounds are converted once, a window that cannot hold the
occupied range is skipped before time off is read, and only the one that can is cut by
time off and checked against the grid. Rules, order and answers are those of 0002 (the
differential tests of ``tests/availability/test_sql_check.py`` hold both to the engine).

Revision ID: 0008
Revises: 0007
"""

import importlib

from slotwise.migrations.sql import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE appointments
        ADD COLUMN occupied_from timestamptz GENERATED ALWAYS AS (lower(occupied)) STORED,
        ADD COLUMN occupied_to timestamptz GENERATED ALWAYS AS (upper(occupied)) STORED;
    CREATE INDEX ix_appointments_busy
        ON appointments (tenant_id, professional_id, occupied_from) INCLUDE (occupied_to)
        WHERE status <> 'cancelled';

    CREATE OR REPLACE FUNCTION slot_rejection(
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
        v_minutes int4multirange;
        v_window int4range;
        v_ws timestamptz;
        v_we timestamptz;
        v_piece tstzrange;
        v_inside boolean := false;
        v_on_grid boolean := false;
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
        -- his own. Multiranges merge touching ranges, as the engine does.
        SELECT CASE WHEN EXISTS (SELECT 1 FROM closures c
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
                   '{}')
          INTO v_minutes;

        -- Each local window becomes instants (an inverted one, possible around a gap, is
        -- dropped). Only a window holding the whole occupied range can hold it once time
        -- off is taken out; the range must lie inside one open piece of it, and the start
        -- must be on that piece's grid.
        FOREACH v_window IN ARRAY ARRAY(SELECT unnest(v_minutes)) LOOP
            v_ws := local_instant(v_day, lower(v_window), v_zone);
            v_we := local_instant(v_day, upper(v_window), v_zone);
            CONTINUE WHEN v_ws >= v_we OR v_lo < v_ws OR v_we < v_hi;
            FOREACH v_piece IN ARRAY ARRAY(SELECT unnest(
                    tstzmultirange(tstzrange(v_ws, v_we))
                    - coalesce((SELECT range_agg(tstzrange(o.starts_at, o.ends_at))
                                  FROM time_off o
                                 WHERE o.tenant_id = v_tenant
                                   AND o.professional_id = p_professional
                                   AND o.starts_at < v_we AND o.ends_at > v_ws),
                               '{}'))) LOOP
                IF lower(v_piece) <= v_lo AND v_hi <= upper(v_piece) THEN
                    v_inside := true;
                    v_on_grid := v_on_grid OR
                        (extract(epoch FROM p_start - lower(v_piece)) * 1000000)::bigint
                        % (v_step::bigint * 60000000) = 0;
                END IF;
            END LOOP;
        END LOOP;
        IF NOT v_inside THEN
            RETURN 'outside_working_hours';
        END IF;
        IF NOT v_on_grid THEN
            RETURN 'slot_unavailable';
        END IF;

        -- No overlap with the occupied range of a non-cancelled appointment: as they never
        -- overlap each other, only the last one starting before v_hi can reach v_lo.
        IF EXISTS (SELECT 1
                     FROM (SELECT a.occupied_to FROM appointments a
                            WHERE a.tenant_id = v_tenant AND a.professional_id = p_professional
                              AND a.status <> 'cancelled' AND a.occupied_from < v_hi
                            ORDER BY a.occupied_from DESC LIMIT 1) last
                    WHERE last.occupied_to > v_lo) THEN
            RETURN 'slot_unavailable';
        END IF;
        RETURN NULL;
    END $$;
    """)


def downgrade() -> None:
    # Back to 0002's functions exactly as 0002 made them (its own upgrade, grants included).
    execute_script("""
    DROP INDEX IF EXISTS ix_appointments_busy;
    ALTER TABLE appointments DROP COLUMN IF EXISTS occupied_from,
        DROP COLUMN IF EXISTS occupied_to;
    DROP FUNCTION IF EXISTS slot_rejection(uuid, uuid, timestamptz, timestamptz);
    DROP FUNCTION IF EXISTS local_instant(date, integer, text);
    """)
    importlib.import_module("slotwise.migrations.versions.0002_slot_check").upgrade()
