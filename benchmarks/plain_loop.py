"""The baseline: the FedAvg loop a user would write by hand, to time the engine against.

One `nn.Module` per client (the package's own objective module, so the FLOPs are the same), a
`torch.optim.AdamW` per client kept across rounds (as the engine keeps its clients' moments), a
data-size-weighted FedAvg after every round, and the clients spread over worker processes (one
per core, one intra-op thread each: Python threads would share one interpreter lock). Nothing here
is vectorised; it is what the engine must beat.

    python benchmarks/plain_loop.py --clients 10 --objective mim      # prints one JSON line

`dssl-lite bench` imports `measure` from this file and prints its row beside the engine's.
`measure` also checks that the loop did the work: every client's loss is finite and the global
model moved.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.multiprocessing as mp


def _build(cfg_dict: dict, clients: list[int]):
    """In a worker: the data, each of `clients`' sample ids, one module and one AdamW per client."""
    from dssl_lite import from_dict
    from dssl_lite.data import load
    from dssl_lite.federation import Federation
    from dssl_lite.objectives import create_objective

    cfg = from_dict(cfg_dict)
    data = load(cfg.dataset, cfg.image_size)
    parts = Federation.from_config(cfg).parts
    nets, opts = {}, {}
    for k in clients:
        nets[k] = create_objective(cfg, data.channels)
        opts[k] = torch.optim.AdamW(nets[k].parameters(), lr=cfg.lr, betas=(0.9, 0.95),
                                    weight_decay=cfg.weight_decay)
    return cfg, data, {k: torch.tensor(parts[k]) for k in clients}, nets, opts


def _serve(conn, cfg_dict: dict, clients: list[int]) -> None:
    """A worker: each round, load the global model into its clients, train them, send them back."""
    torch.set_num_threads(1)
    cfg, data, ids, nets, opts = _build(cfg_dict, clients)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + clients[0])
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        out, losses = {}, []
        for k in clients:
            net, opt = nets[k], opts[k]
            net.load_state_dict(msg)
            for _ in range(cfg.local_steps):
                pick = ids[k][torch.randint(len(ids[k]), (cfg.batch_size,), generator=gen)]
                batch = net.prepare(data.train_x[pick], gen, gen)
                loss, _ = net(batch, {})
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            out[k] = {n: p.detach().clone() for n, p in net.state_dict().items()}
        conn.send((out, losses))


def measure(cfg, rounds: int = 4, workers: int = 0) -> dict:
    """Time `rounds` FedAvg rounds of `cfg` (its clients, local steps and model) with the plain
    loop; the first round (start-up, first touches) is not timed. -> client-steps per second of
    the steady rounds, and the checks that the work was done."""
    workers = workers or os.cpu_count() or 1
    K = cfg.clients
    shares = [list(range(w, K, workers)) for w in range(workers) if w < K]
    ctx = mp.get_context("spawn")
    procs, conns = [], []
    for share in shares:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_serve, args=(child, cfg.as_dict(), share), daemon=True)
        p.start()
        procs.append(p)
        conns.append(parent)
    try:
        for c in conns:
            assert c.recv() == "ready"
        from dssl_lite.data import load
        from dssl_lite.federation import Federation
        from dssl_lite.objectives import create_objective

        torch.manual_seed(cfg.seed)
        glob = create_objective(cfg, load(cfg.dataset, cfg.image_size).channels).state_dict()
        start = {n: t.clone() for n, t in glob.items()}
        sizes = torch.tensor(Federation.from_config(cfg).sizes, dtype=torch.float64)
        w = sizes / sizes.sum()
        times, last = [], []
        for r in range(rounds):
            t0 = time.perf_counter()
            for c in conns:
                c.send(glob)
            models, last = {}, []
            for c in conns:
                out, losses = c.recv()
                models.update(out)
                last += losses
            glob = {n: sum(w[k].item() * models[k][n] for k in range(K)) for n in glob}
            times.append(time.perf_counter() - t0)
        steady = sum(times[1:]) / max(1, len(times) - 1)
        moved = max((glob[n] - start[n]).abs().max().item() for n in glob)
        return {"strategy": "plain loop", "clients": K, "workers": len(shares),
                "client_steps_per_s": K * cfg.local_steps / steady, "round_seconds": steady,
                "last_round_loss": sum(last) / len(last), "losses_finite": all(map(lambda v: v == v, last)),
                "weights_moved": moved}
    finally:
        for c in conns:
            try:
                c.send(None)
            except (OSError, BrokenPipeError):
                pass
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()


def main() -> None:
    from dssl_lite.bench import bench_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--objective", default="mim")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=0, help="worker processes (default: one per core)")
    a = ap.parse_args()
    print(json.dumps(measure(bench_config(a.clients, a.objective, device="cpu"), a.rounds, a.workers)))


if __name__ == "__main__":
    main()
