import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run full-size science checks")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: needs --runslow (CI runs the quick version)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tiny():
    """A config that trains in well under a second."""
    from dssl_lite import preset

    return preset("tiny")


def pytest_terminal_summary(terminalreporter, config):
    """The test order's seed last, where a failure is read (`-q` hides pytest-randomly's header):
    the same order again is `--randomly-seed=N`."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"tests ran in random order: --randomly-seed={seed} repeats it")
