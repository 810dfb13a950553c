# %% [markdown]
# # D-SSL lesson: the four findings, one per screen
#
# For a class in front of a projector: each screen asks a question about one of the paper's findings; commit to a guess, then reveal what the atlas measured, the verdict, how many seeds that needed and where the finding holds. Then step to the next finding. Every control, and Run: the explorer page (`00_explorer`). How the page works: [the widgets guide](https://github.com/dssl-lite/dssl-lite/blob/main/docs/widgets.md).

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
mode: str = "lesson"  # lesson: one finding per screen | full: every control
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
