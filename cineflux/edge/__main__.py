"""``python -m cineflux.edge``: the edge server alone (no database code imported)."""

from cineflux.edge.cli import main

main()
