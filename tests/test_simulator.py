"""The simulator: the vectorised path against the per-client loop oracle for every registered
objective (FL and DecL, full and partial participation), stacked runs, optimizer semantics,
the schedule, snapshots, aggregation and stopping."""
import threading

import numpy as np
import pytest
import torch

from dssl_lite import Stopped, preset, run
from dssl_lite.experiment import train, train_stack
from dssl_lite.optim import lr_at
from dssl_lite.registry import OBJECTIVES
from dssl_lite.simulator import Simulator


def _final(cfg):
    sim = Simulator(cfg)
    hist = [recs[0] for recs in sim.rounds()]
    return sim, hist


@pytest.mark.parametrize("objective", OBJECTIVES.names())
def test_vectorized_gradients_match_loop_oracle(objective):
    """One local step: the vmap path and the per-client loop give the same gradients."""
    cfg = preset("tiny", objective=objective, alpha=0.5)
    vec, seq = Simulator(cfg), Simulator(cfg.replace(strategy="loop"))
    work = vec.begin_round().work
    batch = vec.sample_batch()
    state = {n: t + 0.01 * torch.randn_like(t) for n, t in work.state.items()}
    gv, lv, av = vec.grads(vec.params, batch, state)
    gs, ls, as_ = seq.grads(seq.params, batch, state)
    torch.testing.assert_close(lv, ls, rtol=1e-5, atol=1e-6)
    for n in gv:
        scale = gs[n].abs().max().item() + 1e-12
        assert (gv[n] - gs[n]).abs().max().item() <= 1e-4 * scale + 1e-6, n
    for n in av:
        torch.testing.assert_close(av[n], as_[n], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective", OBJECTIVES.names())
@pytest.mark.parametrize("topology,participation", [("fl", 1.0), ("ring", 1.0), ("fl", 0.5)])
def test_vectorized_training_matches_loop_oracle(objective, topology, participation):
    base = preset("tiny", objective=objective, topology=topology, alpha=0.5, participation=participation)
    vec, hv = _final(base)
    seq, hs = _final(base.replace(strategy="loop"))
    assert [h["loss"] for h in hv] == pytest.approx([h["loss"] for h in hs], rel=1e-3, abs=1e-4)
    assert [h["client_loss"] is None for h in hv] == [h["client_loss"] is None for h in hs]
    if objective.startswith(("mim", "mar")):  # CL heads have exactly-invariant directions where
        for n in vec.params:                   # Adam amplifies rounding noise: skip those
            assert_trajectories_close(vec.params[n], seq.params[n], base.lr * base.rounds,
                                      fresh_adam=participation < 1)
        for n in vec.state:
            torch.testing.assert_close(vec.state[n], seq.state[n], rtol=1e-4, atol=1e-5)


def assert_trajectories_close(a, b, lr_rounds, fresh_adam):
    """Equal to rounding. With partial participation every sampled client starts a fresh AdamW,
    whose first step is about lr * sign(gradient): where a gradient is within rounding of 0 the
    two paths may step opposite ways, so a handful of elements (at most 0.1 %) may differ by up
    to 2 lr per round (`lr_rounds` = lr x rounds); everything else must agree to rounding."""
    off = (a - b).abs() > 1e-5 + 1e-4 * b.abs()
    if not fresh_adam or not off.any():
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        return
    assert off.float().mean().item() <= 1e-3, f"{off.sum().item()} of {off.numel()} elements differ"
    assert (a - b).abs().max().item() <= 2 * lr_rounds, "an element differs by more than Adam's sign flips allow"


@pytest.mark.parametrize("objective", OBJECTIVES.names())
def test_client_chunking_gives_the_same_numbers_to_the_last_bit(objective):
    """Eager vmap gives a client the same numbers whichever clients share its call (2 or more)."""
    base = preset("tiny", objective=objective, topology="ring", clients=7, alpha=None)
    a, _ = _final(base.replace(client_chunk=2))
    for chunk in (3, 16):
        b, _ = _final(base.replace(client_chunk=chunk))
        for n in a.params:
            assert torch.equal(a.params[n], b.params[n]), (chunk, n)


def test_same_seed_same_numbers_other_seed_differs():
    _, h1 = _final(preset("tiny", seed=4))
    _, h2 = _final(preset("tiny", seed=4))
    _, h3 = _final(preset("tiny", seed=5))
    assert [h["loss"] for h in h1] == [h["loss"] for h in h2]
    assert h1[-1]["loss"] != h3[-1]["loss"]


@pytest.mark.parametrize("objective", OBJECTIVES.names())
@pytest.mark.parametrize("topology", ["fl", "ring"])
def test_stacked_runs_match_runs_alone_to_the_last_bit(objective, topology):
    """Runs stacked on one client axis (a non-IID run, another seed's IID run, a third seed)
    train exactly as alone: every client draws from its own generator, chunks never mix runs,
    aggregation and probes go run by run."""
    a = preset("tiny", objective=objective, topology=topology, seed=3)
    cfgs = [a, a.replace(alpha=None, seed=5), a.replace(seed=6)]
    both, hb, sim = train_stack(cfgs)
    for i, c in enumerate(cfgs):
        alone, ha, one = train_stack([c])
        assert [h["loss"] for h in hb[i]] == [h["loss"] for h in ha[0]]
        assert both[i]["accuracy"] == alone[0]["accuracy"]
        for n, t in one.params.items():
            assert torch.equal(sim.params[n][i * 4:(i + 1) * 4], t), n


def test_unstackable_configs_are_refused():
    with pytest.raises(Exception, match="stack"):
        Simulator([preset("tiny"), preset("tiny", width=64)])


def test_clients_keep_their_moments_unless_sampled():
    for topo in ("fl", "ring"):
        sim = Simulator(preset("tiny", topology=topo))
        list(sim.rounds())
        assert sim.clients.moments.count == sim.cfg.rounds * sim.cfg.local_steps
    sampled = Simulator(preset("tiny", participation=0.5))
    list(sampled.rounds())
    assert sampled.clients.moments.count == 0  # each round's sampled clients got a fresh AdamW
    rnd = Simulator(preset("tiny", participation=0.5)).begin_round()
    rnd.step()
    assert rnd.work.moments.count == 1


def test_partial_participation_samples_and_averages_participants_only():
    cfg = preset("tiny", clients=6, participation=0.5, alpha=None, seed=2)
    sim = Simulator(cfg)
    rnd = sim.begin_round()
    chosen = rnd.active.tolist()
    assert len(chosen) == 3 and len(set(chosen)) == 3
    before = {n: p.clone() for n, p in sim.params.items()}
    for _ in range(cfg.local_steps):
        rnd.step()
    work = {n: t.clone() for n, t in rnd.work.params.items()}
    rnd.finish()
    w = torch.tensor(sim.federations[0].sizes, dtype=torch.float32)[chosen]
    w = w / w.sum()
    for n, p in sim.params.items():
        expect = torch.einsum("k,k...->...", w, work[n])
        for k in range(6):
            torch.testing.assert_close(p[k], expect, rtol=1e-5, atol=1e-6)
        assert not torch.equal(p[0], before[n][0]) or n.startswith("encoder.vit.pos")
    assert Simulator(cfg).begin_round().active.tolist() == chosen  # seeded


def test_schedule_warms_up_then_decays_to_zero():
    sim = Simulator(preset("tiny", rounds=4, local_steps=5, lr=1e-3, warmup_steps=4, lr_schedule="cosine"))
    lrs = [lr_at(sim.cfg, t) for t in range(20)]
    assert lrs[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert lrs[4] == pytest.approx(1e-3) and all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
    assert lrs[-1] < 2e-5
    assert lr_at(preset("tiny"), 3) == preset("tiny").lr  # constant by default


def test_scratch_puts_everything_back():
    sim = Simulator(preset("tiny", objective="byol", topology="ring"))
    next(sim.rounds())
    snap = {n: t.clone() for n, t in {**sim.params, **sim.state}.items()}
    with sim.scratch():
        sim.local_update(3)
    assert all(torch.equal(t, {**sim.params, **sim.state}[n]) for n, t in snap.items())
    rest_a = [r[0]["loss"] for r in sim.rounds()]
    sim2 = Simulator(preset("tiny", objective="byol", topology="ring"))
    rest_b = [r[0]["loss"] for r in sim2.rounds()][1:]
    assert rest_a == rest_b


def test_byol_target_follows_the_online_network_and_is_aggregated_or_not():
    """In FL, `byol` averages the EMA targets with the model (all clients hold the same target
    afterwards); `byol-local` keeps each client's own target (they differ)."""
    for name, shared in (("byol", True), ("byol-local", False)):
        sim = Simulator(preset("tiny", objective=name, topology="fl", alpha=0.1))
        start = {n: t.clone() for n, t in sim.state.items()}
        list(sim.rounds())
        assert all(not torch.equal(sim.state[n], start[n]) for n in ("target:encoder.vit.pos_embed",))
        t = sim.state["target:encoder.vit.pos_embed"]
        equal = torch.allclose(t, t[:1].expand_as(t), atol=1e-7)
        assert equal == shared, name


def test_fedavg_makes_clients_equal_and_gossip_keeps_mean():
    sim, hist = _final(preset("tiny", topology="fl"))
    for p in sim.params.values():
        assert torch.allclose(p, p[:1].expand_as(p), atol=1e-6)
    assert hist[-1]["consensus_distance"] < 1e-10
    sim = Simulator(preset("tiny", topology="ring", clients=6))
    for p in sim.params.values():  # make clients differ, then one gossip step
        p.add_(torch.randn_like(p))
    means = {n: p.mean(0) for n, p in sim.params.items()}
    sim.begin_round().finish()  # no local step: one gossip step
    for n, p in sim.params.items():
        torch.testing.assert_close(p.mean(0), means[n], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("topology", ["fl", "ring"])
def test_averaging_identical_clients_gives_that_client(topology):
    sim = Simulator(preset("tiny", topology=topology, clients=5, alpha=0.1))  # unequal sizes
    one = {n: torch.randn_like(p[0]) for n, p in sim.params.items()}
    for n, p in sim.params.items():
        p.copy_(one[n].expand_as(p))
    sim.begin_round().finish()
    for n, p in sim.params.items():
        torch.testing.assert_close(p, one[n].expand_as(p), rtol=0, atol=1e-6)


def test_training_lowers_mim_loss():
    _, hist = _final(preset("tiny", rounds=6, local_steps=5))
    assert hist[-1]["loss"] < hist[0]["loss"]


class StopDuringStep:
    """A stop event that is set while round 2's only local step runs: its check before that
    step says "not set", then the event is set, as a click would arrive mid-step."""

    def __init__(self):
        self.event, self.checks = threading.Event(), 0

    def is_set(self):
        self.checks += 1
        if self.checks == 2:  # round 1's pre-aggregation check came first; this is round 2's pre-step check
            self.checks += 100
        seen = self.event.is_set()
        if self.checks == 103:  # answered "not set" for round 2's step; the click lands now
            self.event.set()
        return seen


def test_stop_contract_no_round_is_reported_after_the_event():
    """After `stop` is set training finishes at most the local step it is in and reports no round
    whose last step ended after the event (the old engine reported round 2 here: it checked
    only before local steps, not before aggregating)."""
    cfg = preset("tiny", rounds=5, local_steps=1)
    stop, seen = StopDuringStep(), []
    on_round = lambda phase, rec: seen.append((phase, rec["round"], stop.event.is_set()))
    with pytest.raises(Stopped):
        run(cfg, stop=stop, on_round=on_round)
    assert stop.event.is_set()
    assert seen == [("non_iid", 1, False), ("iid", 1, False)], seen


def test_run_result_contract(tiny):
    res = run(tiny.replace(alpha=0.1))
    d = res.to_dict()
    for key in ("accuracy", "iid_accuracy", "robustness", "seconds", "config", "history", "seed", "versions"):
        assert key in d
    assert d["robustness"] == pytest.approx(d["accuracy"] / d["iid_accuracy"])
    assert [h["round"] for h in d["history"]] == [1, 2] and "loss" in d["history"][0]
    assert d["versions"]["torch"] and d["config"]["alpha"] == 0.1
    df = res.to_frame()
    assert set(df["phase"]) == {"iid", "non_iid"}


def test_iid_baseline_is_cached(tiny, monkeypatch):
    from dssl_lite import experiment

    calls = []
    real = experiment.train_stack
    monkeypatch.setattr(experiment, "train_stack",
                        lambda cfgs, *a, **k: calls.append([c.alpha for c in cfgs]) or real(cfgs, *a, **k))
    run(tiny.replace(alpha=0.3, seed=11))
    run(tiny.replace(alpha=0.7, seed=11))
    assert calls == [[0.3, None], [0.7]]  # the baseline trains stacked with the first run, once


def test_decl_reports_the_averaged_model_and_the_local_mean(tiny):
    metrics, _, sim = train(tiny.replace(topology="ring"))
    assert len(metrics["local_accuracies"]) == tiny.clients
    assert metrics["accuracy_local_mean"] == pytest.approx(np.mean(metrics["local_accuracies"]), abs=1e-6)
    assert metrics["accuracy"] == metrics["accuracy_average"] and 0 <= metrics["spectral_gap"] <= 1
    k = sim.client_params(1)
    assert all(t.shape == sim.params[n].shape[1:] for n, t in k.items())


def test_nan_loss_is_a_clear_error(tiny):
    sim = Simulator(tiny)
    next(iter(sim.params.values())).fill_(float("nan"))  # as a diverged step would leave it
    with pytest.raises(FloatingPointError, match="lr"):
        list(sim.rounds())


def test_a_fresh_optimizer_state_resets_adamw_every_round():
    """`optimizer_state: fresh` (the paper's code builds a new AdamW each round): after every
    round the moments have taken exactly that round's local steps, from zero."""
    keep = Simulator(preset("tiny", rounds=3))
    fresh = Simulator(preset("tiny", rounds=3, optimizer_state="fresh"))
    for r, _ in enumerate(zip(keep.rounds(), fresh.rounds()), start=1):
        assert keep.clients.moments.count == r * keep.cfg.local_steps
        assert fresh.clients.moments.count == fresh.cfg.local_steps
    first = Simulator(preset("tiny", optimizer_state="fresh"))
    list(first.rounds())
    assert any(t.abs().sum() > 0 for t in first.clients.moments.exp_avg.values())
    first.round = 0  # a new round on the trained simulator starts from zero moments
    assert all(t.abs().sum() == 0 for t in first.begin_round().work.moments.exp_avg.values())

