"""Matching people: Splink 5 on DuckDB scores pairs of records, with heattool's rules around it.

The model is data: `matching_model.json` (Splink's own settings format: the comparisons, each
level's SQL and its m and u probabilities, and the blocking rules), written by `train` from the
comparisons, blocking rules and training rules below (benchmarks/matching.py --train). At run
time nothing is trained and nothing is downloaded: the model scores the pairs the blocking
rules make, and term frequencies come from the member's own records (so "Muhammad Khan" or a
date of birth shared by a whole cohort counts for less than a rare name). The prior that two
records are one person is set from the number of records compared (`prior`).

Splink works in a DuckDB connection of its own, in memory (spilling to the store's owner-only
folder), never in the store: the people to compare are copied in as Arrow. Around the scores
sit heattool's rules, in SQL here: the twin guard, the decisions people recorded, and the
fields that agreed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from heattool.store.erasure import fold_name_sql
from heattool.store.store import MEMORY, Store, _spill_folder

MODEL = "matching_model.json"
# The columns a record brings to matching; `uid` is a whole number unique among those compared.
INPUT_COLUMNS = ("uid", "forename", "surname", "date_of_birth", "postcode", "school")
# The people a prior assumes each record has another record of, on average: a store where one
# person in ten is held twice has about 0.1 (`prior`).
LINKS_PER_RECORD = {"dedupe_only": 0.1, "link_only": 0.6}
FIELDS = ("forename", "surname", "date_of_birth", "postcode", "school")


def _letters(expression: str) -> str:
    """A name folded as the suppression list folds it (erasure.fold_name_sql), then letters only."""
    return f"nullif(regexp_replace({fold_name_sql(expression)}, '[^a-z]+', '', 'g'), '')"


def features_sql(source: str) -> str:
    """The columns the comparisons read, for each record of `source` (INPUT_COLUMNS), given a
    table `nicknames` of folded (name, grp) pairs."""
    return f"""
        WITH f AS (
            SELECT uid,
                {_letters("forename")} AS fn,
                {_letters("surname")} AS sn,
                list_filter(
                    list_transform(
                        string_split_regex(strip_accents(lower(surname)), '[\\s‐‑‒–—-]+'),
                        p -> regexp_replace(p, '[^a-z]+', '', 'g')
                    ),
                    p -> length(p) >= 3
                ) AS sn_parts,
                date_of_birth AS dob,
                strftime(date_of_birth, '%Y%m%d') AS dob_text,
                nullif(upper(trim(postcode)), '') AS pc,
                nullif(regexp_replace(lower(strip_accents(school)), '[^a-z0-9]+', '', 'g'), '')
                    AS school
            FROM {source}
        )
        SELECT f.*,
            coalesce(g.groups, [f.fn]) AS fn_groups,
            least(fn, sn) || '|' || greatest(fn, sn) AS name_key,
            left(pc, length(pc) - 2) AS pc_sector,
            split_part(pc, ' ', 1) AS pc_district,
            strftime(dob, '%m%d') AS dob_md,
            strftime(dob, '%Y%m') AS dob_ym,
            left(fn, 1) AS fn1,
            left(sn, 1) AS sn1
        FROM f
        LEFT JOIN (
            SELECT name, list(DISTINCT grp ORDER BY grp) AS groups FROM nicknames GROUP BY name
        ) AS g ON g.name = f.fn
    """


NICKNAMES_SQL = f"""
    SELECT DISTINCT name, grp FROM (
        SELECT {_letters("name")} AS name, {_letters("name")} AS grp FROM nickname_pairs
        UNION ALL
        SELECT {_letters("also")}, {_letters("name")} FROM nickname_pairs
    ) WHERE name IS NOT NULL AND grp IS NOT NULL
"""

# -- the model's shape: comparisons, blocking rules, training rules ---------------------------


def _level(sql: str, label: str, *, tf: str | None = None, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if tf:
        level |= {"tf_adjustment_column": tf, "tf_adjustment_weight": 1.0}
    if null:
        level["is_null_level"] = True
    return level


# Each comparison's levels, tried in order; the first that holds gives the pair its weight.
# Exact levels are adjusted by how common the value is among the records compared.
COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "forename",
        "comparison_levels": [
            _level('"fn_l" IS NULL OR "fn_r" IS NULL', "missing", null=True),
            _level('"fn_l" = "fn_r"', "exact", tf="fn"),
            _level('list_has_any("fn_groups_l", "fn_groups_r")', "nickname"),
            _level('damerau_levenshtein("fn_l", "fn_r") <= 1', "one edit"),
            _level('jaro_winkler_similarity("fn_l", "fn_r") >= 0.88', "similar"),
            _level('"fn_l" = "sn_r"', "swapped with surname"),
            _level("ELSE", "different"),
        ],
    },
    {
        "output_column_name": "surname",
        "comparison_levels": [
            _level('"sn_l" IS NULL OR "sn_r" IS NULL', "missing", null=True),
            _level('"sn_l" = "sn_r"', "exact", tf="sn"),
            _level('damerau_levenshtein("sn_l", "sn_r") <= 1', "one edit"),
            _level('list_has_any("sn_parts_l", "sn_parts_r")', "shares a part"),
            _level('jaro_winkler_similarity("sn_l", "sn_r") >= 0.88', "similar"),
            _level('"sn_l" = "fn_r"', "swapped with forename"),
            _level("ELSE", "different"),
        ],
    },
    {
        "output_column_name": "date_of_birth",
        "comparison_levels": [
            _level('"dob_l" IS NULL OR "dob_r" IS NULL', "missing", null=True),
            _level('"dob_l" = "dob_r"', "exact", tf="dob"),
            _level(
                'year("dob_l") = year("dob_r") AND month("dob_l") = day("dob_r") '
                'AND day("dob_l") = month("dob_r")',
                "day and month swapped",
            ),
            _level('damerau_levenshtein("dob_text_l", "dob_text_r") <= 1', "one digit"),
            _level("ELSE", "different"),
        ],
    },
    {
        "output_column_name": "postcode",
        "comparison_levels": [
            _level('"pc_l" IS NULL OR "pc_r" IS NULL', "missing", null=True),
            _level('"pc_l" = "pc_r"', "exact", tf="pc"),
            _level('"pc_sector_l" = "pc_sector_r"', "same sector"),
            _level('"pc_district_l" = "pc_district_r"', "same district"),
            _level("ELSE", "different"),
        ],
    },
    {
        "output_column_name": "school",
        "comparison_levels": [
            _level('"school_l" IS NULL OR "school_r" IS NULL', "missing", null=True),
            _level('"school_l" = "school_r"', "exact", tf="school"),
            _level("ELSE", "different"),
        ],
    },
]

# Which pairs are scored at all: each rule is an equi-join, and each kind of variation is
# caught by at least two of them. Measured on a million synthetic records (docs/benchmarks.md):
# these make 3.3 million pairs and find 99.7% of the true ones; `name_key` with the birth year
# made 6.9 million on its own (common names), `dob` alone 171 million (every cohort).
BLOCKING_RULES: list[tuple[str, ...]] = [
    ("dob", "pc_sector"),
    ("dob", "school"),
    ("dob", "fn1", "sn1"),
    ("name_key", "pc_district"),
    ("name_key", "school"),
    ("sn", "pc"),
    ("fn", "pc"),
    ("name_key", "dob_md"),
    ("name_key", "dob_ym"),
]
# Expectation maximisation needs blocks where most pairs are matches: records born the same
# day in the same postcode sector train the names and school; the same names at the same
# school train the date of birth and postcode. (`dob` alone took 13.7 minutes and 17 GB at 1M.)
TRAINING_RULES: list[tuple[str, ...]] = [("dob", "pc_sector"), ("fn", "sn", "school")]


def _rule(columns: Sequence[str]) -> dict[str, Any]:
    return {
        "blocking_rule": " AND ".join(f'l."{c}" = r."{c}"' for c in columns),
        "sql_dialect": "duckdb",
    }


def model_settings(link_type: str = "dedupe_only") -> dict[str, Any]:
    """The model without parameters: what `train` estimates."""
    return {
        "link_type": link_type,
        "unique_id_column_name": "uid",
        "comparisons": copy.deepcopy(COMPARISONS),
        "blocking_rules_to_generate_predictions": [_rule(r) for r in BLOCKING_RULES],
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": False,
        "probability_two_random_records_match": 1e-6,
    }


@cache
def _shipped_model() -> str:
    return resources.files("heattool.store").joinpath(MODEL).read_text("utf-8")


def model(link_type: str, records: int) -> dict[str, Any]:
    """The shipped model, for `link_type`, its prior set for `records` records compared."""
    settings: dict[str, Any] = json.loads(_shipped_model())
    settings["link_type"] = link_type
    settings["probability_two_random_records_match"] = prior(link_type, records)
    settings["sql_dialect"] = "duckdb"
    return settings


def prior(link_type: str, records: int) -> float:
    """The probability that two records picked at random are one person: each record is
    taken to have LINKS_PER_RECORD others among the `records` it is compared with."""
    return min(0.5, LINKS_PER_RECORD[link_type] / max(records, 1))


# -- the engine's connection ------------------------------------------------------------------


@contextlib.contextmanager
def engine(store: Store | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection of Splink's own, in memory, spilling to the store's folder."""
    con = duckdb.connect(
        MEMORY, config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET python_enable_replacements = false")
        if store is not None and store.path != MEMORY:
            folder = _spill_folder(Path(store.path))
            con.execute(f"SET temp_directory = '{str(folder).replace(chr(39), chr(39) * 2)}'")
        yield con
    finally:
        con.close()


def _load(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(f"{name}_arrow", frame.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


def _prepare(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, pl.DataFrame],
    nicknames: Sequence[tuple[str, str]],
) -> None:
    """Each frame of `tables` (INPUT_COLUMNS) as a table of features of that name."""
    pairs = pl.DataFrame(list(nicknames), schema=["name", "also"], orient="row")
    _load(con, "nickname_pairs", pairs)
    con.execute(f"CREATE OR REPLACE TABLE nicknames AS {NICKNAMES_SQL}")
    for name, frame in tables.items():
        _load(con, f"{name}_input", frame.select(INPUT_COLUMNS))
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {features_sql(f'{name}_input')}")
        con.execute(f"DROP TABLE {name}_input")


# Term frequencies are smoothed towards the model's own u: the shipped model counts as this
# many records. A store of nine, where three records of one Amelia Hughes make "amelia" a
# third of all forenames, would otherwise find nobody; at 100,000 records and more the
# member's own frequencies decide.
MODEL_RECORDS = 1000


def _linker(con: duckdb.DuckDBPyConnection, tables: Sequence[str], settings: dict[str, Any]) -> Any:
    """A Linker over `tables`, with the term frequencies of their records, smoothed."""
    from splink import DuckDBAPI, Linker

    api = DuckDBAPI(con)
    frames = [api.register(t, dataset_display_name=t) for t in tables]
    comparisons = copy.deepcopy(settings["comparisons"])  # the Linker takes the settings apart
    linker = Linker(frames[0] if len(frames) == 1 else frames, settings, log_level=None)
    every = " UNION ALL ".join(f"SELECT * FROM {t}" for t in tables)
    for comparison in comparisons:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if not column:
                continue
            u = float(level.get("u_probability") or 0.001)
            con.execute(
                f"""CREATE OR REPLACE TABLE tf_{column} AS
                    SELECT "{column}",
                        (count(*) + {MODEL_RECORDS} * {u!r}::DOUBLE) / (sum(count(*)) OVER ()
                        + {MODEL_RECORDS}) AS "tf_{column}"
                    FROM ({every}) WHERE "{column}" IS NOT NULL GROUP BY ALL"""
            )
            table = api.register(f"tf_{column}", dataset_display_name=f"tf_{column}")
            linker.table_management.register_term_frequency_lookup(table, column)
    return linker


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Splink's log (its warnings about untrained levels, its timings) stays out of output."""
    log = logging.getLogger("splink")
    level, propagate = log.level, log.propagate
    log.setLevel(logging.ERROR)
    log.propagate = False
    try:
        yield
    finally:
        log.setLevel(level)
        log.propagate = propagate


# The twin guard: born the same day, surnames that agree, the same postcode (or one missing),
# and forenames that are not the same name (not equal, not one a nickname of the other, not
# swapped with the surname). Such a pair may be twins: never matched automatically. Two
# nicknames of one name (Bill and Liam, both William's) are different names here.
TWIN_GUARD_SQL = """(
    "dob_l" = "dob_r"
    AND ("sn_l" = "sn_r" OR list_has_any("sn_parts_l", "sn_parts_r")
         OR damerau_levenshtein("sn_l", "sn_r") <= 1)
    AND ("pc_l" = "pc_r" OR "pc_l" IS NULL OR "pc_r" IS NULL)
    AND "fn_l" <> "fn_r"
    AND NOT (list_contains("fn_groups_l", "fn_r") OR list_contains("fn_groups_r", "fn_l"))
    AND NOT coalesce("fn_l" = "sn_r" AND "sn_l" = "fn_r", false)
)"""

# What agreed, field by field, for a scored pair of feature rows l and r.
AGREED_SQL = {
    "forename": "l.fn = r.fn OR list_has_any(l.fn_groups, r.fn_groups) "
    "OR damerau_levenshtein(l.fn, r.fn) <= 1",
    "surname": "l.sn = r.sn OR list_has_any(l.sn_parts, r.sn_parts) "
    "OR damerau_levenshtein(l.sn, r.sn) <= 1",
    "date_of_birth": "l.dob = r.dob",
    "postcode": "l.pc = r.pc",
    "school": "l.school = r.school",
}


def _agreed(l_: str = "l", r_: str = "r") -> str:
    parts = ", ".join(
        f"CASE WHEN coalesce({sql}, false) THEN '{name}' END" for name, sql in AGREED_SQL.items()
    )
    return f"nullif(concat_ws(', ', {parts}), '')"


def _scored(
    con: duckdb.DuckDBPyConnection,
    linker: Any,
    floor: float,
) -> str:
    """Predict every blocked pair at or above `floor`; the table of pairs with the guard."""
    with _quiet():
        predictions = linker.inference.predict(
            threshold_match_probability=floor, warning_mode="never"
        )
    con.execute(
        f"""CREATE OR REPLACE TABLE scored AS
            SELECT uid_l, uid_r, match_probability, {TWIN_GUARD_SQL} AS guarded
            FROM {predictions.physical_name}"""
    )
    predictions.drop_table_from_database_and_remove_from_cache()
    return "scored"


def score_within(
    store: Store | None,
    people: pl.DataFrame,
    nicknames: Sequence[tuple[str, str]],
    floor: float,
) -> pl.DataFrame:
    """Pairs of `people` (INPUT_COLUMNS) scored at or above `floor`: uid_l < uid_r,
    match_probability, guarded (the twin guard holds) and agreed (the fields that agreed)."""
    with engine(store) as con:
        _prepare(con, {"people": people}, nicknames)
        linker = _linker(con, ["people"], model("dedupe_only", people.height))
        _scored(con, linker, floor)
        return con.sql(
            f"""SELECT least(s.uid_l, s.uid_r) AS uid_l, greatest(s.uid_l, s.uid_r) AS uid_r,
                       s.match_probability, s.guarded, {_agreed()} AS agreed
                FROM scored AS s JOIN people AS l ON l.uid = s.uid_l
                JOIN people AS r ON r.uid = s.uid_r
                ORDER BY 1, 2"""
        ).pl()


def score_between(
    store: Store | None,
    listed: pl.DataFrame,
    people: pl.DataFrame,
    nicknames: Sequence[tuple[str, str]],
    floor: float,
    forced: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Pairs of a listed record and a stored person scored at or above `floor`: uid_list,
    uid_store, match_probability, guarded, agreed. The uids of the two frames must differ.
    `forced` (uid_list, uid_store) pairs are scored too, blocked or not, at probability 1."""
    with engine(store) as con:
        _prepare(con, {"listed": listed, "stored": people}, nicknames)
        linker = _linker(con, ["listed", "stored"], model("link_only", people.height))
        _scored(con, linker, floor)
        _load(con, "forced", forced if forced is not None else _no_pairs())
        return con.sql(
            f"""WITH pairs AS (
                    SELECT CASE WHEN l.uid IS NOT NULL THEN s.uid_l ELSE s.uid_r END AS uid_list,
                           CASE WHEN l.uid IS NOT NULL THEN s.uid_r ELSE s.uid_l END AS uid_store,
                           s.match_probability, s.guarded
                    FROM scored AS s LEFT JOIN listed AS l ON l.uid = s.uid_l
                    UNION ALL
                    SELECT f.uid_list, f.uid_store, 1.0, false FROM forced AS f
                ), best AS (
                    SELECT uid_list, uid_store, max(match_probability) AS match_probability,
                           bool_and(guarded) AS guarded
                    FROM pairs GROUP BY ALL
                )
                SELECT b.*, {_agreed()} AS agreed
                FROM best AS b JOIN listed AS l ON l.uid = b.uid_list
                JOIN stored AS r ON r.uid = b.uid_store
                ORDER BY uid_list, match_probability DESC, uid_store"""
        ).pl()


def _no_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema={"uid_list": pl.Int64, "uid_store": pl.Int64})


def components(store: Store | None, edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of `edges` (uid_l, uid_r): uid, cluster (the smallest uid in it),
    for every uid on an edge (Splink's connected components, in SQL)."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    if edges.is_empty():
        return pl.DataFrame(schema={"uid": pl.Int64, "cluster": pl.Int64})
    with engine(store) as con:
        _load(con, "edges", edges.select("uid_l", "uid_r"))
        con.execute(
            "CREATE TABLE nodes AS SELECT uid_l AS uid FROM edges UNION SELECT uid_r FROM edges"
        )
        with _quiet():
            found = cluster_pairwise_predictions_at_threshold(
                "nodes", "edges", DuckDBAPI(con), node_id_column_name="uid"
            )
        return con.sql(
            f"""SELECT uid::BIGINT AS uid, min(uid) OVER (PARTITION BY cluster_id)::BIGINT
                AS cluster FROM {found.physical_name} ORDER BY uid"""
        ).pl()


# -- training (benchmarks/matching.py --train writes the shipped model) ---------------------------


def train(
    people: pl.DataFrame,
    nicknames: Sequence[tuple[str, str]],
    *,
    max_pairs: float = 5e6,
    seed: int = 20261202,
) -> dict[str, Any]:
    """Estimate the model from `people` (INPUT_COLUMNS): u by random sampling of pairs, m by
    expectation maximisation in the blocks of TRAINING_RULES; the settings as a dict."""
    from splink import block_on

    with engine() as con:
        _prepare(con, {"people": people}, nicknames)
        linker = _linker(con, ["people"], model_settings())
        with _quiet():
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
            for rule in TRAINING_RULES:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
        trained: dict[str, Any] = linker.misc.save_model_to_json()
    trained.pop("linker_uid", None)
    trained["probability_two_random_records_match"] = 1e-6  # set per run by `prior`
    return trained


def count_blocked_pairs(
    people: pl.DataFrame,
    nicknames: Sequence[tuple[str, str]],
    rules: Sequence[Sequence[str]],
) -> list[int]:
    """How many pairs each rule makes among `people` on its own (blocking rules are vetted
    by these counts)."""
    with engine() as con:
        _prepare(con, {"people": people}, nicknames)
        counts = []
        for rule in rules:
            keys = ", ".join(rule)
            present = " AND ".join(f"{c} IS NOT NULL" for c in rule)
            counts.append(
                int(
                    con.sql(
                        f"""SELECT coalesce(sum(n * (n - 1) // 2), 0)::BIGINT FROM (
                            SELECT count(*) AS n FROM people WHERE {present} GROUP BY {keys})"""
                    ).fetchone()[0]  # type: ignore[index]
                )
            )
        return counts


# -- the store's side: who can be matched, and the decisions people made ------------------------

STORED_COLUMNS = ("heat_id", "kind", "ref", "forename", "surname", "date_of_birth", "postcode",
                  "school")  # fmt: skip


def people_to_match(store: Store, member: str, first_uid: int = 0) -> pl.DataFrame:
    """The member's stored students and ambassadors (STORED_COLUMNS), in a fixed order, each
    with a `uid` from `first_uid` on: whoever was erased is no longer there to match."""
    from heattool.store.people import people_sql

    sql = people_sql(["heat_id_text", *STORED_COLUMNS[2:]], where="member = $member")
    return (
        store.con.execute(
            f"SELECT {', '.join(STORED_COLUMNS)} FROM ({sql}) ORDER BY kind, ref",
            {"member": member},
        )
        .pl()
        .with_row_index("uid")
        .with_columns(pl.col("uid").cast(pl.Int64) + first_uid)
    )


def record_keys(store: Store, listed: pl.DataFrame) -> pl.Series:
    """For each listed record (forename, surname, date_of_birth, postcode, school), the keyed
    hash that names it in `match_decisions`: the same record in a later list has the same key."""
    parts = ", ".join(
        [
            f"coalesce({_letters('forename')}, '')",
            f"coalesce({_letters('surname')}, '')",
            "coalesce(strftime(date_of_birth, '%Y-%m-%d'), '')",
            "coalesce(upper(replace(postcode, ' ', '')), '')",
            "coalesce(regexp_replace(lower(strip_accents(school)), '[^a-z0-9]+', '', 'g'), '')",
        ]
    )
    key = "(SELECT value FROM store_settings WHERE name = 'suppression_key')"
    frame = listed.select(FIELDS).with_row_index("_order")
    with store.registered("listed_records", frame):
        keys = store.con.sql(
            f"SELECT sha256(concat_ws('|', 'match', {key}, {parts})) AS record_key "
            "FROM listed_records ORDER BY _order"
        ).pl()
    return keys["record_key"]


DECISIONS = ("same", "different")


def decisions(store: Store, member: str) -> pl.DataFrame:
    """The member's recorded decisions: record_key, heat_id (text), decision."""
    return store.con.execute(
        "SELECT record_key, heat_id::VARCHAR AS heat_id, decision FROM match_decisions "
        "WHERE member = ? ORDER BY record_key, heat_id",
        [member],
    ).pl()


def unknown_heat_ids(store: Store, member: str, heat_ids: pl.Series) -> pl.Series:
    """The heat_ids that are none of the member's stored people."""
    from heattool.store.people import people_sql

    sql = people_sql(["heat_id_text"], where="member = $member")
    frame = pl.DataFrame({"heat_id": heat_ids.unique().sort()})
    with store.registered("asked_heat_ids", frame):
        found = store.con.execute(
            f"SELECT heat_id FROM asked_heat_ids WHERE heat_id NOT IN (SELECT heat_id FROM ({sql}))"
            " ORDER BY heat_id",
            {"member": member},
        ).pl()
    return found["heat_id"]


def record_decisions(
    store: Store, member: str, decided: pl.DataFrame, sha256: str
) -> dict[str, int]:
    """Store `decided` (record_key, heat_id, decision), replacing earlier decisions about the
    same pairs, in one transaction with an audit event of the counts and the heat_ids."""
    from heattool.clock import utc_now

    counts = {d: int((decided["decision"] == d).sum()) for d in DECISIONS}
    with store.transaction(), store.registered("decided", decided):
        changed = int(
            store.con.execute(
                """SELECT count(*) FROM decided AS d JOIN match_decisions AS m
                   ON m.member = $member AND m.record_key = d.record_key
                   AND m.heat_id = d.heat_id::UUID AND m.decision <> d.decision""",
                {"member": member},
            ).fetchone()[0]  # type: ignore[index]
        )
        event_id = store.audit(
            "match-decide",
            member=member,
            sha256=sha256,
            details={"decisions": decided.height, **counts, "changed": changed},
            heat_ids_sql="SELECT DISTINCT heat_id::UUID AS heat_id, 'decided-' || decision "
            "AS change FROM decided",
        )
        store.con.execute(
            """INSERT OR REPLACE INTO match_decisions
               SELECT $member, record_key, heat_id::UUID, decision, $now, $event FROM decided""",
            {"member": member, "now": utc_now(), "event": event_id},
        )
    return {**counts, "changed": changed, "event_id": event_id}


def audit_match(
    store: Store, member: str, sha256: str | None, details: dict[str, Any], heat_ids: pl.Series
) -> int:
    """The audit event of a list matched: its counts, and the heat_ids it matched."""
    frame = pl.DataFrame({"heat_id": heat_ids.drop_nulls().unique().sort()})
    with store.transaction(), store.registered("matched_people", frame):
        return store.audit(
            "match",
            member=member,
            sha256=sha256,
            details=details,
            heat_ids_sql="SELECT heat_id::UUID AS heat_id, 'matched' AS change FROM matched_people",
        )


GUARD_COLUMNS = ("fn", "sn", "sn_parts", "fn_groups", "dob", "pc")


def guarded_within(
    store: Store | None,
    people: pl.DataFrame,
    nicknames: Sequence[tuple[str, str]],
    members: pl.DataFrame,
) -> pl.DataFrame:
    """Every pair of people in one cluster (`members`: uid, cluster) that the twin guard stops,
    scored or not (a pair of twins may be linked through a third record): uid_l, uid_r, cluster.
    """
    if members.is_empty():
        return pl.DataFrame(schema={"uid_l": pl.Int64, "uid_r": pl.Int64, "cluster": pl.Int64})
    clustered = people.join(members.select("uid"), on="uid", how="semi")
    sides = ", ".join(f'l.{c} AS "{c}_l", r.{c} AS "{c}_r"' for c in GUARD_COLUMNS)
    with engine(store) as con:
        _prepare(con, {"people": clustered}, nicknames)
        _load(con, "members", members.select("uid", "cluster"))
        return con.sql(
            f"""SELECT uid_l, uid_r, cluster FROM (
                    SELECT l.uid AS uid_l, r.uid AS uid_r, ml.cluster, {sides}
                    FROM members AS ml JOIN members AS mr
                        ON mr.cluster = ml.cluster AND ml.uid < mr.uid
                    JOIN people AS l ON l.uid = ml.uid JOIN people AS r ON r.uid = mr.uid
                ) WHERE {TWIN_GUARD_SQL}
                ORDER BY uid_l, uid_r"""
        ).pl()
