# SPDX-License-Identifier: MIT
# rawbackend: a backend that lives in the test process and works on bytes, for the
# hardening tests. It records every byte gatewayd sends it (so a test can prove that
# a rejected request never reached a backend) and answers with canned bytes (so a
# test can send the malformed responses that no real server would).
"""Byte-level backend for gatewayd tests (python3 standard library only).

    rb = RawBackend()               # listens on 127.0.0.1:rb.port
    rb.reply = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    ... requests through gatewayd ...
    rb.received()                   # every byte received since the last reset()
    rb.close()

Each request head (up to the empty line) is answered with `reply`: bytes, or a list
whose items are bytes to send or numbers of seconds to wait. With close_after (the
default for canned replies) the connection is closed after the reply; otherwise it is
kept for the next request. Request bodies are not read as such: their bytes are only
recorded, so tests send GETs through it.
"""

import socket
import threading
import time

OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"


class RawBackend:
    def __init__(self, reply=OK_REPLY, close_after=False):
        self.reply = reply
        self.close_after = close_after
        self._lock = threading.Lock()
        self._data = bytearray()
        self._heads = 0
        self._conns = 0
        self._closing = False
        self._socks = set()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- what the tests read
    def reset(self):
        with self._lock:
            self._data = bytearray()
            self._heads = 0
            self._conns = 0

    def received(self):
        with self._lock:
            return bytes(self._data)

    def heads(self):
        """Request heads seen (complete up to the empty line) since reset()."""
        with self._lock:
            return self._heads

    def connections(self):
        with self._lock:
            return self._conns

    def close(self):
        self._closing = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    # -- the server
    def _accept_loop(self):
        while not self._closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns += 1
                self._socks.add(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _send_reply(self, c):
        parts = self.reply if isinstance(self.reply, list) else [self.reply]
        for part in parts:
            if isinstance(part, (int, float)):
                time.sleep(part)
            else:
                c.sendall(part)

    def _serve(self, c):
        buf = b""
        c.settimeout(30)
        try:
            while not self._closing:
                b = c.recv(65536)
                if not b:
                    return
                with self._lock:
                    self._data += b
                buf += b
                while b"\r\n\r\n" in buf:
                    buf = buf[buf.index(b"\r\n\r\n") + 4:]
                    with self._lock:
                        self._heads += 1
                    self._send_reply(c)
                    if self.close_after:
                        return
        except OSError:
            return
        finally:
            with self._lock:
                self._socks.discard(c)
            try:
                c.close()
            except OSError:
                pass
