"""The `sfa` command line: thin Typer commands over sfa.services."""
