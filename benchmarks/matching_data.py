"""Labelled synthetic people for the matching benchmark: duplicates, twins and common names.

Every record carries `entity`, the true person it is of. A store of `n` records holds about 9%
of its people twice or three times (under different refs), each copy with the variation real
lists have: typos, nicknames, forename and surname swapped, double-barrelled and hyphenated
surnames, accents dropped or added, a date of birth with day and month swapped or one digit
wrong, a move within the postcode sector (or further), a postcode left out. About 1.5% of
people have a twin: same surname, date of birth, postcode and school, another forename. A
share of people come from a pool of very common names (Muhammad Khan, Oliver Smith), so a
name alone says little. A list to match is drawn the same way: copies of stored people, new
people, and the twins of stored people who are not themselves stored.

Deterministic: the same seed and size give the same people. Plain Python (a benchmark
generator, not heattool's data path): a million records take about 15 s.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import dataclass

import polars as pl

SEED = 20261202

COMMON_FORENAMES = [
    "Oliver", "Amelia", "George", "Isla", "Harry", "Olivia", "Jack", "Ava", "Noah", "Mia",
    "Leo", "Freya", "Charlie", "Emily", "Thomas", "Sophie", "James", "Grace", "William", "Lily",
    "Joshua", "Ella", "Alfie", "Evie", "Jacob", "Poppy", "Oscar", "Ruby", "Henry", "Chloe",
    "Daniel", "Jessica", "Samuel", "Charlotte", "Joseph", "Katherine", "Benjamin", "Elizabeth",
    "Alexander", "Rebecca", "Matthew", "Hannah", "Robert", "Margaret", "Edward", "Victoria",
    "Michael", "Abigail", "Christopher", "Jennifer", "Richard", "Nicholas", "Anthony", "Zoë",
    "Siân", "Seán", "Niamh", "Aoife", "Ciarán", "Eilidh", "Rhiannon", "Dafydd", "Renée",
    "Anaïs", "Oisín", "Róisín", "Callum", "Priya", "Arjun", "Kacper", "Zofia", "Tomás", "Chidi",
    "Kwame", "Mei", "Precious", "Jayden", "Aidan", "Aiden", "Ellie-Mae", "Lily-Rose",
]  # fmt: skip
COMMON_SURNAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Roberts", "Johnson", "Lewis", "Walker", "Robinson", "Wright", "Thompson", "White",
    "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Martin", "Jackson", "Clarke",
    "Turner", "Hill", "Scott", "Cooper", "Morris", "Ward", "Moore", "King", "Watson", "Baker",
    "O'Brien", "O'Neill", "MacDonald", "McLaughlin", "Campbell", "Stewart", "Llewellyn",
    "Nowak", "Kowalski", "Okafor", "Mensah", "Chen", "Nguyen", "Fitzgerald", "Brontë",
    "Ó Súilleabháin", "Doherty", "Quinn", "Murray", "Fraser", "Pritchard", "Jenkins",
]  # fmt: skip
# A community's very common names: many "Muhammad Khan", the hard case for name-only linking.
POOL_FORENAMES = [
    "Muhammad", "Muhammad", "Muhammad", "Mohammed", "Aisha", "Fatima", "Hamza", "Zainab",
    "Ibrahim", "Yusuf", "Maryam", "Ayesha", "Ali", "Omar",
]  # fmt: skip
POOL_SURNAMES = ["Khan", "Khan", "Khan", "Ahmed", "Hussain", "Begum", "Ali", "Patel", "Shah"]
# Variants a person is also known by (the shipped nickname table holds these and more).
NICKNAMES = {
    "William": ["Bill", "Will", "Billy", "Liam"], "Katherine": ["Kate", "Katie", "Kathryn"],
    "Elizabeth": ["Liz", "Beth", "Lizzie", "Eliza"], "Alexander": ["Alex", "Sasha"],
    "Thomas": ["Tom", "Tommy"], "James": ["Jim", "Jamie"], "Joshua": ["Josh"],
    "Samuel": ["Sam"], "Daniel": ["Dan", "Danny"], "Joseph": ["Joe"], "Benjamin": ["Ben"],
    "Matthew": ["Matt"], "Robert": ["Bob", "Rob", "Bobby"], "Margaret": ["Maggie", "Peggy"],
    "Edward": ["Ed", "Ted", "Eddie"], "Victoria": ["Vicky", "Tori"], "Michael": ["Mike"],
    "Abigail": ["Abi", "Abby"], "Christopher": ["Chris"], "Jennifer": ["Jenny", "Jen"],
    "Richard": ["Rick", "Dick"], "Nicholas": ["Nick"], "Anthony": ["Tony"],
    "Rebecca": ["Becky"], "Charlotte": ["Lottie"], "Jessica": ["Jess"], "Henry": ["Harry"],
    "Muhammad": ["Mohammed", "Mohammad", "Mohamed"], "Mohammed": ["Muhammad"],
    "Hannah": ["Hanna"], "Oliver": ["Ollie"], "Alfie": ["Alfred"], "Charlie": ["Charles"],
}  # fmt: skip
ACCENTS = {"Zoë": "Zoe", "Siân": "Sian", "Seán": "Sean", "Ciarán": "Ciaran", "Renée": "Renee",
           "Anaïs": "Anais", "Oisín": "Oisin", "Róisín": "Roisin", "Tomás": "Tomas",
           "Brontë": "Bronte", "Ó Súilleabháin": "O Suilleabhain"}  # fmt: skip
AREAS = ["CT", "ME", "TN", "DA"]  # one member's catchment (Kent)
INWARD = "ABDEFGHJLNPQRSTUWXYZ"
SYLLABLES = [
    "an", "ba", "ber", "bri", "ca", "dar", "del", "don", "el", "fa", "fer", "gan", "gra", "ha",
    "hol", "ing", "ja", "kar", "kel", "la", "len", "li", "lo", "ma", "mar", "mel", "mi", "mon",
    "na", "nel", "no", "or", "pa", "per", "ra", "ren", "ri", "ro", "sa", "sel", "shaw", "son",
    "ta", "ter", "ton", "tri", "va", "ver", "wen", "win", "ya", "zel",
]  # fmt: skip
SCHOOLS = 300
YOUNGEST, DAYS = dt.date(2007, 9, 1), 8 * 365  # eight school years of dates of birth

# How a copy of a person differs from the first record of them: each copy gets one or two.
VARIATIONS = [
    ("none", 6), ("forename_typo", 4), ("surname_typo", 4), ("nickname", 3), ("swap", 2),
    ("double_barrel", 2), ("accents_case", 3), ("dob_swap", 2), ("dob_digit", 3),
    ("moved_sector", 3), ("no_postcode", 3), ("moved_away", 1), ("school", 3),
]  # fmt: skip


@dataclass
class People:
    store: pl.DataFrame  # entity, ref, forename, surname, date_of_birth, postcode, school
    twins: set[frozenset[str]]  # refs of stored twin pairs: never one person
    listed: pl.DataFrame  # a list to match: entity, forename, ...; entity may not be stored


def _synthetic(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _zipf(rng: random.Random, names: list[str], exponent: float) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(len(names))]


class Generator:
    """Draws people and copies of them, deterministically from one seed."""

    def __init__(self, seed: int = SEED):
        self.rng = rng = random.Random(seed)
        tail_fore = sorted({_synthetic(rng, rng.choice((2, 2, 3))) for _ in range(4000)})
        tail_sur = sorted({_synthetic(rng, rng.choice((2, 3, 3))) for _ in range(40000)})
        rng.shuffle(tail_fore)
        rng.shuffle(tail_sur)
        self.forenames = COMMON_FORENAMES + tail_fore
        self.surnames = COMMON_SURNAMES + tail_sur
        # Common names take about half the forenames and a quarter of the surnames.
        self.fore_weights = _zipf(rng, COMMON_FORENAMES, 0.5) + [
            w * 0.02 for w in _zipf(rng, tail_fore, 0.3)
        ]
        self.sur_weights = _zipf(rng, COMMON_SURNAMES, 0.6) + [
            w * 0.003 for w in _zipf(rng, tail_sur, 0.3)
        ]
        self.cum_fore = _cumulative(self.fore_weights)
        self.cum_sur = _cumulative(self.sur_weights)

    def forename(self, pool: bool = False) -> str:
        if pool:
            return self.rng.choice(POOL_FORENAMES)
        return self.rng.choices(self.forenames, cum_weights=self.cum_fore)[0]

    def surname(self, pool: bool = False) -> str:
        if pool:
            return self.rng.choice(POOL_SURNAMES)
        name = self.rng.choices(self.surnames, cum_weights=self.cum_sur)[0]
        if self.rng.random() < 0.03:  # a double-barrelled surname from the start
            name = f"{name}-{self.rng.choices(self.surnames, cum_weights=self.cum_sur)[0]}"
        return name

    def postcode(self) -> str:
        rng = self.rng
        return (
            f"{rng.choice(AREAS)}{rng.randint(1, 20)} {rng.randint(0, 9)}"
            f"{rng.choice(INWARD)}{rng.choice(INWARD)}"
        )

    def person(self) -> dict[str, object]:
        rng = self.rng
        pool = rng.random() < 0.04
        postcode = self.postcode()
        district = int(postcode.split(" ")[0][2:])
        return {
            "forename": self.forename(pool),
            "surname": self.surname(pool),
            "date_of_birth": YOUNGEST + dt.timedelta(days=rng.randrange(DAYS)),
            "postcode": postcode,
            "school": f"School {(district * 13 + rng.randrange(15)) % SCHOOLS:03d}",
        }

    def twin(self, person: dict[str, object]) -> dict[str, object]:
        forename = person["forename"]
        while forename == person["forename"] or _same_name(str(forename), str(person["forename"])):
            forename = self.forename(person["surname"] in POOL_SURNAMES)
        return {**person, "forename": forename}

    def copy(self, person: dict[str, object]) -> dict[str, object]:
        """Another record of the same person, as a later list or upload gives it."""
        rng = self.rng
        kinds = rng.choices([v for v, _ in VARIATIONS], [w for _, w in VARIATIONS], k=2)
        changed = dict(person)
        for kind in kinds[: rng.choice((1, 1, 2))]:
            changed = self._vary(changed, kind)
        return changed

    def _vary(self, p: dict[str, object], kind: str) -> dict[str, object]:
        rng = self.rng
        fore, sur = str(p["forename"]), str(p["surname"])
        dob = p["date_of_birth"]
        assert isinstance(dob, dt.date)
        if kind == "forename_typo":
            return {**p, "forename": typo(rng, fore)}
        if kind == "surname_typo":
            return {**p, "surname": typo(rng, sur)}
        if kind == "nickname" and fore in NICKNAMES:
            return {**p, "forename": rng.choice(NICKNAMES[fore])}
        if kind == "swap":
            return {**p, "forename": sur, "surname": fore}
        if kind == "double_barrel":
            if "-" in sur:
                return {**p, "surname": rng.choice(sur.split("-"))}
            other = self.surname()
            return {
                **p,
                "surname": rng.choice((f"{sur}-{other}", f"{other}-{sur}", f"{sur} {other}")),
            }
        if kind == "accents_case":
            plain = {**p, "forename": ACCENTS.get(fore, fore), "surname": ACCENTS.get(sur, sur)}
            if plain != p:
                return plain
            return {**p, "forename": fore.upper(), "surname": f" {sur.lower()} "}
        if kind == "dob_swap" and dob.day <= 12 and dob.day != dob.month:
            return {**p, "date_of_birth": dt.date(dob.year, dob.day, dob.month)}
        if kind == "dob_digit":
            return {**p, "date_of_birth": one_digit(rng, dob)}
        if kind == "moved_sector" and p["postcode"]:
            sector = str(p["postcode"])[:-2]
            return {**p, "postcode": f"{sector}{rng.choice(INWARD)}{rng.choice(INWARD)}"}
        if kind == "no_postcode":
            return {**p, "postcode": None}
        if kind == "moved_away":
            return {**p, "postcode": self.postcode()}
        if kind == "school":
            return {**p, "school": rng.choice((None, f"School {rng.randrange(SCHOOLS):03d}"))}
        return p

    def people(self, n: int, list_size: int = 0) -> People:
        """About n stored records (copies and twins included) and a list of `list_size`."""
        rng = self.rng
        rows: list[dict[str, object]] = []
        twins: set[frozenset[str]] = set()
        originals: list[tuple[int, dict[str, object]]] = []
        entity = 0
        twin_entities: list[tuple[int, int]] = []
        while len(rows) < n:
            person = self.person()
            entity += 1
            group = [(entity, person)]
            if rng.random() < 0.015:
                entity += 1
                group.append((entity, self.twin(person)))
                twin_entities.append((entity - 1, entity))
            for who, record in group:
                originals.append((who, record))
                rows.append({"entity": who, **record})
                extra = rng.random()
                for _ in range(2 if extra < 0.01 else 1 if extra < 0.09 else 0):
                    rows.append({"entity": who, **self.copy(record)})
        for number, row in enumerate(rows):
            row["ref"] = f"S{number:07d}"
        by_entity: dict[int, list[str]] = {}
        for row in rows:
            by_entity.setdefault(int(str(row["entity"])), []).append(str(row["ref"]))
        listed: list[dict[str, object]] = []
        for who, record in rng.sample(originals, min(list_size, len(originals))):
            roll = rng.random()
            if roll < 0.6:  # a stored person, as the list writes them
                listed.append({"entity": who, **self.copy(record)})
            elif roll < 0.65:  # the twin of a stored person, who is not stored
                entity += 1
                listed.append({"entity": entity, **self.copy(self.twin(record))})
            else:  # someone new
                entity += 1
                listed.append({"entity": entity, **self.person()})
        for first, second in twin_entities:
            twins.update(frozenset((a, b)) for a in by_entity[first] for b in by_entity[second])
        schema = {
            "entity": pl.Int64, "forename": pl.String, "surname": pl.String,
            "date_of_birth": pl.Date, "postcode": pl.String, "school": pl.String,
        }  # fmt: skip
        store = pl.DataFrame(rows, schema={**schema, "ref": pl.String})
        return People(store, twins, pl.DataFrame(listed, schema=schema))


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _same_name(a: str, b: str) -> bool:
    """Whether heattool would take the two forenames for one name (its nickname table)."""
    return frozenset((a.lower(), b.lower())) in _SHIPPED or a.lower() == b.lower()


def _shipped_pairs() -> set[frozenset[str]]:
    from heattool.rules.matching import nickname_pairs

    pairs = nickname_pairs()
    groups: dict[str, set[str]] = {}
    for name, also in pairs:
        groups.setdefault(also.lower(), set()).add(name.lower())
        groups.setdefault(name.lower(), set()).add(name.lower())
    return {frozenset((a, b)) for a in groups for b in groups if a != b and groups[a] & groups[b]}


_SHIPPED = _shipped_pairs()


def typo(rng: random.Random, name: str) -> str:
    """One slip of the keyboard: a letter changed, dropped, doubled or two swapped."""
    if len(name) < 3:
        return name + rng.choice(string.ascii_lowercase)
    at = rng.randrange(1, len(name) - 1)
    kind = rng.choice(("change", "drop", "double", "swap"))
    if kind == "change":
        return name[:at] + rng.choice(string.ascii_lowercase) + name[at + 1 :]
    if kind == "drop":
        return name[:at] + name[at + 1 :]
    if kind == "double":
        return name[:at] + name[at] + name[at:]
    return name[: at - 1] + name[at] + name[at - 1] + name[at + 1 :]


def one_digit(rng: random.Random, day: dt.date) -> dt.date:
    """The same date with one digit of YYYYMMDD written wrong (still a real date)."""
    text = day.strftime("%Y%m%d")
    for _ in range(20):
        at = rng.choice((3, 4, 5, 6, 7))  # the year's last digit, the month's, the day's
        wrong = text[:at] + rng.choice("0123456789".replace(text[at], "")) + text[at + 1 :]
        try:
            return dt.datetime.strptime(wrong, "%Y%m%d").date()
        except ValueError:
            continue
    return day
