"""The sync client (engine: push, pull, watch); its wire protocol, shared with the server: sfa/protocol.py."""

import sys

# httpx imports its own command-line tool (click, rich, pygments: ~0.2 s of a sync) when those are
# installed; sfa never uses it, so that optional import is made to fail fast (httpx falls back).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
