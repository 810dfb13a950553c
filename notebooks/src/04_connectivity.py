# %% [markdown]
# # 04 · Finding 2: robustness rises with connectivity, and FL is no less robust than DecL
#
# In decentralised learning (DecL) each client averages its model with its neighbours' after its
# local steps. With few neighbours a client's model is pulled mostly by its own (skewed) data;
# with many, it sees a mix close to the global data. The paper finds that DecL's robustness to
# non-IID data **rises with the average degree**, and that FL, where a server averages everyone
# (the limit of full connectivity), is **no less robust** than DecL.
#
# Here all clients train one objective at one alpha on graphs of growing degree (degree 2 is the
# ring, degree K-1 the complete graph). DecL's accuracy is the mean over clients of each client's
# own model (what clients actually hold); each graph is compared with its own IID run on the same
# graph. FL is the horizontal reference line. Notebook 02 showed why degree matters: the spectral
# gap sets how fast gossip mixes. Comparisons are paired by seed.
#
# **Which numbers.** With `quick=True` (and in CI) this notebook reads the shipped atlas of the
# `live` preset (five seeds, nothing trained); with `quick=False` it trains every run now.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "live"                     # engine preset (clients, rounds, model)
objective: str = "cl"                    # objective trained by every client
alpha: float = 0.01                      # non-IID level (where CL loses most)
degrees: list = [2, 4, 8, 9]             # DecL node degrees (2 is a ring, clients-1 the complete graph)
seeds: list = [0, 1, 2, 3, 4]
quick: bool = False                      # read the shipped atlas instead of training; also on when env CI is set
output_dir: str = "runs/04_connectivity"

# %%
import matplotlib.pyplot as plt

from dssl_lite import preset as make_preset
from dssl_lite import study

source = "atlas" if study.is_quick(quick) else "train"
base = make_preset(preset, objective=objective, alpha=alpha)
K = base.clients
degs = sorted({min(int(d), K - 1) for d in degrees})
decl = [base.replace(topology=study.topology_for_degree(K, d), degree=d if d not in (2, K - 1) else base.degree)
        for d in degs]
fl = base.replace(topology="fl")  # the server reaches everyone
parameters = dict(preset=preset, objective=objective, alpha=alpha, degrees=degs, seeds=seeds, source=source)
print(f"{K} clients, DecL degrees {degs} + FL, {base.rounds} rounds x {base.local_steps} local steps, "
      f"{len(seeds)} seeds; numbers from: {source}")

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: will the ring or the complete graph be more robust? Where will FL's line sit relative to the DecL points?

# %%
runs, where = study.measure(decl + [fl], seeds, source, preset)
print(where)
table = study.summarize(runs, by=["topology", "degree"],
                        values=["robustness", "accuracy", "iid_accuracy", "average_degree"])
dec, flr = study.split_fl(table)  # DecL rows by average degree, the FL row

fig, a1 = plt.subplots(figsize=(5.5, 3.6))
a1.errorbar(dec["average_degree_mean"], dec["robustness_mean"], yerr=dec["robustness_std"], marker="o", capsize=3, label="DecL")
a1.axhline(flr.robustness_mean, color="C3", label="FL")
a1.axhspan(flr.robustness_mean - flr.robustness_std, flr.robustness_mean + flr.robustness_std, color="C3", alpha=0.15)
a1.set_xlabel("average degree")
a1.set_ylabel("robustness (mean +- std)")
a1.legend()
plt.tight_layout()
plt.show()
table

# %% [markdown]
# ## What these numbers show

# %%
conclusion, metrics = study.conclude_connectivity(runs, fl, seeds)
print(conclusion)

# %%
study.write_result(output_dir, "04_connectivity", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)
