"""Which numbered folders (snapshot-000007, increment-000012) to drop at a destination."""

from __future__ import annotations

from rivet_dagster.destinations.base import Destination


def drop_numbered_before(destination: Destination, folder: str, prefix: str,
                         keep_from: int) -> list[str]:
    """Remove `<folder>/<prefix><n>` for every n < keep_from; return what was removed.

    Callers pass the committed number (or the first of the committed epoch), so only folders
    no reader can still be pointed at are removed.
    """
    if not destination.keeps_files:
        return []
    removed = []
    for name in destination.list_dir(folder):
        if not name.startswith(prefix):
            continue
        try:
            number = int(name[len(prefix):])
        except ValueError:
            continue
        if number < keep_from:
            destination.remove_dir(f"{folder}/{name}")
            removed.append(name)
    return removed
