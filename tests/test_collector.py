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
    frozen = gc.get_freeze_count()
    young = [[n] for n in range(1000)]  # made per request: the collector still sees them
    assert gc.get_freeze_count() == frozen
    assert all(gc.is_tracked(item) for item in young)
