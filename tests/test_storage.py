"""One storage suite, run against the local folder and against S3 through moto's real HTTP
server (boto3 talks to it over the network, nothing is mocked)."""
from __future__ import annotations

import io
import socket

import pytest

from app.infra.storage import LocalStorage, check_key, storage_from_url

BUCKET = "optiserve-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "S3_SSE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        yield storage_from_url(f"file://{tmp_path / 'store'}")
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    request.getfixturevalue("aws_env")
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    store = storage_from_url(f"s3://{BUCKET}/tenant-files", s3_endpoint_url=endpoint)
    yield store
    store.cleanup()


def test_backend_chosen_by_url(storage):
    assert type(storage).__name__ in {"LocalStorage", "S3Storage"}


def test_put_open_round_trip(storage):
    key = "uploads/1/2026-10/7/ledger.csv"
    storage.put_bytes(key, "機器番号,製品名\nME-1,ポンプ\n".encode("cp932"))
    with storage.open(key) as handle:
        assert handle.read().decode("cp932").startswith("機器番号")
    assert storage.exists(key)


def test_put_file_streams_large_object(storage):
    key = "uploads/1/2026-10/8/lending.csv"
    payload = b"x" * (6 * 1024 * 1024 + 17)  # past one multipart chunk on S3
    storage.put_file(key, io.BytesIO(payload))
    with storage.open(key) as handle:
        assert handle.read() == payload


def test_local_path_gives_readable_file(storage):
    key = "uploads/2/2026-09/9/failure.xlsx"
    storage.put_bytes(key, b"PK\x03\x04data")
    path = storage.local_path(key)
    assert path.endswith(".xlsx")
    with open(path, "rb") as handle:
        assert handle.read() == b"PK\x03\x04data"


def test_overwrite_replaces_content(storage):
    key = "uploads/1/2026-10/7/ledger.csv"
    storage.put_bytes(key, b"old")
    storage.put_bytes(key, b"new")
    with storage.open(key) as handle:
        assert handle.read() == b"new"


def test_delete_and_exists(storage):
    key = "rejected/1/5.xlsx"
    assert not storage.exists(key)
    storage.put_bytes(key, b"1")
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting a missing object is not an error


def test_missing_object_raises_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        storage.open("uploads/none/here.csv").read()
    with pytest.raises(FileNotFoundError):
        storage.local_path("uploads/none/here.csv")


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "uploads/../../x", "/abs/path", "uploads/a b.csv", "uploads//x", ""]
)
def test_keys_from_user_input_refused(storage, key):
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        check_key(key)


def test_s3_objects_are_encrypted_server_side(moto_endpoint, aws_env):
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket="sse-check")
    store = storage_from_url("s3://sse-check/p", s3_endpoint_url=moto_endpoint)
    store.put_bytes("uploads/1/2026-10/1/ledger.csv", b"a,b\n")
    head = client.head_object(Bucket="sse-check", Key="p/uploads/1/2026-10/1/ledger.csv")
    assert head["ServerSideEncryption"] == "AES256"


def test_s3_sse_is_configurable(app, moto_endpoint, aws_env, monkeypatch):
    import boto3

    from app.infra.storage import get_storage

    monkeypatch.setitem(app.config, "STORAGE_URL", "s3://sse-kms")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setitem(app.config, "S3_SSE", "aws:kms")
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    client.create_bucket(Bucket="sse-kms")
    with app.app_context():
        store = get_storage()
    store.put_bytes("uploads/1/x.csv", b"a")
    head = client.head_object(Bucket="sse-kms", Key="uploads/1/x.csv")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_local_storage_write_is_atomic(tmp_path):
    store = LocalStorage(str(tmp_path))
    store.put_bytes("a/b.csv", b"1")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.csv"]
