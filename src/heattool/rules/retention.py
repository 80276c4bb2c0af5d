"""Judge records against a retention policy: one Polars expression per rule over the whole frame.

`evaluate_policy` takes typed records (the store's columns) and adds, for every record, the rule
that decided, its action, anchor, expiry, ready and delete-by dates, a status and a reason.
`evaluate_table` first types a plain all-text table (the store-less `heattool retention`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from heattool.errors import BadPolicy, HeattoolError, InvalidData
from heattool.rules.calendar import AnnualDate, Period
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

_DTYPES = {
    BOOL: (pl.Boolean,),
    DATE: (pl.Date, pl.Datetime),
    INT: (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64),
    FLOAT: (pl.Float32, pl.Float64, pl.Int8, pl.Int16, pl.Int32, pl.Int64),
    TEXT: (pl.String, pl.Categorical, pl.Enum),
}


def _type_name(dtype: pl.DataType) -> str:
    for name, accepted in _DTYPES.items():
        if isinstance(dtype, accepted):
            return name
    return str(dtype)


class _Compiler:
    """Builds the expressions of one policy for one frame schema and one day."""

    def __init__(self, policy: Policy, schema: pl.Schema, as_of: dt.date, kind: str | None):
        self.policy, self.schema, self.as_of, self.kind = policy, schema, as_of, kind
        self.today = pl.lit(as_of, dtype=pl.Date)
        self.holidays = list(policy.settings.holidays)
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
            shown = ", ".join(self.schema.names())
            raise BadPolicy(f"{where}: field '{name}' is not a column of the records ({shown})")
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

    def condition(self, rule: Rule, condition: Condition) -> pl.Expr:
        """A condition as a Boolean expression that is never null."""
        if isinstance(condition, AllOf):
            return pl.all_horizontal(self.condition(rule, part) for part in condition.parts)
        if isinstance(condition, AnyOf):
            return pl.any_horizontal(self.condition(rule, part) for part in condition.parts)
        if isinstance(condition, Not):
            return ~self.condition(rule, condition.part)
        return self.test(rule, condition)

    def test(self, rule: Rule, test: FieldTest) -> pl.Expr:
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
        if test.op == "in":
            return value.is_in(list(test.value)).fill_null(False)
        since = test.value.before(self.today)
        if test.op == "within":
            return (value >= since).fill_null(False)
        return (value < since).fill_null(False)  # older_than

    def matches(self, rule: Rule) -> pl.Expr:
        if "kind" in self.schema and rule.kinds != ("*",):
            covers = pl.col("kind").cast(pl.String).is_in(list(rule.kinds))
            covers = covers.fill_null(False) | pl.lit("*" in rule.kinds)
        else:
            covers = pl.lit(self.kind is None or rule.applies_to(self.kind))
        if rule.condition is None:
            return covers
        return covers & self.condition(rule, rule.condition)

    def anchor(self, rule: Rule) -> tuple[pl.Expr, pl.Expr]:
        """The first present anchor date and the words naming it."""
        dates, names = [], pl.lit(None, dtype=pl.String)
        for anchor in reversed(rule.anchors):
            if isinstance(anchor, DateAnchor):
                date = self.column(rule, anchor.column, DATE)
            else:
                year = self.column(rule, anchor.column, INT).cast(pl.Int32)
                date = anchor.day.in_year(year, self.holidays)
            dates.insert(0, date)
            names = pl.when(date.is_not_null()).then(pl.lit(anchor.words())).otherwise(names)
        return pl.coalesce(dates), names

    def by_rule(self, values: list[pl.Expr], dtype: pl.DataType) -> pl.Expr:
        """The value of the rule that decided each record."""
        result = pl.lit(None, dtype=dtype)
        for index in reversed(range(len(values))):
            result = pl.when(pl.col(_RULE) == index).then(values[index]).otherwise(result)
        return result

    def rule_index(self) -> pl.Expr:
        index = pl.lit(None, dtype=pl.Int32)
        for number in reversed(range(len(self.policy.rules))):
            rule = self.policy.rules[number]
            index = pl.when(self.matches(rule)).then(pl.lit(number, pl.Int32)).otherwise(index)
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
        settings = self.policy.settings
        anchor = pl.col("anchor_on")
        expiries = [
            pl.lit(None, dtype=pl.Date) if rule.action == "keep" else rule.period.after(anchor)
            for rule in self.policy.rules
        ]
        expires_on = self.by_rule(expiries, pl.Date)
        if settings.ready_for_deletion is None:
            ready_on = pl.col("expires_on")
        else:
            ready_on = settings.ready_for_deletion.on_or_after(pl.col("expires_on"), self.holidays)
        if isinstance(settings.delete_by, AnnualDate):
            delete_by = settings.delete_by.on_or_after(pl.col("ready_on"), self.holidays)
        else:
            delete_by = settings.delete_by.after(pl.col("ready_on"))
        return [
            [expires_on.alias("expires_on")],
            [ready_on.alias("ready_on")],
            [delete_by.alias("delete_by")],
        ]

    def with_dates(self, judged: pl.DataFrame) -> pl.DataFrame:
        """`judged` (with rule index and anchor) plus expires_on, ready_on and delete_by.

        Millions of records share a few thousand (rule, anchor) pairs: the calendar work is
        done for each pair, and every record looks its pair up.
        """
        pair = pl.col("anchor_on").cast(pl.Int32).cast(pl.Int64) * len(self.policy.rules) + pl.col(
            _RULE
        )
        pairs = judged.lazy().select(_RULE, "anchor_on").unique().drop_nulls()
        for step in self.dates():
            pairs = pairs.with_columns(step)
        table = pairs.with_columns(pair.alias("pair")).collect()
        position = pair.replace_strict(
            table["pair"], pl.int_range(table.height, dtype=pl.UInt32, eager=True), default=None
        )
        return judged.with_columns(position.alias("__pair")).with_columns(
            pl.lit(table[name]).gather(pl.col("__pair")).alias(name)
            for name in ("expires_on", "ready_on", "delete_by")
        )

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

    def reason(self) -> pl.Expr:
        """One sentence: which rule, counted from what, and what is due when.

        The words that depend only on the rule or the status are literals chosen per row;
        the dates are turned into text once, in one concatenation for every row.
        """
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
        sentence = pl.concat_str(
            counted,
            pl.col(_ANCHOR_WORDS),
            pl.lit(" ("),
            pl.col("anchor_on").cast(pl.String),
            pl.lit(") ends on "),
            pl.col("expires_on").cast(pl.String),
            pl.lit("; "),
            first,
            first_date.cast(pl.String),
            then,
            then_date.cast(pl.String),
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
    judged = lazy.with_columns(compiler.rule_index()).with_columns(compiler.decided(reasons))
    judged = compiler.with_dates(judged.collect()).lazy().with_columns(compiler.status())
    reason = compiler.reason() if reasons else pl.lit(None, dtype=pl.String)
    result = judged.with_columns(reason.alias("reason")).select(*inputs, *RESULT_COLUMNS).collect()
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


def type_table(policy: Policy, table: pl.DataFrame, source: str = "input") -> pl.DataFrame:
    """An all-text table typed as the policy reads it; unreadable cells are InvalidData.

    Dates are read as heattool reads uploads (ISO or UK day-first), flags as Yes/No, years as
    `2026` or `2026/27`. If a rule counts from `expected_he_entry_year`, it is derived from
    `date_of_birth` (with `nation` and `postcode`), an uploaded value overriding it.
    """
    from heattool.rules.entry_year import YEAR, expected_entry_year
    from heattool.schemas.parse import parse_bool, parse_date, parse_float, parse_year

    table = table.rename({name: name.strip() for name in table.columns})
    parsers = {DATE: parse_date, BOOL: parse_bool, INT: parse_year, FLOAT: parse_float}
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
        if kind not in parsers:
            columns.append(text)
            continue
        parsed = parsers[kind](text)
        bad = text.is_not_null() & parsed.is_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise InvalidData(
                f"{source}: column '{name}' line {row + 2}: '{text[row]}' is not {kind} "
                f"({int(bad.sum())} such cell(s))"
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
) -> pl.DataFrame:
    """Evaluate a policy against a plain all-text table (a CSV or Excel sheet), no store."""
    return evaluate_policy(policy, type_table(policy, table, source), as_of, kind=kind)
