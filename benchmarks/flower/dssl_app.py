"""The recorded job in dssl-lite: `Simulator(cfg)` and `sim.rounds()`, nothing else.

    python dssl_app.py JOB_FOLDER OUT_FOLDER CPUS   (with the project's python; run.py does it)

The config is read from the job folder, so both engines run the very same one; the Simulator
rebuilds data, partition, initial model and batches from it (the recording was drawn from its
twin). Writes OUT_FOLDER/final.pt (the global model) and timing.json (launch time, the time each
round's FedAvg finished, and the process's peak RSS).
"""
import time

LAUNCHED = time.time()  # before the heavy imports: they are part of the job's cost

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from dssl_lite import Simulator, from_dict  # noqa: E402

if __name__ == "__main__":
    folder, out, cpus = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(cpus)  # the same cores Flower's Ray gets: one actor per core
    cfg = from_dict(json.loads((folder / "job.json").read_text())["config"])
    sim = Simulator(cfg)
    round_end = [time.time() for _ in sim.rounds()]
    torch.save(sim.global_params(), out / "final.pt")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB -> MiB
    (out / "timing.json").write_text(json.dumps({"launched": LAUNCHED, "round_end": round_end,
                                                 "peak_rss_mb": peak}))
