#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# echo_backend: a small HTTP/1.1 backend for gatewayd's tests and demo. It answers
# every request with one JSON line describing the request it received, in the spirit
# of the Gateway API conformance echo server (GATEWAY-API.md section 5.3).
"""HTTP/1.1 echo backend (python3 standard library only).

Every request is answered with a JSON object (one line, then "\\n"):
  {"name": --name, "method", "path" (raw target, query included), "host",
   "headers": {lowercased name: [values in order]}, "body_bytes": n,
   "body_sha256": hex, "peer": "addr:port", "conn_requests": n}
"conn_requests" counts the requests seen on this connection (1 for the first), so a
test can tell whether a proxy reuses its upstream connections.

Special paths:
  /status/NNN         reply with status NNN (JSON body unless NNN forbids a body)
  /delay?ms=N         wait N milliseconds, then echo
  /big?bytes=N        stream N bytes of 'x' (Content-Length; add &chunked=1 for chunked)
  /garbage            reply with a malformed status line, then close
  /close              close the connection without answering
  .../retry/...?uuid=U&succeedAfter=N[&responseCode=C]   (a "retry" path segment)
                      the first N requests with uuid U fail (status C, or a TCP reset
                      when C is not given), later ones echo (GATEWAY-API.md 5.3)
  /_requests          the requests received so far (not this one), oldest first, as a
                      JSON array of describe() objects (the last REQUEST_LOG_MAX);
                      /_requests?clear=1 also forgets them (mirror tests)
Request header "X-Echo-Set-Header: Name:Value,Name2:Value2" adds response headers.
Bodies of any size are read and hashed as they stream (Content-Length or chunked).

Prints "READY <port>" (or "READY <path>" with --unix) on stdout once listening.
With --tls-cert/--tls-key it speaks HTTPS (BackendTLSPolicy tests); --tls-client-ca
also requires a client certificate signed by that CA, and every answer then carries
"tls_peer_subject": the client certificate's subject ("CN=...").
"""

import argparse
import hashlib
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOCK = 64 * 1024
REQUEST_LOG_MAX = 10000
NO_BODY_STATUS = (204, 304)


class BodyError(Exception):
    pass


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo-backend"
    sys_version = ""
    # Reads from the client block for at most this long (a stuck test fails instead
    # of hanging); long enough for a slow 1 GiB upload between chunks.
    timeout = 60

    def setup(self):
        super().setup()
        self.conn_requests = 0
        if self.connection.family != socket.AF_UNIX:
            # Headers and body go out in two writes; without this, Nagle plus
            # delayed ACKs add 40 ms to every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s: %s\n" % (self.server.echo_name, fmt % args))

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, BodyError):
            self.close_connection = True

    def __getattr__(self, name):
        # Every method (standard or not) goes to the same handler.
        if name.startswith("do_"):
            return self.do_any
        raise AttributeError(name)

    def read_body(self, digest):
        """Reads the request body as it streams; returns its length."""
        te = self.headers.get_all("Transfer-Encoding") or []
        if te:
            codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise BodyError("unsupported transfer-coding %r" % codings)
            return self.read_chunked(digest)
        cl = self.headers.get_all("Content-Length") or []
        if not cl:
            return 0
        if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
            raise BodyError("bad content-length %r" % cl)
        left = int(cl[0].strip())
        total = 0
        while left > 0:
            data = self.rfile.read(min(BLOCK, left))
            if not data:
                raise BodyError("body truncated")
            digest.update(data)
            total += len(data)
            left -= len(data)
        return total

    def read_chunked(self, digest):
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise BodyError("bad chunk size line")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BodyError("bad chunk size %r" % size_text)
            if size == 0:
                break
            left = size
            while left > 0:
                data = self.rfile.read(min(BLOCK, left))
                if not data:
                    raise BodyError("chunk truncated")
                digest.update(data)
                total += len(data)
                left -= len(data)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError("missing CRLF after chunk")
        while True:  # trailer section
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n"):
                return total
            if not line:
                raise BodyError("trailers truncated")

    def describe(self, body_bytes, digest):
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        peer = self.client_address
        if isinstance(peer, tuple) and len(peer) >= 2:
            peer = "%s:%d" % (peer[0], peer[1])
        else:
            peer = "unix"
        return {
            "name": self.server.echo_name,
            "method": self.command,
            "path": self.path,
            "proto": self.request_version,
            "host": self.headers.get("Host"),
            "headers": headers,
            "body_bytes": body_bytes,
            "body_sha256": digest.hexdigest(),
            "peer": peer,
            "conn_requests": self.conn_requests,
            **self.peer_cert_fields(),
        }

    def peer_cert_fields(self):
        """{"tls_peer_subject": "CN=x,O=y"} when the client presented a certificate."""
        getpeercert = getattr(self.connection, "getpeercert", None)
        cert = getpeercert() if getpeercert else None
        if not cert:
            return {}
        names = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
        rdns = [names.get(k, k) + "=" + v for rdn in cert.get("subject", ()) for k, v in rdn]
        return {"tls_peer_subject": ",".join(rdns)}

    def send_extra_headers(self):
        spec = self.headers.get("X-Echo-Set-Header")
        if not spec:
            return
        for item in spec.split(","):
            if ":" in item:
                k, v = item.split(":", 1)
                self.send_header(k.strip(), v.strip())

    def do_any(self):
        self.conn_requests += 1
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/close":
            self.close_connection = True
            return
        if url.path == "/_requests":
            self.send_request_log(query.get("clear", ["0"])[0] == "1")
            return
        digest = hashlib.sha256()
        try:
            body_bytes = self.read_body(digest)
        except BodyError as e:
            self.send_error(400, str(e))
            self.close_connection = True
            return
        if url.path == "/garbage":
            self.wfile.write(b"HTTP/1.1 2x0 N\x01T OK\r\nbroken header line\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if "retry" in url.path.split("/") and self.retry_fail(query):
            return
        status = 200
        if url.path.startswith("/status/"):
            try:
                status = int(url.path[len("/status/"):])
            except ValueError:
                status = 400
            if not 100 <= status <= 599:
                status = 400
        if url.path == "/delay":
            ms = int(query.get("ms", ["0"])[0])
            time.sleep(ms / 1000.0)
        if url.path == "/big":
            self.send_big(int(query.get("bytes", ["0"])[0]),
                      query.get("chunked", ["0"])[0] == "1")
            return
        desc = self.describe(body_bytes, digest)
        with self.server.log_lock:
            self.server.request_log.append(desc)
            del self.server.request_log[:-REQUEST_LOG_MAX]
        body = (json.dumps(desc) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo-Name", self.server.echo_name)
        self.send_extra_headers()
        if status in NO_BODY_STATUS:
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def retry_fail(self, query):
        """Fails this request if its uuid has failed fewer than succeedAfter times."""
        uuid = query.get("uuid", [""])[0]
        after = int(query.get("succeedAfter", ["0"])[0])
        with self.server.log_lock:
            counts = self.server.__dict__.setdefault("retry_counts", {})
            n = counts.get(uuid, 0)
            counts[uuid] = n + 1
        if n >= after:
            return False
        code = query.get("responseCode", [""])[0]
        self.close_connection = True
        if not code:
            # SO_LINGER 0: the close sends a RST instead of a FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return True
        body = b"retry simulator failure\n"
        self.send_response(int(code))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Echo-Name", self.server.echo_name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return True

    def send_request_log(self, clear):
        with self.server.log_lock:
            body = (json.dumps(self.server.request_log) + "\n").encode()
            if clear:
                self.server.request_log = []
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_big(self, n, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-Echo-Name", self.server.echo_name)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        block = b"x" * BLOCK
        left = n
        while left > 0:
            part = block[:min(BLOCK, left)]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            else:
                self.wfile.write(part)
            left -= len(part)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class TCPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256

    def server_bind(self):
        socketserver.UnixStreamServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = 0


def main():
    ap = argparse.ArgumentParser(description="HTTP/1.1 echo backend for gatewayd tests")
    ap.add_argument("--port", type=int, default=0, help="TCP port on --host (0: pick a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--unix", metavar="PATH", help="listen on a unix socket instead")
    ap.add_argument("--name", default="echo", help="reported in every answer")
    ap.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    ap.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this chain (and --tls-key)")
    ap.add_argument("--tls-key", metavar="PEM")
    ap.add_argument("--tls-client-ca", metavar="PEM",
                    help="require a client certificate signed by this CA (with --tls-cert)")
    args = ap.parse_args()

    if args.unix:
        try:
            os.unlink(args.unix)
        except FileNotFoundError:
            pass
        srv = UnixServer(args.unix, EchoHandler)
        where = args.unix
    else:
        if ":" in args.host:  # an IPv6 literal such as ::1
            TCPServer.address_family = socket.AF_INET6
        srv = TCPServer((args.host, args.port), EchoHandler)
        where = str(srv.server_address[1])
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.tls_client_ca)
        # The handshake happens in the handler's thread, at its first read.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.echo_name = args.name
    srv.verbose = args.verbose
    srv.request_log = []
    srv.log_lock = threading.Lock()
    print("READY %s" % where, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        if args.unix:
            try:
                os.unlink(args.unix)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
