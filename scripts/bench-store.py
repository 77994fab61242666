#!/usr/bin/env python3
"""Time to first response through a snapshot store, four ways, side by side.

For rust-heavy-init (native engine) and node-s3 (CRIU engine), machine A
makes the snapshot with `snaprun run --store` and pushes it; its first
restored invocation records the working set. Then, run after run and
interleaved, a fresh `snaprun run` is timed from its start to its first
response:

  local       the snapshot directory from A (no store traffic)
  warm        an empty snapshot directory, a chunk cache that holds every chunk
  cold+ws     an empty directory and cache; the store has a working set
  cold        an empty directory and cache; the store has none

The store is moto_server on loopback, reached through a proxy that delays
every read and write by a fixed time each way, so that each request pays a
network's round trip. The functions' own S3 traffic goes to moto directly.

Usage: scripts/bench-store.py [RUNS] [ONE_WAY_MS] [FUNCTION]   (needs root for CRIU,
       the demos built, moto_server; scripts/test.sh installs them)
"""

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPRUN = os.path.join(ROOT, "target/release/snaprun")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delaying_proxy(listen_port, upstream_port, one_way):
    """Forwards loopback TCP to upstream, delaying each piece of data by
    one_way seconds in each direction (order kept), in a thread."""

    async def pipe(reader, writer):
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if data is None:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while data := await reader.read(1 << 16):
                queue.put_nowait((time.monotonic() + one_way, data))
        finally:
            queue.put_nowait((time.monotonic() + one_way, None))
            await sender

    async def serve(client_reader, client_writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(
            pipe(client_reader, up_writer), pipe(up_reader, client_writer), return_exceptions=True
        )

    async def main():
        server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")


def first_response(args, env, payload=b"{}"):
    """Starts `snaprun run ARGS`, invokes it once as soon as it listens;
    returns (ms from start to the response, its stderr so far)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [SNAPRUN, "run", "--listen", "127.0.0.1:0", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    lines = []
    try:
        for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            m = re.match(r"snaprun: listening on http://(\S+)", line)
            if m:
                url = f"http://{m.group(1)}/2015-03-31/functions/function/invocations"
                with urllib.request.urlopen(url, data=payload, timeout=120) as answer:
                    body = answer.read()
                took = (time.monotonic() - started) * 1e3
                if answer.headers.get("X-Amz-Function-Error"):
                    sys.exit(f"function error: {body!r}\n" + "\n".join(lines))
                break
        else:
            sys.exit("snaprun exited:\n" + "\n".join(lines))
        # Let the logs of the start (pull, working set) arrive.
        time.sleep(0.5)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    lines += [l.decode(errors="replace").rstrip() for l in proc.stderr.readlines()]
    return took, lines


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    one_way_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "-p", "snaprun"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="bench-store-")
    moto_port, proxy_port = free_port(), free_port()
    moto = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(moto_port)
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{moto_port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket="snap-demo")
        s3.put_object(Bucket="snap-demo", Key="hello.txt", Body=b"hello from a real S3-compatible server\n")
        s3.create_bucket(Bucket="snap-store")
        delaying_proxy(proxy_port, moto_port, one_way_ms / 1e3)
        env = dict(
            os.environ,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy_port}",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION="us-east-1",
        )
        print(f"store: moto_server on loopback behind {one_way_ms:g} ms each way; {runs} runs per case, interleaved")
        functions = [
            ("rust-heavy-init", "native", [], demo_bootstrap("rust-heavy-init")),
            (
                "node-s3",
                "criu",
                [
                    "--forward", f"127.0.0.1:{moto_port}",
                    "--env", f"S3_ENDPOINT=http://127.0.0.1:{moto_port}",
                    "--env", "AWS_ACCESS_KEY_ID=test",
                    "--env", "AWS_SECRET_ACCESS_KEY=test",
                ],
                os.path.join(ROOT, "demo-functions/node-s3/bootstrap"),
            ),
        ]
        only = sys.argv[3] if len(sys.argv) > 3 else None
        for name, engine, extra, bootstrap in functions:
            if only and name != only:
                continue
            bench_function(work, env, name, engine, extra, bootstrap, runs)
    finally:
        moto.kill()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


def demo_bootstrap(name):
    for sub in ("target/x86_64-unknown-linux-gnu/release", "target/aarch64-unknown-linux-gnu/release", "target/release"):
        path = os.path.join(ROOT, "demo-functions", name, sub, "bootstrap")
        if os.path.exists(path):
            return path
    sys.exit(f"build demo-functions/{name} first (cargo build --release there)")


def bench_function(work, env, name, engine, extra, bootstrap, runs):
    base = os.path.join(work, name)
    os.makedirs(base)

    def flags(snapshot, cache, store):
        return [
            "--engine", engine,
            "--snapshot-dir", snapshot,
            "--chunk-cache", cache,
            "--store", store,
            *extra,
            "--",
            bootstrap,
        ]

    with_ws, without_ws = f"s3://snap-store/{name}", f"s3://snap-store/{name}-no-working-set"
    # Machine A: init, snapshot, push, and a restore that records the
    # working set; the same snapshot pushed where no working set is.
    a_snap, a_cache = os.path.join(base, "a-snap"), os.path.join(base, "a-cache")
    _, logs = first_response(flags(a_snap, a_cache, with_ws), env)
    if not any("pushed the snapshot" in l for l in logs):
        sys.exit("\n".join(logs))
    time.sleep(1)
    subprocess.run(
        [SNAPRUN, "push", a_snap, "--store", without_ws, "--chunk-cache", os.path.join(base, "x-cache")],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    # A warm cache: one pull's worth of chunks.
    warm = os.path.join(base, "warm-cache")
    subprocess.run(
        [SNAPRUN, "pull", key_of(logs), os.path.join(base, "w-snap"), "--store", with_ws, "--chunk-cache", warm],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    image = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(a_snap, "payload")) for f in fs)
    cases = {"local": [], "warm": [], "cold+ws": [], "cold": []}
    fetched = {case: [] for case in cases}
    for run in range(runs):
        for case in cases:
            snap = os.path.join(base, f"{case}-{run}-snap")
            cache = os.path.join(base, f"{case}-{run}-cache")
            store = with_ws
            if case == "local":
                shutil.copytree(a_snap, snap)
            elif case == "warm":
                shutil.copytree(warm, cache)
            elif case == "cold":
                store = without_ws
            took, logs = first_response(flags(snap, cache, store), env)
            if case != "local" and not any("pulled the snapshot" in l for l in logs):
                sys.exit(f"{name} {case}: no pull\n" + "\n".join(logs))
            cases[case].append(took)
            fetched[case].append(fetched_mib(logs))
            shutil.rmtree(snap, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
    print(f"\n{name} ({engine}), payload {image / 2**20:.1f} MiB:")
    print(f"  {'case':<9} {'median ms':>10} {'min ms':>8} {'fetched MiB':>12}")
    for case, times in cases.items():
        print(f"  {case:<9} {statistics.median(times):>10.1f} {min(times):>8.1f} {statistics.median(fetched[case]):>12.1f}")


def key_of(logs):
    for line in logs:
        m = re.search(r"pushed the snapshot to \S+ as ([0-9a-f]{64})", line)
        if m:
            return m.group(1)
    sys.exit("no key in:\n" + "\n".join(logs))


def fetched_mib(logs):
    for line in logs:
        m = re.search(r"(\d+) fetched \(([\d.]+) MiB\)", line)
        if m:
            return float(m.group(2))
    return 0.0


if __name__ == "__main__":
    main()
