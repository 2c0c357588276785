"""A moto S3 server on 127.0.0.1 for the ``s3://`` tests, and small object helpers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from corpus.readers.inputs import filesystem
from tests.pipelines.raycluster import free_ports

MOTO = Path(sys.executable).with_name("moto_server")


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[dict[str, str]]:
    """Start ``moto_server`` (stopped by its pid on exit); yields the AWS env pointing at it."""
    (port,) = free_ports(1)
    log = log_dir / "moto.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()}") from None
                time.sleep(0.5)
        yield {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mkbucket(name: str) -> None:
    import boto3  # moto's dependency; primer itself does not need it

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    if name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=name)


def put(uri: str, data: bytes) -> None:
    store, key = filesystem(uri)
    mkbucket(key.split("/")[0])
    with store.open_output_stream(key) as out:
        out.write(data)


def get(uri: str) -> bytes:
    store, key = filesystem(uri)
    with store.open_input_stream(key) as f:
        return f.read()
