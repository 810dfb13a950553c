"""dssl_widgets: a live D-SSL explorer for JupyterLab and Voila.

    >>> from dssl_widgets import build_explorer
    >>> build_explorer("live")                  # every control, last expression of a notebook cell
    >>> build_explorer("live", mode="lesson")   # one finding per screen, for a class
"""
from .explorer import Explorer, build_explorer
from .lesson import Lesson
from .measured import setting
from .model import ExplorerModel

__all__ = ["Explorer", "ExplorerModel", "Lesson", "build_explorer", "setting"]
