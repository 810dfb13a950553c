# %% [markdown]
# # 01 · Non-IID data: what the Dirichlet alpha does
#
# In distributed self-supervised learning (D-SSL) many **clients** (phones, hospitals, cameras)
# each train a model on their own data, without labels, and share only the model. In real
# deployments that data is **not identically distributed** (**non-IID**): one phone photographs
# cats, another street signs. **IID** (independent and identically distributed) is the opposite:
# every client's data looks like the whole data set. The standard way to simulate this (Hsu et al. 2019) is **label skew by a
# Dirichlet draw**: for every class, the share of its images that goes to each of the K clients is
# drawn from `Dirichlet(alpha, ..., alpha)`.
#
# * large `alpha` (100) -> shares are nearly equal -> every client sees every class (close to IID);
# * small `alpha` (0.01) -> one client gets almost all of a class -> each client sees few classes.
#
# We summarise a partition by one number, the **heterogeneity**: for each client, how much of its
# label mix would have to change to match the whole data set's (the total-variation distance),
# averaged over clients by their size (0 = IID, near 1 = clients hold disjoint classes). No
# training happens in this notebook. Each term is defined where it first appears; notebook 07
# collects them in a glossary.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "live"                          # dataset, number of clients and min client size come from here
alphas: list = [0.01, 0.1, 1.0, 10.0, 100.0]  # Dirichlet concentrations to compare
show_alphas: list = [0.01, 0.1, 1.0, 100.0]   # which ones get a histogram picture (0.01: the live preset)
seeds: list = [0, 1, 2]                       # partition seeds (spread over draws)
quick: bool = False                           # small and fast; also on when env CI is set
output_dir: str = "runs/01_non_iid_data"   # result.json + summary.csv go here

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from dssl_lite import data, study
from dssl_lite import preset as make_preset
from dssl_lite.partition import heterogeneity, label_histogram, partition

quick, run_seeds, _ = study.setup(quick, seeds)
cfg = make_preset(preset)
ds = data.load(cfg.dataset, cfg.image_size)
labels = ds.train_y.numpy()
parameters = dict(preset=preset, alphas=alphas, seeds=run_seeds, quick=quick)
print(f"{cfg.dataset}: {len(labels)} training images, {ds.num_classes} classes, {cfg.clients} clients; quick={quick}")

# %% [markdown]
# ## Client label histograms
#
# Each bar is one client; its colours show how many images of each class it holds.
#
# **Predict first.** Before you run the next cell, write down your guess: at alpha = 0.1, about how many of the 10 classes will a typical client hold?

# %%
fig, axes = plt.subplots(1, len(show_alphas), figsize=(4.2 * len(show_alphas), 3.2), sharey=True)
colours = plt.get_cmap("tab10")(np.arange(ds.num_classes))
for ax, a in zip(np.atleast_1d(axes), show_alphas):
    hist = label_histogram(labels, partition(labels, cfg.clients, a, run_seeds[0], cfg.min_client_size), ds.num_classes)
    bottom = np.zeros(cfg.clients)
    for c in range(ds.num_classes):
        ax.bar(range(cfg.clients), hist[:, c], bottom=bottom, color=colours[c], width=0.85)
        bottom += hist[:, c]
    ax.set_title(f"alpha = {a}  (heterogeneity {heterogeneity(hist):.2f})")
    ax.set_xlabel("client")
np.atleast_1d(axes)[0].set_ylabel("images")
handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in range(ds.num_classes)]
fig.legend(handles, [f"class {c}" for c in range(ds.num_classes)], loc="center right", fontsize=8, title="digit")
plt.tight_layout(rect=(0, 0, 0.9, 1))
plt.show()

# %% [markdown]
# ## Heterogeneity against alpha
#
# Now every alpha, over several partition seeds. "Classes held" counts the classes that make up
# at least 5% of a client's images, averaged over clients.
#
# **Predict first.** Before you run the next cell, write down your guess: how does heterogeneity change from alpha = 0.01 to alpha = 100? Is the change gradual or sudden?

# %%
runs = study.partition_stats(labels, ds.num_classes, cfg.clients, alphas, run_seeds, cfg.min_client_size)
table = study.summarize(runs, by=["alpha"], values=["heterogeneity", "classes_held"])
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(table["alpha"], table["heterogeneity_mean"], yerr=table["heterogeneity_std"], marker="o", capsize=3)
ax.set_xscale("log")
ax.set_xlabel("alpha (log scale)")
ax.set_ylabel("heterogeneity (mean +- std)")
plt.show()
table

# %% [markdown]
# ## What we found in this run (computed from its numbers)

# %%
from IPython.display import Markdown, display

conclusion, metrics = study.conclude_non_iid(table)
display(Markdown(conclusion))

# %%
study.write_result(output_dir, "01_non_iid_data", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)

# %% [markdown]
# ## Exercises
#
# 1. Set `alphas` to `[0.001, 0.01]`. *Expect:* below 0.01 almost nothing changes any more, since
#    every client already holds about one class; heterogeneity saturates near its maximum.
# 2. Set `preset = "paper-like"` (100 clients). *Expect:* with ten times the clients each class is
#    split over more of them; heterogeneity at small alpha stays near its maximum.
# 3. Compare the table's `classes_held` at alpha 0.01 and 0.1. *Expect:* about one class per client
#    at 0.01, a few at 0.1: this is the skew notebooks 03-06 train on.
