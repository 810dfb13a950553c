"""The execution plan: a rule of the config alone, the chunks it cuts, each client's seed."""
import pytest
import torch

from dssl_lite import preset
from dssl_lite.errors import ConfigError
from dssl_lite.plan import CPU_CHUNK, CPU_COMPILED_CHUNK, chunks, client_seed, resolve, resolve_device


def test_the_plan_is_a_rule_of_the_config():
    eager, compiled = resolve(preset("live-short", device="cpu")), resolve(preset("live", device="cpu"))
    assert (eager.chunk, eager.compile, eager.strategy) == (CPU_CHUNK, False, "vmap")
    assert (compiled.chunk, compiled.compile) == (CPU_COMPILED_CHUNK, True)
    assert resolve(preset("tiny", device="cpu", client_chunk=3)).chunk == 3
    assert resolve(preset("tiny", strategy="loop")).strategy == "loop"
    # a compiled call's chunk can move its numbers, an eager one's cannot: only the first is identity
    assert "chunk" in compiled.identity() and "chunk" not in eager.identity()


@pytest.mark.parametrize("n, size", [(10, 5), (10, 16), (7, 5), (100, 16), (3, 16), (2, 1)])
def test_chunks_cover_every_client_once_never_one_alone(n, size):
    got = chunks(n, size)
    assert [c for lo, hi in got for c in range(lo, hi)] == list(range(n))
    widths = [hi - lo for lo, hi in got]
    assert min(widths) >= 2 and max(widths) - min(widths) <= 1 and max(widths) <= max(size, 2)
    assert chunks(0, 5) == []


def test_client_seeds_are_distinct_and_repeatable():
    seeds = {client_seed(s, c, t) for s in range(3) for c in range(-1, 20) for t in range(50)}
    assert len(seeds) == 3 * 21 * 50 and all(0 <= x < 2**63 for x in seeds)
    assert client_seed(1, 2, 3) == client_seed(1, 2, 3)


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="^device:"):
            resolve_device("cuda")
