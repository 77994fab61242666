#!/usr/bin/env python3
"""On-demand native restores of one function, for several builds of its
bootstrap side by side (docs/snapjs.md, "Binary and load time").

Each run starts a new `snaprun run --engine native` on a snapshot made
once per bootstrap, so its first instance is a restore with nothing
prepared ahead (no spare at its gate), invokes it once, and reads the
restoring environment's SNAP_RESTORE_TIMING lines and the REPORT line.
The bootstraps alternate run by run. Prints, per bootstrap, the median
(min-max) of the REPORT's Restore Duration, its Duration, their sum (the
on-demand restore to the first response), and every stage of the
`snap: restore timing` and `snapjs: first invocation` lines.

  scripts/on-demand-restores.py --runs 15 --task-root demo-functions/js-heavy-init/dist \\
      target/release/snapjs /tmp/snapjs-other
  scripts/on-demand-restores.py --runs 15 --task-root demo-functions/js-s3/dist \\
      --env S3_ENDPOINT=http://127.0.0.1:9500 --env AWS_ACCESS_KEY_ID=test \\
      --env AWS_SECRET_ACCESS_KEY=test target/release/snapjs

The task root is passed to each bootstrap as its argument, as snapjs takes
it; `--handler` defaults to index.handler.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


FIRST = "snapjs: first invocation (ms):"
# Per bootstrap, FIRST if it prints that line (learnt from its first run).
PRINTS = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stages(line, prefix):
    """`name value` pairs of a timing line after `prefix`, up to the first `;`."""
    body = line.split(prefix, 1)[1].split(";", 1)[0]
    out = {}
    for part in body.split(","):
        m = re.match(r"\s*([\w-]+)\s+([\d.]+)", part)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def one_run(args, bootstrap, snapshot_dir):
    port = free_port()
    cmd = [args.snaprun, "run", "--engine", "native", "--snapshot-dir", snapshot_dir,
           "--listen", f"127.0.0.1:{port}", "--handler", args.handler,
           "--env", "SNAP_RESTORE_TIMING=1"]
    for env in args.env:
        cmd += ["--env", env]
    cmd += ["--", bootstrap, args.task_root]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"snaprun did not start: {' '.join(cmd)}")
                time.sleep(0.01)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations",
            data=args.payload.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read().decode()
        # The REPORT line follows the response, and snapjs's own line
        # follows its response's answer (a bootstrap that printed it once is
        # waited for).
        deadline = time.monotonic() + 30
        while True:
            log.seek(0)
            text = log.read().decode(errors="replace")
            done = "REPORT RequestId:" in text and (
                FIRST not in PRINTS.get(bootstrap, "") or FIRST in text)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if bootstrap not in PRINTS:
            # The first run of a bootstrap: give its line a moment.
            deadline = time.monotonic() + 3
            while FIRST not in text and time.monotonic() < deadline:
                time.sleep(0.05)
                log.seek(0)
                text = log.read().decode(errors="replace")
            PRINTS[bootstrap] = FIRST if FIRST in text else ""
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if '"errorType"' in body:
        raise SystemExit(f"{bootstrap} failed: {body}")
    sample = {"body": body}
    for line in text.splitlines():
        if line.startswith("REPORT RequestId:"):
            for key, name in [("Restore Duration", "restore"), ("\tDuration", "duration")]:
                m = re.search(re.escape(key) + r": ([\d.]+) ms", line)
                if m:
                    sample[name] = float(m.group(1))
            m = re.search(r"Max Memory Used: (\d+) MB", line)
            if m:
                sample["max_memory_mb"] = float(m.group(1))
        elif "snap: restore timing (ms):" in line:
            sample.update({f"snap {k}": v for k, v in stages(line, "snap: restore timing (ms):").items()})
        elif FIRST in line:
            sample["line"] = line[line.index(FIRST):]
            sample.update({f"snapjs {k}": v for k, v in stages(line, FIRST).items()})
            m = re.search(r"faults minor (\d+) major (\d+)", line)
            if m:
                sample["snapjs faults minor"] = float(m.group(1))
                sample["snapjs faults major"] = float(m.group(2))
            m = re.search(r"requests (\d+) connections (\d+)", line)
            if m:
                sample["snapjs requests"] = float(m.group(1))
                sample["snapjs connections"] = float(m.group(2))
    if "restore" not in sample or "duration" not in sample:
        raise SystemExit(f"no REPORT line with a restore from {bootstrap}:\n{text[-3000:]}")
    sample["restore+duration"] = sample["restore"] + sample["duration"]
    return sample


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--task-root", required=True)
    p.add_argument("--handler", default="index.handler")
    p.add_argument("--payload", default="{}")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--snaprun", default="target/release/snaprun")
    p.add_argument("--json", help="also write every sample to this file")
    p.add_argument("bootstraps", nargs="+")
    args = p.parse_args()
    args.task_root = os.path.abspath(args.task_root)
    work = tempfile.TemporaryDirectory()
    dirs = {}
    for i, bootstrap in enumerate(args.bootstraps):
        dirs[bootstrap] = os.path.join(work.name, f"snap{i}")
        # Makes the snapshot; the runs after it reuse it.
        one_run(args, bootstrap, dirs[bootstrap])
    samples = {b: [] for b in args.bootstraps}
    for run in range(args.runs):
        for bootstrap in args.bootstraps:
            samples[bootstrap].append(one_run(args, bootstrap, dirs[bootstrap]))
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
    for bootstrap, runs in samples.items():
        print(f"== {bootstrap} ({os.path.getsize(bootstrap) / 1e6:.1f} MB), {len(runs)} on-demand restores; median (min-max)")
        keys = sorted({k for r in runs for k in r if k not in ("body", "line")},
                      key=lambda k: (k.split(" ")[0] if " " in k else "~", list(runs[0]).index(k) if k in runs[0] else 99))
        for key in keys:
            values = [r[key] for r in runs if key in r]
            print(f"  {key:28} {statistics.median(values):9.3f} ({min(values):.3f}-{max(values):.3f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(samples, f, indent=1)


if __name__ == "__main__":
    main()
