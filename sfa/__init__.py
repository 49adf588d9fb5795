"""sfa: offline-first sales-force automation for the terminal."""

__version__ = "0.1.0"
