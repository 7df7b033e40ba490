"""File storage with two backends: a local folder (embedded default) and S3.

Keys are built by callers from ids (e.g. ``uploads/<hospital>/<yyyy-mm>/<upload id>/<type>.<ext>``),
never from a user's file name; :func:`check_key` refuses anything else.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from flask import current_app

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


class LocalStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, source: BinaryIO) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        os.replace(tmp, path)  # readers never see a half-written file

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        self.put_file(key, io.BytesIO(data))

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def local_path(self, key: str) -> str:
        """A path on this machine holding the object (the object itself, here)."""
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(key)
        return str(path)

    def cleanup(self) -> None:
        """Nothing to remove: :meth:`local_path` hands out the stored file itself."""

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def put_new(self, key: str, data: bytes) -> None:
        """Write an object that must not exist yet (write-once, e.g. audit anchors)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError as exc:
            raise KeyExistsError(key) from exc
        with os.fdopen(fd, "wb") as target:
            target.write(data)
            target.flush()
            os.fsync(target.fileno())

    def list_keys(self, prefix: str) -> list[str]:
        """The keys under the folder ``prefix``, sorted (not recursive into sub-folders)."""
        folder = self._path(prefix.rstrip("/"))
        if not folder.is_dir():
            return []
        return sorted(f"{prefix.rstrip('/')}/{p.name}" for p in folder.iterdir()
                      if p.is_file() and not p.name.endswith(".part"))


def storage_from_url(url: str, s3_endpoint_url: str | None = None, **s3_options) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(parsed.path)
    if parsed.scheme == "s3":
        from app.infra.storage.s3 import S3Storage

        return S3Storage(parsed.netloc, parsed.path.strip("/"), endpoint_url=s3_endpoint_url or None,
                         **s3_options)
    raise ValueError(f"STORAGE_URL must start with file:// or s3://, got {url!r}")


def get_storage() -> Storage:
    config = current_app.config
    return storage_from_url(
        config["STORAGE_URL"], config.get("S3_ENDPOINT_URL"),
        sse=config.get("S3_SSE"), kms_key_id=config.get("S3_SSE_KMS_KEY_ID"),
        object_lock_days=config.get("S3_OBJECT_LOCK_DAYS", 0),
    )
