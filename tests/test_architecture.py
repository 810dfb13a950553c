"""The package's shape: no import cycles among its modules, no library module importing the
CLI, widgets depending on the engine and never the reverse, registries driving every list."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from dssl_lite.config import field_names
from dssl_lite.registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES

ROOT = Path(__file__).resolve().parent.parent


def module_imports(pkg_dir: Path, pkg: str) -> dict[str, set[str]]:
    """{module: the package modules it imports} from the source (top-level and function-level)."""
    graph = {}
    for path in pkg_dir.rglob("*.py"):
        rel = path.relative_to(pkg_dir).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        name = ".".join([pkg, *parts])
        is_pkg = path.name == "__init__.py"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                    names = [target] + [f"{target}.{a.name}" for a in node.names]
                else:
                    names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            deps |= {n for n in names if n.startswith(pkg)}
        graph[name] = deps
    known = set(graph)
    return {m: {d for d in deps if d in known and d != m} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def test_no_import_cycles_and_no_library_module_imports_the_cli():
    graph = module_imports(ROOT / "dssl_lite", "dssl_lite")
    # a submodule importing its own package's base class, while the package imports the submodule
    # to register it (objectives/mim.py <-> objectives/__init__.py), is the registry pattern
    graph = {m: {d for d in deps if not (m.startswith(d + ".") and d == m.rsplit(".", 1)[0])}
             for m, deps in graph.items()}
    assert cycles(graph) == []
    importers = sorted(m for m, deps in graph.items()
                       if any(d == "dssl_lite.cli" or d.startswith("dssl_lite.cli.") for d in deps)
                       and not m.startswith("dssl_lite.cli"))
    assert importers == []


def test_the_engine_never_imports_the_widgets():
    for path in (ROOT / "dssl_lite").rglob("*.py"):
        assert "dssl_widgets" not in path.read_text(), path


def test_every_registered_entry_has_help_and_its_axis_is_a_config_field():
    for axis, reg in (("objective", OBJECTIVES), ("topology", TOPOLOGIES), ("dataset", DATASETS),
                      ("model", ENCODERS)):
        assert axis in field_names()
        for name in reg:
            assert reg.get(name).help, f"{axis} {name} needs a one-line help"


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_cli_offers_every_objective(name):
    from dssl_lite.cli import build_parser

    a = build_parser().parse_args(["run", "--objective", name])
    assert a.objective == name


def test_the_cli_imports_where_fcntl_does_not_exist():
    """Windows has no fcntl: the sweep's lock is the `filelock` package, imported portably."""
    code = ("import sys, warnings; sys.modules['fcntl'] = None; warnings.simplefilter('ignore'); "
            "import dssl_lite.cli, dssl_lite.sweep; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
