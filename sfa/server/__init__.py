"""The central sync server (FastAPI + SQLModel); installed with the `server` extra."""
