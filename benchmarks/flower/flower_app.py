"""The recorded job as a Flower app, run by Flower's simulation engine (Ray, one CPU per client).

    python flower_app.py JOB_FOLDER OUT_FOLDER CPUS   (with the Flower venv's python; run.py does it)

ServerApp: Flower's own FedAvg (weighted by each client's "num-examples", here its data size),
every client in every round, no evaluation; it notes when each round's aggregate is ready.
ClientApp: loads the global model into the same objective module dssl-lite builds, restores the
client's AdamW moments from `context.state` (Flower keeps that per client across rounds), trains
the round's recorded batches with `job.local_train`, stores the moments back and replies with its
weights. Writes OUT_FOLDER/final.pt (the global model after the last round) and timing.json.
"""
import time

LAUNCHED = time.time()  # before the heavy imports: they are part of the job's cost

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.serverapp.strategy import FedAvg  # noqa: E402
from flwr.simulation import run_simulation  # noqa: E402

import job  # noqa: E402


def job_folder() -> str:
    """The recorded job's folder: __main__ puts it in the environment before Ray starts, so the
    client actors (separate processes) inherit it."""
    return os.environ["FLOWER_BENCH_JOB"]


client = ClientApp()


@client.train()
def train(msg: Message, context: Context) -> Message:
    folder, k = job_folder(), int(context.node_config["partition-id"])
    s = job.spec(folder)
    cfg, net = s["config"], job.model(folder)
    net.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    opt = job.optimizer(net, cfg)
    if "adamw" in context.state:  # this client's moments from its previous round
        job.load_moments(opt, context.state["adamw"].to_torch_state_dict())
    rnd = int(msg.content["config"]["server-round"]) - 1
    loss = job.local_train(net, opt, job.client_batches(folder, k, rnd), s["lrs"][rnd], cfg)
    context.state["adamw"] = ArrayRecord(job.moments(opt))
    metrics = {"train_loss": loss, "num-examples": s["sizes"][k],
               "threads": torch.get_num_threads()}  # 1: Ray gives each one-CPU actor one thread
    reply = RecordDict({"arrays": ArrayRecord(net.state_dict()), "metrics": MetricRecord(metrics)})
    return Message(content=reply, reply_to=msg)


class TimedFedAvg(FedAvg):
    """Flower's FedAvg, plus the wall-clock time at which each round's global model is ready."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.round_end: list[float] = []

    def aggregate_train(self, server_round, replies):
        out = super().aggregate_train(server_round, replies)
        self.round_end.append(time.time())
        return out


server = ServerApp()


@server.main()
def main(grid: Grid, context: Context) -> None:
    cfg = job.spec(job_folder())["config"]
    K = cfg.clients
    strategy = TimedFedAvg(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=K,
                           min_available_nodes=K)
    init = ArrayRecord(torch.load(Path(job_folder()) / "init.pt", weights_only=True))
    result = strategy.start(grid=grid, initial_arrays=init, num_rounds=cfg.rounds)
    out = Path(os.environ["FLOWER_BENCH_OUT"])
    torch.save(result.arrays.to_torch_state_dict(), out / "final.pt")
    (out / "timing.json").write_text(json.dumps({"launched": LAUNCHED, "round_end": strategy.round_end}))


if __name__ == "__main__":
    os.environ["FLOWER_BENCH_JOB"], os.environ["FLOWER_BENCH_OUT"] = sys.argv[1], sys.argv[2]
    run_simulation(server_app=server, client_app=client,
                   num_supernodes=job.spec(job_folder())["config"].clients,
                   backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},  # one actor per CPU
                                   "init_args": {"num_cpus": int(sys.argv[3])}})
