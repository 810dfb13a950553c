"""Communication accounted by hand on small graphs, and `dropout`: clients and links that fail,
seeded per (run seed, round), renormalised, identical under every executor and strategy."""
import json

import numpy as np
import pytest
import torch

from dssl_lite import preset
from dssl_lite.cli import main
from dssl_lite.errors import ConfigError
from dssl_lite.experiment import train
from dssl_lite.federation import Federation
from dssl_lite.traffic import communication, model_bytes, per_round


def test_one_message_is_one_clients_parameters_and_mixed_state():
    from dssl_lite.objectives import create_objective

    cfg = preset("tiny")
    n = sum(p.numel() for p in create_objective(cfg, 1).parameters())
    assert model_bytes(cfg) == 4 * n
    assert model_bytes(cfg.replace(objective="mar")) > model_bytes(cfg.replace(objective="mim"))  # + its global latent


def test_a_ring_of_four_by_hand():
    cfg = preset("tiny", topology="ring", clients=4, rounds=3)
    m = model_bytes(cfg)
    c = communication(cfg)
    assert c["bytes_per_round"] == 8 * m                 # 4 edges, a message each way
    assert c["bytes_per_client_per_round"] == 4 * m      # 2 sent + 2 received
    assert c["bytes_busiest_per_round"] == 4 * m and c["total_bytes"] == 3 * 8 * m
    two = communication(cfg.replace(gossip_steps=2))
    assert two["bytes_per_round"] == 16 * m


def test_fl_by_hand_the_server_is_the_busiest():
    cfg = preset("tiny", clients=4, rounds=2)
    m = model_bytes(cfg)
    c = communication(cfg)
    assert c["bytes_per_round"] == 8 * m and c["bytes_busiest_per_round"] == 8 * m  # the server: 4 down, 4 up
    assert c["bytes_per_client_per_round"] == 2 * m
    half = communication(cfg.replace(participation=0.5))  # 2 of 4 sampled each round
    assert half["bytes_per_round"] == 4 * m
    assert communication(cfg.replace(topology="none"))["total_bytes"] == 0


def test_what_was_really_sent_under_dropout():
    cfg = preset("tiny", clients=8, rounds=6, dropout=0.5)
    m, fed = model_bytes(cfg), Federation.from_config(cfg)
    for r, (sent, _) in enumerate(per_round(cfg)):
        assert sent == (8 + (~fed.lost(r)).sum()) * m      # everyone downloads, the lost never arrive
    ring = preset("tiny", topology="ring", clients=8, rounds=6, dropout=0.5)
    fed = Federation.from_config(ring)
    for r, (sent, _) in enumerate(per_round(ring)):
        assert sent == fed.graph_at(r).sum() * model_bytes(ring)


def test_every_run_and_row_carries_its_communication(capsys, tmp_path):
    assert main(["run", "--preset", "tiny", "--topology", "ring", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["communication"] == communication(preset("tiny", topology="ring"))
    from dssl_lite.runs import CsvStore, get_or_run

    rows = get_or_run([preset("tiny", topology="ring")], CsvStore(tmp_path / "a.csv"))
    assert rows.iloc[0]["total_bytes"] == out["communication"]["total_bytes"]


# ----- dropout -----
@pytest.mark.parametrize("bad", [1.0, -0.1, 2, "often"])
def test_dropout_is_validated(bad):
    with pytest.raises(ConfigError, match="^dropout:"):
        preset("tiny", dropout=bad)


def test_failures_are_seeded_per_seed_and_round_and_renormalised():
    cfg = preset("tiny", topology="ring", clients=8, rounds=4, dropout=0.4)
    a, b = Federation.from_config(cfg), Federation.from_config(cfg.replace(seed=1))
    assert all(np.array_equal(a.graph_at(r), Federation.from_config(cfg).graph_at(r)) for r in range(4))
    assert any(not np.array_equal(a.graph_at(r), b.graph_at(r)) for r in range(4))
    assert any(a.graph_at(r).sum() < a.adjacency.sum() for r in range(4))
    for r in range(4):
        w, g = a.mixing_at(r), a.graph_at(r)
        assert np.allclose(w.sum(1), 1.0)                                  # every client renormalises
        assert np.all(w[(g == 0) & ~np.eye(8, dtype=bool)] == 0)          # nothing crosses a failed edge
    assert not preset("tiny", topology="ring").dropout and a.setting.dropout == 0.4


@pytest.mark.parametrize("topology", ["fl", "ring"])
def test_dropout_is_identical_under_every_executor_and_matches_the_loop(topology, monkeypatch):
    """The failures are a mask on the stacked axis, drawn before any client computes: every
    chunking and executor gives the same numbers, and the per-client loop oracle the same up to
    its own rounding (a loop and vmap round differently with or without dropout)."""
    cfg = preset("tiny", topology=topology, dropout=0.5, rounds=3)
    monkeypatch.setenv("DSSL_WORKERS", "1")
    ref = train(cfg)
    monkeypatch.setenv("DSSL_WORKERS", "2")
    monkeypatch.setattr("dssl_lite.workers.POOL_MIN_CLIENT_STEPS", 0)
    for c in (cfg, cfg.replace(client_chunk=2)):
        m, h, sim = train(c)
        assert sim.pool is not None and [r["loss"] for r in h] == [r["loss"] for r in ref[1]]
        for n, t in ref[2].params.items():
            assert torch.equal(sim.params[n], t), n
    loop = train(cfg.replace(strategy="loop"))
    assert [r["loss"] for r in loop[1]] == pytest.approx([r["loss"] for r in ref[1]], rel=1e-4)
    for n, t in ref[2].params.items():
        torch.testing.assert_close(loop[2].params[n], t, rtol=1e-3, atol=1e-5)


def test_a_round_whose_every_update_is_lost_keeps_the_servers_model():
    from dssl_lite.simulator import Simulator

    cfg = preset("tiny", dropout=0.99, rounds=1)
    sim = Simulator(cfg)
    assert Federation.from_config(cfg).lost(0).all()  # at 0.99 every client of 4 is lost in round 0
    before = {n: t[0].clone() for n, t in sim.params.items()}
    list(sim.rounds())
    for n, t in sim.params.items():
        assert torch.equal(t[0], before[n]) and torch.equal(t[0], t[-1]), n
