"""The federation: one cached object for the explorer's preview and the simulator."""
import numpy as np
import pytest

from dssl_lite import preset
from dssl_lite.federation import Federation
from dssl_lite.simulator import Simulator


def test_the_same_setting_is_the_same_object():
    a = Federation.from_config(preset("live"))
    assert Federation.from_config(preset("live", objective="cl", lr=1e-3)) is a  # training fields don't matter
    assert Federation.from_config(preset("live", seed=1)) is not a
    assert sum(a.sizes) == sum(len(p) for p in a.parts) and a.histogram.shape == (10, 10)
    with pytest.raises(ValueError):
        a.parts[0][0] = 1  # shared: read-only


def test_the_simulator_trains_on_the_federation_the_explorer_previews():
    pytest.importorskip("ipywidgets")
    from dssl_widgets.model import ExplorerModel

    cfg = preset("tiny", alpha=0.3, topology="ring", seed=4)
    m = ExplorerModel(cfg)
    sim = Simulator(cfg)
    assert m.setting.federation is sim.federations[0]
    assert m.setting.parts is sim.parts and m.setting.adjacency is sim.adjacency
    for k, p in enumerate(sim.parts):  # and the simulator really indexes those images
        assert np.array_equal(sim.index[k, : len(p)].numpy(), p)
    m.close()


def test_the_participant_schedule_is_seeded_and_per_round():
    fed = Federation.from_config(preset("tiny", clients=8, participation=0.5, rounds=5))
    rounds = [fed.participants(r) for r in range(5)]
    assert all(len(r) == 4 and len(set(r)) == 4 for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # a new sample every round
    assert Federation.from_config(preset("tiny", participation=1.0)).participants(0) is None
