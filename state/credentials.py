"""Credentials encrypted at rest: one Fernet-encrypted file in the state directory.

The key comes from `ML_CONNECTOR_CREDENTIALS_KEY` (a Fernet key, `ml-connector credentials key`
prints one) or, when the optional `keyring` package has a usable backend, from the OS keyring
(service "ml-connector", user "credentials-key"). The file holds a JSON object of name -> value,
encrypted as a whole (Fernet: AES-128-CBC + HMAC-SHA256, so a wrong key or a changed file is
detected, never half-read). Writes are atomic (temp file, fsync, `os.replace`, mode 0600) and a
file lock serialises read-modify-write across processes.

Nothing here ever puts a value in a message, a repr or a log line: errors name the file and the
remedy only. `secret(name)` is the one lookup every caller uses: the environment first, then the store.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

logger = logging.getLogger(__name__)

KEY_ENV = "ML_CONNECTOR_CREDENTIALS_KEY"
HOME_ENV = "ML_CONNECTOR_HOME"
DEFAULT_HOME = ".ml-connector"
STORE_FILE = "credentials.enc"
KEYRING_SERVICE = "ml-connector"
KEYRING_USER = "credentials-key"
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,127}$")
_HOW_TO_SET_KEY = (f"set {KEY_ENV} to a key from `ml-connector credentials key` "
                   "(or store one in the OS keyring with `ml-connector credentials key --keyring`)")


class CredentialError(Exception):
    """The store cannot be used (no key, wrong key, bad name); the message never holds a secret."""


def new_key() -> str:
    """A fresh Fernet key (url-safe base64 text) to put in ML_CONNECTOR_CREDENTIALS_KEY."""
    return Fernet.generate_key().decode("ascii")


def _keyring() -> object | None:
    """The `keyring` module when installed and backed by a real keyring (not the fail/null backends)."""
    try:
        import keyring  # optional: absent or without a backend on a headless box
        backend = keyring.get_keyring()
    except Exception:  # any import or backend failure means "no keyring"
        return None
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def keyring_key() -> str | None:
    """The key kept in the OS keyring, if there is a usable keyring and a key in it."""
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER) or None  # type: ignore[attr-defined]
    except Exception:
        return None


def save_key_to_keyring(key: str) -> bool:
    """Keep `key` in the OS keyring; False when there is no usable keyring."""
    keyring = _keyring()
    if keyring is None:
        return False
    keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key)  # type: ignore[attr-defined]
    return True


def resolve_key(env: Mapping[str, str] | None = None) -> str | None:
    """The store key: the environment first, then the OS keyring; None when neither has one."""
    env = os.environ if env is None else env
    return env.get(KEY_ENV) or keyring_key()


def store_path(env: Mapping[str, str] | None = None, home: Path | str | None = None) -> Path:
    """`<ML_CONNECTOR_HOME>/credentials.enc`."""
    env = os.environ if env is None else env
    return Path(home or env.get(HOME_ENV) or DEFAULT_HOME) / STORE_FILE


class CredentialStore:
    """Named secrets in one encrypted file; `set`, `get`, `names`, `remove`."""

    def __init__(self, path: Path | str, key: str | bytes) -> None:
        self.path = Path(path)
        try:
            self._fernet = Fernet(key.encode("ascii") if isinstance(key, str) else key)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise CredentialError(f"{KEY_ENV} is not a valid key; {_HOW_TO_SET_KEY}") from None

    @classmethod
    def open(cls, env: Mapping[str, str] | None = None, home: Path | str | None = None) -> CredentialStore:
        """The store of this installation; CredentialError says how to set the key when there is none."""
        key = resolve_key(env)
        if not key:
            raise CredentialError(f"no key for the credential store: {_HOW_TO_SET_KEY}")
        return cls(store_path(env, home), key)

    def __repr__(self) -> str:
        return f"CredentialStore(path={str(self.path)!r})"

    def get(self, name: str) -> str | None:
        """The value stored under `name`, or None."""
        return self._read().get(_checked(name))

    def names(self) -> list[str]:
        """Stored names, sorted; never the values."""
        return sorted(self._read())

    def set(self, name: str, value: str) -> None:
        """Store `value` under `name` (replacing any old value)."""
        name = _checked(name)
        if not isinstance(value, str) or not value:
            raise CredentialError(f"refusing to store an empty value for {name}")
        with self._locked():
            data = self._read()
            data[name] = value
            self._write(data)

    def remove(self, name: str) -> bool:
        """Forget `name`; False if it was not stored."""
        name = _checked(name)
        with self._locked():
            data = self._read()
            if data.pop(name, None) is None:
                return False
            self._write(data)
            return True

    def _read(self) -> dict[str, str]:
        try:
            token = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(self._fernet.decrypt(token))
        except (InvalidToken, ValueError):
            raise CredentialError(f"cannot decrypt {self.path}: the key is not the one it was written with, "
                                  f"or the file was changed; {_HOW_TO_SET_KEY}") from None
        if not isinstance(data, dict):
            raise CredentialError(f"{self.path} does not hold a credential store")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.path, self._fernet.encrypt(json.dumps(data, sort_keys=True).encode("utf-8")))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on a side file, held across read-modify-write (several processes)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably, readable by this user only (0600): written to a
    temp file beside it, fsynced, renamed over it, and the directory fsynced; a crash leaves the old file
    or the new one, never half of either."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory; os.replace is atomic there anyway
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _checked(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise CredentialError("a credential name is an environment-variable name: A-Z, 0-9 and _ "
                              "(e.g. TALLY_PASSWORD)")
    return name


def configured_store(env: Mapping[str, str] | None = None, home: Path | str | None = None) -> CredentialStore | None:
    """The store when it is in use (its file exists and a key is available), else None.

    A file without a key is an error, not a silent fallback: the secrets in it would go missing.
    """
    path = store_path(env, home)
    if not path.exists():
        return None
    return CredentialStore.open(env, home)


def secret(name: str, env: Mapping[str, str] | None = None, store: CredentialStore | None = None) -> str:
    """The value of secret `name`: the environment first, then the credential store; "" when neither has it."""
    env = os.environ if env is None else env
    if env.get(name):
        return env[name]
    store = store if store is not None else configured_store(env)
    return (store.get(name) or "") if store is not None else ""


def stored_secrets(names: Iterable[str], env: Mapping[str, str] | None = None,
                   home: Path | str | None = None) -> dict[str, str]:
    """{NAME: value} for each of `names` that the configured store holds (empty when no store is in use)."""
    store = configured_store(env, home)
    if store is None:
        return {}
    data = store._read()
    return {name: data[name] for name in names if data.get(name)}
