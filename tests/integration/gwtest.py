# SPDX-License-Identifier: MIT
# gwtest: the harness shared by the integration tests. It runs the real gatewayd
# binary ($GATEWAYD) in a temp dir, in front of echo backends (tests/tools), and
# talks to it with real curl and with raw sockets. Every wait has a deadline and
# every process started here is killed at exit, even when a test fails.
"""Integration-test harness for gatewayd (python3 standard library only).

A test file looks like:

    import gwtest
    S = gwtest.Suite("proxy")

    @S.case("a request reaches the backend")
    def _():
        ...
        gwtest.eq(r.status, 200, "status")

    S.run()

Output is TAP: a plan ("1..N"), then "ok - name" or "not ok - name: why" per case;
"1..0 # SKIP why" when the whole file cannot run (no curl, no binary).
Environment: GATEWAYD (the binary), GW_SRCDIR (source tree), GW_KEEP=1 keeps the
temp dirs, GW_VERBOSE=1 echoes commands.
"""

import atexit
import ctypes
import errno
import hashlib
import http.client
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("GW_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
ECHO = os.path.join(SRCDIR, "tests", "tools", "echo_backend.py")
GATEWAYD = os.environ.get("GATEWAYD", "")
CURL = shutil.which("curl")
PYTHON = sys.executable or "python3"
VERBOSE = os.environ.get("GW_VERBOSE") == "1"
CONTROLLER = "gatewayd.io/gateway-controller"
ENVOY_GROUP = "gateway.envoyproxy.io"

# Deadlines (seconds). Sanitizer builds start and serve more slowly.
START_TIMEOUT = float(os.environ.get("GW_START_TIMEOUT", "20"))
CMD_TIMEOUT = float(os.environ.get("GW_CMD_TIMEOUT", "30"))
CURL_TIMEOUT = 5

# GATEWAYD_WRAPPER (make check-valgrind sets "valgrind --error-exitcode=99 ...")
# prefixes every `gatewayd run` that Env.start starts. Exit status 99, or an error
# in the wrapper's log, fails the suite's last case ("the wrapper found no errors").
WRAPPER = shlex.split(os.environ.get("GATEWAYD_WRAPPER", ""))
WRAPPER_ERROR = 99
_WRAPPER_FAILURES = []
_VALGRIND_ERROR_RE = re.compile(
    r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|"
    r"Mismatched free|Source and destination overlap|Argument '|Process terminating)"
    r"|ERROR SUMMARY: [1-9]", re.M)


def wrapped(argv, logdir):
    """argv behind GATEWAYD_WRAPPER; valgrind writes its log to logdir."""
    if not WRAPPER:
        return list(argv)
    w = list(WRAPPER)
    if os.path.basename(w[0]) == "valgrind":
        w.insert(1, "--log-file=" + os.path.join(logdir, "valgrind.%p.log"))
    return w + list(argv)


def _collect_wrapper_errors(env):
    """Records what the wrapper reported for env's daemons (before env.dir goes)."""
    if not WRAPPER or not env.dir or not os.path.isdir(env.dir):
        return
    for name in sorted(os.listdir(env.dir)):
        if not (name.startswith("valgrind.") and name.endswith(".log")):
            continue
        path = os.path.join(env.dir, name)
        if path in env.wrapper_logs_seen:
            continue
        env.wrapper_logs_seen.add(path)
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if _VALGRIND_ERROR_RE.search(text):
            _WRAPPER_FAILURES.append("%s (%s):\n%s" % (env.name, name, text[-6000:]))


class Skip(Exception):
    """Raised by a case (or setup) that cannot run here."""


class Failure(AssertionError):
    pass


# ---------------------------------------------------------------- assertions

def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def within(got, lo, hi, what):
    if not lo <= got <= hi:
        raise Failure("%s: got %r, want %r..%r" % (what, got, lo, hi))


def wait_for(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # keep polling, report the last error
            last = e
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.1fs waiting for %s%s"
                          % (timeout, what, (" (last error: %s)" % last) if last else ""))
        time.sleep(interval)


# ---------------------------------------------------------------- processes

_PROCS = []          # every Popen started here, killed at exit
_ENVS = []
_PORTS = set()
_LOCK = threading.Lock()


def _die_with_parent():
    # Runs in the child between fork and exec: if the test script itself is
    # killed, the kernel kills its children too (prctl PR_SET_PDEATHSIG).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def child_env(extra=None):
    env = dict(os.environ)
    # Never talk to a real systemd or pick a stray config file.
    for k in ("NOTIFY_SOCKET", "GATEWAYD_CONF", "LISTEN_FDS", "LISTEN_PID"):
        env.pop(k, None)
    if extra:
        env.update(extra)
    return env


def spawn(argv, **kw):
    kw.setdefault("preexec_fn", _die_with_parent)
    kw.setdefault("env", child_env())
    if VERBOSE:
        sys.stderr.write("# spawn: %s\n" % " ".join(argv))
    p = subprocess.Popen(argv, **kw)
    with _LOCK:
        _PROCS.append(p)
    return p


def kill_proc(p, sig=signal.SIGKILL, timeout=5):
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            try:
                f.close()
            except Exception:
                pass


def _cleanup():
    for p in list(_PROCS):
        try:
            kill_proc(p)
        except Exception:
            pass
    for e in list(_ENVS):
        e.remove()


atexit.register(_cleanup)


def _on_term(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)
signal.signal(signal.SIGHUP, _on_term)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on (and that this process has
    not handed out before)."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        with _LOCK:
            if port not in _PORTS:
                _PORTS.add(port)
                return port
    raise Failure("no free port found")


def rss_kib(pid):
    """VmRSS of a process in KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def is_sanitized(path=None):
    """True when the binary was built with AddressSanitizer (RSS limits differ)."""
    path = path or GATEWAYD
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ---------------------------------------------------------------- echo backends

class Echo:
    """One echo_backend.py process (tests/tools), on TCP or on a unix socket."""

    def __init__(self, name, logdir, unix=None, port=0, host=None):
        self.name = name
        self.unix = unix
        argv = [PYTHON, ECHO, "--name", name]
        argv += ["--unix", unix] if unix else ["--port", str(port)]
        if host:
            argv += ["--host", host]
        self.stderr_path = os.path.join(logdir, "echo-%s.stderr" % name)
        self.proc = spawn(argv, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "wb"),
                          stdin=subprocess.DEVNULL)
        line = _readline_deadline(self.proc.stdout, 10)
        m = re.match(rb"READY (\S+)", line or b"")
        if not m:
            kill_proc(self.proc)
            raise Failure("echo backend %s did not start: %r" % (name, line))
        self.port = None if unix else int(m.group(1))

    def stop(self):
        kill_proc(self.proc, signal.SIGTERM)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def _readline_deadline(f, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    fd = f.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf


# ---------------------------------------------------------------- YAML writers

_PLAIN_RE = re.compile(r"[A-Za-z/][A-Za-z0-9_./-]*\Z")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v is None:
        return "null"
    v = str(v)
    if _PLAIN_RE.match(v) and v.lower() not in _YAML_WORDS:
        return v
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(v)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (insertion order kept)."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 2)))
            elif isinstance(v, (dict, list)):
                out.append("%s%s: %s\n" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                out.append("%s%s: %s\n" % (pad, k, _scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 2)
                out.append(pad + "- " + sub[indent + 2:])
            else:
                out.append("%s- %s\n" % (pad, _scalar(item) if not isinstance(item, (dict, list))
                                          else ("{}" if isinstance(item, dict) else "[]")))
    else:
        out.append(pad + _scalar(obj) + "\n")
    return "".join(out)


def doc(kind, name, ns=None, spec=None, api="gateway.networking.k8s.io/v1", labels=None, **top):
    """Any resource: kind, metadata (name, namespace when given, labels), spec and
    other top-level fields (a Service's or EndpointSlice's)."""
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    d = {"apiVersion": api, "kind": kind, "metadata": meta}
    if spec is not None:
        d["spec"] = spec
    d.update(top)
    return d


def documents(*objs):
    return "".join("---\n" + to_yaml(o) for o in objs)


def gatewayclass(name="gatewayd", controller=CONTROLLER):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": name}, "spec": {"controllerName": controller}}


def listener(name, port, hostname=None, protocol="HTTP", from_=None):
    lst = {"name": name, "port": port, "protocol": protocol}
    if hostname:
        lst["hostname"] = hostname
    if from_:
        lst["allowedRoutes"] = {"namespaces": {"from": from_}}
    return lst


def gateway(name, listeners, cls="gatewayd", namespace=None, address="127.0.0.1"):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    spec = {"gatewayClassName": cls}
    if address:
        spec["addresses"] = [{"type": "IPAddress", "value": address}]
    spec["listeners"] = listeners
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": meta, "spec": spec}


def match(path=None, type="PathPrefix", headers=None, method=None, query=None):
    m = {}
    if path is not None:
        m["path"] = {"type": type, "value": path}
    if headers:
        m["headers"] = [{"name": k, "value": v} for k, v in headers]
    if query:
        m["queryParams"] = [{"name": k, "value": v} for k, v in query]
    if method:
        m["method"] = method
    return m


def backend_ref(name, weight=None, kind="Backend"):
    ref = {"group": ENVOY_GROUP, "kind": kind, "name": name}
    if weight is not None:
        ref["weight"] = weight
    return ref


def rule(backends=(), matches=None):
    """backends: names, or (name, weight) pairs, or backend_ref() dicts."""
    r = {}
    if matches is not None:
        r["matches"] = matches
    refs = []
    for b in backends:
        if isinstance(b, dict):
            refs.append(b)
        elif isinstance(b, tuple):
            refs.append(backend_ref(b[0], b[1]))
        else:
            refs.append(backend_ref(b))
    r["backendRefs"] = refs
    return r


def httproute(name, parents=("gw",), rules=(), hostnames=None, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    prefs = []
    for p in parents:
        if isinstance(p, dict):
            prefs.append(p)
        elif isinstance(p, tuple):
            prefs.append({"name": p[0], "sectionName": p[1]})
        else:
            prefs.append({"name": p})
    spec = {"parentRefs": prefs}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    spec["rules"] = list(rules)
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": meta, "spec": spec}


def backend(name, port=None, unix=None, address="127.0.0.1", namespace=None, endpoints=None):
    if endpoints is None:
        endpoints = [{"unix": {"path": unix}}] if unix else \
                    [{"ip": {"address": address, "port": port}}]
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "Backend",
            "metadata": meta, "spec": {"endpoints": endpoints}}


# ---------------------------------------------------------------- HTTP clients

class Response:
    def __init__(self, status, headers, body, info=None, rc=0, err=""):
        self.status = status          # 0 when no response arrived
        self.headers = headers        # [(name, value)] of the final response
        self.body = body
        self.info = info or {}        # curl --write-out %{json}
        self.rc = rc                  # curl exit code
        self.err = err

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Failure("response body is not JSON (status %d): %r"
                          % (self.status, self.body[:200]))

    def backend(self):
        """The name of the echo backend that answered (None when not 200/JSON)."""
        if self.status != 200:
            return None
        try:
            return json.loads(self.body).get("name")
        except ValueError:
            return None

    def __repr__(self):
        return "<Response %d rc=%d %r>" % (self.status, self.rc, self.body[:120])


def _parse_header_file(text):
    # -D writes every response head (100 Continue included): keep the last one.
    heads = [h for h in re.split(r"\r?\n\r?\n", text) if h.strip()]
    if not heads:
        return []
    lines = heads[-1].splitlines()[1:]
    out = []
    for line in lines:
        if ":" in line:
            k, v = line.split(":", 1)
            out.append((k.strip(), v.strip()))
    return out


_SEQ = [0]


def curl(url, method=None, headers=(), host=None, data=None, data_file=None,
         stdin=None, extra=(), timeout=CURL_TIMEOUT, workdir=None, output=None):
    """One request with the real curl. data: bytes sent with --data-binary @file;
    stdin: a pipe, a file object or a bytes generator sent with `curl -T -` (chunked);
    output: write the body to this file instead of Response.body.
    Returns a Response (status 0 and rc != 0 when curl failed)."""
    if not CURL:
        raise Skip("curl not found")
    workdir = workdir or tempfile.gettempdir()
    with _LOCK:
        _SEQ[0] += 1
        n = _SEQ[0]
    hfile = os.path.join(workdir, "curl-%d-%d.h" % (os.getpid(), n))
    bfile = os.path.join(workdir, "curl-%d-%d.b" % (os.getpid(), n))
    argv = [CURL, "-sS", "--max-time", str(timeout), "-D", hfile, "-o", output or bfile,
            "-w", "%{json}"]
    if method:
        argv += ["-X", method] if method != "HEAD" else ["-I"]
    if host:
        argv += ["-H", "Host: " + host]
    for h in headers:
        argv += ["-H", h if isinstance(h, str) else "%s: %s" % h]
    popen_stdin = subprocess.DEVNULL
    feeder = None
    piped = False
    if data is not None:
        dfile = bfile + ".in"
        with open(dfile, "wb") as f:
            f.write(data)
        argv += ["--data-binary", "@" + dfile]
    elif data_file is not None:
        argv += ["--data-binary", "@" + data_file]
    elif stdin is not None:
        argv += ["-T", "-"]
        if hasattr(stdin, "fileno"):
            popen_stdin = stdin      # e.g. the stdout pipe of `head -c N /dev/zero`
            stdin = None
            piped = True
        else:
            popen_stdin = subprocess.PIPE
    argv += list(extra)
    argv.append(url)
    if VERBOSE:
        sys.stderr.write("# curl: %s\n" % " ".join(argv))
    p = spawn(argv, stdin=popen_stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if piped:
        popen_stdin.close()  # curl holds its own copy; EOF reaches it when the writer ends
    if stdin is not None:
        def feed():
            try:
                if hasattr(stdin, "read"):
                    shutil.copyfileobj(stdin, p.stdin, 1 << 16)
                else:
                    for block in stdin:
                        p.stdin.write(block)
            except (BrokenPipeError, OSError, ValueError):
                pass
            finally:
                try:
                    p.stdin.close()
                except OSError:
                    pass
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    try:
        if feeder is None:
            out, err = p.communicate(timeout=timeout + 10)
        else:
            # communicate() would close the stdin the feeder writes to; curl's
            # --max-time bounds these reads (its stderr is a few lines).
            out = p.stdout.read()
            err = p.stderr.read()
        p.wait(timeout + 10)
    except subprocess.TimeoutExpired:
        kill_proc(p)
        raise Failure("curl did not finish: %s" % url)
    finally:
        with _LOCK:
            if p in _PROCS:
                _PROCS.remove(p)
    if feeder:
        feeder.join(5)
    try:
        info = json.loads(out.decode("utf-8", "replace") or "{}")
    except ValueError:
        info = {}
    try:
        with open(hfile, "r", errors="replace") as f:
            hdrs = _parse_header_file(f.read())
    except OSError:
        hdrs = []
    body = b""
    if output is None and method != "HEAD":  # curl -I writes the head there
        try:
            with open(bfile, "rb") as f:
                body = f.read()
        except OSError:
            pass
    for f in (hfile, bfile, bfile + ".in"):
        try:
            os.unlink(f)
        except OSError:
            pass
    return Response(int(info.get("http_code") or 0), hdrs, body, info, p.returncode,
                    err.decode("utf-8", "replace").strip())


def curl_many(urls, headers=(), host=None, timeout=30, workdir=None, method=None):
    """Several requests in ONE curl process, so they share a keep-alive connection.
    Returns [Response] (headers are not kept; info has num_connects, local_port)."""
    if not CURL:
        raise Skip("curl not found")
    workdir = tempfile.mkdtemp(prefix="many-", dir=workdir)
    argv = [CURL, "-sS", "--max-time", str(timeout), "-w", "%{json}\\n"]
    if method:
        argv += ["-X", method]
    if host:
        argv += ["-H", "Host: " + host]
    for h in headers:
        argv += ["-H", h if isinstance(h, str) else "%s: %s" % h]
    for i, u in enumerate(urls):
        argv += [u, "-o", os.path.join(workdir, "%d" % i)]
    p = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout + 10)
    except subprocess.TimeoutExpired:
        kill_proc(p)
        raise Failure("curl did not finish")
    finally:
        with _LOCK:
            if p in _PROCS:
                _PROCS.remove(p)
    res = []
    infos = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    for i, info in enumerate(infos):
        try:
            with open(os.path.join(workdir, "%d" % i), "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        res.append(Response(int(info.get("http_code") or 0), [], body, info,
                            int(info.get("exitcode") or 0), info.get("errormsg") or ""))
    shutil.rmtree(workdir, ignore_errors=True)
    if len(res) != len(urls):
        raise Failure("curl answered %d of %d requests (rc %d): %s"
                      % (len(res), len(urls), p.returncode, err.decode()[-300:]))
    return res


def raw(port, data, timeout=3.0, read_until_close=True, host="127.0.0.1", chunks=None,
        delay=0.0):
    """Sends data (or each item of chunks, delay seconds apart) on a new TCP
    connection and reads what comes back until the peer closes or timeout seconds
    pass with nothing new. Returns (bytes received, closed_by_peer)."""
    s = socket.create_connection((host, port), timeout=timeout)
    got = b""
    closed = False
    try:
        for part in (chunks if chunks is not None else [data]):
            s.sendall(part)
            if delay:
                time.sleep(delay)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            got += b
            if not read_until_close and complete_responses(got):
                break
    finally:
        s.close()
    return got, closed


def parse_responses(data, head_requests=0):
    """Splits a byte stream into HTTP/1.1 responses: [(status, [(k, v)], body)].
    A trailing incomplete response is dropped."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = data[pos:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
        if not m:
            break
        status = int(m.group(1))
        hdrs = []
        for line in head[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs.append((k.strip(), v.strip()))
        pos = end + 4
        hmap = {k.lower(): v for k, v in hdrs}
        if 100 <= status < 200:
            continue
        if status in (204, 304):
            body = b""
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            body = b""
            while True:
                le = data.find(b"\r\n", pos)
                if le < 0:
                    return out
                size = int(data[pos:le].split(b";")[0], 16)
                pos = le + 2
                if size == 0:
                    te = data.find(b"\r\n\r\n", pos - 2)
                    if te < 0:
                        return out
                    pos = te + 4
                    break
                if len(data) < pos + size + 2:
                    return out
                body += data[pos:pos + size]
                pos += size + 2
        elif "content-length" in hmap:
            n = int(hmap["content-length"])
            if len(data) < pos + n:
                return out
            body = data[pos:pos + n]
            pos += n
        else:
            body = data[pos:]
            pos = len(data)
        out.append((status, hdrs, body))
    return out


def complete_responses(data):
    return len(parse_responses(data))


def status_line(data):
    """The status code of the first response in data, or 0."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else 0


# ---------------------------------------------------------------- metrics

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> {(name, ((label, value), ...) sorted): float}.
    Comment lines are skipped; a malformed sample line fails."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        check(m, "malformed metrics line: %r" % line)
        labels = tuple(sorted((k, v.replace('\\"', '"').replace("\\n", "\n")
                                   .replace("\\\\", "\\"))
                              for k, v in _LABEL_RE.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples, name, **labels):
    """The value of one sample (0.0 when absent): labels must match exactly."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def metric_sum(samples, name, **labels):
    """Sum of the samples of name whose labels include the given ones."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


# ---------------------------------------------------------------- diagnostics

DIAG_RE = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?: "
                     r"(?P<sev>error|warning|note): (?P<msg>.*)$")


def parse_diags(text):
    """GCC-style diagnostics: [{"file","line","col","severity","message"}]."""
    out = []
    for line in text.splitlines():
        m = DIAG_RE.match(line.strip())
        if m:
            out.append({"file": m.group("file"), "line": int(m.group("line")),
                        "col": int(m.group("col")) if m.group("col") else 0,
                        "severity": m.group("sev"), "message": m.group("msg")})
    return out


def find_diag(diags, fname, severity="error"):
    """Diagnostics whose file ends with fname (a path component boundary)."""
    return [d for d in diags if d["severity"] == severity and
            (d["file"] == fname or d["file"].endswith("/" + fname))]


def pos_of(text, needle, nth=0):
    """1-based (line, col) of the nth occurrence of needle in text."""
    idx = -1
    for _ in range(nth + 1):
        idx = text.index(needle, idx + 1)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return line, col


# ---------------------------------------------------------------- the environment

class Env:
    """A temp dir with gatewayd.conf, conf.d/, state/, run/, the echo backends and
    (once started) one gatewayd process."""

    def __init__(self, name, workers=1, limits=None, extra_ini=None, admin=True):
        if not GATEWAYD or not os.access(GATEWAYD, os.X_OK):
            raise Skip("GATEWAYD is not set to an executable (%r)" % GATEWAYD)
        if not CURL:
            raise Skip("curl not found")
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="gwtest-%s-" % name)
        _ENVS.append(self)
        self.confd = os.path.join(self.dir, "conf.d")
        self.state = os.path.join(self.dir, "state")
        self.rundir = os.path.join(self.dir, "run")
        for d in (self.confd, self.state, self.rundir):
            os.mkdir(d)
        self.conf = os.path.join(self.dir, "gatewayd.conf")
        self.admin_port = free_port() if admin else None
        self.workers = workers
        self.limits = dict(limits or {})
        self.extra_ini = extra_ini or ""
        self.write_ini()
        self.echos = {}
        self.gw = None
        self.gw_stderr_path = os.path.join(self.dir, "gatewayd.stderr")
        self.gw_stdout_path = os.path.join(self.dir, "gatewayd.stdout")
        self.failed = False
        self.wrapper_logs_seen = set()

    # -- files
    def write_ini(self, text=None):
        if text is None:
            lines = ["[gatewayd]", "config_dir = conf.d", "state_dir = state",
                     "run_dir = run", "workers = %d" % self.workers, "",
                     "[admin]",
                     "listen = " + ("127.0.0.1:%d" % self.admin_port if self.admin_port else "off"),
                     "", "[log]", "access = off", ""]
            if self.limits:
                lines.append("[limits]")
                lines += ["%s = %s" % kv for kv in self.limits.items()]
                lines.append("")
            text = "\n".join(lines) + self.extra_ini
        with open(self.conf, "w") as f:
            f.write(text)

    def write(self, rel, text):
        """Writes conf.d/rel (atomically: a reader never sees half a file)."""
        path = os.path.join(self.confd, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = os.path.join(os.path.dirname(path), ".tmp-" + os.path.basename(path))
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        return path

    def write_docs(self, rel, *objs):
        return self.write(rel, documents(*objs))

    def remove_file(self, rel):
        os.unlink(os.path.join(self.confd, rel))

    def clear_confd(self):
        for entry in os.listdir(self.confd):
            p = os.path.join(self.confd, entry)
            if os.path.isdir(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)

    # -- backends
    def echo(self, name, unix=False, host=None):
        """Starts an echo backend (TCP on a free port of host, 127.0.0.1 by default,
        or a unix socket in the temp dir). Returns the Echo."""
        path = os.path.join(self.dir, "%s.sock" % name) if unix else None
        e = Echo(name, self.dir, unix=path, host=host)
        self.echos[name] = e
        return e

    def backend_doc(self, name, **kw):
        e = self.echos[name]
        if e.unix:
            return backend(name, unix=e.unix, **kw)
        return backend(name, port=e.port, **kw)

    def simple_config(self, port, routes, backends, listeners=None, rel="gateway.yaml"):
        """GatewayClass + Gateway "gw" (one HTTP listener "http" on port unless
        listeners is given) + routes + Backend docs for the named echo backends."""
        docs = [gatewayclass(), gateway("gw", listeners or [listener("http", port)])]
        docs += list(routes)
        docs += [self.backend_doc(b) for b in backends]
        return self.write_docs(rel, *docs)

    # -- gatewayd
    def start(self, wait=True, timeout=START_TIMEOUT, args=(), extra_env=None):
        """Starts `gatewayd run -c conf` and waits for /readyz 200."""
        check(self.gw is None or self.gw.poll() is not None, "gatewayd already running")
        self.gw_err = open(self.gw_stderr_path, "ab")
        self.gw_out = open(self.gw_stdout_path, "ab")
        self.gw = spawn(wrapped([GATEWAYD, "run", "-c", self.conf] + list(args), self.dir),
                        stdin=subprocess.DEVNULL, stdout=self.gw_out, stderr=self.gw_err,
                        cwd=self.dir, env=child_env(extra_env))
        if wait:
            self.wait_ready(timeout)
        return self.gw

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            if self.gw.poll() is not None:
                raise Failure("gatewayd exited with %s before it was ready; stderr:\n%s"
                              % (self.gw.returncode, self.stderr_tail()))
            st, _ = self.admin_get("/readyz", timeout=1)
            return st == 200
        try:
            wait_for(ready, timeout, "gatewayd /readyz 200")
        except Failure as e:
            if "exited" in str(e):
                raise
            raise Failure("%s; stderr:\n%s" % (e, self.stderr_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals gatewayd and waits for it. Returns its exit status."""
        if not self.gw:
            return None
        if self.gw.poll() is None:
            self.gw.send_signal(sig)
            try:
                self.gw.wait(timeout)
            except subprocess.TimeoutExpired:
                self.gw.kill()
                self.gw.wait(5)
                raise Failure("gatewayd did not exit within %ds of signal %d" % (timeout, sig))
        if WRAPPER and self.gw.returncode == WRAPPER_ERROR:
            _WRAPPER_FAILURES.append("%s: gatewayd exited %d" % (self.name, WRAPPER_ERROR))
        return self.gw.returncode

    def kill9(self):
        if self.gw and self.gw.poll() is None:
            self.gw.kill()
            self.gw.wait(5)

    def alive(self):
        return self.gw is not None and self.gw.poll() is None

    def stderr_text(self):
        try:
            with open(self.gw_stderr_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_tail(self, n=30):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def cmd(self, *args, conf_first=True, timeout=CMD_TIMEOUT, env=None):
        """Runs `gatewayd -c conf args...`; returns CompletedProcess (text)."""
        argv = [GATEWAYD] + (["-c", self.conf] + list(args) if conf_first
                             else list(args) + ["-c", self.conf])
        if VERBOSE:
            sys.stderr.write("# cmd: %s\n" % " ".join(argv))
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env=child_env(env), cwd=self.dir,
                                  preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure("`gatewayd %s` did not finish within %ds" % (" ".join(args), timeout))

    def reload(self):
        """`gatewayd reload`: must succeed; returns the new generation number."""
        r = self.cmd("reload")
        check(r.returncode == 0, "reload exited %d: %s%s" % (r.returncode, r.stdout, r.stderr))
        return parse_generation(r.stdout)

    def status(self):
        r = self.cmd("status", "--json")
        check(r.returncode == 0, "status --json exited %d: %s" % (r.returncode, r.stderr))
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise Failure("status --json did not print one JSON object: %r" % r.stdout[:300])

    def history(self):
        r = self.cmd("history")
        check(r.returncode == 0, "history exited %d: %s" % (r.returncode, r.stderr))
        gens = []
        for line in r.stdout.splitlines():
            if line.strip():
                m = re.match(r"\s*(\d+)\b", line)
                check(m, "history line does not start with a number: %r" % line)
                gens.append(int(m.group(1)))
        return gens

    # -- requests
    def url(self, port, path="/"):
        return "http://127.0.0.1:%d%s" % (port, path)

    def curl(self, port, path="/", **kw):
        kw.setdefault("workdir", self.dir)
        return curl(self.url(port, path), **kw)

    def admin_get(self, path, timeout=3):
        """GET on the admin listener with urllib: (status, body text)."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.admin_port, path),
                                        timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            return 0, ""

    # -- observability
    def set_access_log(self, access, fmt=None):
        """Rewrites gatewayd.conf (as write_ini made it) with [log] access = access and,
        when given, access_format = fmt. Takes effect at the next start."""
        with open(self.conf) as f:
            text = f.read()
        line = "access = %s\n" % access
        if fmt:
            line += "access_format = %s\n" % fmt
        check("access = off\n" in text, "gatewayd.conf has no \"access = off\" line to replace")
        with open(self.conf, "w") as f:
            f.write(text.replace("access = off\n", line, 1))

    def metrics(self):
        """GET /metrics, parsed with parse_metrics()."""
        code, body = self.admin_get("/metrics")
        check(code == 200, "/metrics answered %d" % code)
        return parse_metrics(body)

    # -- teardown
    def close(self):
        if WRAPPER and self.gw and self.gw.poll() is None:
            # An orderly exit, so that the wrapper checks for leaks.
            try:
                self.stop(timeout=60)
            except Failure as e:
                _WRAPPER_FAILURES.append("%s: %s" % (self.name, e))
        for e in self.echos.values():
            e.stop()
        if self.gw and self.gw.poll() is None:
            kill_proc(self.gw, signal.SIGKILL)
        for f in ("gw_err", "gw_out"):
            if hasattr(self, f):
                getattr(self, f).close()

    def remove(self):
        self.close()
        _collect_wrapper_errors(self)
        if os.environ.get("GW_KEEP") == "1":
            sys.stderr.write("# kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _ENVS:
            _ENVS.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def parse_generation(stdout):
    """The generation number `reload` printed (the last decimal number)."""
    nums = re.findall(r"\b(\d+)\b", stdout)
    check(nums, "reload printed no generation number: %r" % stdout)
    return int(nums[-1])


def resources(status, kind=None, name=None):
    out = []
    for r in status.get("resources", []):
        if (kind is None or r.get("kind") == kind) and (name is None or r.get("name") == name):
            out.append(r)
    return out


def condition(conds, ctype):
    for c in conds or []:
        if c.get("type") == ctype:
            return c
    return None


def sha256_of_stream(nbytes, block=b"\0" * (1 << 20)):
    h = hashlib.sha256()
    left = nbytes
    while left > 0:
        n = min(len(block), left)
        h.update(block[:n])
        left -= n
    return h.hexdigest()


def zero_stream(nbytes, block_size=1 << 20):
    block = b"\0" * block_size
    left = nbytes
    while left > 0:
        n = min(block_size, left)
        yield block[:n] if n < block_size else block
        left -= n


# ---------------------------------------------------------------- the runner

class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


class Suite:
    """Runs cases in order; prints "ok - name" / "not ok - name: why"."""

    def __init__(self, name, case_timeout=120):
        self.name = name
        self.cases = []
        self.case_timeout = case_timeout
        self.envs = []
        self._setup = None
        self._teardown = None

    def case(self, name, timeout=None):
        def deco(fn):
            self.cases.append((name, fn, timeout or self.case_timeout))
            return fn
        return deco

    def setup(self, fn):
        self._setup = fn
        return fn

    def teardown(self, fn):
        self._teardown = fn
        return fn

    def env(self, name=None, **kw):
        """An Env cleaned up at the end of the run (its gatewayd stderr is printed
        when a case fails)."""
        e = Env(name or self.name, **kw)
        self.envs.append(e)
        return e

    def _report_env(self):
        for e in self.envs:
            if e.dir and os.path.isdir(e.dir):
                tail = e.stderr_tail(40)
                if tail:
                    sys.stderr.write("# --- gatewayd stderr (%s), last lines:\n%s\n"
                                     % (e.dir, tail))

    def run(self):
        if not GATEWAYD or not os.access(GATEWAYD, os.X_OK):
            print("1..0 # SKIP %s: GATEWAYD is not set to an executable (%r)" % (self.name, GATEWAYD))
            sys.exit(0)
        if not CURL:
            print("1..0 # SKIP %s: curl not found" % self.name)
            sys.exit(0)
        signal.signal(signal.SIGALRM, _on_alarm)
        failed = 0
        setup_error = None
        if self._setup:
            signal.alarm(120)
            try:
                self._setup()
            except Skip as e:
                signal.alarm(0)
                print("1..0 # SKIP %s: %s" % (self.name, e))
                sys.exit(0)
            except BaseException as e:
                setup_error = "setup failed: %s" % _describe(e)
                traceback.print_exc(file=sys.stderr)
                self._report_env()
            finally:
                signal.alarm(0)
        skipped = 0
        # TAP: the plan first, then one line per case (automake's TAP driver counts them).
        print("1..%d" % (len(self.cases) + (1 if WRAPPER else 0)))
        for name, fn, timeout in self.cases:
            if setup_error:
                print("not ok - %s: %s" % (name, setup_error))
                failed += 1
                continue
            sys.stdout.flush()
            signal.alarm(int(timeout))
            t0 = time.monotonic()
            try:
                fn()
                signal.alarm(0)
                print("ok - %s (%.1fs)" % (name, time.monotonic() - t0))
            except Skip as e:
                signal.alarm(0)
                skipped += 1
                print("ok - %s # SKIP %s" % (name, e))
            except _Timeout:
                failed += 1
                print("not ok - %s: timed out after %ds" % (name, timeout))
                traceback.print_exc(file=sys.stderr)
                self._report_env()
            except BaseException as e:
                signal.alarm(0)
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                print("not ok - %s: %s" % (name, _describe(e)))
                traceback.print_exc(file=sys.stderr)
                self._report_env()
            sys.stdout.flush()
        if self._teardown:
            try:
                self._teardown()
            except Exception:
                traceback.print_exc(file=sys.stderr)
        for e in self.envs:
            e.remove()
        if WRAPPER:
            # Every daemon has exited by now (remove() stops them in order).
            for e in list(_ENVS):
                e.remove()
            name = "the wrapper (%s) found no errors in gatewayd" % os.path.basename(WRAPPER[0])
            if _WRAPPER_FAILURES:
                failed += 1
                print("not ok - %s: %d report(s), see the log" % (name, len(_WRAPPER_FAILURES)))
                for f in _WRAPPER_FAILURES:
                    sys.stderr.write("# --- %s\n" % f)
            else:
                print("ok - %s" % name)
        print("# %s: %d passed, %d failed" % (self.name, len(self.cases) - failed - skipped
                                               if not setup_error else 0, failed))
        sys.stdout.flush()
        # The TAP lines carry the verdict; a non-zero exit would count once more.
        sys.exit(0)


def _describe(e):
    if isinstance(e, (Failure, Skip)):
        text = str(e)
    else:
        text = "%s: %s" % (type(e).__name__, e)
    return text.splitlines()[0] if text else type(e).__name__


# ---------------------------------------------------------------- HTTP/2 cleartext (h2c)

NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")


def h2_echo_path():
    """The built tests/tools/h2_echo: $H2_ECHO, else next to $GATEWAYD's build tree
    (GATEWAYD is $(abs_top_builddir)/src/gatewayd; make check builds check programs)."""
    p = os.environ.get("H2_ECHO")
    if p:
        return p
    top = os.path.dirname(os.path.dirname(os.path.abspath(GATEWAYD))) if GATEWAYD else ""
    return os.path.join(top, "tests", "tools", "h2_echo")


class H2Echo:
    """One tests/tools/h2_echo process: the HTTP/2 prior-knowledge echo backend whose
    answers are echo_backend.py's JSON (with "proto": "HTTP/2.0"). It fits where an
    Echo does (Env.echos, Env.backend_doc)."""

    def __init__(self, name, logdir, port=0):
        path = h2_echo_path()
        if not os.access(path, os.X_OK):
            raise Skip("h2_echo is not built (%s)" % path)
        self.name = name
        self.unix = None
        self.stderr_path = os.path.join(logdir, "h2echo-%s.stderr" % name)
        self.proc = spawn([path, "--name", name, "--port", str(port)], stdout=subprocess.PIPE,
                          stderr=open(self.stderr_path, "wb"), stdin=subprocess.DEVNULL)
        line = _readline_deadline(self.proc.stdout, 10)
        m = re.match(rb"READY (\d+)", line or b"")
        if not m:
            kill_proc(self.proc)
            raise Failure("h2_echo %s did not start: %r" % (name, line))
        self.port = int(m.group(1))

    def stop(self):
        kill_proc(self.proc, signal.SIGTERM)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def env_h2echo(env, name):
    """Starts an H2Echo in env's temp dir and registers it in env.echos (so it stops
    with env and env.backend_doc(name) describes it). Returns the H2Echo."""
    e = H2Echo(name, env.dir)
    env.echos[name] = e
    return e


def curl_h2(url, **kw):
    """curl() speaking HTTP/2 with prior knowledge (h2c); Response.info["http_version"]
    is "2" when the answer came over HTTP/2. Note: Debian 12's curl 7.88.1 fails to reuse
    an h2c prior-knowledge connection (curl issue #10634), so one URL per call."""
    kw["extra"] = ["--http2-prior-knowledge"] + list(kw.get("extra", ()))
    return curl(url, **kw)


def h2load(url, n, clients=1, streams=1, headers=(), timeout=30, extra=()):
    """Runs h2load (h2c prior knowledge; extra: more h2load options); returns {"total",
    "started", "done", "succeeded", "failed", "errored", "timeout", "2xx", "3xx", "4xx",
    "5xx", "data_bytes" (DATA payload received), "output"}."""
    if not H2LOAD:
        raise Skip("h2load not found (Debian package nghttp2-client)")
    argv = [H2LOAD, "-n", str(n), "-c", str(clients), "-m", str(streams), "-T", str(timeout)]
    for h in headers:
        argv += ["-H", h if isinstance(h, str) else "%s: %s" % h]
    argv += list(extra)
    argv.append(url)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10,
                           stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        raise Failure("h2load did not finish within %ds" % (timeout + 10))
    out = {"output": r.stdout + r.stderr}
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", r.stdout)
    check(m, "h2load printed no requests line: %r" % (r.stdout + r.stderr)[-400:])
    for k, v in zip(("total", "started", "done", "succeeded", "failed", "errored", "timeout"),
                    m.groups()):
        out[k] = int(v)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", r.stdout)
    if m:
        for k, v in zip(("2xx", "3xx", "4xx", "5xx"), m.groups()):
            out[k] = int(v)
    m = re.search(r"traffic: .*\((\d+)\) data", r.stdout)
    if m:
        out["data_bytes"] = int(m.group(1))
    return out


def nghttp(urls, args=(), timeout=15):
    """Runs nghttp (h2c prior knowledge, every URL on one connection); returns the
    CompletedProcess (text): -v puts the frames on stdout."""
    if not NGHTTP:
        raise Skip("nghttp not found (Debian package nghttp2-client)")
    argv = [NGHTTP, "-t", str(timeout)] + list(args) + list(urls)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10,
                              stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        raise Failure("nghttp did not finish within %ds" % (timeout + 10))


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(ftype, flags, stream, payload=b""):
    """One HTTP/2 frame (RFC 9113 §4.1): 24-bit length, type, flags, 31-bit stream."""
    return (len(payload).to_bytes(3, "big") + bytes([ftype, flags]) +
            (stream & 0x7fffffff).to_bytes(4, "big") + payload)


def h2_frames(data):
    """Splits bytes into [(type, flags, stream, payload)]; a trailing partial frame
    is dropped."""
    out = []
    pos = 0
    while len(data) - pos >= 9:
        n = int.from_bytes(data[pos:pos + 3], "big")
        if len(data) - pos < 9 + n:
            break
        out.append((data[pos + 3], data[pos + 4],
                    int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff,
                    data[pos + 9:pos + 9 + n]))
        pos += 9 + n
    return out
