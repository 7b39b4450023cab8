from netcheck.cli import run

run()
