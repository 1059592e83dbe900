"""A keyring backend for the tests: passwords from a JSON file named by ``$TESTS_KEYRING_FILE``.

Select it with ``PYTHON_KEYRING_BACKEND=tests.keyring_backend.JsonFileKeyring``.
The file holds ``{"passwords": {service: {username: password}}, "fail": false}``;
with ``"fail": true`` every lookup raises, as a locked or broken keyring does.
Each lookup is appended to ``"lookups"`` as ``[method, service, username]`` so
tests can assert what pubtool asked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential
from keyring.errors import KeyringError, PasswordDeleteError

FILE_VARIABLE = "TESTS_KEYRING_FILE"
BACKEND = "tests.keyring_backend.JsonFileKeyring"


def _path() -> Path:
    return Path(os.environ[FILE_VARIABLE])


def _load() -> dict:
    return json.loads(_path().read_text())


def _save(data: dict) -> None:
    _path().write_text(json.dumps(data))


class JsonFileKeyring(KeyringBackend):
    priority = 1  # viable; chosen through PYTHON_KEYRING_BACKEND, not by priority

    def _lookup(self, method: str, service: str, username: Optional[str]) -> dict[str, str]:
        data = _load()
        data.setdefault("lookups", []).append([method, service, username])
        _save(data)
        if data.get("fail"):
            raise KeyringError("the test keyring is locked")
        return data.get("passwords", {}).get(service, {})

    def get_password(self, service: str, username: str) -> Optional[str]:
        return self._lookup("get_password", service, username).get(username)

    def get_credential(self, service: str, username: Optional[str]) -> Optional[SimpleCredential]:
        entries = self._lookup("get_credential", service, username)
        if username is not None:
            return SimpleCredential(username, entries[username]) if username in entries else None
        for name, password in entries.items():  # any user of the service, as real backends do
            return SimpleCredential(name, password)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        data = _load()
        data.setdefault("passwords", {}).setdefault(service, {})[username] = password
        _save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = _load()
        if username not in data.get("passwords", {}).get(service, {}):
            raise PasswordDeleteError(f"no password for {username!r} at {service!r}")
        del data["passwords"][service][username]
        _save(data)
