"""frozen_gc: the export's objects are collected as usual, the process's older ones are left out."""

import gc

import pytest

from rivet_dagster.engine.process_memory import frozen_gc


def test_objects_older_than_the_export_are_frozen_only_meanwhile() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with frozen_gc():
        assert gc.get_freeze_count() > 0
        cycle: list = []
        cycle.append(cycle)  # made during the export: still collectable
        del cycle
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0


def test_a_failed_export_unfreezes_too() -> None:
    with pytest.raises(RuntimeError), frozen_gc():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
