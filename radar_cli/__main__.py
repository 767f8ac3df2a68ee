"""``python -m radar_cli``: the same as the ``radar`` script."""

from radar_cli.app import main

main()
