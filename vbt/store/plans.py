"""Training plans in the history (:mod:`vbt.plan`) and the bands and chains of sets.

Portable SQL only; mixed into :class:`vbt.store.Store`, whose connection, transactions and catalogue
it uses. One plan per athlete; saving replaces it whole, in one transaction, after validation, so a
plan with a problem changes nothing.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict

from vbt import plan as planning
from vbt.fields import ACCOMMODATION_FIELDS
from vbt.profile import ProfileError
from vbt.store.errors import StoreError, _translated
from vbt.store.records import _now


class PlanStore:
    """Plans and accommodating resistance: mixed into :class:`vbt.store.Store`."""

    @_translated
    def plan(self, athlete: str) -> planning.Plan | None:
        """The athlete's plan (None when there is none, or no such athlete)."""
        try:
            athlete_id = self.athlete_id(athlete)
        except StoreError:
            return None
        row = self.conn.execute("SELECT id, start_date, repeat FROM plans WHERE athlete_id = ?",
                                (athlete_id,)).fetchone()
        if row is None:
            return None
        plan_id, start, repeat = row
        blocks = []
        for block_id, name, first, last, limit, lo, hi, general in self.conn.execute(
                "SELECT id, name, first_week, last_week, velocity_loss_pct, pct_low, pct_high, general_zone "
                "FROM plan_blocks WHERE plan_id = ? ORDER BY first_week, id", (plan_id,)).fetchall():
            zones = tuple(
                (ex, planning.ZoneSpec(*values)) for ex, *values in self.conn.execute(
                    "SELECT e.name, z.pct_low, z.pct_high, z.low_m_s, z.high_m_s FROM plan_zones z "
                    "JOIN exercises e ON e.id = z.exercise_id WHERE z.block_id = ? ORDER BY z.id", (block_id,)))
            blocks.append(planning.Block(name, int(first), int(last), float(limit), float(lo), float(hi), general,
                                         zones))
        name = self.conn.execute("SELECT name FROM athletes WHERE id = ?", (athlete_id,)).fetchone()[0]
        return planning.Plan(name, _dt.date.fromisoformat(start), tuple(blocks), bool(repeat))

    @_translated
    def save_plan(self, plan: planning.Plan) -> planning.Plan:
        """Store ``plan`` as its athlete's plan (replacing the one before). A plan with a problem, or
        a zone naming an unknown exercise, raises :class:`StoreError` and changes nothing."""
        problems = planning.plan_problems(plan)
        if problems:
            raise StoreError("; ".join(problems))
        zone_ids = {}
        for block in plan.blocks:
            for exercise, _ in block.zones:
                zone_ids[exercise] = self._resolve_exercise(exercise, by_prefix=False)[0]
        with self.transaction():
            athlete_id = self.athlete_id(plan.athlete, create=True)
            self._delete_plan(athlete_id)
            plan_id = self.conn.execute(
                "INSERT INTO plans (athlete_id, start_date, repeat, updated_at) VALUES (?, ?, ?, ?)",
                (athlete_id, plan.start.isoformat(), int(plan.repeat), _now())).lastrowid
            for b in plan.blocks:
                block_id = self.conn.execute(
                    "INSERT INTO plan_blocks (plan_id, name, first_week, last_week, velocity_loss_pct, pct_low, "
                    "pct_high, general_zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (plan_id, b.name, b.first_week, b.last_week, float(b.velocity_loss_pct), float(b.pct_low),
                     float(b.pct_high), b.general_zone)).lastrowid
                for exercise, z in b.zones:
                    self.conn.execute(
                        "INSERT INTO plan_zones (block_id, exercise_id, pct_low, pct_high, low_m_s, high_m_s) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (block_id, zone_ids[exercise], z.pct_low, z.pct_high, z.low_m_s, z.high_m_s))
        return self.plan(plan.athlete)

    def _delete_plan(self, athlete_id: int) -> bool:
        row = self.conn.execute("SELECT id FROM plans WHERE athlete_id = ?", (athlete_id,)).fetchone()
        if row is None:
            return False
        self.conn.execute("DELETE FROM plan_zones WHERE block_id IN (SELECT id FROM plan_blocks WHERE plan_id = ?)",
                          (row[0],))
        self.conn.execute("DELETE FROM plan_blocks WHERE plan_id = ?", (row[0],))
        self.conn.execute("DELETE FROM plans WHERE id = ?", (row[0],))
        return True

    @_translated
    def delete_plan(self, athlete: str) -> bool:
        """Remove the athlete's plan; False when there was none."""
        athlete_id = self.athlete_id(athlete)
        with self.transaction():
            return self._delete_plan(athlete_id)

    def plan_week(self, athlete: str, on: _dt.date) -> planning.PlanWeek | None:
        """Where ``on`` falls in the athlete's plan (None: no plan)."""
        plan = self.plan(athlete)
        return None if plan is None else plan.week(on)

    def zone_target(self, athlete: str, exercise: str, on: _dt.date) -> planning.ZoneTarget | None:
        """The athlete's target zone for ``exercise`` on ``on``: from the plan's block, through the
        athlete's load-velocity profile of the days before ``on`` when one can be fitted, else the
        general zones (the target says which). None without a plan or outside every block."""
        plan = self.plan(athlete)
        if plan is None:
            return None
        midnight = _dt.datetime.combine(on, _dt.time()).timestamp()
        try:
            profile = self.load_velocity_profile(exercise, athlete=athlete, metric=planning.ZONE_METRIC,
                                                 until_unix_s=midnight)
        except (ProfileError, StoreError):
            profile = None
        try:
            known = self.exercise(exercise)
            exercise, mvt = known.name, known.mvt_m_s
        except StoreError:
            mvt = None
        return planning.zone_target(plan, exercise, on, profile, mvt)

    # ---- bands and chains on a set ----------------------------------------------------------------

    @_translated
    def set_accommodation(self, set_id: int, accommodation) -> None:
        """Store a set's bands and chains (``vbt.resistance.Accommodation``, or None to clear)."""
        self.get_set(set_id)
        values = {k: None for k in ACCOMMODATION_FIELDS}
        if accommodation is not None:
            problems = accommodation.validate()
            if problems:
                raise StoreError("; ".join(problems))
            values.update(asdict(accommodation))
        with self.transaction():
            self.conn.execute(f"UPDATE sets SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                              (*values.values(), set_id))

    def accommodation(self, set_id: int):
        """A set's bands and chains (``vbt.resistance.Accommodation``) or None."""
        from vbt.resistance import Accommodation

        row = self.conn.execute(f"SELECT {', '.join(ACCOMMODATION_FIELDS)} FROM sets WHERE id = ?",
                                (set_id,)).fetchone()
        if row is None or all(v is None for v in row):
            return None
        return Accommodation(*row)


def plan_today(home, athlete: str, exercise: str | None, on: _dt.date | None = None):
    """``(PlanWeek or None, ZoneTarget or None)`` of an athlete today from the history in ``home``
    (None: the default place). Reads the file only if it exists: asking never creates a history."""
    from vbt.store.paths import database_path
    from vbt.store.store import Store

    on = on or _dt.date.today()
    if not database_path(home).exists():
        return None, None
    with Store.open(home) as store:
        week = store.plan_week(athlete, on)
        zone = None
        if exercise and week is not None and week.block is not None:
            zone = store.zone_target(athlete, exercise, on)
    return week, zone
