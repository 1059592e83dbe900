"""pubtool: publish Python distributions to a package index, safe to retry."""

__version__ = "0.1.0"
