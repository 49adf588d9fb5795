from sfa.cli.launch import run

run()
