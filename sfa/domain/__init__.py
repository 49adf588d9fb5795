"""Pure rules of sfa: no I/O, no UI, no database."""
