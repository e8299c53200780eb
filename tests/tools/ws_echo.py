#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# ws_echo: a WebSocket echo server (RFC 6455) for the gatewayd tests, plus the client
# side of the protocol (handshake, masked frames) that the tests import.
"""WebSocket echo backend and client helpers (python3 standard library only).

Server:  ws_echo.py [--host H] [--port P] [--name N]   prints "READY <port>".
  An upgrade request (Connection: upgrade, Upgrade: websocket, Sec-WebSocket-Key,
  Sec-WebSocket-Version: 13) is answered 101 with Sec-WebSocket-Accept and an
  X-Req-Head field (the request head as received, base64), then every data message
  is echoed with its opcode (fragmented ones as one), pings answered with pongs, and
  a close frame echoed before the TCP close. A path starting with /refuse/<code>
  (200 or 400...) refuses the upgrade with that status and a small body and keeps the
  connection as HTTP/1.1; so does a request that is no upgrade. A text message
  "shutdown-write" makes the server half-close (shutdown SHUT_WR) after echoing it;
  "reset-now" makes it reset the connection (RST) instead of answering.
"""

import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
MAX_MESSAGE = 64 << 20


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode()


def xor_mask(data, mask):
    n = len(data)
    if n == 0:
        return b""
    reps = mask * (n // 4) + mask[:n % 4]
    return (int.from_bytes(data, "big") ^ int.from_bytes(reps, "big")).to_bytes(n, "big")


def encode_frame(opcode, payload, mask=False, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        return head + key + xor_mask(payload, key)
    return head + payload


class Reader:
    """Buffered exact reads from a socket."""

    def __init__(self, sock, initial=b""):
        self.sock = sock
        self.buf = bytearray(initial)

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("connection closed with %d of %d bytes" % (len(self.buf), n))
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, limit=65536):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > limit:
                raise ValueError("head too large")
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    raise EOFError("connection closed in a head")
                return b""
            self.buf += chunk


def read_frame(rd, expect_mask=None):
    """(fin, opcode, payload, masked)."""
    b0, b1 = rd.read(2)
    fin = bool(b0 & 0x80)
    if b0 & 0x70:
        raise ValueError("reserved bits set")
    opcode = b0 & 0x0F
    masked = bool(b1 & 0x80)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", rd.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rd.read(8))[0]
    if n > MAX_MESSAGE:
        raise ValueError("frame too large")
    if expect_mask is not None and masked != expect_mask:
        raise ValueError("mask bit %s, expected %s" % (masked, expect_mask))
    key = rd.read(4) if masked else None
    payload = rd.read(n)
    if key:
        payload = xor_mask(payload, key)
    return fin, opcode, payload, masked


def read_message(rd, expect_mask=None, on_control=None):
    """A whole data message: (opcode, payload); control frames in between go to
    on_control(opcode, payload), which may return a value to stop with."""
    op = None
    parts = []
    total = 0
    while True:
        fin, opcode, payload, _ = read_frame(rd, expect_mask)
        if opcode >= 8:
            if on_control is not None:
                r = on_control(opcode, payload)
                if r is not None:
                    return r
            continue
        if opcode != OP_CONT:
            if op is not None:
                raise ValueError("new message inside a fragmented one")
            op = opcode
        elif op is None:
            raise ValueError("continuation without a message")
        parts.append(payload)
        total += len(payload)
        if total > MAX_MESSAGE:
            raise ValueError("message too large")
        if fin:
            return op, b"".join(parts)


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0]
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            fields[k] = (fields[k] + ", " + v.strip()) if k in fields else v.strip()
    return first, fields


# ---------------------------------------------------------------- server

def http_reply(sock, status, body, extra=""):
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden"}.get(status, "Whatever")
    sock.sendall(("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
                  % (status, reason, len(body), extra)).encode() + body)


def serve_ws(sock, rd):
    while True:
        def control(opcode, payload):
            if opcode == OP_PING:
                sock.sendall(encode_frame(OP_PONG, payload))
                return None
            if opcode == OP_CLOSE:
                return ("close", payload)
            return None
        try:
            r = read_message(rd, expect_mask=True, on_control=control)
        except EOFError:
            return
        if r[0] == "close":
            sock.sendall(encode_frame(OP_CLOSE, r[1][:2] if len(r[1]) >= 2 else b""))
            return
        op, payload = r
        if op == OP_TEXT and payload == b"reset-now":
            # SO_LINGER 0: the close sends a RST (a backend that crashes).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
        sock.sendall(encode_frame(op, payload))
        if op == OP_TEXT and payload == b"shutdown-write":
            sock.shutdown(socket.SHUT_WR)
            # Keep reading until the client closes its side too.
            while sock.recv(65536):
                pass
            return


def read_chunked(rd):
    body = b""
    while True:
        line = b""
        while not line.endswith(b"\r\n"):
            line += rd.read(1)
        size = int(line.split(b";")[0], 16)
        if size == 0:
            while True:  # trailer section up to the empty line
                t = b""
                while not t.endswith(b"\r\n"):
                    t += rd.read(1)
                if t == b"\r\n":
                    return body
        body += rd.read(size)
        rd.read(2)


def serve_conn(sock):
    rd = Reader(sock)
    try:
        while True:
            head = rd.read_head()
            if not head:
                return
            first, f = parse_head(head)
            parts = first.split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            if "chunked" in f.get("transfer-encoding", "").lower():
                body = read_chunked(rd)
            else:
                n = int(f.get("content-length", "0") or 0)
                body = rd.read(n) if n else b""
            if path.startswith("/refuse/"):
                code = int(path.split("/")[2] or "400")
                http_reply(sock, code, b"upgrade refused\n")
                continue
            conn_tokens = [t.strip().lower() for t in f.get("connection", "").split(",")]
            if "upgrade" not in conn_tokens or "websocket" not in f.get("upgrade", "").lower() \
                    or f.get("sec-websocket-version") != "13" or "sec-websocket-key" not in f:
                http_reply(sock, 200, b"no upgrade: " + f.get("upgrade", "-").encode() + b"\n",
                           "X-Body-Len: %d\r\n" % len(body))
                continue
            resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Req-Head: %s\r\n\r\n"
                    % (accept_key(f["sec-websocket-key"]), base64.b64encode(head).decode()))
            sock.sendall(resp.encode())
            serve_ws(sock, rd)
            return
    except (OSError, ValueError, EOFError) as e:
        sys.stderr.write("ws_echo: %s\n" % e)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="ws")
    ap.add_argument("--tls-cert", help="serve TLS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="and this key")
    a = ap.parse_args()
    tls = None
    if a.tls_cert:
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
    ls = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(256)
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve_tls if tls else serve_conn, args=(s, tls) if tls else (s,),
                         daemon=True).start()


def serve_tls(sock, ctx):
    """The handshake in the connection's own thread, so one slow client stalls nobody."""
    try:
        sock = ctx.wrap_socket(sock, server_side=True)
    except OSError as e:
        sys.stderr.write("ws_echo: TLS handshake: %s\n" % e)
        sock.close()
        return
    serve_conn(sock)


# ---------------------------------------------------------------- client

class Client:
    """A WebSocket client connection (through gatewayd in the tests)."""

    def __init__(self, port, path="/", host="127.0.0.1", headers=(), timeout=10.0,
                 hostname="ws.test", ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:  # wss: WebSocket over TLS
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=hostname)
        self.key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, hostname, self.key))
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        self.rd = Reader(self.sock)
        head = self.rd.read_head()
        self.head = head
        first, self.fields = parse_head(head) if head else ("", {})
        p = first.split(" ")
        self.status = int(p[1]) if len(p) > 1 and p[1].isdigit() else 0
        self.body = b""
        if self.status != 101 and "content-length" in self.fields:
            self.body = self.rd.read(int(self.fields["content-length"]))

    def accepted(self):
        return (self.status == 101 and
                self.fields.get("sec-websocket-accept") == accept_key(self.key))

    def send(self, payload, opcode=None, fragment=0):
        if opcode is None:
            opcode = OP_TEXT if isinstance(payload, str) else OP_BINARY
        if isinstance(payload, str):
            payload = payload.encode()
        if fragment and len(payload) > fragment:
            pieces = [payload[i:i + fragment] for i in range(0, len(payload), fragment)]
            data = b"".join(encode_frame(opcode if i == 0 else OP_CONT, p, mask=True,
                                         fin=i == len(pieces) - 1)
                            for i, p in enumerate(pieces))
        else:
            data = encode_frame(opcode, payload, mask=True)
        self.sock.sendall(data)

    def recv(self):
        """(opcode, payload) of the next data message (pongs are skipped)."""
        return read_message(self.rd, expect_mask=False,
                            on_control=lambda op, p: ("close", p) if op == OP_CLOSE else None)

    def ping(self, payload=b"p"):
        self.sock.sendall(encode_frame(OP_PING, payload, mask=True))
        while True:
            fin, op, p, _ = read_frame(self.rd, expect_mask=False)
            if op == OP_PONG:
                return p

    def close_handshake(self, code=1000):
        """Sends a close frame; returns the code of the close frame echoed back and
        whether the TCP connection was closed after it."""
        self.sock.sendall(encode_frame(OP_CLOSE, struct.pack("!H", code), mask=True))
        fin, op, p, _ = read_frame(self.rd, expect_mask=False)
        got = struct.unpack("!H", p[:2])[0] if op == OP_CLOSE and len(p) >= 2 else None
        try:
            eof = self.sock.recv(1) == b""
        except OSError:
            eof = True
        return got, eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


if __name__ == "__main__":
    main()
