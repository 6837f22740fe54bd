"""``python -m amc.cli``: the same as the ``amc`` command."""

from amc.cli.main import main

main()
