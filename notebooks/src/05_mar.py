# %% [markdown]
# # 05 · Finding 3: MAR, masked image modelling with local-to-global alignment
#
# Notebook 03 found MIM's robustness; can we do better? **MAR**, as the paper's code defines it,
# adds one term to each client's MIM loss: `gamma * MMD^2(local latents, global latent)`. The
# *global latent* is what the client received: during a round each client averages its latents
# over its local steps, and these averages are mixed exactly like the models (FedAvg over the
# round's clients, or gossip with the neighbours in DecL). MMD^2 (maximum mean discrepancy,
# Gaussian kernel, median bandwidth) measures how far apart two distributions of features are.
# gamma starts at `mar_weight` (0.1) and anneals on a cosine to a hundredth of it as the client
# is selected more often.
#
# The paper reports that MAR improves on MIM. We compare robustness (accuracy(alpha) / accuracy(IID))
# of MIM and MAR in FL and in DecL (a random 4-regular graph), paired by seed. MAR can only help
# where MIM loses something; notebook 03 shows how much that is.
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
alphas: list = [0.01, 0.1]               # non-IID levels
topologies: list = ["fl", "regular"]     # FL and one DecL graph
degree: int = 4                          # the DecL graph's degree
mar_weight: float = 0.1                  # MAR's starting alignment weight (the paper's 0.1)
seeds: list = [0, 1, 2, 3, 4]
quick: bool = False                      # read the shipped atlas instead of training; also on when env CI is set
output_dir: str = "runs/05_mar"

# %%
import matplotlib.pyplot as plt

from dssl_lite import preset as make_preset
from dssl_lite import study

source = "atlas" if study.is_quick(quick) else "train"
configs = [make_preset(preset, objective=o, alpha=a, topology=t, mar_weight=mar_weight,
                       **({"degree": degree} if t in ("regular", "erdos_renyi") else {}))
           for t in topologies for o in ("mim", "mar") for a in alphas]
parameters = dict(preset=preset, alphas=alphas, topologies=topologies, degree=degree, mar_weight=mar_weight,
                  seeds=seeds, source=source)
c = configs[0]
print(f"{len(configs)} configs x {len(seeds)} seeds: {c.clients} clients, {c.rounds} rounds x {c.local_steps} "
      f"local steps; numbers from: {source}")

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: will the alignment term help more in FL or in DecL, and more at small or large alpha?

# %%
runs, where = study.measure(configs, seeds, source, preset)
print(where)
table = study.summarize(runs, by=["objective", "topology", "alpha"])
fig, axes = plt.subplots(1, len(topologies), figsize=(5 * len(topologies), 3.6), squeeze=False)
for ax, t in zip(axes[0], topologies):
    study.plot_lines(table[table.topology == t], "alpha", "objective", "robustness", ax=ax, logx=True)
    ax.axhline(1.0, color="grey", ls=":")
    ax.set_title(t)
plt.tight_layout()
plt.show()
table

# %% [markdown]
# ## What these numbers show

# %%
conclusion, metrics = study.conclude_mar(runs, configs[0], seeds)
print(conclusion)

# %%
study.write_result(output_dir, "05_mar", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)
