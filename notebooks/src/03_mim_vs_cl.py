# %% [markdown]
# # 03 · Finding 1: is masked image modelling more robust to non-IID data than contrastive learning?
#
# Two families of self-supervised objectives:
#
# * **MIM** (masked image modelling, MAE-style): hide 75% of an image's patches and reconstruct
#   them. Each image is its own task; nothing in the loss compares images with each other.
# * **CL** (contrastive / siamese, SimSiam here): pull two augmented views of the same image
#   together. Its batches, and the statistics its heads see, come from the client's own data, so
#   on a client that holds two classes the "other images" are all from those two classes.
#
# The paper reports that MIM pre-training loses less when data are non-IID. We measure
# **robustness = accuracy(non-IID alpha) / accuracy(IID)** with everything else equal (same seed,
# model, rounds), where accuracy is a frozen-feature probe of the global FL model. Robustness 1
# means no loss from non-IID data. Note that robustness is a *ratio*: CL can have the higher
# absolute accuracy and still the lower robustness.
#
# **Which preset.** The default, `teach-mim-vs-cl` (12 x 5 local steps), is short: on the
# embedded MNIST the encoders barely leave the random-encoder floor, so every ratio sits near 1.
# `-p preset teach-long` trains 600 local steps (minutes per run on 2 cores), long enough for
# both objectives to clear the floor; `docs/fidelity.md` has what five seeds of each gave.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
preset: str = "teach-mim-vs-cl"          # engine preset (clients, rounds, model); see dssl_lite.config.PRESETS
objectives: list = ["mim", "cl"]         # objectives to compare
alphas: list = [0.05, 0.1, 0.5, 1.0]     # non-IID levels (smaller: more skewed)
topology: str = "fl"                     # FL server averaging
seeds: list = [0, 1, 2]                  # seeds; the table shows mean and std over them
quick: bool = False                      # small and fast; also on when env CI is set
output_dir: str = "runs/03_mim_vs_cl"

# %%
import matplotlib.pyplot as plt

from dssl_lite import preset as make_preset
from dssl_lite import study

quick, run_seeds, over = study.setup(quick, seeds)
run_alphas = [min(alphas), max(alphas)] if quick else list(alphas)
configs = [make_preset(preset, objective=o, alpha=a, topology=topology, **over)
           for o in objectives for a in run_alphas]
parameters = dict(preset=preset, objectives=objectives, alphas=run_alphas, topology=topology, seeds=run_seeds, quick=quick)
c = configs[0]
print(f"{len(configs)} configs x {len(run_seeds)} seeds: {c.clients} clients, {c.rounds} rounds x "
      f"{c.local_steps} local steps, {c.model} width {c.width}; quick={quick}")

# %% [markdown]
# **Predict first.** Before you run the next cell, write down your guess: at the smallest alpha, which objective keeps more of its IID accuracy? Does the gap shrink as alpha grows?

# %%
runs = study.run_grid(configs, run_seeds)
table = study.summarize(runs, by=["objective", "alpha"])
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
study.plot_lines(table, "alpha", "objective", "robustness", ax=a1, logx=True)
a1.axhline(1.0, color="grey", ls=":")
study.plot_lines(table, "alpha", "objective", "accuracy", ax=a2, logx=True)
plt.tight_layout()
plt.show()
table

# %% [markdown]
# ## What this run shows

# %%
conclusion, metrics = study.conclude_mim_vs_cl(table, configs[0], run_seeds, run_alphas)
print(conclusion)

# %%
study.write_result(output_dir, "03_mim_vs_cl", parameters, metrics, table, conclusion, runs)
print("wrote", output_dir)
