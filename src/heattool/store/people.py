"""People of both kinds (students and ambassadors) under common column names: the one query.

Retention, track requests, data-subject rights and the summary all read people through
`people_sql`, so a column means the same for every command. A column one kind lacks is NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from heattool.errors import NoSuchPerson
from heattool.schemas import PERSON_KINDS, REF_COLUMNS
from heattool.schemas.headers import kind_columns
from heattool.store.store import Store

# Who a person is. Retention can leave these out and carry ROWID instead (see `identify`).
IDENTITY = ("member", "ref", "heat_id")
ROWID = "_rowid"  # a row's place in its table: holds within one transaction only
PEOPLE_SCHEMA = pl.Schema(dict.fromkeys(("heat_id", "member", "kind", "ref"), pl.String()))

# Each kind's expression for a common column, where it is not the column of that name.
_EXPRESSIONS: dict[str, dict[str, str]] = {
    "students": {
        "heat_privacy_notice": "NULL::BOOLEAN",
        "hesa_privacy_notice": "NULL::BOOLEAN",
    },
    "ambassadors": {
        "sex": "NULL::VARCHAR",
        "school": "NULL::VARCHAR",
        # An ambassador has no register: their last activity is the last upload that listed them
        # (changed or not), as the importer keeps it; never listed by one, they count from when
        # they were first loaded.
        "last_activity_on": "last_listed_on",
    },
}
_COMMON = {
    "ref": None,  # the kind's own ref column
    "heat_id_text": "heat_id::VARCHAR",
    "first_loaded_on": "created_at::DATE",
    ROWID: "rowid",
}

# The columns the retention policy reads, besides the identity.
RECORD_COLUMNS = (
    "forename",
    "surname",
    "date_of_birth",
    "postcode",
    "permission_to_track",
    "withdrawn_on",
    "last_activity_on",
    "first_loaded_on",
    "expected_he_entry_year",
)
# The session variable a records query reads its member from: see `records`.
MEMBER_VARIABLE = "heattool_records_member"


def _expression(kind: str, column: str) -> str:
    if column in _EXPRESSIONS[kind]:
        return _EXPRESSIONS[kind][column]
    if column == "ref":
        return REF_COLUMNS[kind] or "NULL"
    return _COMMON.get(column) or column


def people_sql(
    columns: Sequence[str], *, kinds: Sequence[str] = PERSON_KINDS, where: str = ""
) -> str:
    """Every person of `kinds` with `kind` and `columns`, one SELECT per kind, UNION ALL.

    `where` (SQL over each kind's own columns, e.g. `member = $member`) filters every part.
    """
    parts = []
    for kind in kinds:
        selected = ", ".join(f"{_expression(kind, c)} AS {_alias(c)}" for c in columns)
        condition = f" WHERE {where}" if where else ""
        parts.append(f"SELECT '{kind}' AS kind, {selected} FROM {kind}{condition}")
    return "\nUNION ALL\n".join(parts)


def _alias(column: str) -> str:
    return "heat_id" if column == "heat_id_text" else column


# -- retention's records ------------------------------------------------------------------------


def records(store: Store, member: str | None = None, *, ids: bool = True) -> pl.DataFrame:
    """Every person in the store (or of one member) with the columns retention reads.

    With `ids=False` a record has its ROWID instead of member, ref and heat_id (they cost 70%
    of the query): `identify` finds them again. heat_id leaves as a UUID: DuckDB's own Arrow
    conversion to text is twice as fast as a cast in SQL.

    A relation without parameters, unlike a prepared statement, has DuckDB build the Arrow
    result in parallel: 10 million people arrive in about 65% of the time. So the member, which
    is user input, goes in as a session variable rather than into the SQL text. The parallel
    result comes in uneven chunks, which cost the policy more time and memory than one rechunk.
    """
    who = IDENTITY if ids else (ROWID,)
    member_is = f"getvariable('{MEMBER_VARIABLE}')"
    sql = people_sql([*who, *RECORD_COLUMNS], where=f"{member_is} IS NULL OR member = {member_is}")
    con = store.con
    con.execute(f"SET VARIABLE {MEMBER_VARIABLE} = ?", [member])
    try:
        return con.sql(sql).pl().rechunk()
    finally:
        con.execute(f"RESET VARIABLE {MEMBER_VARIABLE}")


def identify(store: Store, unidentified: pl.DataFrame) -> pl.DataFrame:
    """Records read without ids (`ids=False`), with their member, ref and heat_id put back.

    A ROWID only holds within one transaction: call this in the transaction that read them.
    """
    if not store.in_transaction:
        raise RuntimeError("identify() needs the transaction that read the records")
    order = unidentified.select("kind", ROWID).with_row_index("_order")
    with store.registered("unidentified", order):
        found = store.con.sql(
            "\nUNION ALL\n".join(
                f"""SELECT u._order, t.member, t.{ref} AS ref, t.heat_id
                    FROM unidentified AS u JOIN {kind} AS t ON t.rowid = u.{ROWID}
                    WHERE u.kind = '{kind}'"""
                for kind, ref in ((k, REF_COLUMNS[k]) for k in PERSON_KINDS)
            )
        ).pl()
    if found.height != unidentified.height:
        raise RuntimeError("records changed since they were read")
    found = found.sort("_order")
    at = unidentified.columns.index(ROWID)
    columns = unidentified.columns
    return unidentified.select(*columns[:at], *(found[c] for c in IDENTITY), *columns[at + 1 :])


# -- the nation of schooling ----------------------------------------------------------------

SCHOOL_NATION = "school_nation"  # the nation whose school year a person is in
_NATIONS, _NATIONS_ARROW = "school_nations", "school_nations_arrow"  # rowid -> nation
_OUTWARD = "_outward"


def fill_school_nation(store: Store) -> None:
    """Set every stored person's `school_nation` by the entry-year rule (rules/entry_year.py).

    The rule is Polars (it is never copied into SQL): each kind's `nation` and postcode are
    read once, the rule judges them all as one expression, and one UPDATE joins the result back
    by ROWID, so it runs inside the caller's transaction (migration 0007). The importer sets the
    column itself on every row it writes.
    """
    from heattool.rules.entry_year import default_entry_year_rules, outward_code, schooling_nation

    rules = default_entry_year_rules()
    for kind in PERSON_KINDS:
        read = [c for c in ("nation", "postcode") if c in kind_columns(kind)[0]]
        frame = store.con.sql(f"SELECT rowid AS {ROWID}, {', '.join(read)} FROM {kind}").pl()
        if frame.is_empty():
            continue
        # The outward code once, as a column (the rule reads it several times), by the pattern
        # that takes a postcode in any form: stores older than today's validation included.
        nation = schooling_nation(frame.schema, rules, pl.col(_OUTWARD))
        nations = frame.with_columns(outward_code(pl.col("postcode")).alias(_OUTWARD)).select(
            ROWID, nation.alias(SCHOOL_NATION)
        )
        # Copied first: the join's filter on ROWID, pushed into an Arrow scan, fails on its
        # text column (pyarrow has no filter for string views).
        with store.registered(_NATIONS_ARROW, nations):
            store.con.execute(f"CREATE TEMP TABLE {_NATIONS} AS SELECT * FROM {_NATIONS_ARROW}")
        try:
            store.con.execute(
                f"UPDATE {kind} SET {SCHOOL_NATION} = n.{SCHOOL_NATION} FROM {_NATIONS} AS n "
                f"WHERE {kind}.rowid = n.{ROWID}"
            )
        finally:
            store.con.execute(f"DROP TABLE {_NATIONS}")


# -- one person -----------------------------------------------------------------------------


def person(
    store: Store, heat_id: str | None = None, member: str | None = None, ref: str | None = None
) -> pl.DataFrame:
    """The one person with this heat_id (or this member's ref), as a `people` frame.

    Raises NoSuchPerson when there is none.
    """
    sql = people_sql(["heat_id_text", "member", "ref"])
    found = store.con.execute(
        f"SELECT heat_id, member, kind, ref FROM ({sql}) "
        "WHERE ($id IS NULL OR heat_id = $id) AND ($member IS NULL OR member = $member) "
        "AND ($ref IS NULL OR ref = $ref) ORDER BY kind",
        {"id": heat_id.strip().lower() if heat_id else None, "member": member, "ref": ref},
    ).pl()
    if found.is_empty():
        scope = f" for member {member}" if member else ""
        who = f"heat_id {heat_id}" if heat_id else f"ref {ref}"
        raise NoSuchPerson(f"no person with {who}{scope} in {store.path}")
    if found.height > 1:
        kinds = " and ".join(found["kind"].to_list())
        raise NoSuchPerson(
            f"ref {ref} of member {member} names more than one person ({kinds}); "
            "give their heat_id instead (see subject find)"
        )
    return found.cast(PEOPLE_SCHEMA)


def find(
    store: Store,
    *,
    forename: str,
    surname: str,
    date_of_birth: dt.date,
    postcode: str | None = None,
    member: str | None = None,
) -> pl.DataFrame:
    """People whose folded forename and surname (see `erasure.fold_name_sql`), date of birth
    (and postcode) match."""
    from heattool.store.erasure import fold_name_sql

    sql = people_sql(
        ["heat_id_text", "member", "ref", "postcode", "withdrawn_on"],
        where=f"""{fold_name_sql("forename")} = {fold_name_sql("$forename")}
              AND {fold_name_sql("surname")} = {fold_name_sql("$surname")}
              AND date_of_birth = $dob
              AND ($postcode IS NULL OR postcode = $postcode)
              AND ($member IS NULL OR member = $member)""",
    )
    return store.con.execute(
        f"SELECT heat_id, member, kind, ref, postcode, withdrawn_on FROM ({sql}) "
        "ORDER BY member, kind, ref",
        {
            "forename": forename,
            "surname": surname,
            "dob": date_of_birth,
            "postcode": postcode,
            "member": member,
        },
    ).pl()


def withdraw(store: Store, who: pl.DataFrame, on: dt.date) -> dt.date | None:
    """Record the withdrawal of one person on `on`; the earlier day if already withdrawn."""
    kind, heat_id = who["kind"][0], who["heat_id"][0]
    previous: dt.date | None = store.scalar(
        f"SELECT withdrawn_on FROM {kind} WHERE heat_id = $id::UUID", {"id": heat_id}
    )
    if previous is None:
        store.con.execute(
            f"UPDATE {kind} SET withdrawn_on = $on WHERE heat_id = $id::UUID",
            {"on": on, "id": heat_id},
        )
    return previous
