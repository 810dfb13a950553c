"""Gradients of a chunk (`grads.py`): the vmap path against the per-client loop, the compile cache."""
import os

import torch

from dssl_lite import preset
from dssl_lite.grads import Gradients, use_compile_cache
from dssl_lite.plan import resolve
from dssl_lite.simulator import Simulator


def test_vmap_and_the_loop_give_the_same_gradients():
    cfg = preset("tiny", objective="mim")
    sim = Simulator(cfg)
    batch = sim.engine.batch(range(4), 0)
    params = sim.params
    vm = Gradients(sim.model, cfg, resolve(cfg))(params, batch, sim.state)
    lp = Gradients(sim.model, cfg, resolve(cfg.replace(strategy="loop")))(params, batch, sim.state)
    torch.testing.assert_close(vm[1], lp[1], rtol=1e-5, atol=1e-6)
    for n in vm[0]:
        torch.testing.assert_close(vm[0][n], lp[0][n], rtol=1e-4, atol=1e-6)


def test_compiled_kernels_go_to_the_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = use_compile_cache()
    assert path.endswith(os.path.join("dssl-lite", "inductor")) and os.environ["TORCHINDUCTOR_CACHE_DIR"] == path
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert use_compile_cache() == str(tmp_path / "mine")  # a cache the user chose is kept
