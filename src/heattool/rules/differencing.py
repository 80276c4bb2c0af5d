"""What a reader can work out from a published table, and the secondary suppression that stops it.

`disclosure.py`'s docstring defines the reader and what "recoverable" means; this module is that
definition as code. It is plain Python over the cells of one table (dozens of them), not Polars:
`disclosure.apply` does the per-cell arithmetic in Polars and hands the cells over.

A cell holds *quantities* that add up along each line of the table (a row or a column with its
total): a rate cell its `numerator` and `denominator`, a mean cell its `n` and the `sum` of its
scores. What a reader knows of each quantity is a range `[low, high]` (a single value when known
exactly); `reader` narrows the ranges until nothing changes and `protect` hides more cells until
no primary-suppressed cell gives away what it hides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

INF = math.inf
Range = tuple[float, float]


@dataclass(frozen=True)
class Fact:
    """What a reader knows of one cell beyond the line sums: Σ coefficient × quantity <= bound.

    `numerator <= denominator`; from the codes a cell shows, `denominator >= 23`,
    `numerator <= 2`, `denominator - numerator >= 3`, ... (coefficients are 1 or -1).
    """

    terms: tuple[tuple[str, int], ...]
    bound: int


@dataclass(frozen=True)
class Line:
    """A row or a column of the table: its cells add up to its total."""

    members: tuple[int, ...]
    total: int

    def cells(self) -> tuple[int, ...]:
        return (*self.members, self.total)


@dataclass
class Cell:
    """One cell of a table as the secondary step sees it: true values and what is shown."""

    values: dict[str, float]  # every quantity's true value: numerator, denominator / n, sum
    ranges: dict[str, Range]  # each count's values that round to the count published
    statistic: str  # the column worked out from the counts: "rate" or "mean"
    size: float  # its denominator (or n): smaller cells are hidden first
    hidden: set[str]  # the columns it does not publish: counts by name, and the statistic
    primary: bool  # a suppression test held for it
    facts: tuple[Fact, ...]  # what a reader knows of it from the code it shows now
    facts_if_secondary: tuple[Fact, ...]  # ... and would know if it showed the secondary code
    secondary: bool = False
    protected: frozenset[str] = field(default=frozenset())  # what its primary test hides

    def __post_init__(self) -> None:
        if self.primary and not self.protected:
            self.protected = frozenset(self.hidden)

    def level(self) -> int:
        """0: everything shown; 1: the statistic hidden; 2: the counts hidden too."""
        if set(self.ranges) <= self.hidden:
            return 2
        return 1 if self.statistic in self.hidden else 0

    def hide_more(self) -> None:
        """Hide the next thing: the statistic, then the counts (at once when shown exactly)."""
        if self.statistic not in self.hidden:
            self.hidden.add(self.statistic)
            if all(low == high for low, high in self.ranges.values()):
                self.hidden.update(self.ranges)  # exact counts: hiding the rate hides nothing
        else:
            self.hidden.update(self.ranges)
        if not self.primary:
            self.secondary = True
            self.facts = self.facts_if_secondary


Known = list[dict[str, list[float]]]  # per cell, per quantity: [low, high]


def reader(
    cells: Sequence[Cell],
    lines: Sequence[Line],
    solutions: dict[frozenset[int], frozenset[int]] | None = None,
) -> Known:
    """What a reader can work out of every quantity of every cell from what is published.

    `solutions` remembers, for a set of unknown cells, which of them the lines fix.
    """
    solutions = {} if solutions is None else solutions
    known: Known = [_shown(cell) for cell in cells]
    quantities = list(cells[0].values) if cells else []
    counts = list(cells[0].ranges) if cells else []  # whole numbers; a sum of scores is not
    while True:
        changed = False
        for cell, ranges in zip(cells, known, strict=True):
            changed |= _use_facts(cell.facts, ranges)
        for quantity in quantities:
            if quantity in counts:
                for line in lines:
                    changed |= _narrow_line(line, quantity, known)
            unknown = frozenset(i for i, k in enumerate(known) if k[quantity][0] != k[quantity][1])
            if unknown not in solutions:
                solutions[unknown] = _solved(unknown, lines)
            for index in solutions[unknown]:
                value = cells[index].values[quantity]
                known[index][quantity] = [value, value]
                changed = True
        if not changed:
            return known


def recoverable(cell: Cell, ranges: dict[str, list[float]]) -> list[str]:
    """The columns its primary test hides that a reader can work out exactly anyway."""

    def exact(quantity: str) -> bool:
        low, high = ranges[quantity]
        return low == high

    found = []
    for column in sorted(cell.protected):
        if column == cell.statistic:
            zero_rate = "numerator" in ranges and ranges["numerator"] == [0, 0]
            if zero_rate or all(exact(q) for q in ranges):
                found.append(column)
        elif exact(column):
            found.append(column)
    return found


def protect(cells: Sequence[Cell], lines: Sequence[Line]) -> int | None:
    """Hide more cells until no primary-suppressed cell is recoverable (changes `cells`).

    None when that is done; else the cell still recoverable when nothing more can be hidden.

    First, while some line has exactly one cell not shown exactly (a hidden rate or mean, with
    its counts rounded or hidden), hide its smallest other cell's rate or mean: the line's
    subtraction would give that cell away, and any chain of subtractions starts at such a line.
    Then, while the reader can still work out a primary-suppressed cell (rounded ranges that
    meet at one value, several lines solved together), hide the next thing of one more cell:
    of the cells in a line that gives it away (else in any of its lines, else anywhere), the
    one that shows the most (nothing hidden before the statistic hidden), then the smallest,
    then the first. Every step hides more, so it ends: at worst with every count hidden, which
    nothing but a rule's own codes can give away (two tests `denominator_below` 10 and 11 with
    different codes say "exactly 10").
    """
    solutions: dict[frozenset[int], frozenset[int]] = {}
    while True:
        alone = next((line for line in lines if len(_inexact(cells, line)) == 1), None)
        if alone is not None and _hide_next(cells, [alone.cells()], _inexact(cells, alone)[0]):
            continue  # (its other cells show everything, so there is always one to hide)
        known = reader(cells, lines, solutions)
        leaking = next(
            (i for i, cell in enumerate(cells) if cell.primary and recoverable(cell, known[i])),
            None,
        )
        if leaking is None:
            return None
        theirs = [line for line in lines if leaking in line.cells()]
        giving = [line for line in theirs if _line_gives_away(line, leaking, known)]
        pools = [_cells_of(giving), _cells_of(theirs), range(len(cells))]
        if not _hide_next(cells, pools, leaking):
            return leaking


def _hide_next(cells: Sequence[Cell], pools: Iterable[Iterable[int]], protecting: int) -> bool:
    """Hide the next thing of the cell showing most, then smallest, in the first pool with one."""
    for pool in pools:
        able = [i for i in pool if i != protecting and cells[i].level() < 2]
        if able:
            cells[min(able, key=lambda i: (cells[i].level(), cells[i].size, i))].hide_more()
            return True
    return False


def _inexact(cells: Sequence[Cell], line: Line) -> list[int]:
    """The cells of a line whose counts are not shown exactly."""
    return [i for i in line.cells() if any(low != high for low, high in _shown(cells[i]).values())]


# --- the reader's steps ------------------------------------------------------------------------


def _shown(cell: Cell) -> dict[str, list[float]]:
    """What the cell's own published values say: exact with its statistic, else ranges."""
    known: dict[str, list[float]] = {}
    for quantity, value in cell.values.items():
        if cell.statistic not in cell.hidden:
            known[quantity] = [value, value]  # a rate and its interval give N and D back
        elif quantity in cell.ranges and quantity not in cell.hidden:
            known[quantity] = list(cell.ranges[quantity])
        elif quantity in cell.ranges:
            known[quantity] = [0, INF]
        else:
            known[quantity] = [-INF, INF]  # a sum of scores, hidden with the mean
    return known


def _use_facts(facts: Iterable[Fact], known: dict[str, list[float]]) -> bool:
    changed = False
    for fact in facts:
        for quantity, sign in fact.terms:
            rest = sum(
                min(s * known[q][0], s * known[q][1]) for q, s in fact.terms if q != quantity
            )
            limit = fact.bound - rest  # sign × quantity <= limit
            low, high = known[quantity]
            if sign > 0 and limit < high:
                known[quantity][1] = limit
                changed = True
            elif sign < 0 and -limit > low:
                known[quantity][0] = -limit
                changed = True
    return changed


def _implied(line: Line, index: int, quantity: str, known: Known) -> Range:
    """The range the line's other cells allow for one of its cells (total = Σ members)."""
    others = [i for i in line.members if i != index]
    lows = sum(known[i][quantity][0] for i in others)
    highs = sum(known[i][quantity][1] for i in others)
    if index == line.total:
        return lows, highs
    total_low, total_high = known[line.total][quantity]
    return total_low - highs, total_high - lows


def _narrow_line(line: Line, quantity: str, known: Known) -> bool:
    changed = False
    for index in line.cells():
        low, high = _implied(line, index, quantity, known)
        current = known[index][quantity]
        if low > current[0]:
            current[0] = low
            changed = True
        if high < current[1]:
            current[1] = high
            changed = True
    return changed


def _solved(unknown: frozenset[int], lines: Sequence[Line]) -> frozenset[int]:
    """The unknown cells that the lines, solved together, fix (for any one quantity).

    The unknowns of each line sum to a known number. Reduced to row echelon form (in whole
    numbers: each coefficient is 1 or -1 to start with), an unknown is fixed when its pivot
    row holds no other unknown. The answer depends only on which cells are unknown.
    """
    order = sorted(unknown)
    column = {cell: j for j, cell in enumerate(order)}
    rows: list[list[int]] = []
    for line in lines:
        row = [0] * len(order)
        for member in line.members:
            if member in column:
                row[column[member]] += 1
        if line.total in column:
            row[column[line.total]] -= 1
        if any(row):
            rows.append(row)
    pivots: list[tuple[int, int]] = []
    for j in range(len(order)):
        r = len(pivots)
        found = next((i for i in range(r, len(rows)) if rows[i][j]), None)
        if found is None:
            continue
        rows[r], rows[found] = rows[found], rows[r]
        pivot = rows[r]
        for i, row in enumerate(rows):
            if i != r and row[j]:
                combined = [pivot[j] * a - row[j] * b for a, b in zip(row, pivot, strict=True)]
                divisor = math.gcd(*combined) or 1
                rows[i] = [value // divisor for value in combined]
        pivots.append((r, j))
    return frozenset(order[j] for r, j in pivots if sum(1 for v in rows[r] if v) == 1)


def _line_gives_away(line: Line, index: int, known: Known) -> bool:
    """Whether the line alone, given what is known of its other cells, fixes a quantity."""
    for quantity in known[index]:  # a sum of scores is fixed only when the others are exact
        low, high = _implied(line, index, quantity, known)
        if low == high:
            return True
    return False


def _cells_of(lines: Iterable[Line]) -> list[int]:
    return sorted({i for line in lines for i in line.cells()})
