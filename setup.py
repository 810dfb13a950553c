"""Ship the teaching notebooks, example grids and measured atlases inside the package: `build_py`
copies notebooks/*.ipynb, examples/*.yaml and data/atlas/*.csv to dssl_lite/_resources/, where
`dssl-lite notebooks DIR` (`dssl_lite.teaching`) and the explorer (`dssl_lite.atlas`) find them. An editable install skips the copy and reads the checkout.
Everything else about the package is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = {"notebooks": "*.ipynb", "examples": "*.yaml",  # the same as dssl_lite.teaching.FOLDERS
             "benchmarks": "plain_loop.py"}  # and the baseline `dssl-lite bench` times the engine against
ATLASES = ("data/atlas", ("*.csv", "*.json"))  # the measured atlases, their machines and timings


class BuildWithTeachingMaterial(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, pattern in RESOURCES.items():
            files = sorted((ROOT / folder).glob(pattern))
            if not files:
                raise FileNotFoundError(f"no {folder}/{pattern} to ship: build from a full checkout or sdist")
            dest = Path(self.build_lib) / "dssl_lite" / "_resources" / folder
            dest.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copyfile(f, dest / f.name)
        dest = Path(self.build_lib) / "dssl_lite" / "_resources" / "atlas"
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(f for pattern in ATLASES[1] for f in (ROOT / ATLASES[0]).glob(pattern)):
            shutil.copyfile(f, dest / f.name)


setup(cmdclass={"build_py": BuildWithTeachingMaterial})
