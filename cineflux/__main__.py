"""``python -m cineflux``: the same as the ``cineflux`` command."""

from cineflux.cli import main

main()
