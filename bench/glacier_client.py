#!/usr/bin/env python3
"""boto3 side of the Firn benchmarks (driven by bench/run.ts; one JSON object on stdout per call).

The same client code runs against Firn and moto_server, so the ratios compare servers, not clients.
Timings use time.perf_counter() around the API call only (no process start, no file generation).

Hash modes for uploads:
  client       boto3 as users run it: botocore reads the body twice to compute x-amz-content-sha256
               and the tree hash before sending (add_glacier_checksums).
  precomputed  both hashes are passed in (checksum= and a before-call hook for
               x-amz-content-sha256), so the time measured is the transfer plus the server's work.
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client(endpoint):
    return boto3.client(
        "glacier",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["BENCH_KEY"],
        aws_secret_access_key=os.environ["BENCH_SECRET"],
        config=Config(retries={"max_attempts": 1}, read_timeout=3600, connect_timeout=10, max_pool_connections=16),
    )


def with_content_sha256(c, op, value_for_params):
    """Sets x-amz-content-sha256 before botocore's add_glacier_checksums runs, so it is not recomputed."""

    def hook(params, **kwargs):
        v = value_for_params(params)
        if v:
            params["headers"]["x-amz-content-sha256"] = v

    c.meta.events.register_first(f"before-call.glacier.{op}", hook)


def cmd_upload(a):
    c = client(a.endpoint)
    h = json.load(open(a.hashes)) if a.hashes else None
    if h and a.mode == "precomputed":
        with_content_sha256(c, "UploadArchive", lambda p: h["sha256"])
    times, ids = [], []
    for i in range(a.count):
        with open(a.file, "rb") as f:
            kw = {"vaultName": a.vault, "body": f, "archiveDescription": f"bench {i}"}
            if h and a.mode == "precomputed":
                kw["checksum"] = h["treeHash"]
            t0 = time.perf_counter()
            r = c.upload_archive(**kw)
            times.append(time.perf_counter() - t0)
            ids.append(r["archiveId"])
    print(json.dumps({"times": times, "archiveIds": ids[-1:]}))


class PartReader:
    """A file-like window over one part of a file, so that no part is held in memory."""

    def __init__(self, path, start, length):
        self.f = open(path, "rb")
        self.start, self.length, self.pos = start, length, 0
        self.f.seek(start)

    def read(self, n=-1):
        left = self.length - self.pos
        if n is None or n < 0 or n > left:
            n = left
        b = self.f.read(n)
        self.pos += len(b)
        return b

    def seek(self, off, whence=0):
        self.pos = off if whence == 0 else (self.pos + off if whence == 1 else self.length + off)
        self.f.seek(self.start + self.pos)
        return self.pos

    def tell(self):
        return self.pos

    def __len__(self):
        return self.length

    def close(self):
        self.f.close()


def cmd_multipart(a):
    c = client(a.endpoint)
    h = json.load(open(a.hashes))
    parts = h["parts"][str(a.part_size)]
    by_range = {}
    for i, p in enumerate(parts):
        s = i * a.part_size
        by_range[f"bytes {s}-{s + p['size'] - 1}/*"] = p["sha256"]
    with_content_sha256(c, "UploadMultipartPart", lambda params: by_range.get(params["headers"].get("Content-Range")))
    t0 = time.perf_counter()
    up = c.initiate_multipart_upload(vaultName=a.vault, partSize=str(a.part_size), archiveDescription="bench multipart")
    uid = up["uploadId"]

    def send(i):
        p = parts[i]
        s = i * a.part_size
        body = PartReader(a.file, s, p["size"])
        try:
            c.upload_multipart_part(vaultName=a.vault, uploadId=uid, range=f"bytes {s}-{s + p['size'] - 1}/*", body=body, checksum=p["treeHash"])
        finally:
            body.close()

    with ThreadPoolExecutor(max_workers=a.threads) as ex:
        list(ex.map(send, range(len(parts))))
    r = c.complete_multipart_upload(vaultName=a.vault, uploadId=uid, archiveSize=str(h["size"]), checksum=h["treeHash"])
    dt = time.perf_counter() - t0
    print(json.dumps({"times": [dt], "archiveIds": [r["archiveId"]], "checksumOk": r["checksum"] == h["treeHash"]}))


def wait_job(c, vault, job_id, timeout=3600):
    t0 = time.perf_counter()
    while True:
        d = c.describe_job(vaultName=vault, jobId=job_id)
        if d["Completed"]:
            return d, time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"job {job_id} not done after {timeout}s")
        time.sleep(0.02)


def drain(body, chunk=1 << 20):
    n = 0
    while True:
        b = body.read(chunk)
        if not b:
            return n
        n += len(b)


def cmd_output(a):
    """Initiates the retrieval on --endpoint and downloads it through --download-endpoint (default: the same)."""
    c = client(a.endpoint)
    j = c.initiate_job(vaultName=a.vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": a.archive_id, "Tier": a.tier})
    d, waited = wait_job(c, a.vault, j["jobId"])
    dl = client(a.download_endpoint) if a.download_endpoint else c
    t0 = time.perf_counter()
    r = dl.get_job_output(vaultName=a.vault, jobId=j["jobId"])
    n = drain(r["body"])
    dt = time.perf_counter() - t0
    print(json.dumps({"times": [dt], "bytes": n, "jobWait": waited, "status": d["StatusCode"]}))


def cmd_inventory(a):
    c = client(a.endpoint)
    t0 = time.perf_counter()
    j = c.initiate_job(vaultName=a.vault, jobParameters={"Type": "inventory-retrieval", "Format": a.format})
    d, waited = wait_job(c, a.vault, j["jobId"])
    t1 = time.perf_counter()
    r = c.get_job_output(vaultName=a.vault, jobId=j["jobId"])
    n = drain(r["body"])
    t2 = time.perf_counter()
    print(json.dumps({"produce": t1 - t0, "download": t2 - t1, "bytes": n, "status": d["StatusCode"], "size": d.get("InventorySizeInBytes")}))


def cmd_seed(a):
    """Uploads `count` distinct tiny archives (moto derives archive ids from the body's MD5)."""
    c = client(a.endpoint)
    t0 = time.perf_counter()

    def one(i):
        c.upload_archive(vaultName=a.vault, body=f"archive {i}".encode(), archiveDescription=f"seeded archive {i}")

    with ThreadPoolExecutor(max_workers=4) as ex:
        list(ex.map(one, range(a.count)))
    print(json.dumps({"seconds": time.perf_counter() - t0}))


def cmd_vault(a):
    client(a.endpoint).create_vault(vaultName=a.vault)
    print(json.dumps({"ok": True}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["upload", "multipart", "output", "inventory", "seed", "vault"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--vault", default="bench")
    p.add_argument("--file")
    p.add_argument("--hashes")
    p.add_argument("--mode", default="precomputed", choices=["precomputed", "client"])
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--part-size", type=int, default=64 << 20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--archive-id")
    p.add_argument("--format", default="JSON")
    p.add_argument("--tier", default="Expedited")
    p.add_argument("--download-endpoint")
    a = p.parse_args()
    {"upload": cmd_upload, "multipart": cmd_multipart, "output": cmd_output, "inventory": cmd_inventory, "seed": cmd_seed, "vault": cmd_vault}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
