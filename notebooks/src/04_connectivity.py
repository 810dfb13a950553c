# %% [markdown]
# # 04 · Finding 2: robustness rises with connectivity, and FL is no less robust than DecL
#
# In decentralised learning (DecL) each client averages its model with its neighbours' after its
# local steps. With few neighbours a client's model is pulled mostly by its own (skewed) data;
# with many, it sees a mix close to the global data. The paper finds that DecL's robustness to
# non-IID data **rises with the average degree**, and that FL, where a server averages everyone
# (the limit of full connectivity), is **no less robust** than DecL.
#
# Here all clients train MIM at one alpha on regular graphs of growing degree (degree 2 is the
# ring, degree K-1 the complete graph). DecL's accuracy is the mean over clients of each
# client's own model (what clients actually hold). FL is the horizontal reference line. Notebook
# 02 showed why degree matters: the spectral gap sets how fast gossip mixes.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "teach-connectivity"       # engine preset (clients, rounds, model)
objective: str = "mim"                   # objective trained by every client
alpha: float = 0.1                       # non-IID level
degrees: list = [2, 4, 8, 15]            # DecL node degrees (2 is a ring, clients-1 the complete graph)
seeds: list = [0, 1, 2]
quick: bool = False                      # small and fast; also on when env CI is set
output_dir: str = "runs/04_connectivity"

# %%
import matplotlib.pyplot as plt

from dssl_lite import preset as make_preset
from dssl_lite import study

quick, run_seeds, over = study.setup(quick, seeds)
base = make_preset(preset, objective=objective, alpha=alpha, **over)
K = base.clients
degs = sorted({min(int(d), K - 1) for d in degrees})
if quick:
    degs = [degs[0], degs[-1]]
decl = [base.replace(topology=study.topology_for_degree(K, d), degree=d) for d in degs]
fl = base.replace(topology="fl", degree=K - 1)  # the server reaches everyone
parameters = dict(preset=preset, objective=objective, alpha=alpha, degrees=degs, seeds=run_seeds, quick=quick)
print(f"{K} clients, DecL degrees {degs} + FL, {base.rounds} rounds x {base.local_steps} local steps, "
      f"{len(run_seeds)} seed(s); quick={quick}")

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: will the ring or the complete graph be more robust? Where will FL's line sit relative to the DecL points?

# %%
runs = study.run_grid(decl + [fl], run_seeds)
table = study.summarize(runs, by=["topology", "degree"],
                        values=["robustness", "accuracy", "iid_accuracy", "average_degree", "spectral_gap"])
dec, flr = study.split_fl(table)  # DecL rows by average degree, the FL row

fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
a1.errorbar(dec["average_degree_mean"], dec["robustness_mean"], yerr=dec["robustness_std"], marker="o", capsize=3, label="DecL")
a1.axhline(flr.robustness_mean, color="C3", label="FL")
a1.axhspan(flr.robustness_mean - flr.robustness_std, flr.robustness_mean + flr.robustness_std, color="C3", alpha=0.15)
a1.set_xlabel("average degree")
a1.set_ylabel("robustness (mean +- std)")
a1.legend()
a2.errorbar(dec["spectral_gap_mean"], dec["robustness_mean"], yerr=dec["robustness_std"], marker="o", capsize=3)
for _, r in dec.iterrows():
    a2.annotate(f"d={r.degree}", (r.spectral_gap_mean, r.robustness_mean), fontsize=8)
a2.set_xlabel("spectral gap of W")
a2.set_ylabel("robustness")
plt.tight_layout()
plt.show()
table

# %% [markdown]
# ## What this run shows

# %%
conclusion, metrics = study.conclude_connectivity(table, fl, run_seeds)
print(conclusion)

# %%
study.write_result(output_dir, "04_connectivity", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)
