"""Access tokens shared by every process of one installation: one encrypted file per credential.

Implements :class:`connectors.common.auth.cache.TokenCache` under ``<ML_CONNECTOR_HOME>/tokens/``:
``<key>.tok`` holds one token (Fernet-encrypted JSON ``{"access_token", "renew_at", "extra"}``) and
``<key>.lock`` is the file lock (``flock``; released by the OS when its holder dies, so a killed
process never wedges the others). The authenticator holds the lock while it checks, asks for a token
and stores it: two processes asking at once make one token request, the second adopts the first's.

Encryption key: the credential store's (``ML_CONNECTOR_CREDENTIALS_KEY`` or the OS keyring) when one
is configured, else a random key kept beside the tokens in ``tokens/.key`` (mode 0600, so at rest the
tokens are as safe as that directory). A file that cannot be decrypted (the key changed) or parsed is
treated as absent and overwritten by the next token: a token is worth one request, never an outage.
Writes are atomic (temp file, fsync, ``os.replace``, mode 0600). Nothing here logs or reprs a token.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from connectors.common.auth.cache import CachedToken
from state.credentials import DEFAULT_HOME, HOME_ENV, _lock, resolve_key, write_private

TOKENS_DIR = "tokens"
KEY_FILE = ".key"
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FileTokenCache:
    """Tokens in ``<home>/tokens``; safe for many processes (see the module docstring)."""

    def __init__(self, directory: Path | str, key: str | bytes | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fernet = Fernet(key if key is not None else self._local_key())

    @classmethod
    def for_home(cls, home: Path | str | None = None) -> FileTokenCache:
        """The cache of this installation (``ML_CONNECTOR_HOME``), keyed like the credential store if it can be."""
        root = Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME)
        return cls(root / TOKENS_DIR, resolve_key())

    def __repr__(self) -> str:
        return f"FileTokenCache(directory={str(self.directory)!r})"

    def get(self, key: str) -> CachedToken | None:
        path = self._path(key, ".tok")
        try:
            data = json.loads(self._fernet.decrypt(path.read_bytes()))
            return CachedToken(SecretStr(str(data["access_token"])), float(data["renew_at"]),
                               dict(data.get("extra") or {}))
        except (FileNotFoundError, InvalidToken, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, token: CachedToken) -> None:
        doc = {"access_token": token.access_token.get_secret_value(), "renew_at": token.renew_at,
               "extra": dict(token.extra)}
        self._write(self._path(key, ".tok"), self._fernet.encrypt(json.dumps(doc).encode("utf-8")))

    def discard(self, key: str, token: str) -> None:
        entry = self.get(key)
        if entry is not None and entry.is_token(token):
            self._path(key, ".tok").unlink(missing_ok=True)

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        fd = os.open(self._path(key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _path(self, key: str, suffix: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("a token cache key is a short digest (letters, digits, _ and -)")
        return self.directory / f"{key}{suffix}"

    def _local_key(self) -> bytes:
        """The directory's own key, created once (under a lock, so two first processes agree on it)."""
        path = self.directory / KEY_FILE
        fd = os.open(self.directory / (KEY_FILE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            if not path.exists():
                self._write(path, Fernet.generate_key())
            return path.read_bytes().strip()
        finally:
            os.close(fd)

    def _write(self, path: Path, data: bytes) -> None:
        write_private(path, data)
