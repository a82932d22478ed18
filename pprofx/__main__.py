"""``python -m pprofx``: the same as the ``pprofx`` command."""

from .cli import entry_point

entry_point()
