"""``cryptovol``: the command line of the platform (the Typer app and its command groups).

The top layer: it may import every package (flows, training, serving, monitoring,
feature_repo, cryptovol); nothing imports it. Heavy libraries are imported inside the
commands that need them, so ``--help`` and the registry commands answer quickly.
"""
