from sfa.cli.main import run

run()
