"""The Flower benchmark's Flower-free half (benchmarks/flower/job.py): the recorded job, replayed
client by client with plain PyTorch, must be the job dssl-lite trains. Flower's app runs exactly
this client code, so if the replay drifts from the engine, the benchmark compares different jobs.
Flower itself is never imported here (it is not a dependency)."""
import importlib.util
from pathlib import Path

import torch

from dssl_lite import Simulator, preset

JOB_PY = Path(__file__).resolve().parent.parent / "benchmarks" / "flower" / "job.py"


def load_job():
    spec = importlib.util.spec_from_file_location("flower_bench_job", JOB_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def trained(cfg) -> dict:
    sim = Simulator(cfg)
    for _ in sim.rounds():
        pass
    return sim.global_params()


def test_replay_of_recorded_batches_is_the_simulators_job(tmp_path):
    job = load_job()
    cfg = preset("tiny", device="cpu", rounds=3)  # alpha 0.1: unequal client sizes weight FedAvg
    job.record(cfg, tmp_path)
    got = job.replay(tmp_path)
    init = torch.load(tmp_path / "init.pt")
    # the per-client loop oracle does the replay's arithmetic (bitwise equal on the machines we
    # have seen); the vmapped engine differs by float rounding only
    for reference in (trained(cfg.replace(strategy="loop")), trained(cfg)):
        assert job.agreement(got, reference, init)["rel_to_update"] < 1e-4
