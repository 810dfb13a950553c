import pytest

from dssl_lite.config import PRESETS, Config, ConfigError, from_dict, preset


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
    c = from_dict({"alpha": "iid", "clients": "12", "lr": "0.01", "rounds": 3.0, "vectorized": "false"})
    assert c.alpha is None and c.iid and c.clients == 12 and c.lr == 0.01 and c.rounds == 3
    assert c.vectorized is False


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
def test_a_field_added_with_its_default_leaves_the_key_unchanged():
    import dataclasses
    import json

    from dssl_lite import atlas

    Extended = dataclasses.make_dataclass("Extended", [("new_knob", int, 7)], bases=(Config,), frozen=True)
    for cfg in (preset("live"), preset("tiny", objective="cl", topology="ring", alpha=None)):
        assert Extended(**cfg.as_dict()).key() == cfg.key()
        assert Extended(**cfg.as_dict(), new_knob=8).key() != cfg.key()
    row = atlas.read(atlas.SHIPPED / "live.csv").iloc[0]  # a shipped row, from before the field existed
    stored = json.loads(row["config"])
    assert Extended(**from_dict(stored).as_dict()).key() == from_dict(stored).key() == row["key"]


def test_auto_device_and_the_device_it_resolves_to_are_one_identity():
    import torch

    here = "cuda" if torch.cuda.is_available() else "cpu"
    assert preset("live").key() == preset("live", device=here).key()
    assert preset("live", client_chunk=3).key() == preset("live").key()  # chunking moves no number
    assert preset("live", vectorized=False).key() != preset("live").key()  # the loop rounds differently


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
