"""Text edited in the user's editor ($VISUAL, $EDITOR, else vi)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from sfa.domain.errors import SfaError, ValidationError


def edit_text(text: str, suffix: str) -> str:
    """`text` after the user's $VISUAL / $EDITOR (vi if neither is set) edited it."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="sfa-edit-") as folder:
        path = Path(folder) / f"edit{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except OSError as exc:
            raise SfaError(f"cannot start the editor {editor!r}: {exc}") from None
        if done.returncode != 0:
            raise SfaError(f"the editor {editor!r} exited with {done.returncode}; nothing changed")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("file", f"cannot read the edited text: {exc}") from None
