"""Where one Flower client's round goes: training against moving weights in and out of records.

    benchmarks/flower/.venv/bin/python benchmarks/flower/profile_client.py [JOB_FOLDER] [--clients N]

Runs the ClientApp's body (flower_app.train) piece by piece on one thread, as a Ray actor does,
for N clients of a recorded job (default: the 100-client job run.py left in .work/), two rounds
so that the second restores moments; prints the median milliseconds per client of each piece
in the second round. No Ray, no messages: this is the work inside the actor, not the engine's.
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
from flwr.app import ArrayRecord

import job


def profile(folder: str, clients: int) -> dict[str, float]:
    torch.set_num_threads(1)
    s = job.spec(folder)
    cfg, net = s["config"], job.model(folder)
    glob = ArrayRecord(torch.load(Path(folder) / "init.pt", weights_only=True))
    state, times = {}, {}

    def timed(name, f):
        t = time.perf_counter()
        out = f()
        times.setdefault(name, []).append(1000 * (time.perf_counter() - t))
        return out

    for rnd in range(2):
        times.clear()  # keep the second round: moments restored, everything warm
        for k in range(clients):
            timed("global model from record", lambda: net.load_state_dict(glob.to_torch_state_dict()))
            opt = job.optimizer(net, cfg)
            if k in state:
                timed("moments from record", lambda: job.load_moments(opt, state[k].to_torch_state_dict()))
            batches = timed("read batches", lambda: job.client_batches(folder, k, rnd))
            lrs = s["lrs"][rnd]
            timed(f"train ({cfg.local_steps} steps)", lambda: job.local_train(net, opt, batches, lrs, cfg))
            state[k] = timed("moments to record", lambda: ArrayRecord(job.moments(opt)))
            timed("reply weights to record", lambda: ArrayRecord(net.state_dict()))
    return {name: statistics.median(v) for name, v in times.items()}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("job", nargs="?", default=str(Path(__file__).resolve().parent / ".work" / "job_100"))
    p.add_argument("--clients", type=int, default=10)
    a = p.parse_args()
    for name, ms in profile(a.job, a.clients).items():
        print(f"{name:>26}: {ms:7.1f} ms per client")
