# SPDX-License-Identifier: MIT
# test_privdrop: [gatewayd] user. Started as root with user = nobody, gatewayd binds a
# port below 1024 on 127.0.0.1, then runs as nobody (every uid and gid in
# /proc/PID/status), still serves and reloads, and its control socket (mode 0600,
# owned by nobody) answers root and nobody but refuses another unprivileged user.
# Skipped unless run as root with the users nobody and daemon and setpriv(1).
import os
import pwd
import shutil
import socket
import stat

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("privdrop")
E = {}
SETPRIV = shutil.which("setpriv")


def low_port():
    """A free TCP port below 1024 on 127.0.0.1."""
    for port in range(1023, 900, -1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise gwtest.Skip("no free port below 1024")


def status_line_of(path):
    with open(path) as f:
        return {line.split(":", 1)[0]: line.split(":", 1)[1].split() for line in f if ":" in line}


@S.setup
def setup():
    if os.geteuid() != 0:
        raise gwtest.Skip("needs root")
    if not SETPRIV:
        raise gwtest.Skip("setpriv not found")
    try:
        nobody = pwd.getpwnam("nobody")
        other = pwd.getpwnam("daemon")
    except KeyError:
        raise gwtest.Skip("users nobody and daemon are needed")
    env = S.env("privdrop", workers=2)
    # nobody must reach config_dir for reloads, as it would under /etc/gatewayd.
    os.chmod(env.dir, 0o755)
    env.echo("a")
    port = low_port()
    E.update(env=env, port=port, nobody=nobody, other=other)
    env.write_ini("[gatewayd]\nconfig_dir = conf.d\nstate_dir = state\nrun_dir = run\n"
                  "workers = 2\nuser = nobody\n\n[admin]\nlisten = 127.0.0.1:%d\n\n"
                  "[log]\naccess = off\n" % env.admin_port)
    env.simple_config(port, [httproute("all", rules=[rule(["a"], [match("/")])])], ["a"])
    env.start()


def as_user(user, *args):
    """`gatewayd -c conf args` run as another user (setpriv, no supplementary groups)."""
    env = E["env"]
    argv = [SETPRIV, "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups",
            gwtest.GATEWAYD, "-c", env.conf] + list(args)
    return gwtest.subprocess.run(argv, capture_output=True, text=True, timeout=20,
                                 env=gwtest.child_env(), cwd=env.dir, stdin=gwtest.subprocess.DEVNULL)


@S.case("after binding, every uid and gid of every thread of the daemon is nobody's")
def _():
    pid = E["env"].gw.pid
    n = E["nobody"]
    tasks = os.listdir("/proc/%d/task" % pid)
    check(len(tasks) >= 3, "threads: %r (main + 2 workers expected)" % tasks)
    for tid in tasks:
        st = status_line_of("/proc/%d/task/%s/status" % (pid, tid))
        eq(st["Uid"], [str(n.pw_uid)] * 4, "thread %s Uid (real, effective, saved, fs)" % tid)
        eq(st["Gid"], [str(n.pw_gid)] * 4, "thread %s Gid (real, effective, saved, fs)" % tid)
        check("0" not in st.get("Groups", []), "root's group is still a supplementary group: %r"
              % st.get("Groups"))


@S.case("it serves on the port below 1024 it bound as root")
def _():
    eq(E["env"].curl(E["port"], "/x").backend(), "a", "backend")


@S.case("the control socket is 0600 and owned by nobody")
def _():
    sb = os.stat(os.path.join(E["env"].rundir, "gatewayd.sock"))
    check(stat.S_ISSOCK(sb.st_mode), "not a socket")
    eq(stat.S_IMODE(sb.st_mode), 0o600, "mode")
    eq(sb.st_uid, E["nobody"].pw_uid, "owner")


@S.case("root and nobody can use the control socket; reload works as nobody")
def _():
    env = E["env"]
    eq(env.status()["stale"], False, "status as root")
    r = as_user(E["nobody"], "status", "--json")
    eq(r.returncode, 0, "status as nobody (%s)" % r.stderr.strip()[-200:])
    gen = env.reload()
    check(gen >= 2, "generation %d after a reload" % gen)
    eq(env.curl(E["port"], "/after-reload").backend(), "a", "serves after the reload")
    eq(os.stat(os.path.join(env.state, "data.mdb")).st_uid, E["nobody"].pw_uid, "owner of data.mdb")


@S.case("another unprivileged user cannot connect to the control socket")
def _():
    r = as_user(E["other"], "reload")
    check(r.returncode != 0, "reload as user daemon exited 0: %r" % r.stdout)
    check("ermission denied" in r.stderr, "no permission error: %r" % r.stderr.strip()[-200:])
    r = as_user(E["other"], "status")
    check(r.returncode != 0, "status as user daemon exited 0")


@S.case("SIGTERM: exit 0")
def _():
    eq(E["env"].stop(), 0, "exit status")


S.run()
