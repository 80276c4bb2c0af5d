"""Judge records against a retention policy: one Polars expression per rule over the whole frame.

`evaluate_policy` takes typed records (the store's columns) and adds, for every record, the rule
that decided, its action, anchor, expiry, ready and delete-by dates, a status and a reason.
`evaluate_table` first types a plain all-text table (the store-less `heattool retention`).

A record is never overdue for a time the policy kept it. Which rule decides can change with the
as-of day alone: a `within` or `older_than` test turns when its date passes the period, and a
`present` test on a date column when that date comes (a withdrawal on its `withdrawn_on`). Those
are the record's *switch days*, computable from its own data. When the deciding rule changed on
a switch day s (the record *fell* from the rule before), its expiry under the new rule is no
earlier than s, or than the day its period under the old rule ended if that came first:

    expires = max(expiry under the new rule, min(s, expiry it had under the old rule))

taken over its switch days in order (`_Compiler.history`). The ready and delete-by days follow
from that expiry by the usual calendar. So a record not due on a day a is not ready before the
first ready-for-deletion day after a, whatever the policy, while a record already due under the
old rule stays on the old rule's timetable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import polars as pl

from heattool.errors import BadPolicy, HeattoolError, InvalidData
from heattool.rules.calendar import AnnualDate, Period, int_bounds, map_days
from heattool.rules.policy import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    TEXT,
    AllOf,
    AnyOf,
    Condition,
    DateAnchor,
    FieldTest,
    Not,
    Policy,
    Rule,
)

RETAINED = "retained"
READY = "ready-for-deletion"
OVERDUE = "overdue"
UNDATED = "undated"  # no anchor date to count from: needs a person to look
STATUSES = (RETAINED, READY, OVERDUE, UNDATED)
RESULT_COLUMNS = (
    "rule",
    "action",
    "status",
    "anchor_on",
    "expires_on",
    "ready_on",
    "delete_by",
    "reason",
)
_RULE = "__rule_index"
_ANCHOR_WORDS = "__anchor_words"
_OWN_EXPIRY = "__own_expiry"  # a fallen record's expiry under its rule alone (for the reason)
_FELL_WORDS = "__fell_words"  # how it fell, for the reason: its place in `fell_texts`
# "Never expires" inside the history: keep rules, and records with no anchor date (undated).
_FOREVER = dt.date(9999, 12, 31)
# A data type as Polars takes one: a class (pl.Date) or an instance (pl.Datetime("us")).
_DType: TypeAlias = pl.DataType | type[pl.DataType]

_DTYPES = {
    BOOL: (pl.Boolean,),
    DATE: (pl.Date, pl.Datetime),
    INT: (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64),
    FLOAT: (pl.Float32, pl.Float64, pl.Int8, pl.Int16, pl.Int32, pl.Int64),
    TEXT: (pl.String, pl.Categorical, pl.Enum),
}


def _period(rule: Rule) -> Period:
    """The period of a rule that is not `keep` (the policy gives each such rule one)."""
    assert rule.period is not None, f"rule '{rule.name}' ({rule.action}) has no period"
    return rule.period


class _DayText:
    """Dates as ISO text (2026-09-01) for the reasons, from a table of every day from the
    earliest to the latest of the given columns: a gather per date rather than formatting it,
    which over millions of reasons is a good part of their time."""

    def __init__(self, frame: pl.DataFrame, columns: list[str]):
        days = [frame.get_column(name).cast(pl.Int32) for name in columns]
        bounds = [b for b in map(int_bounds, days) if b is not None]  # the columns not all null
        self.table: pl.Series | None = None
        self.first = min(low for low, _ in bounds) if bounds else 0
        last = max((high for _, high in bounds), default=self.first)
        if bounds and last - self.first < max(frame.height, 1 << 16):
            span = pl.int_range(self.first, last + 1, dtype=pl.Int32, eager=True)
            self.table = span.cast(pl.Date).cast(pl.String)

    def __call__(self, date: pl.Expr) -> pl.Expr:
        if self.table is None:
            return date.cast(pl.String)
        return pl.lit(self.table).gather(date.cast(pl.Int32) - self.first)


def _type_name(dtype: pl.DataType) -> str:
    for name, accepted in _DTYPES.items():
        if isinstance(dtype, accepted):
            return name
    return str(dtype)


def _tests(condition: Condition | None) -> Iterator[FieldTest]:
    if isinstance(condition, FieldTest):
        yield condition
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from _tests(part)
    elif isinstance(condition, Not):
        yield from _tests(condition.part)


@dataclass(frozen=True)
class _Clock:
    """A test whose answer changes with the as-of day, and the day on which it changes.

    `within P` and `older_than P` on a date column change on the first day the date is more than
    P ago (`period`); `present` on a date column changes on that date itself (`period` None).
    Tests of one column and one period share a clock.
    """

    field: str
    period: Period | None
    op: str  # the first test that reads it, for the reason's words
    rule: Rule  # the first rule that reads it, for error messages

    def words(self) -> str:
        """What changed on the switch day, before the day's date in a reason."""
        if self.period is None:
            return f"{self.field} "
        if self.op == "older_than":
            return f"{self.field} older than {self.period.words()} from "
        return f"no {self.field} within {self.period.words()} from "


class _Compiler:
    """Builds the expressions of one policy for one frame schema and one day."""

    def __init__(self, policy: Policy, schema: pl.Schema, as_of: dt.date, kind: str | None):
        self.policy, self.schema, self.as_of, self.kind = policy, schema, as_of, kind
        self.today = pl.lit(as_of, dtype=pl.Date)
        self.holidays = list(policy.settings.holidays)
        self.fell_texts = pl.Series([], dtype=pl.String)  # how records fell (`fell_words`)
        # The tests that change with the day, by (column, period), and the constant tests (and
        # kind coverage) by name, each computed once over a frame when judging a past day.
        self.clocks: dict[tuple[str, Period | None], _Clock] = {}
        self.leaves: dict[object, tuple[str, Rule]] = {}
        for rule in policy.rules:
            self.leaves.setdefault(("covers", rule.kinds), (f"__leaf{len(self.leaves)}", rule))
            for test in _tests(rule.condition):
                key = self.clock_key(test)
                if key is None:
                    self.leaves.setdefault(test, (f"__leaf{len(self.leaves)}", rule))
                elif key not in self.clocks:
                    self.clocks[key] = _Clock(test.field, key[1], test.op, rule)
        if "kind" not in schema and kind is None:
            kinds = policy.kinds()
            if len(kinds) != 1:
                raise HeattoolError(
                    "the records have no 'kind' column; say which kind they are "
                    f"(--kind), one of: {', '.join(kinds)}"
                )
            self.kind = kinds[0]

    def column(self, rule: Rule, name: str, wanted: str | None) -> pl.Expr:
        """The column as the type the rule asks for; a missing or mistyped column is BadPolicy."""
        where = f"{self.policy.source}: rule '{rule.name}'"
        if name not in self.schema:
            # The columns are not listed: read from a file, they may be a row of data.
            raise BadPolicy(
                f"{where}: field '{name}' is not a column of the records "
                f"(they have {len(self.schema)}{_close_to(name, self.schema.names())})"
            )
        dtype = self.schema[name]
        expr = pl.col(name)
        if wanted is None or dtype == pl.Null:
            return expr if wanted is None else expr.cast(_DTYPES[wanted][0])
        if not isinstance(dtype, _DTYPES[wanted]):
            raise BadPolicy(
                f"{where}: field '{name}' is used as {wanted} but the records hold "
                f"{_type_name(dtype)}"
            )
        if wanted == DATE and isinstance(dtype, pl.Datetime):
            return expr.dt.date()
        return expr.cast(pl.String) if wanted == TEXT else expr

    def is_date(self, name: str) -> bool:
        return isinstance(self.schema.get(name), pl.Date | pl.Datetime)

    def clock_key(self, test: FieldTest) -> tuple[str, Period | None] | None:
        """The clock of a test whose answer changes with the as-of day; None if it cannot."""
        if test.op in ("within", "older_than"):
            return (test.field, test.value)
        if test.op == "present" and self.is_date(test.field):
            return (test.field, None)
        return None

    def condition(self, rule: Rule, condition: Condition, day: pl.Expr | None = None) -> pl.Expr:
        """A condition as a Boolean expression that is never null: as of the as-of day, or of
        `day` (a column of days, over a frame with the switch days of `history`). Either way
        over a frame with the `leaf_columns`."""
        if isinstance(condition, AllOf):
            return pl.all_horizontal(self.condition(rule, p, day) for p in condition.parts)
        if isinstance(condition, AnyOf):
            return pl.any_horizontal(self.condition(rule, p, day) for p in condition.parts)
        if isinstance(condition, Not):
            return ~self.condition(rule, condition.part, day)
        return self.test(rule, condition, day)

    def test(self, rule: Rule, test: FieldTest, day: pl.Expr | None = None) -> pl.Expr:
        """A test as of the as-of day, or of `day`; a constant test is its leaf column."""
        key = self.clock_key(test)
        if key is None:
            return pl.col(self.leaves[test][0])
        if day is not None:  # on each record's own day, from its switch day
            switch = pl.col(self.clock_name(key))
            if test.op == "within":
                return (day < switch).fill_null(False)
            present = (day >= switch).fill_null(False)  # older_than, or the date has come
            return present if test.op == "older_than" or test.value else ~present
        if test.op == "present":  # a date is present from that day on
            present = (self.column(rule, test.field, DATE) <= self.today).fill_null(False)
            return present if test.value else ~present
        value = self.column(rule, test.field, DATE)
        since: pl.Expr = test.value.before(self.today)  # a Period: within, older_than
        if test.op == "within":
            return (value >= since).fill_null(False)
        return (value < since).fill_null(False)  # older_than

    def constant(self, rule: Rule, test: FieldTest) -> pl.Expr:
        """A test whose answer does not change with the day."""
        (_, wanted) = test.uses()[0]
        value = self.column(rule, test.field, wanted)
        if test.op == "present":
            present = value.is_not_null()
            if self.schema[test.field] == pl.String:
                present = present & (value.str.strip_chars().str.len_bytes() > 0)
            return present.fill_null(False) if test.value else ~present.fill_null(False)
        if test.op == "is":
            return (value == pl.lit(test.value)).fill_null(False)
        if test.op == "is_not":  # an empty cell is "not" any value
            return (value != pl.lit(test.value)).fill_null(True)
        return value.is_in(list(test.value)).fill_null(False)  # in

    def covers(self, rule: Rule) -> pl.Expr:
        if "kind" in self.schema and rule.kinds != ("*",):
            covers = pl.col("kind").cast(pl.String).is_in(list(rule.kinds))
            return covers.fill_null(False) | pl.lit("*" in rule.kinds)
        return pl.lit(self.kind is None or rule.applies_to(self.kind))

    def matches(self, rule: Rule, day: pl.Expr | None = None) -> pl.Expr:
        covers = pl.col(self.leaves[("covers", rule.kinds)][0])
        if rule.condition is None:
            return covers
        return covers & self.condition(rule, rule.condition, day)

    def anchor(self, rule: Rule) -> tuple[pl.Expr, pl.Expr]:
        """The first present anchor date and the words naming it."""
        dates: list[pl.Expr] = []
        names = pl.lit(None, dtype=pl.String)
        for anchor in reversed(rule.anchors):
            if isinstance(anchor, DateAnchor):
                date = self.column(rule, anchor.column, DATE)
            else:
                year = self.column(rule, anchor.column, INT).cast(pl.Int32)
                date = anchor.day.in_year(year, self.holidays)
            dates.insert(0, date)
            names = pl.when(date.is_not_null()).then(pl.lit(anchor.words())).otherwise(names)
        return pl.coalesce(dates), names

    def by_rule(self, values: list[pl.Expr], dtype: _DType) -> pl.Expr:
        """The value of the rule that decided each record."""
        result = pl.lit(None, dtype=dtype)
        for index in reversed(range(len(values))):
            result = pl.when(pl.col(_RULE) == index).then(values[index]).otherwise(result)
        return result

    def rule_index(self, day: pl.Expr | None = None) -> pl.Expr:
        """The index of the first rule that matches, as of the as-of day or of `day`."""
        index = pl.lit(None, dtype=pl.Int32)
        for number in reversed(range(len(self.policy.rules))):
            rule = self.policy.rules[number]
            matches = self.matches(rule, day)
            index = pl.when(matches).then(pl.lit(number, pl.Int32)).otherwise(index)
        return index.alias(_RULE)

    def decided(self, reasons: bool) -> list[pl.Expr]:
        """The rule that decided each record, its action and the anchor date it counts from.

        The words naming the anchor are only for the reason, so only built with it.
        """
        rules = self.policy.rules
        anchors, anchor_words = [], []
        for rule in rules:
            if rule.action == "keep":
                anchors.append(pl.lit(None, dtype=pl.Date))
                anchor_words.append(pl.lit(None, dtype=pl.String))
                continue
            date, words = self.anchor(rule)
            anchors.append(date)
            anchor_words.append(words)
        decided = [
            self.by_rule([pl.lit(rule.name) for rule in rules], pl.String).alias("rule"),
            self.by_rule([pl.lit(rule.action) for rule in rules], pl.String).alias("action"),
            self.by_rule(anchors, pl.Date).alias("anchor_on"),
        ]
        if reasons:
            decided.append(self.by_rule(anchor_words, pl.String).alias(_ANCHOR_WORDS))
        return decided

    def dates(self) -> list[list[pl.Expr]]:
        """Expiry, ready and delete-by days from the rule and anchor, in steps, each reading the
        columns of the one before. They depend on nothing else, so `with_dates` computes them
        once per distinct (rule, anchor) pair rather than once per record."""
        anchor = pl.col("anchor_on")
        expiries = [
            pl.lit(None, dtype=pl.Date) if rule.action == "keep" else _period(rule).after(anchor)
            for rule in self.policy.rules
        ]
        expires_on = self.by_rule(expiries, pl.Date)
        return [
            [expires_on.alias("expires_on")],
            [self.ready_on(pl.col("expires_on")).alias("ready_on")],
            [self.delete_by(pl.col("ready_on")).alias("delete_by")],
        ]

    def ready_on(self, expires_on: pl.Expr) -> pl.Expr:
        """The first ready-for-deletion day on or after expiry (the expiry itself without one)."""
        ready = self.policy.settings.ready_for_deletion
        return expires_on if ready is None else ready.on_or_after(expires_on, self.holidays)

    def delete_by(self, ready_on: pl.Expr) -> pl.Expr:
        delete_by = self.policy.settings.delete_by
        if isinstance(delete_by, AnnualDate):
            return delete_by.on_or_after(ready_on, self.holidays)
        return delete_by.after(ready_on)

    def with_dates(self, judged: pl.DataFrame, reasons: bool) -> pl.DataFrame:
        """`judged` (with rule index and anchor) plus expires_on, ready_on and delete_by, for a
        record that fell from one rule to another no earlier than the policy kept it (`history`).
        """
        judged = self.own_dates(judged)  # under the deciding rule alone
        if reasons:  # (lazily: an eager frame of many chunks copies itself for a new column)
            judged = (
                judged.lazy()
                .with_columns(
                    pl.lit(None, dtype=pl.Date).alias(_OWN_EXPIRY),
                    pl.lit(None, dtype=pl.Int32).alias(_FELL_WORDS),
                )
                .collect()
            )
        if not self.clocks:
            return judged
        fell = judged.lazy().select(self.may_have_fallen()).collect().to_series()
        rows = fell.arg_true()
        if not len(rows):
            return judged
        anchors = [a.column for rule in self.policy.rules for a in rule.anchors]
        clocks = [clock.field for clock in self.clocks.values()]
        leaves = [name for name, _ in self.leaves.values()]
        inputs = dict.fromkeys([*leaves, *clocks, *anchors, _RULE, "expires_on"])
        records = judged.lazy().select(*inputs).filter(fell).collect()
        history = self.history(records, reasons)
        return (
            judged.lazy()
            .with_columns(
                judged.get_column(name).scatter(rows, history.get_column(name))
                for name in history.columns
            )
            .collect()
        )

    def own_dates(self, judged: pl.DataFrame) -> pl.DataFrame:
        """expires_on, ready_on and delete_by under the deciding rule alone.

        Millions of records share a few thousand (rule, anchor) pairs: the calendar work is
        done for each pair, and every record looks its pair up: by its place in a table of every
        (day, rule) from the earliest anchor to the latest, or, when the anchors are too far
        apart for that, by a hash of the pair.
        """
        rules = len(self.policy.rules)
        days = judged.get_column("anchor_on").cast(pl.Int32)
        bounds = int_bounds(days)  # None: no record has an anchor date
        most = max(judged.height, 1 << 16)  # the rows a table of pairs may have
        if bounds is not None and (bounds[1] - bounds[0] + 1) * rules <= most:
            first, last = bounds
            span = pl.int_range(first, last + 1, dtype=pl.Int32, eager=True).cast(pl.Date)
            pairs = pl.DataFrame({"anchor_on": span}).join(
                pl.DataFrame({_RULE: pl.int_range(rules, dtype=pl.Int32, eager=True)}),
                how="cross",
            )  # every day, then every rule: (day - first) * rules + rule is the row
            position = (pl.col("anchor_on").cast(pl.Int32) - first) * rules + pl.col(_RULE)
        else:
            pairs = judged.select(_RULE, "anchor_on").unique().drop_nulls()
            pair = pl.col("anchor_on").cast(pl.Int32).cast(pl.Int64) * rules + pl.col(_RULE)
            pairs = pairs.with_columns(pair.alias("__pair"))
            position = pair.replace_strict(
                pairs["__pair"],
                pl.int_range(pairs.height, dtype=pl.UInt32, eager=True),
                default=None,
            )
        lazy = pairs.lazy()
        for step in self.dates():
            lazy = lazy.with_columns(step)
        table = lazy.collect()
        return (
            judged.lazy()
            .with_columns(position.alias("__pair"))
            .with_columns(
                pl.lit(table[name]).gather(pl.col("__pair")).alias(name)
                for name in ("expires_on", "ready_on", "delete_by")
            )
            .collect()
        )

    # --- records that fell from one rule to another -------------------------------------------

    @staticmethod
    def clock_name(key: tuple[str, Period | None]) -> str:
        return f"__switch:{key[0]}:{key[1] or ''}"

    def may_have_fallen(self) -> pl.Expr:
        """True for every record whose expiry a fall could move, and a few more.

        A fall moves the expiry only past its own, to at most the switch day, so only a record
        that expired before the as-of day with a switch day after that expiry, up to the as-of
        day, can have fallen. That is cheap to test for a date present (its switch day is the
        date); for `within` and `older_than`, whether the date is past the period as of today.
        """
        expires_on, maybe = pl.col("expires_on"), []
        for clock in self.clocks.values():
            value = self.column(clock.rule, clock.field, DATE)
            if clock.period is None:
                maybe.append((value > expires_on) & (value <= self.today))
            else:
                maybe.append(value < clock.period.before(self.today))
        return (expires_on < self.today).fill_null(False) & pl.any_horizontal(
            m.fill_null(False) for m in maybe
        )

    def history(self, records: pl.DataFrame, reasons: bool) -> pl.DataFrame:
        """expires_on, ready_on and delete_by of `records` (with their leaves, rule and own
        expiry), after the falls on their switch days up to the as-of day.

        Between two switch days no test changes, so neither does the rule. Taken in order, a
        fall on day s from a rule with expiry E to one with its own expiry X gives
        max(X, min(s, E)). As the switch days only grow, that unrolls to the latest of the
        record's own expiry and, for each switch day s up to the as-of day, the earlier of s and
        the own expiry of the rule the record was under the day before. (A switch day on which
        the rule did not change adds nothing: its rule's period is still running on the next
        switch day, or is the record's own.) With `reasons`, how the fall that decided it came.
        """
        rules, lazy = self.policy.rules, records.lazy()
        dates = lazy.select(
            self.column(c.rule, c.field, DATE).alias(self.clock_name(k))
            for k, c in self.clocks.items()
        ).collect()
        switches = [
            map_days(dates.get_column(self.clock_name(k)), c.period.first_day_beyond)
            if c.period is not None
            else dates.get_column(self.clock_name(k))
            for k, c in self.clocks.items()
        ]
        anchors = lazy.select(
            self.anchor(rule)[0].alias(f"__own{i}")
            for i, rule in enumerate(rules)
            if rule.action != "keep"
        ).collect()
        own = [  # each rule's own expiry; forever for a keep rule or a record with no anchor date
            pl.lit(_FOREVER).alias(f"__own{i}")
            if rule.action == "keep"
            else map_days(anchors.get_column(f"__own{i}"), _period(rule).after).fill_null(_FOREVER)
            for i, rule in enumerate(rules)
        ]
        eves = [  # the day before each switch day
            (day.cast(pl.Int32) - 1).cast(pl.Date).alias(f"__eve{index}")
            for index, day in enumerate(switches)
        ]
        before = [  # the rule on that day
            self.rule_index(pl.col(f"__eve{index}")).alias(f"__before{index}")
            for index in range(len(self.clocks))
        ]
        lazy = records.lazy().with_columns(*switches, *eves, *own).with_columns(before)
        terms = []  # what each switch day gives
        for index, key in enumerate(self.clocks):
            day, rule = pl.col(self.clock_name(key)), pl.col(f"__before{index}")
            given = pl.when(day <= self.today).then(pl.min_horizontal(day, self.own_of(rule)))
            terms.append(given.alias(f"__term{index}"))
        lazy = lazy.with_columns(terms).with_columns(
            pl.max_horizontal("expires_on", *(f"__term{i}" for i in range(len(terms)))).alias("__E")
        )
        if reasons:
            judged = self.fell_words(lazy)
        else:
            judged = lazy.select(pl.col("__E").alias("expires_on")).collect()
        expires_on = judged.get_column("expires_on")
        ready_on = map_days(expires_on, self.ready_on)
        return judged.with_columns(
            ready_on.alias("ready_on"), map_days(ready_on, self.delete_by).alias("delete_by")
        )

    def own_of(self, index: pl.Expr) -> pl.Expr:
        """The own expiry (`__own<i>`) of the rule at `index`; forever for no rule."""
        result = pl.lit(_FOREVER, dtype=pl.Date)
        for number in reversed(range(len(self.policy.rules))):
            result = pl.when(index == number).then(pl.col(f"__own{number}")).otherwise(result)
        return result

    def fell_words(self, lazy: pl.LazyFrame) -> pl.DataFrame:
        """For a record a fall gave a later expiry: its expiry under its rule alone, and how it
        fell (from which rule, when, why, and whether that rule's period had ended already).

        The fall that gave the expiry is the last switch day giving it (an earlier one under the
        same rule gives as much when that rule's period ended before both).
        """
        expiry, own = pl.col("__E"), pl.col("expires_on")
        clocks = list(self.clocks.values())
        days = [pl.col(self.clock_name(key)) for key in self.clocks]
        gave = [pl.col(f"__term{i}") == expiry for i in range(len(clocks))]
        last = pl.max_horizontal(pl.when(g).then(d) for g, d in zip(gave, days, strict=True))
        which = pl.lit(None, dtype=pl.Int32)
        for index in reversed(range(len(clocks))):
            gave_last = gave[index] & (days[index] == last)
            which = pl.when(gave_last).then(pl.lit(index, pl.Int32)).otherwise(which)
        lazy = lazy.with_columns(which.alias("__which"))

        def chosen(columns: list[pl.Expr], dtype: _DType) -> pl.Expr:
            result = pl.lit(None, dtype=dtype)
            for index in reversed(range(len(columns))):
                result = pl.when(pl.col("__which") == index).then(columns[index]).otherwise(result)
            return result

        before = [pl.col(f"__before{i}") for i in range(len(clocks))]
        eves = [pl.col(f"__eve{i}") for i in range(len(clocks))]
        fell_on = chosen(days, pl.Date)
        fallen = expiry > own
        facts = (
            lazy.select(
                expiry.alias("expires_on"),
                pl.when(fallen).then(own).alias(_OWN_EXPIRY),
                fallen.alias("__fallen"),
                fell_on.alias("__fell_on"),
                chosen(eves, pl.Date).alias("__eve"),
                chosen(before, pl.Int32).alias("__from"),
                pl.col("__which"),
                *(pl.col(f"__own{i}") for i in range(len(self.policy.rules))),
            )
            .with_columns(self.own_of(pl.col("__from")).alias("__ended"))
            .with_columns(  # the old rule's end, only when it came before the fall
                pl.when(pl.col("__ended") < pl.col("__fell_on"))
                .then(pl.col("__ended"))
                .alias("__ended")
            )
            .collect()
        )
        # Many records fell alike: each distinct fall is written once, and a record keeps the
        # number of its sentence (`_FELL_WORDS`, in `self.fell_texts`).
        how = ["__from", "__which", "__fell_on", "__eve", "__ended", "expires_on"]
        falls = facts.filter(pl.col("__fallen")).select(how).unique().with_row_index("__words")
        text = _DayText(falls, ["expires_on", "__fell_on", "__eve", "__ended"])
        names = pl.Series([f"rule '{rule.name}'" for rule in self.policy.rules])
        whys = pl.Series([clock.words() for clock in clocks])
        words = pl.concat_str(
            pl.lit(", but it was under "),
            pl.lit(names).gather(pl.col("__from")).fill_null("no rule"),
            pl.lit(" until "),
            text(pl.col("__eve")),
            pl.lit(" ("),
            pl.lit(whys).gather(pl.col("__which")),
            text(pl.col("__fell_on")),
            pl.lit(")"),
            pl.when(pl.col("__ended").is_not_null()).then(
                pl.concat_str(pl.lit(", whose period ended on "), text(pl.col("__ended")))
            ),
            pl.lit(", so it ends on "),
            text(pl.col("expires_on")),
            ignore_nulls=True,
        )
        self.fell_texts = falls.select(words).to_series()
        numbers = facts.join(falls, on=how, how="left", nulls_equal=True, maintain_order="left")
        return numbers.select(
            "expires_on",
            _OWN_EXPIRY,
            pl.when(pl.col("__fallen")).then(pl.col("__words").cast(pl.Int32)).alias(_FELL_WORDS),
        )

    def leaf_columns(self) -> list[pl.Expr]:
        """Each constant test, and each rule's kinds, as a column: computed once, for the as-of
        day and for the days a record's rule may have changed on."""
        return [
            (self.constant(rule, key) if isinstance(key, FieldTest) else self.covers(rule)).alias(
                name
            )
            for key, (name, rule) in self.leaves.items()
        ]

    def status(self) -> pl.Expr:
        return (
            pl.when(pl.col(_RULE).is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col("action") == "keep")
            .then(pl.lit(RETAINED))
            .when(pl.col("expires_on").is_null())
            .then(pl.lit(UNDATED))
            .when(self.today < pl.col("ready_on"))
            .then(pl.lit(RETAINED))
            .when(self.today <= pl.col("delete_by"))
            .then(pl.lit(READY))
            .otherwise(pl.lit(OVERDUE))
        ).alias("status")

    def reason(self, judged: pl.DataFrame) -> pl.Expr:
        """One sentence: which rule, counted from what, and what is due when.

        The words that depend only on the rule or the status are literals chosen per row;
        the dates are looked up as text (`_DayText`), in one concatenation for every row.
        """
        day_text = _DayText(
            judged, ["anchor_on", "expires_on", "ready_on", "delete_by", _OWN_EXPIRY]
        )
        rules = self.policy.rules
        lead = [f"{rule.description or 'rule ' + repr(rule.name)}: " for rule in rules]
        status, action = pl.col("status"), pl.col("action")
        fixed = pl.lit(None, dtype=pl.String)  # whole sentences for keep and undated records
        for index in reversed(range(len(rules))):
            rule = rules[index]
            if rule.action == "keep":
                text = f"{lead[index]}kept; the policy sets no expiry"
            else:
                assert isinstance(rule.period, Period)
                words = [a.words() for a in rule.anchors]
                missing = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
                text = f"{lead[index]}no {missing} to count {rule.period.words()} from"
            fixed = pl.when(pl.col(_RULE) == index).then(pl.lit(text)).otherwise(fixed)
        counted = self.by_rule(
            [
                pl.lit(f"{lead[i]}{rule.period.words()} from " if rule.period else "")
                for i, rule in enumerate(rules)
            ],
            pl.String,
        )
        noun = (
            pl.when(action == "anonymise")
            .then(pl.lit("anonymisation"))
            .otherwise(pl.lit("deletion"))
        )
        done = (
            pl.when(action == "anonymise").then(pl.lit("anonymised")).otherwise(pl.lit("deleted"))
        )
        first = (
            pl.when(status == RETAINED)
            .then(pl.concat_str(pl.lit("retained; ready for "), noun, pl.lit(" on ")))
            .when(status == READY)
            .then(pl.concat_str(pl.lit("ready for "), noun, pl.lit(" since ")))
            .otherwise(pl.concat_str(pl.lit("overdue: should have been "), done, pl.lit(" by ")))
        )
        first_date = (
            pl.when(status == OVERDUE).then(pl.col("delete_by")).otherwise(pl.col("ready_on"))
        )
        then = pl.when(status == READY).then(
            pl.concat_str(pl.lit(", to be "), done, pl.lit(" by "))
        )
        then_date = pl.when(status == READY).then(pl.col("delete_by"))
        own = pl.col(_OWN_EXPIRY)  # set only for a record that fell (see `fell_words`)
        ends = (
            pl.when(own.is_null()).then(pl.lit(") ends on ")).otherwise(pl.lit(") would end on "))
        )
        sentence = pl.concat_str(
            counted,
            pl.col(_ANCHOR_WORDS),
            pl.lit(" ("),
            day_text(pl.col("anchor_on")),
            ends,
            day_text(pl.coalesce(own, pl.col("expires_on"))),
            pl.lit(self.fell_texts).gather(pl.col(_FELL_WORDS)),
            pl.lit("; "),
            first,
            day_text(first_date),
            then,
            day_text(then_date),
            ignore_nulls=True,
        )
        return (
            pl.when(pl.col(_RULE).is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when((action == "keep") | (status == UNDATED))
            .then(fixed)
            .otherwise(sentence)
        )


def evaluate_policy(
    policy: Policy,
    records: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date | None = None,
    *,
    kind: str | None = None,
    reasons: bool = True,
) -> pl.DataFrame:
    """Judge every record: `records` with rule, action, status, anchor_on, expires_on, ready_on,
    delete_by and reason added.

    `records` holds the columns the policy names, typed (dates as Date, years as integers, flags
    as Boolean), and a `kind` column unless `kind` says what they all are. A missing or mistyped
    column, or a record no rule covers, is a BadPolicy naming the policy file. With
    `reasons=False` the reason column is null, which halves the time over millions of rows.
    """
    as_of = as_of or dt.date.today()
    lazy = records.lazy()
    inputs = [c for c in lazy.collect_schema().names() if c not in RESULT_COLUMNS]
    compiler = _Compiler(policy, lazy.collect_schema(), as_of, kind)
    decided = lazy.with_columns(compiler.leaf_columns()).with_columns(compiler.rule_index())
    decided = decided.with_columns(compiler.decided(reasons))
    judged = compiler.with_dates(decided.collect(), reasons)
    reason = compiler.reason(judged) if reasons else pl.lit(None, dtype=pl.String)
    result = (
        judged.lazy()
        .with_columns(compiler.status())
        .with_columns(reason.alias("reason"))
        .select(*inputs, *RESULT_COLUMNS)
        .collect()
    )
    unmatched = result.filter(pl.col("rule").is_null())
    if unmatched.height:
        kinds = (
            unmatched.get_column("kind").cast(pl.String).unique().sort().to_list()
            if "kind" in unmatched.columns
            else [kind or ""]
        )
        raise BadPolicy(
            f"{policy.source}: no rule covers {unmatched.height} record(s) of kind "
            f"{', '.join(repr(k) for k in kinds)}; add a last rule without a condition for them"
        )
    return result


def type_table(
    policy: Policy, table: pl.DataFrame, source: str = "input", header_row: int = 1
) -> pl.DataFrame:
    """An all-text table typed as the policy reads it; unreadable cells are InvalidData, named
    by their spreadsheet row (the headings are in `header_row`).

    Dates are read as heattool reads uploads (ISO or UK day-first), flags as Yes/No, years as
    `2026` or `2026/27`. A column the policy only tests as present is read as dates when every
    filled cell is one (not a bare number): a date is present from that day on. If a rule counts
    from `expected_he_entry_year`, it is derived from `date_of_birth` (with `nation` and
    `postcode`), an uploaded value overriding it.
    """
    from heattool.rules.entry_year import YEAR, expected_entry_year
    from heattool.schemas.parse import Parser, parse_bool, parse_date, parse_float, parse_year

    table = table.rename({name: name.strip() for name in table.columns})
    parsers: dict[str, Parser] = {
        DATE: parse_date,
        BOOL: parse_bool,
        INT: parse_year,
        FLOAT: parse_float,
    }
    wanted = dict(policy.fields())
    if YEAR in wanted:
        wanted.setdefault("date_of_birth", DATE)
        wanted["date_of_birth"] = wanted["date_of_birth"] or DATE
    columns = []
    for name, kind in wanted.items():
        if name not in table.columns or table.schema[name] != pl.String:
            continue
        text = table.get_column(name).str.strip_chars()
        text = text.set(text.str.len_bytes() == 0, None)
        if kind is None:  # only ever tested as present: dates, if every filled cell is one
            filled = text.drop_nulls()
            looks = filled.len() and filled.str.contains(r"[0-9]").all()
            looks = looks and not filled.str.contains(r"^[0-9.]+$").any()
            parsed = parse_date(text) if looks else None
            if parsed is not None and parsed.null_count() == text.null_count():
                columns.append(parsed.alias(name))
            else:
                columns.append(text)
            continue
        if kind not in parsers:
            columns.append(text)
            continue
        parsed = parsers[kind](text)
        bad = text.is_not_null() & parsed.is_null()
        if bad.any():  # named by its row, never quoted: it may be a person's
            row = int(bad.arg_true()[0]) + header_row + 1
            count = int(bad.sum())
            raise InvalidData(
                f"{source}: column '{name}' row {row}: not {kind} "
                f"({count} such cell{'s' if count != 1 else ''}){_FORMS.get(kind, '')}"
            )
        columns.append(parsed.alias(name))
    typed = table.with_columns(columns)
    if YEAR in wanted and (YEAR in typed.columns or "date_of_birth" in typed.columns):
        typed = expected_entry_year(typed).drop("entry_year_label")
    return typed


def evaluate_table(
    policy: Policy,
    table: pl.DataFrame,
    as_of: dt.date | None = None,
    *,
    kind: str | None = None,
    source: str = "input",
    header_row: int = 1,
) -> pl.DataFrame:
    """Evaluate a policy against a plain all-text table (a CSV or Excel sheet), no store."""
    typed = type_table(policy, table, source, header_row)
    return evaluate_policy(policy, typed, as_of, kind=kind)


_FORMS = {
    DATE: "; write dates as YYYY-MM-DD or DD/MM/YYYY",
    BOOL: "; write Yes or No",
    INT: "; write a year such as 2026 or 2026/27",
    FLOAT: "; write digits only, e.g. 2.5",
}


def _close_to(name: str, columns: list[str]) -> str:
    """`; did you mean 'x'?` for a column named much like `name` (a typo), else nothing."""
    import difflib

    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.8)
    return f"; did you mean '{close[0]}'?" if close else ""
