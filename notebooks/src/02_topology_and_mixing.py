# %% [markdown]
# # 02 · Topology and mixing: how fast does gossip reach consensus?
#
# In **federated learning (FL)** a server averages all client models every round. In
# **decentralised learning (DecL)** there is no server: the clients are the nodes of a **graph**,
# and each averages its model with its **neighbours** (the clients it shares an edge with) only,
# `theta <- W theta`, where `W` is a **mixing matrix**: row `i` says how much client `i` takes
# from each neighbour and keeps of its own. We use
# Metropolis-Hastings weights, `W_ij = 1 / (1 + max(d_i, d_j))` on edges and the rest on the
# diagonal: symmetric and doubly stochastic, so gossip keeps the average model fixed and pulls
# every client towards it.
#
# How fast? The distance to the average shrinks roughly like `|lambda_2|^t`, where `lambda_2`
# is W's second-largest eigenvalue in modulus. The **spectral gap** `1 - |lambda_2|` is therefore
# the speed of mixing: 1 for the complete graph (one step is exact averaging, like FL), near 0
# for a long ring. The **average degree** (neighbours per client, the average connectivity) is
# the paper's knob. No training happens here: we gossip random vectors and watch them agree.
#
# The paper's code (and `mixing: size`, the training default of notebook 04 and of the explorer)
# weights neighbours by their data size instead; with equal client sizes on a regular graph the two
# coincide. Metropolis weights are used here because they keep the plain average fixed, which makes
# "distance to consensus" easy to read.
#
# **Why the explorer shows a different gap for the same ring.** Here the ring of 10 clients mixes
# with Metropolis weights: its spectral gap is about 0.13. The explorer, at the `live` preset,
# mixes by data size over the alpha 0.01 split, where client sizes differ several-fold: a large
# client takes little from its small neighbours, so models mix more slowly and the gap falls to
# about 0.02. Same graph, different mixing rule and split; the explorer's readout prints both.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "live"                          # the number of clients comes from here (10, as in notebook 04)
degrees: list = [2, 4, 8, 9]                  # node degrees (2 is a ring, clients-1 the complete graph)
gossip_rounds: int = 60                       # gossip steps to simulate
dim: int = 32                                 # length of each client's random vector
seeds: list = [0, 1, 2]                       # graph and vector seeds
quick: bool = False                           # small and fast; also on when env CI is set
output_dir: str = "runs/02_topology_and_mixing"

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from dssl_lite import study
from dssl_lite import preset as make_preset
from dssl_lite.registry import TOPOLOGIES
from dssl_lite.topologies import metropolis_weights, spectral_gap

quick, run_seeds, _ = study.setup(quick, seeds)
K = make_preset(preset).clients
degs = sorted({min(int(d), K - 1) for d in degrees})
parameters = dict(preset=preset, degrees=degs, gossip_rounds=gossip_rounds, seeds=run_seeds, quick=quick)
print(f"{K} clients, degrees {degs}, {gossip_rounds} gossip steps, seeds {run_seeds}; quick={quick}")

# %% [markdown]
# ## The graphs and their mixing matrices

# %%
fig, axes = plt.subplots(2, len(degs), figsize=(3.2 * len(degs), 6.2))
for j, d in enumerate(degs):
    topo, adj = study.degree_graph(K, d, run_seeds[0])
    w = metropolis_weights(adj)
    nx.draw_circular(nx.from_numpy_array(adj), ax=axes[0, j], node_size=60, width=0.6)
    axes[0, j].set_title(f"{topo}, degree {d}")
    im = axes[1, j].imshow(w, cmap="viridis", vmin=0, vmax=w.max())
    axes[1, j].set_title(f"W: spectral gap {spectral_gap(w):.3f}")
    axes[1, j].axis("off")
    fig.colorbar(im, ax=axes[1, j], fraction=0.046, label="weight")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: going from a ring (degree 2) to the complete graph, how many gossip steps does it take to bring the disagreement between clients down to 1% of where it started?

# %%
# every client starts with a random vector and gossips x <- W x; see study.gossip_runs
runs, curves = study.gossip_runs(K, degs, run_seeds, gossip_rounds, dim)
table = study.summarize(runs, by=["degree", "topology"], values=["average_degree", "spectral_gap", "steps_to_1pct", "final_error"])

fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
FLOOR = 1e-12  # below this the disagreement is float rounding, not mixing
for i, d in enumerate(degs):
    err = np.mean([curves[(d, s)] for s in run_seeds], axis=0)
    topo = study.topology_for_degree(K, d)
    # the complete graph averages exactly in one step: its line drops straight to the floor
    a1.semilogy(np.maximum(err, FLOOR), marker=".", ms=4, lw=2, ls=("-", "--", "-.", ":")[i % 4],
                color=TOPOLOGIES.colour(topo), label=f"{topo}, degree {d}")
a1.axhline(0.01, color="grey", ls=":")
a1.set_ylim(FLOOR / 3, 2)
a1.set_xlabel("gossip step")
a1.set_ylabel("||x - mean|| / start")
a1.legend()
a2.errorbar(table["average_degree_mean"], table["spectral_gap_mean"], yerr=table["spectral_gap_std"], marker="o", capsize=3,
            color="0.3")
a2.set_xlabel("average degree")
a2.set_ylabel("spectral gap 1 - |lambda_2|")
plt.tight_layout()
plt.show()
# a graph that never got within 1 % in the simulated steps says so in words, not NaN
table.assign(steps_to_1pct_mean=[f"{v:.0f}" if v == v else f"not within {gossip_rounds}" for v in table["steps_to_1pct_mean"]])

# %% [markdown]
# ## What we found in this run (computed from its numbers)

# %%
from IPython.display import Markdown, display

conclusion, metrics = study.conclude_mixing(table)
display(Markdown(conclusion))

# %%
study.write_result(output_dir, "02_topology_and_mixing", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)

# %% [markdown]
# ## Exercises
#
# 1. Add degree 3 to `degrees`. *Expect:* its spectral gap falls between the ring's and degree 4's,
#    and so does the number of gossip steps to 1 % disagreement.
# 2. Set `preset = "teach-connectivity"` (16 clients) and `degrees = [2, 4, 8, 15]`. *Expect:* a longer
#    ring mixes several times more slowly (its gap shrinks roughly with the square of its length); a
#    dense graph hardly slows.
# 3. Notebook 04 asks whether faster mixing means more robust training: write down your guess first.
