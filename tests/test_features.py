"""Feature spaces: the numbers (CKA, MMD^2) on known cases, the shared embedding, snapshots that do
not disturb training, and the one-call API on tiny FL and ring runs."""
import numpy as np
import pytest
import torch

from dssl_lite import Simulator, preset
from dssl_lite.experiment import train
from dssl_lite.features import (COLUMNS, embed, feature_spaces, label_tv, linear_cka,
                                pick_models, plot_feature_spaces, snapshots, stratified_subsample,
                                typical_clients)
from dssl_lite.objectives import mmd2_unbiased


@pytest.fixture(scope="module")
def runs():
    """Tiny FL and ring runs, trained once for the module."""
    return {topo: train(preset("tiny", topology=topo))[2] for topo in ("fl", "ring")}


@pytest.fixture(scope="module")
def spaces(runs):
    return feature_spaces(runs, n_points=60, n_neighbors=5)


def test_cka_invariant_to_rotation_and_scale_but_not_to_unrelated_features():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=g)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, 3.0 * x @ q + 5.0) == pytest.approx(1.0, abs=1e-6)
    assert linear_cka(x, torch.randn(200, 16, generator=g)) < 0.3
    assert linear_cka(x, x[:, :8]) < linear_cka(x, x[:, :15]) < 1.0  # losing directions costs


def test_mmd2_zero_for_same_set_and_grows_with_shift():
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    same = float(mmd2_unbiased(x, x))
    assert abs(same) < 0.02
    shifts = [float(mmd2_unbiased(x, x + s)) for s in (0.5, 1.0, 2.0)]
    assert same < shifts[0] < shifts[1] < shifts[2]


def test_typical_clients_from_label_tv():
    hist = np.array([[10, 10, 10], [20, 5, 5], [0, 15, 15]])  # the global mix is uniform
    assert label_tv(hist) == pytest.approx([0, 1 / 3, 1 / 3])
    assert typical_clients(hist) == [0, 1]  # the tie between 1 and 2 goes to the lower id
    assert typical_clients(np.full((3, 4), 5)) == [0, 1]  # IID: still two different clients


def test_stratified_subsample_is_seeded_and_proportional():
    labels = np.repeat(np.arange(4), [100, 200, 300, 400])
    idx = stratified_subsample(labels, 100, seed=3)
    assert len(set(idx)) == 100 and np.array_equal(idx, stratified_subsample(labels, 100, seed=3))
    assert np.bincount(labels[idx]).tolist() == [10, 20, 30, 40]
    assert not np.array_equal(idx, stratified_subsample(labels, 100, seed=4))


def test_embed_puts_identical_features_on_identical_points():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(80, 6)).astype(np.float32)
    xy = embed({0: a, 1: a.copy(), "global": rng.normal(size=(80, 6)).astype(np.float32)},
               reference="global", n_neighbors=5)
    assert xy[0].shape == (80, 2)
    assert np.array_equal(xy[0], xy[1]) and not np.allclose(xy[0], xy["global"])


def test_local_update_leaves_the_simulator_as_it_was(tiny):
    a, b = Simulator(tiny), Simulator(tiny)
    snaps = snapshots(a, at=[0, 1])  # calls Simulator.local_update (FL) after round 1, mid-training
    list(b.rounds())
    assert sorted(snaps) == [0, 1]
    for n in a.params:
        assert torch.equal(a.params[n], b.params[n])
    local = a.local_update()
    assert not torch.equal(local["encoder.vit.pos_embed"][0], a.params["encoder.vit.pos_embed"][0])
    # the FL locals really differ from the global model, which every client holds after FedAvg
    models = pick_models(a, clients=[0])
    assert not torch.equal(models[0]["encoder.vit.pos_embed"], models["global"]["encoder.vit.pos_embed"])


def test_snapshots_of_ring_keep_held_models(tiny):
    sim = Simulator(tiny.replace(topology="ring", rounds=3))
    init = sim.client_params(1)
    snaps = snapshots(sim, at=[0, 2], clients=[1, 3])
    assert sorted(snaps) == [0, 2] and list(snaps[2]) == [1, 3, "average"]
    assert all(torch.equal(init[n], snaps[0][1][n]) for n in init)
    assert not torch.equal(snaps[2][1]["encoder.vit.pos_embed"], init["encoder.vit.pos_embed"])


def test_feature_spaces_frame_on_fl_and_ring(spaces, runs):
    df = spaces.to_frame()
    assert list(df.columns) == COLUMNS and len(df) == 6
    assert df["model"].tolist() == ["local", "local", "global", "local", "local", "average"]
    for topo, sim in runs.items():
        assert df[df.objective == topo]["client"].dropna().tolist() == typical_clients(sim.histogram)
    local, ref = df[df.model == "local"], df[df.model != "local"]
    assert local["cka"].between(0, 1 + 1e-9).all() and local["mmd2"].notna().all()
    assert ref["cka"].isna().all() and (ref["knn_gap"] == 0).all()
    assert np.allclose(local["knn_gap"], local["knn_acc"].values - np.repeat(ref["knn_acc"].values, 2))
    assert all(p.shape == (60, 2) for p in spaces.points.values())
    assert spaces.labels["fl"].shape == (60,)


def test_identical_models_give_identical_points_and_perfect_scores(runs):
    sim = runs["ring"]
    g = sim.global_params()
    df = (fs := feature_spaces({"same": (sim, {0: g, "average": g})}, n_points=60,
                               n_neighbors=5)).to_frame()
    assert np.array_equal(fs.points[("same", 0)], fs.points[("same", "average")])
    assert df["cka"][0] == pytest.approx(1.0) and abs(df["mmd2"][0]) < 0.05
    assert df["knn_gap"][0] == 0


def test_plot_has_one_panel_per_model_and_shared_limits_per_column(spaces):
    fig = plot_feature_spaces(spaces)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(axes) == 6
    for j in range(2):  # columns
        col = [ax for ax in axes if ax.get_subplotspec().colspan.start == j]
        assert len(col) == 3 and len({ax.get_xlim() for ax in col}) == 1
        assert "CKA" in col[0].get_title() and "CKA" not in col[-1].get_title()
