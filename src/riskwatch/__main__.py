"""`python -m riskwatch`: the same as the `riskwatch` command."""

from riskwatch.cli import run

if __name__ == "__main__":
    run()
