import json

import pytest

from dspic_lib.chapters import setup as chapter
from dspic_lib.cli import main
from dspic_lib.config import PROFILES, get_profile, parse_assignments
from dspic_lib.errors import ConfigError


def test_paper_profile_is_table_4():
    p = PROFILES["paper"]
    assert (p.rows, p.cols) == (1024, 256)
    assert p.epochs == 300 and p.learning_rate == 1e-4 and p.batch_size in (8, 16)


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        get_profile("gpu")
    for name in PROFILES:
        assert repr(name) in str(err.value)


def test_overrides_from_env_then_arguments(monkeypatch):
    monkeypatch.setenv("DSPIC_EPOCHS", "11")
    monkeypatch.setenv("DSPIC_BATCH_SIZE", "2")
    p = get_profile("cpu", batch_size="5")
    assert p.epochs == 11 and p.batch_size == 5 and p.name == "cpu"
    assert PROFILES["cpu"].epochs != 11  # the registered profile is untouched (frozen)


@pytest.mark.parametrize("bad", [{"epochz": 1}, {"epochs": "many"}, {"name": "x"}])
def test_bad_override_is_refused(bad):
    with pytest.raises(ConfigError):
        PROFILES["smoke"].override(**bad)


def test_parse_assignments():
    assert parse_assignments(["epochs=5", "seed = 2"]) == {"epochs": "5", "seed": "2"}
    with pytest.raises(ConfigError):
        parse_assignments(["epochs"])


def test_chapter_setup_stores_effective_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("DSPIC_DATA", raising=False)
    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "home"))
    ch = chapter.setup("smoke", None, str(tmp_path / "res"), seed=3)
    stored = json.loads((tmp_path / "res" / "profile.json").read_text())
    assert stored["seed"] == 3 and stored["name"] == "smoke"
    assert "seed3" in str(ch.data_dir)
    assert "`smoke`" in ch.banner().data and "seed 3" in ch.banner().data


def test_cli_unknown_profile_fails_cleanly(capsys):
    assert main(["book", "--profile", "nope", "--no-html"]) == 1
    err = capsys.readouterr().err
    assert "unknown profile 'nope'" in err and "'smoke'" in err
