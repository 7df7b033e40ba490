"""What every storage backend offers, and the key rule they share."""
from __future__ import annotations

import re
from typing import BinaryIO, Protocol

KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*$")


def check_key(key: str) -> str:
    if not KEY_RE.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class Storage(Protocol):
    def put_file(self, key: str, source: BinaryIO) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def local_path(self, key: str) -> str: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def put_new(self, key: str, data: bytes) -> None: ...
    def list_keys(self, prefix: str) -> list[str]: ...


class KeyExistsError(FileExistsError):
    """:meth:`put_new` was given a key that is already written (objects there are write-once)."""
