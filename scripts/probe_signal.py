"""How fast does a setting learn, and what does alpha show? The probe behind docs/signal.md.

For every spec (one JSON object of config fields per line of SPECS; an optional "tag" labels it)
train it and record the global model's kNN accuracy every tenth of the rounds, with the training
seconds so far. One JSON line per spec in OUT; specs already there are skipped, so a killed probe
resumes. Run several parts side by side, one thread each:

    python scripts/probe_signal.py OUT.jsonl SPECS.jsonl 0/2 &
    python scripts/probe_signal.py OUT.jsonl SPECS.jsonl 1/2 &
"""
import json
import os
import sys
import time

import torch

from dssl_lite.config import from_dict
from dssl_lite.evaluate import encode, knn_accuracy
from dssl_lite.simulator import Simulator


def knn(sim) -> float:
    d = sim.data
    g = {n: t[None] for n, t in sim.encoder_params(sim.global_params()).items()}
    feats = lambda x: encode(sim.model.encoder, g, x)
    return float(knn_accuracy(feats(d.train_x), d.train_y, feats(d.test_x), d.test_y, d.num_classes,
                              sim.cfg.knn_k)[0])


def curve(spec: dict) -> list:
    """[(local steps, training seconds, kNN accuracy)], starting at the untrained encoder."""
    sim = Simulator(from_dict({k: v for k, v in spec.items() if k != "tag"}))
    every = max(1, sim.cfg.rounds // 10)
    out, train_s, rounds = [(0, 0.0, knn(sim))], 0.0, sim.rounds()
    while True:
        t = time.perf_counter()
        recs = next(rounds, None)
        if recs is None:
            return out
        train_s += time.perf_counter() - t
        r = recs[0]["round"]
        if r % every == 0 or r == sim.cfg.rounds:
            out.append((r * sim.cfg.local_steps, round(train_s, 2), round(knn(sim), 4)))


def main(out: str, specs_file: str, part: str = "0/1") -> None:
    torch.set_num_threads(1)
    p, n = map(int, part.split("/"))
    specs = [json.loads(line) for line in open(specs_file) if line.strip()]
    done = {json.dumps(json.loads(line)["spec"], sort_keys=True) for line in open(out)} if os.path.exists(out) else set()
    for i, spec in enumerate(specs):
        key = json.dumps(spec, sort_keys=True)
        if i % n != p or key in done:
            continue
        t = time.time()
        points = curve(spec)
        with open(out, "a") as f:
            f.write(json.dumps({"spec": spec, "curve": points, "wall": round(time.time() - t, 1)}) + "\n")
        print(key, points[-1], flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
