#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/bench idle connections: open N keep-alive connections to 127.0.0.1:PORT, send
one GET on each and read its response, then leave them all open and idle. Prints
"ready <open>" and holds them until stdin closes (the caller reads RSS meanwhile).

idle.py PORT N [HOST]"""
import resource
import selectors
import socket
import sys


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    host = sys.argv[3] if len(sys.argv) > 3 else "bench"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != -1 else want, hard))
    req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
    sel = selectors.DefaultSelector()
    socks, done = [], 0
    # In batches, so the listen backlog never overflows.
    for start in range(0, n, 500):
        batch = []
        for _ in range(start, min(n, start + 500)):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
            batch.append(s)
        pending = len(batch)
        while pending:
            events = sel.select(timeout=10)
            if not events:
                break
            for key, _ in events:
                data = key.fileobj.recv(65536)
                key.data.extend(data)
                # the 100-byte body ends with "\n"; a complete response has a blank line
                if not data or (b"\r\n\r\n" in key.data and key.data.endswith(b"\n")):
                    sel.unregister(key.fileobj)
                    pending -= 1
                    if data:
                        done += 1
        socks.extend(batch)
    print("ready %d" % done, flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
