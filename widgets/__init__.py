"""dssl_widgets: a live D-SSL explorer for JupyterLab and Voila.

    >>> from dssl_widgets import build_explorer
    >>> build_explorer("live")      # last expression of a notebook cell
"""
from .explorer import Explorer, build_explorer
from .model import ExplorerModel, setting

__all__ = ["Explorer", "ExplorerModel", "build_explorer", "setting"]
