"""The S3 backend of :mod:`app.infra.storage` (``STORAGE_URL=s3://bucket/prefix``).

Every object is written with server-side encryption requested (``S3_SSE``: ``AES256``, the
default, or ``aws:kms`` with an optional ``S3_SSE_KMS_KEY_ID``), so a bucket without a default
encryption policy still never holds plain uploads.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import BinaryIO

import boto3
from botocore.exceptions import ClientError

from app.infra.storage.base import KeyExistsError, check_key


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        sse: str | None = None,
        kms_key_id: str | None = None,
        client=None,
        object_lock_days: int = 0,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.sse = sse or "AES256"
        self.kms_key_id = kms_key_id or None
        # Write-once objects (put_new: the audit anchors) get a COMPLIANCE Object Lock of this
        # many days when > 0; the production bucket policy refuses them without one.
        self.object_lock_days = int(object_lock_days or 0)
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)
        # Local copies handed out by local_path(); removed by cleanup().
        self._temp_paths: list[str] = []

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _extra_args(self) -> dict:
        extra = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            extra["SSEKMSKeyId"] = self.kms_key_id
        return extra

    def _lock_args(self) -> dict:
        if self.object_lock_days <= 0:
            return {}
        import datetime as dt

        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.object_lock_days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until,
                "ChecksumAlgorithm": "SHA256"}

    def put_file(self, key: str, source: BinaryIO) -> None:
        # upload_fileobj streams in parts; an object appears only once complete.
        self.client.upload_fileobj(source, self.bucket, self._key(key), ExtraArgs=self._extra_args())

    def put_bytes(self, key: str, data: bytes) -> None:
        self.put_file(key, io.BytesIO(data))

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(key) from exc
            raise
        return response["Body"]

    def local_path(self, key: str) -> str:
        """Download the object to a temporary file (parsers need a seekable file on disk)."""
        suffix = os.path.splitext(key)[1]
        fd, path = tempfile.mkstemp(prefix="optiserve-s3-", suffix=suffix)
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self._key(key), path)
        except ClientError as exc:
            os.unlink(path)
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(key) from exc
            raise
        self._temp_paths.append(path)
        return path

    def cleanup(self) -> None:
        """Remove the temporary copies made by :meth:`local_path`."""
        while self._temp_paths:
            path = self._temp_paths.pop()
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def put_new(self, key: str, data: bytes) -> None:
        """Write an object that must not exist yet: a conditional put (``If-None-Match: *``).
        In a bucket with Object Lock the object then cannot be changed or deleted either."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   IfNoneMatch="*", **self._extra_args(), **self._lock_args())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
                raise KeyExistsError(key) from exc
            raise

    def list_keys(self, prefix: str) -> list[str]:
        """The keys directly under the folder ``prefix``, sorted."""
        folder = self._key(prefix.rstrip("/")) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder, Delimiter="/"):
            keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(keys)

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
