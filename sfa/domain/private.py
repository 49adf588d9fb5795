"""Files only their owner reads: a laptop's data file and config, the server's database file.

Directories sfa creates are 0700 and files 0600 whatever the umask (a directory that already exists
keeps its mode: it may be shared on purpose). SQLite creates a database's -wal and -shm files with
the database file's mode.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(directory: Path) -> None:
    """Create `directory` and its missing parents, each 0700."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    """Create `path` empty and 0600 in a private directory, unless it exists."""
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
