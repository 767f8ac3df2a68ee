"""The ``radar`` command: query the warehouse, explain an account's place in each niche and
brand, print the report, write synthetic worlds, rebuild the signals (typer, rich)."""
