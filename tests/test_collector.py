"""The worker's cycle collector: the long-lived heap frozen, the young generation larger."""

import gc
from collections.abc import Iterator

import pytest

from app import GC_THRESHOLDS, quiet_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_the_heap_alive_at_start_is_frozen_and_the_young_generation_is_larger() -> None:
    gc.unfreeze()
    kept = [[n] for n in range(1000)]  # alive at start, as the schema and modules are

    quiet_collector()

    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # larger than the interpreter's default
    collected = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert not any(id(item) in collected for item in kept)  # out of the collector's walks
    young = [len(kept)]  # made per request: the collector still walks it
    assert id(young) in {id(o) for o in gc.get_objects(0)}
