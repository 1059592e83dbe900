"""Say hello from a package published with pubtool."""

__version__ = "0.1.0"


def greet(name: str = "world") -> str:
    return f"hello, {name}"
