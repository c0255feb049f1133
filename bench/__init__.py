"""Benchmarks: each module's docstring gives its command; bench/RESULTS.md its figures."""

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_folder() -> Path:
    """A folder for this run's files (a SQLite database, say), removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="carepay-bench-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
