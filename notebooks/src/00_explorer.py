# %% [markdown]
# # D-SSL explorer
#
# Move alpha, the topology and the objective; the label histograms and the client graph update at once, **Run** trains all clients live and adds a robustness point. Predict first, then run. See `docs/widgets.md`.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_widgets  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite[widgets] @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_widgets  # noqa: F401

# %% tags=["parameters"]
preset: str = "live"  # a name from dssl_lite.PRESETS
quick: bool = False  # CI: the tiny preset

# %%
import os

from dssl_widgets import build_explorer

# DSSL_EXPLORER_PRESET lets the browser test pick `tiny` without editing the notebook
name = "tiny" if quick else os.environ.get("DSSL_EXPLORER_PRESET", preset)
explorer = build_explorer(name)
explorer
