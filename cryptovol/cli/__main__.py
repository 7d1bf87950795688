"""``python -m cryptovol.cli ARGS``: the commands themselves, without the supervisor (the
supervisor of long commands starts its child this way)."""

from cryptovol.cli.app import main

main()
