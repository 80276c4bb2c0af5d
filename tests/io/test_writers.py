"""Files heattool writes: owner-only, and JSON exactly as Python's encoder would write it."""

from __future__ import annotations

import json
import os
import stat
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.io import writers
from heattool.io.writers import write_json

texts = st.text(alphabet=st.sampled_from([*'ab0-_.:\n"\\é', "\x00"]), max_size=4) | st.just(
    "@@heat_ids@@"
)
values = st.lists(texts, max_size=6) | st.lists(st.integers(), max_size=3) | texts


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.sampled_from(["heat_ids", "event", "rows"]), values))
def test_write_json_writes_what_json_dumps_would(tmp_path_factory, document):
    """Long lists of ids take a faster path; every list, plain or not, is written the same."""
    path = tmp_path_factory.mktemp("json") / "doc.json"
    long_list = writers.LONG_LIST
    writers.LONG_LIST = 1  # every list takes the fast path when it can
    try:
        write_json(document, path)
    finally:
        writers.LONG_LIST = long_list
    assert path.read_text("utf-8") == json.dumps(document, indent=2) + "\n"


def test_a_receipt_of_many_heat_ids_is_indented_json_and_owner_only(tmp_path):
    ids = sorted(str(uuid.uuid4()) for _ in range(5000))
    document = {"event": "purge", "people": len(ids), "heat_ids": ids}
    path = tmp_path / "receipt.json"
    write_json(document, path)
    assert path.read_text("utf-8") == json.dumps(document, indent=2) + "\n"
    assert json.loads(path.read_text("utf-8"))["heat_ids"] == ids
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_is_replaced_whole_never_rewritten_in_place(tmp_path):
    """The old file's inode is never written: a hard link to it keeps the old text, and the
    new file is owner-only whatever the old one's mode was."""
    path, other_name = tmp_path / "doc.json", tmp_path / "hard-link.json"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    os.link(path, other_name)
    write_json({"new": True}, path)
    assert json.loads(path.read_text("utf-8")) == {"new": True}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert other_name.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json", "hard-link.json"]
