#!/usr/bin/env bash
# Where a native restore's time goes, from snaprun's decision to restore to
# the first response, by stage (docs/engines.md, "Where a native restore's
# time goes").
#
#   scripts/restore-stages.sh [RUNS] -- SNAPRUN_BENCH_ARGS...
#   scripts/restore-stages.sh 20 -- --engine native -- demo-functions/rust-heavy-init/target/x86_64-unknown-linux-gnu/release/bootstrap
#
# It runs `target/release/snaprun bench --runs RUNS ARGS` (or $SNAPRUN) with
# a few kernel trace events on (tracefs, so root), then prints, for the
# restores only, the median, min and max of each stage, and the total of
# restores from a spare (started ahead, opened at their gate) apart from
# those on demand (exec'd when asked for), which bench measures side by
# side. The events are
# system calls that mark stage boundaries: snaprun's bind of the instance's
# listener (the restore starts), the vfork and exec, the restored process's
# personality() check (snap::init starts), its last ARCH_SET_FS (the
# restorer is done), its first epoll_create1 (the function's tokio runtime),
# its connects and writes to the Runtime API, and snaprun's kill of the
# instance once it has its response.
set -euo pipefail

runs=20
if [[ ${1:-} =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
[[ ${1:-} == -- ]] && shift
snaprun=${SNAPRUN:-target/release/snaprun}
tracing=/sys/kernel/tracing
[[ -w $tracing/set_event ]] || { echo "restore-stages: needs a writable $tracing (root)" >&2; exit 1; }

trace=$(mktemp)
trap 'echo 0 > $tracing/tracing_on; echo > $tracing/set_event; rm -f "$trace"' EXIT
echo 0 > $tracing/tracing_on
echo > $tracing/trace
echo 16384 > $tracing/buffer_size_kb
echo > $tracing/set_event
for event in sched:sched_process_fork sched:sched_process_exec \
  syscalls:sys_enter_execve syscalls:sys_enter_bind syscalls:sys_enter_personality \
  syscalls:sys_enter_arch_prctl syscalls:sys_enter_epoll_create1 syscalls:sys_enter_connect \
  syscalls:sys_enter_writev syscalls:sys_enter_kill syscalls:sys_enter_pidfd_send_signal \
  syscalls:sys_enter_write syscalls:sys_enter_dup2; do
  echo "$event" >> $tracing/set_event
done
echo 1 > $tracing/tracing_on
"$snaprun" bench --runs "$runs" "$@" 2>/dev/null | grep -E '^(engine|restore)'
echo 0 > $tracing/tracing_on
cat $tracing/trace > "$trace"

python3 - "$trace" <<'PY'
import collections, re, statistics, sys

events = []
for line in open(sys.argv[1]):
    m = re.match(r'\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+):\s+(\w+)[:(]\s*(.*)', line)
    if m:
        events.append((float(m.group(3)) * 1000, int(m.group(2)), m.group(4), m.group(5)))
by_pid = collections.defaultdict(list)
for e in events:
    by_pid[e[1]].append(e)

def first(evs, name, test=lambda rest: True):
    return next(t for t, _, n, rest in evs if n == name and test(rest))

rows = []
for t, _, name, rest in events:
    if name != 'sched_process_fork':
        continue
    pid = int(re.search(r'child_pid=(\d+)', rest).group(1))
    evs = by_pid.get(pid, [])
    try:
        exec_done = first(evs, 'sched_process_exec')
        connects = [e[0] for e in evs if e[2] == 'sys_connect']
        # A restore started ahead: its gate opens with snaprun's one-byte
        # write, and the spare then puts /dev/null on its stdin (dup2).
        opened = [e[0] for e in evs if e[2] == 'sys_dup2' and e[0] > exec_done]
        # A restore reaches the Runtime API within milliseconds of its
        # start (or its gate); a cold start only after its init.
        if not connects or connects[0] - (opened[0] if opened else exec_done) > 50:
            continue
        bind = max(e[0] for e in events if e[2] == 'sys_bind' and e[0] < t)
        execve = first(evs, 'sys_execve')
        init = first(evs, 'sys_personality')
        restored = max(e[0] for e in evs if e[2] == 'sys_arch_prctl' and 'option: 0x1002' in e[3])
        runtime = first(evs, 'sys_epoll_create1')
        writes = [e[0] for e in evs if e[2] == 'sys_writev']
        killed = min(e[0] for e in events if e[2] in ('sys_kill', 'sys_pidfd_send_signal')
                     and e[0] > max(writes[-1:] or [exec_done]) and e[1] != pid)
        gate = None
        if opened:
            gate = max(e[0] for e in events if e[2] == 'sys_write' and e[1] != pid
                       and re.search(r'count: (0x0*)?1\)?$', e[3]) and e[0] < opened[0])
    except (StopIteration, ValueError) as err:
        print("skip", pid, repr(err), file=sys.stderr)
        continue
    if len(connects) < 2 or len(writes) < 3:
        continue
    row = {}
    if gate is None:
        row.update({
            "snaprun: listener, command, spawn": t - bind,
            "vfork to execve": execve - t,
            "execve": exec_done - execve,
            "exec to snap::init (loader, libc, std)": init - exec_done,
            "snap::init to restored (engine)": restored - init,
        })
    else:
        row.update({
            "gate: snaprun's write to the spare awake": opened[0] - gate,
            "gate to restored (map, jump)": restored - opened[0],
        })
    row.update({
        "restored to tokio (handoff, hooks)": runtime - restored,
        "tokio to first connect": connects[0] - runtime,
        "connect to restore/next sent": writes[0] - connects[0],
        "restore/next round trip, reconnect": connects[1] - writes[0],
        "connect to invocation/next sent": writes[1] - connects[1],
        "invocation/next to response sent": writes[2] - writes[1],
        "response sent to snaprun done": killed - writes[2],
        "TOTAL (on demand)" if gate is None else "TOTAL (spare)": killed - (bind if gate is None else gate),
    })
    rows.append(row)
if not rows:
    sys.exit("restore-stages: no restores found in the trace")
print(f"{len(rows)} restores, ms      median      min      max")
keys = list(dict.fromkeys(k for r in rows for k in r))
totals = [k for k in keys if k.startswith("TOTAL")]
for key in [k for k in keys if k not in totals] + sorted(totals, reverse=True):
    values = [r[key] for r in rows if key in r]
    print(f"{key:40s} {statistics.median(values):7.3f}  {min(values):7.3f}  {max(values):7.3f}  ({len(values)})")
PY
