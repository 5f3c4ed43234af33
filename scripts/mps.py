"""mps.py - the one Python module of mpstack's tools and tests: the
telemetry client, a running mpstack (netns + tap + primary + workers, started
through scripts/mps-run.sh), sockets and a sniffer inside its namespace,
echo/HTTP clients, and condition waits (never fixed sleeps). Used by the
integration tests, bench.py, replay.py, soak.py and mps-stats.py."""
import contextlib
import ctypes
import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
RUN = REPO / "scripts" / "mps-run.sh"
BUILD = pathlib.Path(os.environ.get("MPS_BUILD", REPO / "build"))
STACK_IP = "198.18.0.2"
PEER_IP = "198.18.0.1"
CLONE_NEWNET = 0x40000000
# netns and --file-prefix of the test stacks; set MPS_TEST_NAME to run two
# checkouts' suites side by side.
TEST_NAME = os.environ.get("MPS_TEST_NAME", "mpstest")

_libc = ctypes.CDLL(None, use_errno=True)


# Stress mode (MPS_TEST_HOG=1, `make test-stress`): one CPU is kept busy for
# the whole session, and every time bound in the suite -- the waits below and
# the few assertions on a duration -- is multiplied by this one factor
# (MPS_TEST_TIME_SCALE, default 3 with the hog, 1 without).
HOG = os.environ.get("MPS_TEST_HOG", "") not in ("", "0")
TIME_SCALE = float(os.environ.get("MPS_TEST_TIME_SCALE", "3" if HOG else "1"))


def scaled(seconds):
    """A time bound of the suite, in seconds, for this run's schedule."""
    return seconds * TIME_SCALE


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value; fails after timeout s
    (scaled in stress mode)."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class NoStack(Exception):
    """No primary answers telemetry for that --file-prefix."""


def telemetry(prefix, cmd, params=None):
    """One telemetry command's reply ("cmd,params" when params given), from
    the primary of --file-prefix prefix. Raises NoStack if none runs."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # The primary's telemetry thread shares the CPUs with everything
        # else: on a loaded machine it can take seconds to answer.
        s.settimeout(scaled(10))
        try:
            s.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise NoStack(f"no mpstack primary for --file-prefix {prefix} ({e.strerror}): "
                          "start one with `make run` or `scripts/mps-run.sh start 2`") from e
        s.recv(4096)  # greeting
        s.send((cmd if params is None else f"{cmd},{params}").encode())
        return json.loads(s.recv(1 << 20).decode())[cmd]
    finally:
        s.close()


def worker_slots(prefix):
    """Every worker's slot fields and compact counters, by worker id:
    /mps/workers answers a page of workers (16, under telemetry's 16 KiB),
    /mps/workers,FIRST the next ones, {} past the last."""
    slots = {}
    while True:
        page = telemetry(prefix, "/mps/workers", len(slots) or None)
        if not page or set(page) <= set(slots):  # (a primary that does not page)
            return slots
        slots.update(page)


def workers(prefix):
    """Every worker's slot fields and every counter, by worker id
    (/mps/workers for the slots, /mps/worker,ID for each one's counters)."""
    return {wid: {**w, **telemetry(prefix, "/mps/worker", wid)}
            for wid, w in worker_slots(prefix).items()}


def workers_settled(prefix, timeout):
    """Waits until every running worker finished two more poll-loop
    iterations: what it was answering is on the wire and counted (a worker
    counts an iteration after flushing its TX batch; the second covers a
    frame another worker handed it on its ring). False on timeout (scaled)."""
    def iterations(wid):  # not in /mps/workers' summary
        return telemetry(prefix, "/mps/worker", wid)["iterations"]
    it0 = {k: iterations(k) for k, v in worker_slots(prefix).items()
           if v["state"] == "running"}
    deadline = time.monotonic() + scaled(timeout)
    while not all(iterations(k) >= n + 2 for k, n in it0.items()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop_in_order(groups, timeout=30):
    """SIGINT to every process still running, one group after the other
    (workers before their primary: a secondary whose primary is gone can
    hang in EAL's clean-up), each group with one deadline of timeout
    (scaled); what outlasts it is killed. None entries are skipped."""
    for group in groups:
        group = [p for p in group if p is not None]
        for p in group:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + scaled(timeout)
        for p in group:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); look at its state.
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def netns(name):
    """Runs the block (this thread) inside network namespace `name`. Sockets
    created inside stay in it afterwards; threads started inside inherit it."""
    with open("/proc/thread-self/ns/net") as orig, open(f"/run/netns/{name}") as ns:
        if _libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            yield
        finally:
            _libc.setns(orig.fileno(), CLONE_NEWNET)


HUGE = pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB")


def free_hugepages():
    return int((HUGE / "free_hugepages").read_text())


def used_hugepages():
    """Pages in use (the pool itself may grow when a stack starts)."""
    return int((HUGE / "nr_hugepages").read_text()) - free_hugepages()


def hugepages_used_by(prefix, tries=50):
    """2 MB pages in use, less those in hugetlbfs files of other
    --file-prefixes: the figure this prefix's stack (or a leak of it) moves,
    whatever other suites' stacks do alongside. Read until their files hold
    still around the count."""
    def others():
        n = 0
        for f in os.scandir("/dev/hugepages"):
            if not f.name.startswith(prefix + "map_"):
                try:
                    n += f.stat().st_blocks * 512
                except FileNotFoundError:
                    pass
        return n // (2 << 20)
    for _ in range(tries):
        held = others()
        used = used_hugepages()
        if others() == held:
            return used - held
    raise AssertionError("other stacks' hugepage files kept changing")


def hugepages_back_to(prefix, before, timeout=5):
    """Waits until hugepages_used_by(prefix) <= before (another stack
    that stops meanwhile may map pages whose files are gone for a moment);
    returns the last figure."""
    last = []

    def back():
        last.append(hugepages_used_by(prefix))
        return last[-1] <= before
    try:
        wait_until(back, timeout, f"hugepages in use back to {before}", interval=0.1)
    except AssertionError:
        pass
    return last[-1]


class Stack:
    """One mpstack instance with its own netns and --file-prefix."""

    def __init__(self, name, workers=2, primary_args="", eal_args=""):
        self.name = self.ns = self.prefix = name
        self.workers = workers
        self.env = dict(os.environ, MPS_NS=name, MPS_PREFIX=name,
                        MPS_PRIMARY_ARGS=primary_args,
                        MPS_TEST_TIME_SCALE=f"{TIME_SCALE:g}",
                        # on top of the caller's (run-tests.sh's ASan smoke sets some)
                        MPS_PRIMARY_EAL_ARGS=" ".join(filter(None, (
                            os.environ.get("MPS_PRIMARY_EAL_ARGS", ""), eal_args))))
        self.state = pathlib.Path("/run/mpstack") / name

    def script(self, *args, check=True, timeout=90):
        r = subprocess.run([str(RUN), *args], env=self.env, capture_output=True,
                           text=True, timeout=scaled(timeout))
        if check and r.returncode != 0:
            raise AssertionError(f"mps-run.sh {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
        return r

    def start(self):
        self.script("start", str(self.workers))
        return self

    def stop(self):
        return self.script("stop", check=False)

    @contextlib.contextmanager
    def running(self):
        """Started afresh (a run that was cut off is stopped first), stopped
        when the block ends."""
        self.stop()
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start_worker(self, wid):
        self.script("worker", str(wid))

    def pid(self, name):
        return int((self.state / f"{name}.pid").read_text())

    def log(self, name):
        return (self.state / f"{name}.log").read_text()

    def telemetry(self, cmd, params=None):
        """One telemetry command's reply ("cmd,params" when params given)."""
        return telemetry(self.prefix, cmd, params)

    def stats(self):
        """Every counter summed over the workers (/mps/stats)."""
        return self.telemetry("/mps/stats")

    def counters(self, key):
        """key of every worker, in worker order."""
        return [w[key] for _, w in sorted(self.workers_info().items(),
                                          key=lambda kv: int(kv[0]))]

    def neigh(self, ip):
        """The shared table's live entry for ip, or None."""
        return self.telemetry("/mps/neigh", ip) or None

    def learn_stack_mac(self, iface="mps0"):
        """Pings the stack so the kernel resolves it; sets and returns
        self.mac (the stack's MAC as the kernel's neighbour entry has it)."""
        r = self.exec("ping", "-c", "1", "-W", "5", STACK_IP)
        assert r.returncode == 0, r.stdout + r.stderr
        out = self.exec("ip", "neigh", "show", STACK_IP, "dev", iface).stdout.split()
        self.mac = out[out.index("lladdr") + 1]
        return self.mac

    def settle(self, timeout=10):
        """Every running worker past two more loop iterations (see
        workers_settled); fails after timeout."""
        assert workers_settled(self.prefix, timeout), \
            f"workers did not finish two loop iterations in {scaled(timeout)}s"

    def workers_info(self):
        """Every worker's slot fields and counters, by worker id."""
        return workers(self.prefix)

    def exec(self, *cmd, timeout=60, check=False):
        return subprocess.run(["ip", "netns", "exec", self.ns, *cmd],
                              capture_output=True, text=True, timeout=timeout,
                              check=check)

    def connect(self, port, timeout=10):
        with netns(self.ns):
            return socket.create_connection((STACK_IP, port), timeout=timeout)

    def netns(self):
        return netns(self.ns)

    def secondary(self, *app_args, lcore=9, prefix=None, binary="mps-secondary",
                  timeout=30):
        """Runs a secondary to completion (for the refusal cases)."""
        cmd = ["ip", "netns", "exec", self.ns, str(BUILD / binary),
               "--file-prefix", prefix or self.prefix, "--no-pci", "--no-telemetry",
               "--lcores", f"{lcore}@0", "--log-level=lib.eal:error", "--", *app_args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def spawn_secondary(self, log, *app_args, lcore=9):
        """Starts a secondary in the background, its output in file log;
        the Popen (the caller stops it)."""
        cmd = ["ip", "netns", "exec", self.ns, str(BUILD / "mps-secondary"),
               "--file-prefix", self.prefix, "--no-pci", "--no-telemetry",
               "--lcores", f"{lcore}@{lcore % os.cpu_count()}",
               "--log-level=lib.eal:error", "--", *app_args]
        with open(log, "w") as f:
            return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)


def echo_error(stack, payload=b"still here", timeout=10, port=7):
    """One new connection to the echo app; None when the bytes come back
    intact, else what went wrong (the OSError, or EOFError/ValueError).
    timeout (scaled) bounds the connect and every read: a slower echo is
    an error too. The connection's local port is left in stack.last_port."""
    try:
        c = stack.connect(port, timeout=scaled(timeout))
    except OSError as e:
        return e
    try:
        stack.last_port = c.getsockname()[1]
        c.sendall(payload)
        got = b""
        while len(got) < len(payload):
            d = c.recv(min(65536, len(payload) - len(got)))
            if not d:
                return EOFError("closed after %d bytes" % len(got))
            got += d
        return None if got == payload else ValueError(got[:64])
    except OSError as e:
        return e
    finally:
        c.close()


def echo_once(stack, payload=b"still here", timeout=10):
    """One connection to the echo app: True when the bytes come back intact."""
    return echo_error(stack, payload, timeout) is None


def ask(sock, request):
    """Sends request on a connected socket, returns all it reads until the
    peer closes, and closes the socket."""
    try:
        sock.sendall(request)
        buf = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return buf
            buf += chunk
    finally:
        sock.close()


def http_once(stack, path="/", timeout=10):
    """One GET with Connection: close; the whole reply (headers and body)."""
    return ask(stack.connect(80, timeout=timeout),
               b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())


def start_capture(stack, path, *args):
    """mps-capture -w path on the stack, running once it said "capturing"
    (the mirror is on)."""
    p = subprocess.Popen(["ip", "netns", "exec", stack.ns, str(BUILD / "mps-capture"),
                          "--file-prefix", stack.prefix, "--no-pci",
                          "--log-level=lib.eal:error", "--", "-w", path, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # "capturing" comes once the mirror is on (claimed, snaplen and mask set).
    if not select.select([p.stdout], [], [], scaled(30))[0]:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"mps-capture did not start capturing: {out}{err}")
    line = p.stdout.readline()
    assert "capturing" in line, line + p.stderr.read()
    return p


def stop_capture(cap):
    """SIGINT, then the exit: the file is complete (ring drained, pcapng
    closed) only once the process is gone."""
    cap.send_signal(signal.SIGINT)
    return cap.communicate(timeout=scaled(30))


class Sniffer:
    """Captures on iface inside the stack's namespace while the block runs.
    Ready only once its socket (and BPF filter) is open -- scapy's
    started_callback, not AsyncSniffer.running, which turns true earlier --
    so a frame sent after the constructor returns is seen. Tests wait() for
    the frames they assert on before the sniffer stops."""

    def __init__(self, stack, filter=None, iface="mps0", timeout=10):
        """stack: the Stack whose namespace to capture in, or None for this
        thread's own (a tool run with `ip netns exec`)."""
        from scapy.all import AsyncSniffer
        self.seen = []
        ready = threading.Event()
        with stack.netns() if stack else contextlib.nullcontext():
            # the capture thread inherits the namespace
            self._sn = AsyncSniffer(iface=iface, filter=filter, store=False,
                                    prn=self.seen.append,
                                    started_callback=ready.set)
            self._sn.start()
        if not ready.wait(scaled(timeout)):
            self.stop()
            raise AssertionError(f"sniffer on {iface} did not start in {scaled(timeout):g}s")

    def frames(self, pred=None):
        """The frames seen so far (that pred accepts)."""
        return [p for p in list(self.seen) if pred is None or pred(p)]

    def wait(self, pred, timeout, what, count=1):
        """Waits until at least count frames that pred accepts were seen;
        returns them all."""
        return wait_until(lambda: (lambda f: f if len(f) >= count else None)(
            self.frames(pred)), timeout, what)

    def stop(self):
        if self._sn.running:
            self._sn.stop()
        return self.frames()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
