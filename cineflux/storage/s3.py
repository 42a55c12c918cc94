"""S3 storage (boto3): any S3-compatible object store, shared by workers on many machines.

Objects are written whole by one PUT, so a reader sees an old object or the new one. A
directory cannot appear at once on S3; that is fine because nothing references a track
before the manifests are rewritten, and the manifests are written last (see ``assembly``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from cineflux.storage import AlreadyPublished, ObjectInfo, normalise_key


class S3Storage:
    """Storage in a bucket, under an optional key prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        key = normalise_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    def _object_keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix) + "/"):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def publish_directory(self, source: Path, prefix: str, *, replace: bool = False) -> None:
        """Upload every file of ``source`` under ``prefix``, then remove ``source``."""
        if self._object_keys(prefix):
            if not replace:
                raise AlreadyPublished(prefix)
            self.remove_prefix(prefix)
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = PurePosixPath(path.relative_to(source))
            self.client.upload_file(str(path), self.bucket, self._key(f"{prefix}/{relative}"))
        for path in sorted(source.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        source.rmdir()

    def write_atomic(self, key: str, data: bytes) -> None:
        """One PUT: S3 makes it visible whole."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        """Upload a local file (multipart for large mezzanines)."""
        self.client.upload_file(str(source), self.bucket, self._key(key))

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; ``FileNotFoundError`` when it does not exist."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        data: bytes = response["Body"].read()
        return data

    def remove_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix``, a thousand per request."""
        keys = self._object_keys(prefix)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return self.stat(key) is not None

    def local_path(self, key: str) -> Path | None:
        """Never: objects are not files on this machine."""
        normalise_key(key)
        return None

    def list_prefix(self, prefix: str) -> list[str]:
        """Every key under ``prefix``."""
        return sorted(self._relative(key) for key in self._object_keys(prefix))

    def staging_dir(self) -> Path:
        """A local temporary directory."""
        return Path(tempfile.mkdtemp(prefix="cineflux-staging-"))

    def download(self, key: str, target: Path) -> None:
        """Stream the object into a local file."""
        self.client.download_file(self.bucket, self._key(key), str(target))

    def stat(self, key: str) -> ObjectInfo | None:
        """HEAD the object."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(size=int(head["ContentLength"]), etag=str(head["ETag"]))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """A ranged GET."""
        response = self.client.get_object(
            Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}"
        )
        data: bytes = response["Body"].read()
        return data


def make_s3_client(endpoint_url: str | None, region: str) -> Any:
    """A boto3 S3 client; credentials come from the usual AWS variables or files."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
