# %% [markdown]
# # D-SSL explorer
#
# Move alpha, the graph and the objective: the charts beside each control update at once, and **Run** trains every client live and adds a robustness point. Predict first, then run. **Copy link** gives a link that opens this page at the same setting. How the page works: [the widgets guide](https://github.com/dssl-lite/dssl-lite/blob/main/docs/widgets.md). For a class, the lesson page shows one finding per screen (`mode = "lesson"`, or `00_explorer_lesson`).

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
mode: str = "full"  # full: every control | lesson: one finding per screen, for a class
link: str = ""  # a link made by Copy link (or its ?query): opens the page at that setting
quick: bool = False  # CI: the tiny preset

# %%
import os

from dssl_widgets import build_explorer

# Voila hands the page's query to the kernel (QUERY_STRING), so a copied link opens its setting;
# DSSL_EXPLORER_PRESET lets the browser test pick a preset without editing the notebook
name = "tiny" if quick else os.environ.get("DSSL_EXPLORER_PRESET", preset)
explorer = build_explorer(name, mode=mode, link=link or os.environ.get("QUERY_STRING", ""))
explorer
