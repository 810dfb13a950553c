import pytest

from dssl_lite.config import Config, ConfigError, from_dict
from dssl_lite.presets import PRESETS, preset
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from dssl_lite import cli, sweep as sw
from dssl_lite.config import field_names
from helpers import error_lines



def test_defaults_validate_and_round_trip():
    c = Config()
    assert from_dict(c.as_dict()) == c
    assert Config.__dataclass_params__.frozen


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_valid(name):
    assert isinstance(preset(name), Config)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError) as e:
        from_dict({"alpah": 0.1})
    assert e.value.field == "alpah" and "allowed" in str(e.value)


@pytest.mark.parametrize("field,value,needle", [
    ("alpha", -1, "(0.0"), ("alpha", "lots", "iid"), ("clients", 1, "[2, 100000]"),
    ("topology", "hypercube", "ring"), ("objective", "vicreg", "byol"), ("degree", 0, "degree"),
    ("lr", 0, "lr"), ("patch_size", 3, "divide"), ("mask_ratio", 1.0, "0.95"),
])
def test_bad_values_name_field_and_range(field, value, needle):
    with pytest.raises(ConfigError) as e:
        from_dict({field: value})
    assert e.value.field == field and needle in str(e.value)


def test_odd_regular_graph_rejected():
    with pytest.raises(ConfigError, match="even"):
        Config(clients=5, topology="regular", degree=3)


def test_coercion_of_cli_and_yaml_spellings():
    c = from_dict({"alpha": "iid", "clients": "12", "lr": "0.01", "rounds": 3.0, "compile": "false"})
    assert c.alpha is None and c.iid and c.clients == 12 and c.lr == 0.01 and c.rounds == 3
    assert c.compile is False
    assert from_dict({"vectorized": "false"}).strategy == "loop"  # the old oracle switch still loads


def test_replace_validates():
    with pytest.raises(ConfigError):
        Config().replace(rounds=0)
    assert Config().replace(alpha=1.0).alpha == 1.0


def test_degree_bounded_by_clients_for_graphs():
    with pytest.raises(ConfigError, match="degree"):
        Config(topology="regular", clients=10, degree=10)


@pytest.mark.parametrize("changes,field", [
    (dict(topology="regular", degree=1, clients=4), "degree"),       # 1-regular: disconnected
    (dict(topology="regular", degree=4, clients=4), "degree"),       # degree >= clients
    (dict(topology="erdos_renyi", degree=1, clients=40), "degree"),  # almost never connected
    (dict(participation=0.5, topology="ring"), "participation"),
    (dict(model="resnet_small", patch_size=3, image_size=24), "patch_size"),
    (dict(alpha=True), "alpha"), (dict(clients=True), "clients"), (dict(lr=True), "lr"),
    (dict(min_client_size=10**9), "min_client_size"), (dict(lr_schedule="step"), "lr_schedule"),
])
def test_infeasible_settings_are_rejected_before_any_work(changes, field):
    with pytest.raises(ConfigError) as e:
        from_dict(changes)
    assert e.value.field == field


@pytest.mark.parametrize("bad", [None, [1, 2], "alpha=0.1", {1: 2}])
def test_from_dict_wants_a_mapping_of_names(bad):
    with pytest.raises(ConfigError) as e:
        from_dict(bad)
    assert e.value.field == "config"


@pytest.mark.parametrize("inf", ["inf", "iid", ".inf", float("inf"), "Infinity", None])
def test_infinity_means_iid_everywhere(inf):
    assert from_dict({"alpha": inf}).alpha is None


def test_error_lines_stay_short_for_huge_values():
    with pytest.raises(ConfigError) as e:
        from_dict({"dataset": "x" * 10**6})
    assert len(str(e.value)) < 300


# ----- identity: what decides the numbers -----
def test_a_field_added_with_its_default_leaves_the_key_unchanged(monkeypatch):
    """A part that declares a new field (here MIM, a `new_knob`): every existing config, and every
    shipped row, keeps its key; the new field moves the key only away from its default."""
    import dataclasses
    import json

    from dssl_lite import atlas, registry

    knob = registry.Param("new_knob", 7, "a field added later", lo=0)
    mim = registry.OBJECTIVES.get("mim")
    before = {name: preset(name).key() for name in ("live", "live-short")}
    monkeypatch.setitem(registry.PARAMS, "new_knob", knob)
    monkeypatch.setitem(registry.OBJECTIVES._entries, "mim", dataclasses.replace(mim, params=(*mim.params, knob)))
    for name, key in before.items():
        assert preset(name).key() == key and preset(name, new_knob=7).key() == key
        assert preset(name, new_knob=8).key() != key
    assert preset("live", objective="cl", new_knob=8).key() == preset("live", objective="cl").key()  # CL never reads it
    row = atlas.read(atlas.SHIPPED / "live-short.csv").iloc[0]  # a shipped row, from before the field existed
    assert from_dict(json.loads(row["config"])).key() == row["key"]


def test_auto_device_and_the_device_it_resolves_to_are_one_identity():
    import torch

    here = "cuda" if torch.cuda.is_available() else "cpu"
    assert preset("live").key() == preset("live", device=here).key()
    assert preset("live-short", client_chunk=3).key() == preset("live-short").key()  # eager: chunking moves no number
    assert preset("live", client_chunk=3).key() != preset("live").key()  # compiled: one kernel per chunk shape
    assert preset("live-short", strategy="loop").key() != preset("live-short").key()  # the loop rounds differently


def test_fields_a_config_never_reads_are_not_part_of_it():
    assert preset("tiny", objective="cl", mask_ratio=0.5).key() == preset("tiny", objective="cl").key()
    assert preset("tiny", objective="mim", mask_ratio=0.5).key() != preset("tiny").key()
    assert preset("tiny", topology="ring", degree=3).key() == preset("tiny", topology="ring").key()
    assert preset("tiny", alpha=None, min_client_size=3).key() == preset("tiny", alpha=None).key()


@pytest.mark.parametrize("objective, field, value", [("cl", "mask_ratio", 0.5), ("mim", "mar_weight", 3.0)])
def test_an_unread_field_really_changes_nothing(objective, field, value):
    """The identity may drop a field only if training ignores it: same losses, bit for bit."""
    from dssl_lite.experiment import train

    cfg = preset("tiny", objective=objective, rounds=1)
    a, b = train(cfg)[1], train(cfg.replace(**{field: value}))[1]
    assert [h["loss"] for h in a] == [h["loss"] for h in b]


def test_a_stored_config_with_a_retired_field_still_loads():
    d = preset("tiny").as_dict()
    assert from_dict({**d, "eval_every": 0}) == preset("tiny")
    with pytest.raises(ConfigError) as e:
        from_dict({**d, "eval_every": 5})
    assert e.value.field == "eval_every"


# ----- every input: accepted, or a ConfigError naming a real field -----
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
                   st.floats(), st.text(max_size=300), st.sampled_from(["iid", "inf", ".inf", "nan", "1e400",
                                                                        "ring", "regular", "cl", "0", "-1"]),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


KEYS = st.one_of(st.sampled_from(field_names()), st.text(max_size=70))


FUZZ = settings(max_examples=150, deadline=None)


def assert_clean(e: ConfigError, allowed: set) -> None:
    """One short line that names a real field (or says the key it names is unknown)."""
    assert e.field in allowed or e.message.startswith("unknown field"), e
    assert "\n" not in str(e) and len(str(e)) < 700, str(e)[:200]


@FUZZ
@given(d=st.one_of(st.dictionaries(KEYS, VALUES, max_size=6), st.none(), st.integers(), st.text(max_size=5),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.integers(), st.integers(), max_size=2)))
def test_any_config_dict_is_accepted_or_names_a_field(d):
    try:
        cfg = from_dict(d)
    except ConfigError as e:
        assert_clean(e, set(field_names()) | {"config"})
    else:
        assert isinstance(cfg, Config) and from_dict(cfg.as_dict()) == cfg


@FUZZ
@given(sets=st.lists(st.one_of(st.text(max_size=40),
                               st.builds(lambda k, v: f"{k}={v}", st.sampled_from(field_names()),
                                         st.one_of(st.text(max_size=20), VALUES.map(str)))), max_size=4))
def test_any_set_strings_are_accepted_or_name_a_field(sets):
    try:
        cfg = cli.resolve_config("tiny", {}, sets)
    except ConfigError as e:
        assert_clean(e, set(field_names()) | {"config", "set"})
    else:
        assert isinstance(cfg, Config)


def test_infinity_means_iid_in_grids_and_the_cli_too(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text("preset: tiny\ngrid: {alpha: [.inf, 0.1]}\n")
    assert sw.load_grid(g)["runs"][0]["params"]["alpha"] == math.inf
    assert sw.grid.engine_config(sw.load_grid(g)["runs"][0]["params"]).alpha is None
    assert from_dict({"alpha": float("inf")}).alpha is None and Config(alpha=float("inf")).alpha is None
    assert cli.resolve_config("tiny", {"alpha": "inf"}, []).alpha is None
    assert preset("tiny", alpha=math.inf).iid


@pytest.mark.parametrize("changes, field", [
    (dict(alpha=True), "alpha"), (dict(seed=False), "seed"), (dict(min_client_size=10**9), "min_client_size"),
    (dict(topology="regular", degree=1, clients=4), "degree"),
    (dict(topology="erdos_renyi", degree=1, clients=40), "degree"),
])
def test_wrongly_accepted_values_are_now_refused(changes, field):
    with pytest.raises(ConfigError) as e:
        from_dict(changes)
    assert e.value.field == field


def test_a_huge_bad_value_is_shortened_in_the_message(tmp_path, capsys):
    assert cli.main(["run", "--preset", "tiny", "--set", "lr=" + "x" * 1_000_000]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "lr" in line and len(line) < 200
    with pytest.raises(ConfigError) as e:
        from_dict({"k" * 10_000: 1})
    assert len(str(e.value)) < 700
    with pytest.raises(ConfigError, match="too long to show"):  # no repr past 4,300 digits
        from_dict({"seed": 10**5000})


@pytest.mark.parametrize("value, loop", [(True, False), (False, True), ("true", False), ("false", True),
                                         (" False ", True), ("TRUE", False)])
def test_the_legacy_vectorized_switch_takes_true_or_false(value, loop):
    assert (from_dict({"vectorized": value}).strategy == "loop") == loop
    if not loop:
        assert from_dict({"vectorized": value}).strategy == Config().strategy


@pytest.mark.parametrize("value", [1, 0, "yes", "no", "", None, "maybe", 0.5, [False]])
def test_any_other_vectorized_value_is_refused_naming_it(value):
    with pytest.raises(ConfigError) as e:
        from_dict({"vectorized": value})
    assert e.value.field == "vectorized" and "true, false" in str(e.value)
