"""How a failed command ends: one line on stderr and an exit code (codes are set in sfa.domain.errors)."""

from __future__ import annotations

import sys
from typing import NoReturn


def fail(message: str, code: int) -> NoReturn:
    print(f"sfa: error: {message}", file=sys.stderr)
    sys.exit(code)
