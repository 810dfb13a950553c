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
    ("topology", "star", "ring"), ("objective", "vicreg", "byol"), ("degree", 0, "degree"),
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
