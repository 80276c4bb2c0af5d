"""Retention policies: the TOML rule language, loaded and checked before any record is judged.

A policy is a `[policy]` table (name, version), optional `[settings]` (when expired records become
ready for deletion and when they must be gone) and a list of `[[rule]]` tables. Each rule names the
record kinds it covers, an optional condition, a period, the anchor date it counts from and an
action. For each record the first rule whose kind and condition match decides. Optional
`[track.<target>]` tables say who may be sent for linkage (see `track.py`), and an optional
`[outcomes]` table how outcome reports band and group people (see `outcomes.py`). README.md
("Rules and retention policies") documents the language; `heat.toml` is the default.

Every policy the language accepts keeps the rule that a record is never overdue for a time the
policy kept it: the only tests whose answer changes with the as-of day (`within`, `older_than`,
`present` on a date column) change on a day computable from the record, and `retention.py` gives a
record that fell from one rule to another on such a day a period ending no earlier than that day.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe, read_toml
from heattool.rules.calendar import AnnualDate, Period
from heattool.rules.matching import Matching, parse_matching
from heattool.rules.outcomes import OutcomeSettings, parse_outcomes
from heattool.rules.track import TrackTarget, parse_tracks

POLICY_ENV = "HEATTOOL_POLICY"
DEFAULT_POLICY = "heat.toml"
ACTIONS = ("delete", "anonymise", "keep")
ANY_KIND = "*"
ON_EXPIRY = "on-expiry"
# Tests on one field; `present` works on any column, the others fix the column's type.
TEST_OPS = ("present", "is", "is_not", "in", "within", "older_than")
COMBINATORS = ("all", "any", "not")
# The type a value or a test asks of its column, named as in error messages.
BOOL, INT, FLOAT, TEXT, DATE = "true/false", "a whole number", "a number", "text", "a date"


# --- the condition language -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldTest:
    """`{ field = "forename", present = true }`: one test on one column."""

    field: str
    op: str
    value: Any

    def uses(self) -> list[tuple[str, str | None]]:
        return [(self.field, _type_asked(self))]


@dataclass(frozen=True)
class AllOf:
    """`{ all = [...] }`: every part holds (a bare list means the same)."""

    parts: tuple[Condition, ...]

    def uses(self) -> list[tuple[str, str | None]]:
        return [use for part in self.parts for use in part.uses()]


@dataclass(frozen=True)
class AnyOf:
    """`{ any = [...] }`: at least one part holds."""

    parts: tuple[Condition, ...]

    def uses(self) -> list[tuple[str, str | None]]:
        return [use for part in self.parts for use in part.uses()]


@dataclass(frozen=True)
class Not:
    """`{ not = {...} }`: the part does not hold."""

    part: Condition

    def uses(self) -> list[tuple[str, str | None]]:
        return self.part.uses()


Condition = FieldTest | AllOf | AnyOf | Not


def _value_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return TEXT
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return DATE
    return None


def _type_asked(test: FieldTest) -> str | None:
    if test.op == "present":
        return None
    if test.op in ("within", "older_than"):
        return DATE
    if test.op == "in":
        return _value_type(test.value[0])
    return _value_type(test.value)


def _merge_uses(uses: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
    merged: dict[str, str | None] = {}
    for name, kind in uses:
        merged[name] = merged.get(name) or kind
    return merged


def parse_condition(where: str, value: Any) -> Condition:
    """A condition table (or a list, meaning all of it), checked as it is read."""
    if isinstance(value, list):
        return AllOf(_parse_parts(where, "all", value))
    if not isinstance(value, dict):
        raise BadPolicy(f"{where}: a condition must be a table or a list, not {describe(value)}")
    keys = set(value)
    if "field" in keys:
        return _parse_test(where, value)
    combinator = keys & set(COMBINATORS)
    if len(keys) != 1 or not combinator:
        raise BadPolicy(
            f"{where}: a condition is {{ field = ..., <test> = ... }} or one of "
            f"all, any, not; got {', '.join(sorted(map(repr, keys))) or 'an empty table'}"
        )
    (name,) = combinator
    if name == "not":
        return Not(parse_condition(f"{where}: not", value["not"]))
    parts = value[name]
    if not isinstance(parts, list) or not parts:
        raise BadPolicy(f"{where}: '{name}' must be a non-empty list of conditions")
    parts_parsed = _parse_parts(where, name, parts)
    return AllOf(parts_parsed) if name == "all" else AnyOf(parts_parsed)


def _parse_parts(where: str, name: str, parts: list[Any]) -> tuple[Condition, ...]:
    if not parts:
        raise BadPolicy(f"{where}: '{name}' must be a non-empty list of conditions")
    return tuple(parse_condition(f"{where}: {name}[{i}]", part) for i, part in enumerate(parts))


def _parse_test(where: str, table: dict[str, Any]) -> FieldTest:
    check_keys(where, table, ["field"], TEST_OPS)
    name = table["field"]
    if not isinstance(name, str) or not name.strip():
        raise BadPolicy(f"{where}: field must be a column name, not {describe(name)}")
    where = f"{where}: field '{name}'"
    ops = [op for op in TEST_OPS if op in table]
    if len(ops) != 1:
        raise BadPolicy(f"{where}: give exactly one test of {', '.join(TEST_OPS)}")
    (op,) = ops
    value = table[op]
    if op == "present" and not isinstance(value, bool):
        raise BadPolicy(f"{where}: present must be true or false, not {describe(value)}")
    if op in ("within", "older_than"):
        value = Period.parse(f"{where}: {op}", value)
    if op in ("is", "is_not") and _value_type(value) is None:
        raise BadPolicy(f"{where}: {op} must be true/false, a number, text or a date")
    if op == "in":
        if not isinstance(value, list) or not value:
            raise BadPolicy(f"{where}: in must be a non-empty list of values")
        types = {_value_type(v) for v in value}
        if None in types or len(types) != 1:
            raise BadPolicy(f"{where}: in must list values of one type (all text, numbers, ...)")
        value = tuple(value)
    return FieldTest(name, op, value)


# --- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateAnchor:
    """`"last_activity_on"`: count from the date in this column."""

    column: str

    def words(self) -> str:
        return self.column


@dataclass(frozen=True)
class YearAnchor:
    """`{ year = "expected_he_entry_year", month = 9, day = 1 }`: that day of the column's year."""

    column: str
    day: AnnualDate

    def words(self) -> str:
        return f"{self.day.words()} of {self.column}"


Anchor = DateAnchor | YearAnchor


def _parse_anchor(where: str, value: Any) -> tuple[Anchor, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise BadPolicy(f"{where}: anchor must name at least one date column")
    anchors: list[Anchor] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            anchors.append(DateAnchor(item))
        elif isinstance(item, dict):
            table = check_keys(f"{where}: anchor", item, ["year", "month", "day"])
            if not isinstance(table["year"], str) or not table["year"].strip():
                raise BadPolicy(f"{where}: anchor year must name a column of years")
            day = AnnualDate.parse(f"{where}: anchor", {"month": item["month"], "day": item["day"]})
            anchors.append(YearAnchor(table["year"], day))
        else:
            raise BadPolicy(
                f"{where}: anchor {describe(item)} is not a date column name or "
                "{ year = <column>, month = ..., day = ... }"
            )
    return tuple(anchors)


# --- rules, settings, the policy ----------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One `[[rule]]`: which records, from when, for how long, and what then."""

    name: str
    kinds: tuple[str, ...]
    condition: Condition | None
    period: Period | None
    anchors: tuple[Anchor, ...]
    action: str
    description: str = ""

    def applies_to(self, kind: str) -> bool:
        return ANY_KIND in self.kinds or kind in self.kinds

    def uses(self) -> list[tuple[str, str | None]]:
        """Every column the rule reads, with the type it asks of it (None: any)."""
        condition = self.condition.uses() if self.condition else []
        anchors = [(a.column, INT if isinstance(a, YearAnchor) else DATE) for a in self.anchors]
        return condition + anchors

    def fields(self) -> dict[str, str | None]:
        return _merge_uses(self.uses())


@dataclass(frozen=True)
class Settings:
    """When expired records become ready for deletion, and when they must be gone by."""

    ready_for_deletion: AnnualDate | None = None  # None: on the day the record expires
    delete_by: AnnualDate | Period = field(default_factory=lambda: Period(0, "d"))
    earliest_track_year: int | None = None
    track_deadline: AnnualDate | None = None
    holidays: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A checked retention policy: its metadata, settings and rules in order."""

    name: str
    source: str
    rules: tuple[Rule, ...]
    settings: Settings = field(default_factory=Settings)
    version: str = ""
    description: str = ""
    tracks: dict[str, TrackTarget] = field(default_factory=dict)  # [track.<target>] tables
    matching: Matching = field(default_factory=Matching)  # [matching]: what a probability means
    outcomes: OutcomeSettings = field(default_factory=OutcomeSettings)  # [outcomes]

    def fields(self) -> dict[str, str | None]:
        """Every column the policy reads, with the type it asks of it (None: any)."""
        return _merge_uses(use for rule in self.rules for use in rule.uses())

    def kinds(self) -> list[str]:
        return sorted({k for rule in self.rules for k in rule.kinds if k != ANY_KIND})


def default_policy_path() -> Path:
    """The HEAT default policy shipped in this package."""
    return Path(str(resources.files("heattool.rules").joinpath(DEFAULT_POLICY)))


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and check a policy: `path`, else `$HEATTOOL_POLICY`, else the HEAT default."""
    path = path or os.environ.get(POLICY_ENV)
    if not path:
        text = resources.files("heattool.rules").joinpath(DEFAULT_POLICY).read_text("utf-8")
        return policy_from_text(text, DEFAULT_POLICY)
    return parse_policy(read_toml(Path(path)), str(path))


def policy_from_text(text: str, source: str = "policy.toml") -> Policy:
    """A policy from TOML text (tests, policies kept elsewhere than in a file)."""
    return parse_policy(read_toml(Path(source), text), source)


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    """Check a parsed policy document and build the Policy; BadPolicy names file, rule, reason."""
    check_keys(source, data, ["policy", "rule"], ["settings", "track", "matching", "outcomes"])
    meta = check_keys(f"{source}: [policy]", data["policy"], ["name"], ["version", "description"])
    for key in ("name", "description"):
        if key in meta and not isinstance(meta[key], str):
            raise BadPolicy(f"{source}: [policy] {key} must be text")
    version = meta.get("version", "")
    if not isinstance(version, str | int) or isinstance(version, bool):
        raise BadPolicy(f"{source}: [policy] version must be text or a number")
    settings = _parse_settings(source, data.get("settings", {}))
    entries = data["rule"]
    if not isinstance(entries, list) or not entries:
        raise BadPolicy(f"{source}: give at least one [[rule]]")
    rules: list[Rule] = []
    for number, entry in enumerate(entries, 1):
        rule = _parse_rule(source, number, entry)
        if any(r.name == rule.name for r in rules):
            raise BadPolicy(f"{source}: rule '{rule.name}': another rule has this name")
        _check_reachable(source, rule, rules)
        rules.append(rule)
    tracks = parse_tracks(source, data.get("track", {}), settings.earliest_track_year)
    policy = Policy(
        meta["name"],
        source,
        tuple(rules),
        settings,
        str(version),
        meta.get("description", ""),
        tracks,
        parse_matching(source, data.get("matching", {})),
        parse_outcomes(source, data.get("outcomes", {})),
    )
    _check_field_types(policy)
    return policy


def _parse_settings(source: str, table: Any) -> Settings:
    where = f"{source}: [settings]"
    check_keys(
        where,
        table,
        [],
        ["ready_for_deletion", "delete_by", "earliest_track_year", "track_deadline", "holidays"],
    )
    ready = table.get("ready_for_deletion", ON_EXPIRY)
    if ready == ON_EXPIRY:
        ready_day = None
    elif isinstance(ready, dict):
        ready_day = AnnualDate.parse(f"{where} ready_for_deletion", ready)
    else:
        raise BadPolicy(
            f"{where} ready_for_deletion: {describe(ready)} is not '{ON_EXPIRY}' "
            "or { month = ..., day = ... }"
        )
    delete_by = table.get("delete_by", "0d")
    if isinstance(delete_by, dict):
        delete_by = AnnualDate.parse(f"{where} delete_by", delete_by)
    else:
        delete_by = Period.parse(f"{where} delete_by", delete_by)
    earliest = table.get("earliest_track_year")
    if earliest is not None and (
        isinstance(earliest, bool) or not isinstance(earliest, int) or not 1900 < earliest < 3000
    ):
        raise BadPolicy(f"{where} earliest_track_year: {describe(earliest)} is not a year")
    deadline = table.get("track_deadline")
    if deadline is not None:
        deadline = AnnualDate.parse(f"{where} track_deadline", deadline)
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list) or not all(_value_type(h) == DATE for h in holidays):
        raise BadPolicy(f"{where} holidays: must be a list of dates such as 2026-12-25")
    return Settings(ready_day, delete_by, earliest, deadline, tuple(holidays))


def _parse_rule(source: str, number: int, entry: Any) -> Rule:
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"{source}: rule '{name}'" if isinstance(name, str) else f"{source}: rule {number}"
    check_keys(
        where,
        entry,
        ["name", "kind", "action"],
        ["description", "condition", "period", "anchor"],
    )
    if not isinstance(name, str) or not name.strip():
        raise BadPolicy(f"{where}: name must be text")
    kinds = entry["kind"]
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise BadPolicy(f"{where}: kind must be a record kind, a list of kinds or '{ANY_KIND}'")
    action = entry["action"]
    if action not in ACTIONS:
        raise BadPolicy(f"{where}: action {describe(action)} is not one of {', '.join(ACTIONS)}")
    period: Period | None
    anchors: tuple[Anchor, ...]
    if action == "keep":
        extra = [key for key in ("period", "anchor") if key in entry]
        if extra:
            raise BadPolicy(f"{where}: a 'keep' rule has no {' or '.join(extra)}")
        period, anchors = None, ()
    else:
        missing = [key for key in ("period", "anchor") if key not in entry]
        if missing:
            raise BadPolicy(f"{where}: missing {', '.join(repr(k) for k in missing)}")
        period = Period.parse(where, entry["period"])
        anchors = _parse_anchor(where, entry["anchor"])
    condition = None
    if "condition" in entry:
        condition = parse_condition(f"{where}: condition", entry["condition"])
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise BadPolicy(f"{where}: description must be text")
    return Rule(name, tuple(kinds), condition, period, anchors, action, description)


def _check_reachable(source: str, rule: Rule, earlier: list[Rule]) -> None:
    """A rule after a condition-less rule for all of its kinds could never match."""
    catch_all: Rule | None = None
    for kind in rule.kinds:
        catch_all = next((r for r in earlier if r.condition is None and r.applies_to(kind)), None)
        if catch_all is None:
            return
    if catch_all is None:  # no kinds (which parsing refuses)
        return
    raise BadPolicy(
        f"{source}: rule '{rule.name}' can never match: rule '{catch_all.name}' before it "
        "has no condition and takes every record of its kinds; move it last"
    )


def _check_field_types(policy: Policy) -> None:
    asked: dict[str, tuple[str, str]] = {}
    for rule in policy.rules:
        for name, kind in rule.uses():
            if kind is None:
                continue
            first = asked.setdefault(name, (kind, rule.name))
            if {first[0], kind} not in ({kind}, {INT, FLOAT}):
                raise BadPolicy(
                    f"{policy.source}: rule '{rule.name}': field '{name}' is used as {kind} "
                    f"here but as {first[0]} in rule '{first[1]}'"
                )


def policy_sha256(policy: Policy) -> str:
    """The sha256 of the policy file's bytes, so a receipt says exactly which rules applied."""
    import hashlib

    if policy.source == DEFAULT_POLICY:
        data = resources.files("heattool.rules").joinpath(DEFAULT_POLICY).read_bytes()
    else:
        data = Path(policy.source).read_bytes()
    return hashlib.sha256(data).hexdigest()
