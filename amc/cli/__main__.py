"""``python -m amc.cli``: the same as the ``amc`` command."""

from amc.cli.main import main

if __name__ == "__main__":  # not when a spawned child process imports it
    main()
