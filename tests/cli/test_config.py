"""heattool.toml: settings for cron, flags over the file over the environment (issue 14, 4)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.helpers import EXAMPLES, UPLOADS


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("HEATTOOL_DB", "HEATTOOL_POLICY", "HEATTOOL_ALIASES", "HEATTOOL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def settings(invoke, *args) -> dict[str, tuple[str | None, str]]:
    result = invoke(*args, "config", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {r["setting"]: (r["value"], r["from"]) for r in json.loads(result.stdout)["settings"]}


def test_heattool_toml_here_sets_the_store_and_member_of_every_command(invoke, folder):
    (folder / "heattool.toml").write_text('db = "kent.duckdb"\nmember = "KENT"\n', "utf-8")
    result = invoke("import", *UPLOADS)  # no --db, no --member
    assert result.exit_code == 0, result.stderr
    assert (folder / "kent.duckdb").exists() and not (folder / "heattool.duckdb").exists()
    result = invoke("summary", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [m["member"] for m in json.loads(result.stdout)["members"]] == ["KENT"]


def test_a_flag_wins_over_the_file_and_the_file_over_the_environment(invoke, folder, monkeypatch):
    monkeypatch.setenv("HEATTOOL_DB", str(folder / "env.duckdb"))
    assert settings(invoke)["db"] == (str(folder / "env.duckdb"), "HEATTOOL_DB")
    (folder / "heattool.toml").write_text('db = "file.duckdb"\n', "utf-8")
    assert settings(invoke)["db"] == (str(folder / "file.duckdb"), str(folder / "heattool.toml"))
    assert invoke("import", EXAMPLES / "students.csv", "-m", "KENT").exit_code == 0
    assert (folder / "file.duckdb").exists() and not (folder / "env.duckdb").exists()
    flag = folder / "flag.duckdb"
    assert invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", flag).exit_code == 0
    assert flag.exists() and not (folder / "env.duckdb").exists()


def test_paths_in_a_named_file_are_relative_to_it(invoke, folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("etc")
    named = elsewhere / "kent.toml"
    named.write_text('db = "stores/kent.duckdb"\nmember = "kent"\n', "utf-8")
    (elsewhere / "stores").mkdir()
    assert settings(invoke, "--config", named)["db"][0] == str(elsewhere / "stores/kent.duckdb")
    result = invoke("--config", named, "import", EXAMPLES / "students.csv")
    assert result.exit_code == 0, result.stderr
    assert (elsewhere / "stores" / "kent.duckdb").exists()
    os.environ["HEATTOOL_CONFIG"] = str(named)
    try:
        assert settings(invoke)["member"] == ("kent", str(named))
    finally:
        del os.environ["HEATTOOL_CONFIG"]


@pytest.mark.parametrize(
    "text, code, says",
    [
        ('dbb = "x.duckdb"\n', 3, "unknown setting 'dbb'"),
        ("db = 3\n", 3, "db must be a non-empty string"),
        ('db = "x\n', 3, "not valid TOML"),
    ],
)
def test_a_bad_settings_file_is_refused(invoke, folder, text, code, says):
    (folder / "heattool.toml").write_text(text, "utf-8")
    result = invoke("summary")
    assert result.exit_code == code
    assert says in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_missing_named_file_is_an_error(invoke, folder):
    result = invoke("--config", folder / "nope.toml", "summary")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_out_dir_takes_the_rejects_and_the_receipts(invoke, folder):
    (folder / "heattool.toml").write_text('member = "KENT"\nout_dir = "out"\n', "utf-8")
    result = invoke("import", *UPLOADS, EXAMPLES / "messy_students.csv")
    assert result.exit_code == 1  # messy_students has rows to fix
    out = folder / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert [p.name for p in out.glob("*.rejects.csv")] == ["messy_students.rejects.csv"]
    result = invoke("purge", "--as-of", "2060-09-01", "--allow-future", "--yes")
    assert result.exit_code == 0, result.stderr
    assert len(list(out.glob("heattool-deletion-receipt-*.json"))) == 1


def test_key_file_in_the_settings_opens_an_encrypted_store(invoke, folder, monkeypatch):
    monkeypatch.delenv("HEATTOOL_KEY", raising=False)
    monkeypatch.delenv("HEATTOOL_KEY_FILE", raising=False)
    key = folder / "store.key"
    key.write_text("correct horse battery staple\n", "utf-8")
    key.chmod(0o600)
    (folder / "heattool.toml").write_text('member = "KENT"\nkey_file = "store.key"\n', "utf-8")
    assert invoke("import", EXAMPLES / "students.csv").exit_code == 0
    assert b"Amelia" not in (folder / "heattool.duckdb").read_bytes()
    assert invoke("summary").exit_code == 0
    (folder / "heattool.toml").write_text('member = "KENT"\n', "utf-8")
    assert invoke("summary").exit_code == 2  # without the key, the store cannot be opened
