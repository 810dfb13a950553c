"""The teaching material outside the code: the notebooks and the example sweep grids.

A wheel carries a copy under `dssl_lite/_resources/` (written at build time by `setup.py`); a
source checkout or an editable install reads the repository's own `notebooks/` and `examples/`.
`dssl-lite notebooks DIR` copies them out with the repository's layout, so the README's commands
(`jupyter lab notebooks/00_explorer.ipynb`, `dssl-lite sweep examples/...`) work from DIR.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import ConfigError
from .storage import check_writable

HERE = Path(__file__).resolve().parent
FOLDERS = {"notebooks": "*.ipynb", "examples": "*.yaml"}  # what ships, per folder


def material_root() -> Path:
    """The folder that holds `notebooks/` and `examples/`: the wheel's copy, else the checkout."""
    for root in (HERE / "_resources", HERE.parent):
        if all(any((root / folder).glob(pattern)) for folder, pattern in FOLDERS.items()):
            return root
    raise FileNotFoundError("dssl-lite: the notebooks are not installed with this copy of the package; "
                            "reinstall it from a wheel or a source checkout")


def material() -> dict[str, list[Path]]:
    """`{"notebooks": [...ipynb], "examples": [...yaml]}`, sorted."""
    root = material_root()
    return {folder: sorted((root / folder).glob(pattern)) for folder, pattern in FOLDERS.items()}


def copy_material(dest, overwrite: bool = False) -> dict[str, list[Path]]:
    """Copy the notebooks and example grids into `dest/notebooks/` and `dest/examples/`.
    Refuses (before copying anything) to replace existing files unless `overwrite`."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ConfigError("dir", f"{dest} is a file; give a folder")
    for folder in FOLDERS:  # a read-only mount, a path below a file, /proc: one line naming `dir`
        check_writable(dest / folder, "dir", folder=True)
    plan = {folder: [(src, dest / folder / src.name) for src in files] for folder, files in material().items()}
    clash = [d for pairs in plan.values() for _, d in pairs if d.exists()]
    if clash and not overwrite:
        raise ConfigError("dir", f"{dest} already holds {len(clash)} of these files (e.g. {clash[0]}); "
                                 f"pass --force to overwrite them")
    out = {}
    for folder, pairs in plan.items():
        try:
            out[folder] = [Path(shutil.copyfile(src, d)) for src, d in pairs]
        except OSError as e:  # the disk filled up, or the folder changed under us
            raise ConfigError("dir", f"cannot write {e.filename or dest}: {e.strerror or e}") from None
    return out
