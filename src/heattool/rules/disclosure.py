"""Disclosure control for aggregate reports: rules as TOML data, and the engine that applies them.

A rule is a TOML file (README.md "Disclosure rules"; `disclosure/hesa.toml`, `ofs.toml` and
`none.toml` ship with heattool, found by those names):

    [disclosure]  name, description, publishable (true/false), banner (only when not publishable;
                  default and always containing "NOT FOR PUBLICATION")
    [rounding]    base (counts to the nearest multiple, halves up; 1 or no table: not rounded) and
                  zero_below (counts under it are 0; default base / 2)
    [[suppress]]  tried in order, the first that holds decides: a `code` to show, one test
                  (denominator_below, denominator_at_most, numerator_at_most, numerator_within:
                  denominator - numerator <= x) and what it `hides`: rate, mean, numerator, counts
    [secondary]   code: shown in the cells hidden so that a suppressed one cannot be worked out

A cell is one group of a table of one or two dimensions with its margins: a rate cell has
`numerator` and `denominator` (the rate and its 95% Wilson interval are worked out from the
unrounded counts), a mean cell `sum`, `sum_sq` and `n` (the mean and its standard error; for the
tests its denominator is `n`). Hiding the numerator or the counts hides the rate too (the rate
gives them back), and hiding n hides the mean. A test applies to a table only when the table
has what it tests and something it hides: `hides = ["mean"]` leaves rate tables alone, and a
mean has no numerator.

What a reader can work out ("recoverable")
-----------------------------------------
The counts of each cell add up along every line of the table (a row or column with its total):
numerators, denominators, the n of means and their sums of scores. Of each of those quantities of
each cell a reader knows, from what is published:

- its exact value, when the cell's rate or mean is published: a rate and its Wilson interval,
  worked out from the unrounded counts, give both the numerator and the denominator back (the
  interval's width fixes the denominator), and a mean and its standard error are taken to give n
  and the sum back; and when counts are published unrounded;
- the values that round to the count shown, when only the rounded count is (hesa's 5: 3 to 7;
  its 0: 0 to 2);
- only that it is 0 or more when the count is hidden (a sum of scores: nothing);
- what the cell's code says: every test before the first that shows that code failed, and that
  test held if no other test shows it and secondary cells show another; a cell with no code, or
  with a secondary code no test shows, failed every test (under ofs, `[c]` says the denominator
  is 23 or more, the numerator 3 or more and at least 3 below the denominator). And always the
  numerator is at most the denominator.

The reader then repeats, until nothing changes: narrow each count in every line to what the
line's other cells allow (the total's least value less the others' greatest, and so on); use
each cell's facts; and solve the lines together, as one system of equations, for every quantity
not yet known exactly (this finds a cell that only several lines at once give away).

What a primary test hid is *recoverable* when that leaves it one value: a count when the count
is left one value; a rate when its numerator and denominator both are (or its numerator is 0);
a mean when its n and sum both are. With rounding, a single hidden rate in a line is
recoverable (the other rates give their exact counts, and the total's rate gives its own); so
are two whose rounded counts are both at the top (or bottom) of their ranges, e.g. 2 and 42 in
a line of total 104 with 60.

Secondary suppression (`differencing.protect`) hides the next thing of one more cell at a time
(its rate or mean; when that is hidden already, its counts), to a fixpoint: first, while a line
holds exactly one cell not shown exactly, its smallest other cell (plain subtraction would give
that one away, and every chain of subtractions starts at such a line); then, while the reader
still recovers a primary-suppressed cell, a cell of a line that gives it away (else of its lines,
else of the table): the one that shows the most, then the smallest, then the first. So no
primary-suppressed cell is recoverable by this reader; at worst every count is hidden, and a
rule whose codes alone give a cell away is refused (BadPolicy) when applied. Not
covered: a reader who combines the rounded ranges of several lines at once (integer
programming), or who knows the counts of a group from elsewhere.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe, read_toml
from heattool.rules.differencing import Cell, Fact, Line, protect

SHIPPED = ("hesa", "ofs", "none")  # names that load `disclosure/<name>.toml`
DEFAULT = "hesa"
NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION"
TESTS = ("denominator_below", "denominator_at_most", "numerator_at_most", "numerator_within")
HIDEABLE = ("rate", "mean", "numerator", "counts")
Z_95 = 1.96  # the normal quantile of 97.5%, as published intervals use it: a 95% interval

RATE, MEAN = "rate", "mean"  # the two kinds of table
RATE_INPUT, MEAN_INPUT = ("numerator", "denominator"), ("sum", "sum_sq", "n")
RATE_OUTPUT = ("numerator", "denominator", "rate", "rate_low", "rate_high")
MEAN_OUTPUT = ("n", "mean", "mean_se")
MARKS = ("suppressed", "suppression", "hidden")
PRIMARY, SECONDARY = "primary", "secondary"


# --- the rule language --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rounding:
    """Counts to the nearest multiple of `base`, halves up; counts under `zero_below` are 0."""

    base: int = 1
    zero_below: float = 0.5

    def expression(self, count: pl.Expr) -> pl.Expr:
        """The published count (null stays null): 0, 1, 2 -> 0; 2.5, 3 .. 7 -> 5; 8 -> 10."""
        nearest = ((count / self.base) + 0.5).floor() * self.base
        return (
            pl.when(count < self.zero_below)
            .then(pl.lit(0.0))
            .when(count >= self.zero_below)
            .then(pl.max_horizontal(pl.lit(float(self.base)), nearest))
        )

    def range_of(self, published: int) -> tuple[int, int]:
        """The whole numbers that round to `published`, least and greatest."""
        zero_top = math.ceil(self.zero_below) - 1  # the greatest count under zero_below
        if published == 0:
            return 0, zero_top
        k = published // self.base
        if k == 1:
            return zero_top + 1, (3 * self.base + 1) // 2 - 1
        return ((2 * k - 1) * self.base + 1) // 2, ((2 * k + 1) * self.base + 1) // 2 - 1


@dataclass(frozen=True)
class Suppression:
    """One `[[suppress]]` table: where `test` holds against `value`, show `code`, hide `hides`."""

    code: str
    test: str
    value: float
    hides: tuple[str, ...]

    def columns(self, kind: str) -> frozenset[str]:
        """The columns it hides in a table of this kind (none: it does not apply there)."""
        if kind == RATE:
            named = {
                "rate": {"rate"},
                "numerator": {"numerator", "rate"},
                "counts": {"numerator", "denominator", "rate"},
            }
        elif self.test.startswith("numerator"):
            return frozenset()  # a mean has no numerator to test
        else:
            named = {"mean": {"mean"}, "counts": {"n", "mean"}}
        return frozenset(c for name in self.hides for c in named.get(name, ()))

    def holds(self, numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        """Where the test holds, over the unrounded counts."""
        if self.test == "denominator_below":
            return denominator < self.value
        if self.test == "denominator_at_most":
            return denominator <= self.value
        if self.test == "numerator_at_most":
            return numerator <= self.value
        return (denominator - numerator) <= self.value

    def fact(self, denominator: str, *, held: bool) -> Fact:
        """What a reader learns of a cell's counts from the test holding (or failing)."""
        x = self.value
        terms: tuple[tuple[str, int], ...]  # Σ sign × count <= bound; failing: >= bound + 1
        if self.test == "denominator_below":  # d < x: d <= ceil(x) - 1; else d >= ceil(x)
            terms, bound = ((denominator, 1),), math.ceil(x) - 1
        elif self.test == "denominator_at_most":
            terms, bound = ((denominator, 1),), math.floor(x)
        elif self.test == "numerator_at_most":
            terms, bound = (("numerator", 1),), math.floor(x)
        else:
            terms, bound = ((denominator, 1), ("numerator", -1)), math.floor(x)
        if held:
            return Fact(terms, bound)
        return Fact(tuple((q, -sign) for q, sign in terms), -(bound + 1))


@dataclass(frozen=True)
class DisclosureRule:
    """A checked disclosure rule: how counts are rounded, what is suppressed, and its banner."""

    name: str
    source: str  # the shipped name (`hesa`) or the file's path, as given
    sha256: str  # of the file's bytes: a report's manifest says exactly which rule applied
    publishable: bool
    rounding: Rounding
    suppressions: tuple[Suppression, ...] = ()
    secondary_code: str | None = None
    banner: str | None = None  # on every line of a report made with an unpublishable rule
    description: str = ""

    def applicable(self, kind: str) -> tuple[Suppression, ...]:
        return tuple(s for s in self.suppressions if s.columns(kind))


def load_disclosure(name_or_path: str | Path = DEFAULT) -> DisclosureRule:
    """A shipped rule by name (`hesa`, `ofs`, `none`), else the rule file at that path."""
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        shipped = resources.files("heattool.rules").joinpath(f"disclosure/{name_or_path}.toml")
        return disclosure_from_bytes(shipped.read_bytes(), name_or_path)
    path = Path(name_or_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        shipped_names = ", ".join(SHIPPED)
        raise BadPolicy(f"{path}: no such file (the rules shipped are {shipped_names})") from None
    except OSError as exc:
        raise BadPolicy(f"{path}: cannot be read ({exc.strerror})") from None
    return disclosure_from_bytes(data, str(path))


def disclosure_from_text(text: str, source: str = "disclosure.toml") -> DisclosureRule:
    """A rule from TOML text (tests, rules kept elsewhere than in a file)."""
    return disclosure_from_bytes(text.encode("utf-8"), source)


def disclosure_from_bytes(data: bytes, source: str) -> DisclosureRule:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPolicy(f"{source}: cannot be read (not UTF-8 text)") from None
    document = read_toml(Path(source), text)
    return parse_disclosure(document, source, hashlib.sha256(data).hexdigest())


def parse_disclosure(data: dict[str, Any], source: str, sha256: str = "") -> DisclosureRule:
    """Check a parsed rule document and build the rule; BadPolicy names the file and the key."""
    check_keys(source, data, ["disclosure"], ["rounding", "suppress", "secondary"])
    where = f"{source}: [disclosure]"
    meta = check_keys(where, data["disclosure"], ["name", "publishable"], ["description", "banner"])
    name = meta["name"]
    if not isinstance(name, str) or not name.strip():
        raise BadPolicy(f"{where} name: must be text, not {describe(name)}")
    description = meta.get("description", "")
    if not isinstance(description, str):
        raise BadPolicy(f"{where} description: must be text, not {describe(description)}")
    publishable = meta["publishable"]
    if not isinstance(publishable, bool):
        raise BadPolicy(f"{where} publishable: must be true or false, not {describe(publishable)}")
    banner = _parse_banner(where, meta, publishable)
    rounding = _parse_rounding(f"{source}: [rounding]", data.get("rounding", {}))
    entries = data.get("suppress", [])
    if not isinstance(entries, list):
        raise BadPolicy(f"{source}: suppress: must be [[suppress]] tables, not {describe(entries)}")
    suppressions = tuple(_parse_suppression(source, n, e) for n, e in enumerate(entries, 1))
    secondary_code = None
    if "secondary" in data:
        table = check_keys(f"{source}: [secondary]", data["secondary"], ["code"])
        secondary_code = _parse_code(f"{source}: [secondary] code", table["code"])
    if suppressions and secondary_code is None:
        raise BadPolicy(
            f"{source}: missing [secondary] code: the code shown in cells hidden so that "
            "a suppressed cell cannot be worked out from its row or column"
        )
    if publishable and rounding.base == 1 and not suppressions:
        raise BadPolicy(
            f"{source}: a publishable rule must round counts or suppress cells; "
            "write publishable = false for exact figures"
        )
    return DisclosureRule(
        name,
        source,
        sha256,
        publishable,
        rounding,
        suppressions,
        secondary_code,
        banner,
        description,
    )


def _parse_banner(where: str, meta: dict[str, Any], publishable: bool) -> str | None:
    if publishable:
        if "banner" in meta:
            raise BadPolicy(f"{where} banner: only a rule with publishable = false has a banner")
        return None
    banner = meta.get("banner", NOT_FOR_PUBLICATION)
    if not isinstance(banner, str) or NOT_FOR_PUBLICATION not in banner:
        raise BadPolicy(
            f"{where} banner: must be text containing '{NOT_FOR_PUBLICATION}', "
            f"not {describe(banner)}"
        )
    return banner


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_rounding(where: str, table: Any) -> Rounding:
    check_keys(where, table, [], ["base", "zero_below"])
    base = table.get("base", 1)
    if isinstance(base, bool) or not isinstance(base, int) or base < 1:
        raise BadPolicy(f"{where} base: must be a whole number 1 or more, not {describe(base)}")
    zero_below = table.get("zero_below", base / 2)
    if not _number(zero_below) or not 0 < zero_below <= base:
        raise BadPolicy(
            f"{where} zero_below: must be a number above 0 and at most base ({base}), "
            f"not {describe(zero_below)}"
        )
    return Rounding(base, float(zero_below))


def _parse_code(where: str, code: Any) -> str:
    if not isinstance(code, str) or not code.strip() or code != code.strip():
        raise BadPolicy(f"{where}: must be text without spaces around it, not {describe(code)}")
    try:
        float(code)
    except ValueError:
        return code
    raise BadPolicy(f"{where}: {code!r} reads as a number; use a mark such as '..' or '[low]'")


def _parse_suppression(source: str, number: int, entry: Any) -> Suppression:
    code = entry.get("code") if isinstance(entry, dict) else None
    where = f"{source}: suppress {number}" + (f" ({code!r})" if isinstance(code, str) else "")
    check_keys(where, entry, ["code", "hides"], TESTS)
    code = _parse_code(f"{where} code", code)
    tests = [key for key in TESTS if key in entry]
    if len(tests) != 1:
        raise BadPolicy(f"{where}: give exactly one test of {', '.join(TESTS)}")
    (test,) = tests
    value = entry[test]
    if not _number(value) or value < 0:
        raise BadPolicy(f"{where} {test}: must be a number 0 or more, not {describe(value)}")
    if test.startswith("numerator") and value < 1:
        raise BadPolicy(
            f"{where} {test}: {value} would make the code itself say the numerator "
            "(0, or all of the denominator); use 1 or more"
        )
    hides = entry["hides"]
    if (
        not isinstance(hides, list)
        or not hides
        or not all(isinstance(h, str) and h in HIDEABLE for h in hides)
        or len(set(hides)) != len(hides)
    ):
        raise BadPolicy(
            f"{where} hides: must list some of {', '.join(HIDEABLE)} once each, "
            f"not {describe(hides)}"
        )
    return Suppression(code, test, float(value), tuple(hides))


# --- statistics, as Polars expressions ----------------------------------------------------------


def _expr(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def rate(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """numerator / denominator; null where the denominator is 0."""
    n, d = _expr(numerator), _expr(denominator)
    return pl.when(d > 0).then(n.cast(pl.Float64) / d)


def wilson_interval(
    numerator: str | pl.Expr, denominator: str | pl.Expr, z: float = Z_95
) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval of numerator / denominator, (low, high) in [0, 1].

    centre = (p + z²/2d) / (1 + z²/d), half-width = z √(p(1 - p)/d + z²/4d²) / (1 + z²/d);
    low <= p <= high; null where the denominator is 0.
    """
    n, d = _expr(numerator).cast(pl.Float64), _expr(denominator).cast(pl.Float64)
    p = n / d
    scale = 1 + z**2 / d
    centre = (p + z**2 / (2 * d)) / scale
    half = z * (p * (1 - p) / d + z**2 / (4 * d**2)).sqrt() / scale
    # Never past the rate itself: at 0/d and d/d rounding error would put a bound 1e-17 beyond.
    low = pl.when(d > 0).then(pl.min_horizontal(centre - half, p).clip(0.0, 1.0))
    high = pl.when(d > 0).then(pl.max_horizontal(centre + half, p).clip(0.0, 1.0))
    return low, high


def mean_and_se(
    total: str | pl.Expr, sum_sq: str | pl.Expr, n: str | pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """The mean (null for n = 0) and its standard error s/√n (null for n < 2).

    s² = (Σx² − (Σx)²/n) / (n − 1), the sample variance, from the sums (never below 0).
    """
    s, q, count = _expr(total), _expr(sum_sq), _expr(n).cast(pl.Float64)
    mean = pl.when(count > 0).then(s / count)
    variance = ((q - s**2 / count) / (count - 1)).clip(lower_bound=0.0)
    se = pl.when(count > 1).then((variance / count).sqrt())
    return mean, se


# --- applying a rule to a table -------------------------------------------------------------------


def apply(rule: DisclosureRule, cells: pl.DataFrame, dimensions: Sequence[str]) -> pl.DataFrame:
    """The table as it may be published under `rule`, one row per cell in the order given.

    `cells` has the dimension columns (one or two; a null value is the margin: "all") and either
    `numerator`, `denominator` (whole numbers) or `sum`, `sum_sq`, `n`. Every category of each
    dimension, crossed with every other's and the margins, appears once, and the margins add up.
    The result has the dimension columns, then `numerator`, `denominator` (rounded), `rate`,
    `rate_low`, `rate_high` (from the unrounded counts), or `n` (rounded), `mean`, `mean_se`;
    then `suppressed` (the code shown, or null), `suppression` (primary, secondary or null) and
    `hidden` (the columns withheld; null in them means hidden, or a rate of a denominator of 0).
    """
    dims = list(dimensions)
    kind = _check_table(cells, dims)
    tests = rule.applicable(kind)
    denominator = pl.col("denominator" if kind == RATE else "n")
    numerator = pl.col("numerator") if kind == RATE else pl.lit(None, pl.Int64)
    counts = list(RATE_INPUT) if kind == RATE else ["n"]
    first = pl.lit(None, pl.Int64)  # the index of the first test that holds
    for index in reversed(range(len(tests))):
        held = tests[index].holds(numerator, denominator)
        first = pl.when(held).then(pl.lit(index, pl.Int64)).otherwise(first)
    rounded = {f"_shown_{c}": rule.rounding.expression(pl.col(c)).cast(pl.Int64) for c in counts}
    inputs = RATE_INPUT if kind == RATE else MEAN_INPUT
    frame = cells.select(*dims, *inputs).with_columns(_test=first, **rounded)
    table = [_cell(rule, tests, kind, row, counts) for row in frame.iter_rows(named=True)]
    lines = _lines(frame, dims)
    _check_sums(table, lines, frame, dims)
    leaking = protect(table, lines)
    if leaking is not None:
        key = frame.select(dims).row(leaking)
        raise BadPolicy(
            f"{rule.source}: the codes of this rule give a suppressed cell away by themselves "
            f"(cell {key}); widen its tests or give them the same code"
        )
    codes = [
        tests[test].code if test is not None else rule.secondary_code for test in frame["_test"]
    ]
    marks = pl.DataFrame(
        {
            "suppressed": [
                code if c.hidden else None for code, c in zip(codes, table, strict=True)
            ],
            "suppression": [
                PRIMARY if c.primary else SECONDARY if c.secondary else None for c in table
            ],
            "hidden": [sorted(c.hidden) for c in table],
        },
        schema={"suppressed": pl.String, "suppression": pl.String, "hidden": pl.List(pl.String)},
    )
    frame = pl.concat([frame, marks], how="horizontal")

    def shown(column: str, value: pl.Expr) -> pl.Expr:
        return pl.when(~pl.col("hidden").list.contains(column)).then(value).alias(column)

    if kind == RATE:
        low, high = wilson_interval("numerator", "denominator")
        published = [
            shown("numerator", pl.col("_shown_numerator")),
            shown("denominator", pl.col("_shown_denominator")),
            shown("rate", rate("numerator", "denominator")),
            shown("rate", low).alias("rate_low"),
            shown("rate", high).alias("rate_high"),
        ]
    else:
        mean, se = mean_and_se("sum", "sum_sq", "n")
        published = [
            shown("n", pl.col("_shown_n")),
            shown("mean", mean),
            shown("mean", se).alias("mean_se"),
        ]
    return frame.select(*dims, *published, *MARKS)


def _check_table(cells: pl.DataFrame, dims: list[str]) -> str:
    """The kind of table (rate or mean), after checking its columns and counts."""
    if not 1 <= len(dims) <= 2 or len(set(dims)) != len(dims):
        raise ValueError(f"a table has one or two distinct dimensions, not {dims}")
    missing = [d for d in dims if d not in cells.columns]
    if missing:
        raise ValueError(f"no dimension column {', '.join(missing)}")
    rates, means = set(RATE_INPUT) <= set(cells.columns), set(MEAN_INPUT) <= set(cells.columns)
    if rates == means:
        raise ValueError("cells need numerator and denominator, or sum, sum_sq and n (not both)")
    kind = RATE if rates else MEAN
    counts = RATE_INPUT if kind == RATE else ("n",)
    for column in counts:
        if not cells[column].dtype.is_integer():
            raise ValueError(f"{column} must be whole numbers, not {cells[column].dtype}")
    values = RATE_INPUT if kind == RATE else MEAN_INPUT
    bad = cells.filter(
        pl.any_horizontal(pl.col(c).is_null() for c in values)
        | pl.any_horizontal(pl.col(c) < 0 for c in counts)
        | (pl.col("numerator") > pl.col("denominator") if kind == RATE else pl.lit(False))
    )
    if bad.height:
        raise ValueError(
            f"counts must be present, 0 or more, numerator <= denominator: {bad.row(0)}"
        )
    return kind


def _lines(frame: pl.DataFrame, dims: list[str]) -> list[Line]:
    """The rows and columns of the table, each with its total (a null dimension value)."""
    index: dict[tuple[Any, ...], int] = {}
    for i, key in enumerate(frame.select(dims).iter_rows()):
        if key in index:
            raise ValueError(f"cell {key} appears more than once")
        index[key] = i
    categories = [
        [v for v in frame[d].unique(maintain_order=True).to_list() if v is not None] for d in dims
    ]
    if not all(categories):
        raise ValueError("every dimension needs at least one category besides its total")

    def at(*key: Any) -> int:
        if key not in index:
            raise ValueError(f"cell {key} is missing (a null value is the total)")
        return index[key]

    if len(dims) == 1:
        (values,) = categories
        return [Line(tuple(at(v) for v in values), at(None))]
    rows, columns = categories
    across = [Line(tuple(at(r, c) for c in columns), at(r, None)) for r in [*rows, None]]
    down = [Line(tuple(at(r, c) for r in rows), at(None, c)) for c in [*columns, None]]
    return across + down


def _check_sums(cells: list[Cell], lines: list[Line], frame: pl.DataFrame, dims: list[str]) -> None:
    """Each total is the sum of its line: the margins a reader subtracts from are exact."""
    for line in lines:
        for quantity, total in cells[line.total].values.items():
            parts = sum(cells[i].values[quantity] for i in line.members)
            if not math.isclose(parts, total, rel_tol=1e-9, abs_tol=1e-9):
                key = frame.select(dims).row(line.total)
                raise ValueError(
                    f"the {quantity} of total {key} is {total}, its line adds to {parts}"
                )


def _facts(
    rule: DisclosureRule, tests: tuple[Suppression, ...], kind: str, shown: str | None
) -> tuple[Fact, ...]:
    """What a reader knows of a cell's counts from the code it shows (None: no code)."""
    denominator = "denominator" if kind == RATE else "n"
    facts = [Fact((("numerator", 1), ("denominator", -1)), 0)] if kind == RATE else []
    codes = [test.code for test in tests]
    first = codes.index(shown) if shown in codes else len(tests)
    facts += [test.fact(denominator, held=False) for test in tests[:first]]
    if shown is not None and shown != rule.secondary_code and codes.count(shown) == 1:
        facts.append(tests[first].fact(denominator, held=True))
    return tuple(facts)


def _cell(
    rule: DisclosureRule,
    tests: tuple[Suppression, ...],
    kind: str,
    row: dict[str, Any],
    counts: list[str],
) -> Cell:
    """One row of the frame as the secondary step sees it."""
    test = row["_test"]
    values = {c: row[c] for c in counts} if kind == RATE else {"n": row["n"], "sum": row["sum"]}
    code = tests[test].code if test is not None else None
    return Cell(
        values=values,
        ranges={c: rule.rounding.range_of(row[f"_shown_{c}"]) for c in counts},
        statistic=RATE if kind == RATE else MEAN,
        size=row["denominator" if kind == RATE else "n"],
        hidden=set(tests[test].columns(kind)) if test is not None else set(),
        primary=test is not None,
        facts=_facts(rule, tests, kind, code),
        facts_if_secondary=_facts(rule, tests, kind, rule.secondary_code),
    )
