"""The local-folder backend (embedded default: ``STORAGE_URL=file:///path``)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from app.infra.storage.base import KeyExistsError, check_key


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
