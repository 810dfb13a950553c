"""The benchmark's job, written down once so that Flower can replay exactly what dssl-lite trains.

dssl-lite draws every client's batch and MAE mask from a generator of its own, seeded by run
seed, client and step, inside `Simulator`. `record()` builds that Simulator, draws the whole run's
batches step by step (what `sim.sample_batch()` yields at each local step) and writes them to a
folder, one file per client, with the initial weights, the client data sizes and the learning
rate of every step. A Flower client then reads
its own file by partition id and trains on the same numbers; nothing in the comparison depends on
two random number generators agreeing.

The client side is plain PyTorch and knows nothing of Flower: `local_train()` runs one client's
local steps with AdamW set up as dssl-lite sets it up, and `moments()` / `load_moments()` carry
the client's AdamW state from round to round (dssl-lite's clients keep their moments under full
participation; the global model only replaces their parameters). `replay()` runs the recorded job
client by client with these functions and a FedAvg of its own: the Flower-free half of the
harness, which `tests/test_flower_bench.py` checks against `Simulator.rounds()`.

Layout of a recorded job folder:
    job.json        {"config": {...}, "channels", "sizes": [K], "lrs": [R][S]}
    init.pt         {name: tensor}          the initial global model (no client axis)
    client_<k>.pt   {"x": (R*S, B, C, H, W), "noise": (R*S, B, L)}   client k's batches, in order
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import torch

from dssl_lite import Simulator, from_dict
from dssl_lite.objectives import create_objective
from dssl_lite.optim import lr_at


def record(cfg, folder) -> Path:
    """Write `cfg`'s FedAvg job to `folder` (see the module docstring) and return the folder.

    Batches are drawn without training: a client's randomness is a function of the step counter
    alone, so drawing the batches of steps 0 .. R*S-1 yields what training will see (the test
    fails if that ever stops being true).
    """
    if not cfg.is_federated or cfg.participation < 1:
        raise ValueError("the benchmark job is FedAvg with every client in every round")
    if cfg.device != "cpu":
        raise ValueError("the benchmark job runs on CPU (device='cpu'): Flower's clients are CPU actors here")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sim = Simulator(cfg)
    if sim.state:
        raise ValueError(f"objective {cfg.objective} keeps per-client state; the replay does not")
    S = cfg.local_steps
    steps = []
    for t in range(cfg.rounds * S):  # each {"x": (K, B, ...), ...}
        sim.step = t
        steps.append(sim.sample_batch())
    sim.step = 0
    for k in range(cfg.clients):
        torch.save({n: torch.stack([b[n][k] for b in steps]).contiguous() for n in steps[0]},
                   folder / f"client_{k}.pt")
    torch.save(sim.global_params(), folder / "init.pt")
    lrs = [[lr_at(cfg, r * S + s) for s in range(S)] for r in range(cfg.rounds)]
    meta = {"config": cfg.as_dict(), "channels": sim.data.channels, "sizes": sim.sizes.int().tolist(),
            "lrs": lrs}
    (folder / "job.json").write_text(json.dumps(meta))
    return folder


@functools.lru_cache(maxsize=4)
def spec(folder: str) -> dict:
    """The job's metadata, with `config` as a `Config` (cached: clients call this every round)."""
    meta = json.loads((Path(folder) / "job.json").read_text())
    return {**meta, "config": from_dict(meta["config"])}


def client_batches(folder, k: int, rnd: int) -> dict[str, torch.Tensor]:
    """Client k's batches for round `rnd` (0-based): {"x": (S, B, C, H, W), "noise": (S, B, L)}.
    The file is memory-mapped, so a client reads only its round's slice."""
    S = spec(str(folder))["config"].local_steps
    data = torch.load(Path(folder) / f"client_{k}.pt", mmap=True, weights_only=True)
    return {n: t[rnd * S:(rnd + 1) * S].clone() for n, t in data.items()}


@functools.lru_cache(maxsize=4)
def model(folder: str) -> torch.nn.Module:
    """The objective module (encoder + MAE decoder) that dssl-lite builds for this config. One per
    process: its weights are overwritten from the server's model before every use."""
    s = spec(folder)
    return create_objective(s["config"], s["channels"])


def optimizer(net: torch.nn.Module, cfg) -> torch.optim.AdamW:
    """AdamW exactly as `Simulator._optimizer` sets it up, for one client: decay on matrices and
    kernels (dim >= 2), none on biases, norms and tokens; fused kernels."""
    groups = [{"params": [p for p in net.parameters() if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in net.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8,
                             fused=True)


def moments(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The optimizer's per-parameter state as flat named tensors ("3.exp_avg", "3.step", ...): the
    form Flower's `ArrayRecord` stores in a client's `context.state`."""
    return {f"{i}.{key}": t.detach().clone() for i, st in opt.state_dict()["state"].items()
            for key, t in st.items()}


def load_moments(opt: torch.optim.Optimizer, flat: dict[str, torch.Tensor]) -> None:
    """Inverse of `moments`."""
    state: dict[int, dict] = {}
    for name, t in flat.items():
        i, key = name.split(".", 1)
        state.setdefault(int(i), {})[key] = t
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})


def local_train(net: torch.nn.Module, opt: torch.optim.Optimizer, batches: dict, lrs, cfg) -> float:
    """One client's local steps, as dssl-lite's `local_step` does them for that client: the
    objective's loss on the recorded batch, backward, AdamW at the step's learning rate.
    Returns the mean loss."""
    losses = []
    for s, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast("cpu", torch.bfloat16, enabled=cfg.precision == "bfloat16"):
            loss, _ = net({n: t[s] for n, t in batches.items()}, {})
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return sum(losses) / len(losses)


def fedavg(results: list[tuple[dict[str, torch.Tensor], float]]) -> dict[str, torch.Tensor]:
    """Average client models weighted by their data size: sum_k (n_k / n) theta_k."""
    total = sum(n for _, n in results)
    return {name: sum(p[name] * (n / total) for p, n in results) for name in results[0][0]}


def replay(folder) -> dict[str, torch.Tensor]:
    """Train the recorded job client by client, without Flower; returns the final global model.
    Each client keeps its AdamW moments across rounds, as in dssl-lite and the Flower app."""
    folder = str(folder)
    s = spec(folder)
    cfg, net = s["config"], model(folder)
    glob = torch.load(Path(folder) / "init.pt", weights_only=True)
    saved: dict[int, dict] = {}
    for r in range(cfg.rounds):
        results = []
        for k in range(cfg.clients):
            net.load_state_dict(glob)
            opt = optimizer(net, cfg)
            if k in saved:
                load_moments(opt, saved[k])
            local_train(net, opt, client_batches(folder, k, r), s["lrs"][r], cfg)
            saved[k] = moments(opt)
            results.append(({n: p.detach().clone() for n, p in net.named_parameters()}, s["sizes"][k]))
        glob = fedavg(results)
    return glob


def agreement(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], init: dict[str, torch.Tensor]) -> dict:
    """How close two final models are: the largest absolute difference of any weight, the relative
    L2 difference ||a - b|| / ||b||, and the difference relative to how far training moved the
    weights, ||a - b|| / ||b - init|| (the stricter number: weights move little in a short run)."""
    flat = lambda d: torch.cat([d[n].detach().double().flatten() for n in sorted(d)])
    a, b, init = flat(a), flat(b), flat(init)
    diff = (a - b).norm().item()
    return {"max_abs_diff": (a - b).abs().max().item(), "rel_l2": diff / b.norm().item(),
            "rel_to_update": diff / (b - init).norm().item()}
