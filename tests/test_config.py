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
    ("alpha", -1, "(0.0"), ("alpha", "lots", "iid"), ("clients", 1, "[2, 1000]"),
    ("topology", "star", "ring"), ("objective", "byol", "mim"), ("degree", 0, "degree"),
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
