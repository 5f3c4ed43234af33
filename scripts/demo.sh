#!/usr/bin/env bash
# demo.sh - start the primary and 2 workers in netns "mpstack", talk to them
# from the kernel side (ping, echo, curl), print the per-worker table, stop.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN="$REPO/scripts/mps-run.sh"
NS=${MPS_NS:-mpstack}
PREFIX=${MPS_PREFIX:-mpstack}
IP=198.18.0.2

step() { printf '\n== %s\n' "$*"; }
trap '"$RUN" stop' EXIT

step "starting primary + 2 workers (netns $NS, tap mps0, stack $IP)"
"$RUN" stop >/dev/null 2>&1 || true
MPS_PRIMARY_ARGS="--listen 7:echo,80:http,9:discard" "$RUN" start 2

step "ping $IP"
ip netns exec "$NS" ping -c 3 -i 0.2 "$IP"

step "echo: 16 connections x 256 KiB, byte-exact"
ip netns exec "$NS" /usr/bin/python3 - "$IP" <<'PY'
import os, socket, sys, threading
ok = []
def one():
    data = os.urandom(256 * 1024)
    s = socket.create_connection((sys.argv[1], 7), timeout=10)
    threading.Thread(target=s.sendall, args=(data,)).start()
    got = bytearray()
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got += b
    ok.append(bytes(got) == data)
    s.close()
ts = [threading.Thread(target=one) for _ in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
print(f"{ok.count(True)}/16 echoes byte-exact")
sys.exit(0 if all(ok) and len(ok) == 16 else 1)
PY

# -o -: curl writes the body to its stdout (-o /dev/stdout would reopen a
# redirected log with truncation and lose what came before).
step "curl http://$IP/ (keep-alive: 3 requests, one connection)"
ip netns exec "$NS" curl -s "http://$IP/" "http://$IP/bytes/64" "http://$IP/nope" \
	-o - -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes  (connections opened: %{num_connects})\n'

step "per-worker stats (telemetry /mps/workers)"
"$REPO/scripts/mps-stats.py" --prefix "$PREFIX"

step "port stats (dpdk-proc-info --stats)"
dpdk-proc-info --file-prefix "$PREFIX" --no-telemetry --log-level=lib.eal:error -- --stats 2>/dev/null |
	grep -E "Statistics for port|RX-packets|TX-packets" | grep -vE "reg +([2-9]|1[0-9]) " || true

step "stopping"
trap - EXIT
"$RUN" stop
echo "demo done: everything stopped and cleaned up"
