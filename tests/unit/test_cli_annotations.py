"""typer 0.23 (the newest on Python 3.9) ignores the typer.Option of a parameter whose annotation
is a string (postponed annotations): `-u`, `--json` and every env var would be missing there."""

from __future__ import annotations

import pytest

from publisher import cli


@pytest.mark.parametrize("command", [cli.upload, cli.check])
def test_command_annotations_are_objects_not_strings(command):
    strings = {name: hint for name, hint in command.__annotations__.items() if isinstance(hint, str)}
    assert strings == {}
