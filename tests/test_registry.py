"""Registries and the fields a part declares (`registry.py`)."""
import pytest

from dssl_lite import registry
from dssl_lite.errors import ConfigError
from dssl_lite.registry import OBJECTIVES, TOPOLOGIES, Param


def test_a_params_range_is_checked_and_said():
    p = Param("knob", 0.5, "a knob", lo=0.0, hi=1.0, lo_open=True)
    p.check(1.0)
    for bad in (0.0, 1.5, "x", True, float("nan")):
        with pytest.raises(ConfigError, match=r"^knob: got .*; allowed: a number in \(0, 1\]$"):
            p.check(bad)
    assert Param("n", 2, "", lo=1).allowed() == "an integer >= 1"
    assert Param("s", "a", "", choices=("a", "b")).allowed() == "a, b"


def test_a_field_declared_twice_must_be_the_same_field(monkeypatch):
    monkeypatch.setattr(registry, "PARAMS", dict(registry.PARAMS))
    same = registry.PARAMS["mask_ratio"]
    assert registry.declare(same) == (same,)
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare(Param("mask_ratio", 0.5, "another"))


def test_entries_carry_help_fields_and_a_colour():
    assert {p.name for p in OBJECTIVES.params("mar")} == {"mask_ratio", "mar_weight", "mar_schedule"}
    assert OBJECTIVES.params("cl") == () and {p.name for p in TOPOLOGIES.params("fl")} == {"participation", "dropout"}
    assert {p.name for p in TOPOLOGIES.params("regular")} >= {"degree", "gossip_steps", "mixing"}
    assert OBJECTIVES.colour("mim") != OBJECTIVES.colour("cl")
    assert all(OBJECTIVES.get(n).help for n in OBJECTIVES) and all(TOPOLOGIES.get(n).help for n in TOPOLOGIES)
    with pytest.raises(ConfigError, match="^objective: got 'nope'"):
        OBJECTIVES.get("nope")


def test_a_name_registered_twice_is_refused():
    add = OBJECTIVES.register("mim", "again")
    with pytest.raises(ValueError, match="registered twice"):
        add(object())


def test_plugins_are_imported_by_name(monkeypatch, tmp_path):
    (tmp_path / "my_plugin_mod.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DSSL_PLUGINS", " my_plugin_mod ,")
    assert registry.plugins() == ["my_plugin_mod"]
