"""Use cases over the store: what the CLI and the dashboard call. No UI code here."""
