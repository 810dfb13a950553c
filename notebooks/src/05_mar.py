# %% [markdown]
# # 05 · Finding 3: MAR, masked image modelling with local-to-global alignment
#
# Notebook 03 found MIM's robustness; can we do better? **MAR** adds one term to each client's MIM
# loss: `mar_weight * MMD^2(local features, reference features)`, where the reference is the
# frozen model the client received at the start of the round (the global model in FL, the
# neighbour average in DecL), run on the same batch. MMD^2 (maximum mean discrepancy, Gaussian
# kernel, median bandwidth) measures how far apart two feature *distributions* are, so the term
# keeps a client's feature space from wandering away from the shared one while it trains on its
# skewed data.
#
# The paper reports that MAR improves on MIM. We compare robustness (accuracy(alpha) / accuracy(IID))
# of MIM and MAR across alpha, in FL and in DecL (a ring).

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "teach-mar"                # engine preset (clients, rounds, model)
alphas: list = [0.05, 0.1, 1.0]          # non-IID levels
topologies: list = ["fl", "ring"]        # FL and one DecL graph
mar_weight: float = 1.0                  # weight of the MMD^2 alignment term
seeds: list = [0, 1, 2]
quick: bool = False                      # small and fast; also on when env CI is set
output_dir: str = "runs/05_mar"

# %%
import matplotlib.pyplot as plt

from dssl_lite import preset as make_preset
from dssl_lite import study

quick, run_seeds, over = study.setup(quick, seeds)
run_alphas = [min(alphas)] if quick else list(alphas)
configs = [make_preset(preset, objective=o, alpha=a, topology=t, mar_weight=mar_weight, **over)
           for t in topologies for o in ("mim", "mar") for a in run_alphas]
parameters = dict(preset=preset, alphas=run_alphas, topologies=topologies, mar_weight=mar_weight, seeds=run_seeds, quick=quick)
c = configs[0]
print(f"{len(configs)} configs x {len(run_seeds)} seeds: {c.clients} clients, {c.rounds} rounds x {c.local_steps} local steps; quick={quick}")

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: will the alignment term help more in FL or in DecL, and more at small or large alpha?

# %%
runs = study.run_grid(configs, run_seeds)
runs["setting"] = runs["topology"] + ", alpha=" + runs["alpha"].astype(str)
table = study.summarize(runs, by=["objective", "topology", "alpha", "setting"])
fig, axes = plt.subplots(1, len(topologies), figsize=(5 * len(topologies), 3.6), squeeze=False)
for ax, t in zip(axes[0], topologies):
    study.plot_lines(table[table.topology == t], "alpha", "objective", "robustness", ax=ax, logx=True)
    ax.axhline(1.0, color="grey", ls=":")
    ax.set_title(t)
plt.tight_layout()
plt.show()
table

# %% [markdown]
# ## What this run shows

# %%
conclusion, metrics = study.conclude_mar(table, configs[0], run_seeds)
print(conclusion)

# %%
study.write_result(output_dir, "05_mar", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)
