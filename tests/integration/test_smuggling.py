# SPDX-License-Identifier: MIT
# test_smuggling: every request that RFC 9112 says to reject, or that a backend could
# frame differently from gatewayd, is answered 400 (501/505 where the RFC says so) and
# the connection is closed, and not one byte of it reaches the backend. Each vector
# also carries a second request behind it: it must never be answered. Then the
# response side: a backend of the test's own sends malformed responses, and the
# client gets a 502, or a cut connection once the response had started.
import time

import gwtest
import rawbackend
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("smuggling")
E = {}

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@S.setup
def setup():
    env = S.env("smuggling", workers=1)
    rec = rawbackend.RawBackend()
    port = gwtest.free_port()
    E.update(env=env, rec=rec, port=port)
    env.write_docs("gateway.yaml",
                   gwtest.gatewayclass(),
                   gwtest.gateway("gw", [gwtest.listener("http", port)]),
                   httproute("all", rules=[rule(["rec"], [match("/")])]),
                   gwtest.backend("rec", port=rec.port))
    env.start()


@S.teardown
def teardown():
    E["rec"].close()


def send(data, timeout=3.0):
    return gwtest.raw(E["port"], data, timeout=timeout)


def expect_rejected(data, status):
    rec = E["rec"]
    rec.reset()
    got, closed = send(data + SMUGGLED)
    eq(gwtest.status_line(got), status, "status (got %r)" % got[:80])
    check(closed, "the connection stayed open after %d" % status)
    eq(len(gwtest.parse_responses(got)), 1, "responses on the connection (the one behind it "
       "must never be answered)")
    # The backend would have had the bytes before gatewayd's answer reached us; a
    # short grace covers a write still in flight.
    time.sleep(0.02)
    eq(rec.received(), b"", "bytes the backend received")


def vector(name, data, status=400):
    @S.case("%d + close, nothing to the backend: %s" % (status, name))
    def _():
        expect_rejected(data, status)


def post(fields, body=b""):
    return b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n" + body


def chunked(body):
    return post(b"Transfer-Encoding: chunked\r\n", body)


@S.case("control: a clean request reaches the backend and keeps the connection")
def _():
    rec = E["rec"]
    rec.reset()
    got, closed = gwtest.raw(E["port"], b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n",
                             read_until_close=False)
    eq(gwtest.status_line(got), 200, "status")
    check(not closed, "closed after a clean request")
    gwtest.wait_for(lambda: rec.heads() == 1, 3, "the backend to see one request")
    check(rec.received().startswith(b"GET /fine HTTP/1.1\r\n"), "forwarded %r" % rec.received()[:60])


# ---- framing: Content-Length and Transfer-Encoding (RFC 9112 6.1-6.3, RFC 9110 8.6)
vector("Content-Length with Transfer-Encoding",
       post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding with Content-Length (other order)",
       post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"))
vector("two Content-Length fields that differ",
       post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"))
vector("a Content-Length list that differs", post(b"Content-Length: 5, 6\r\n", b"hello!"))
vector("two identical Content-Length fields", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"))
vector("a Content-Length list of one value", post(b"Content-Length: 5, 5\r\n", b"hello"))
vector("Content-Length with a sign", post(b"Content-Length: +5\r\n", b"hello"))
vector("negative Content-Length", post(b"Content-Length: -1\r\n"))
vector("hexadecimal Content-Length", post(b"Content-Length: 0x5\r\n", b"hello"))
vector("Content-Length with leading zeros (octal to some)", post(b"Content-Length: 010\r\n", b"01234567"))
vector("Content-Length overflow", post(b"Content-Length: 18446744073709551621\r\n", b"hello"))
vector("empty Content-Length", post(b"Content-Length:\r\n"))
vector("Transfer-Encoding: 'chunked ' (trailing space)",
       post(b"Transfer-Encoding: chunked \r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding: xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding: chunked, identity",
       post(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding: identity", post(b"Transfer-Encoding: identity\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding: ChUnKeD (case trick)", post(b"Transfer-Encoding: ChUnKeD\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding in two fields", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                             b"0\r\n\r\n"))
vector("Transfer-Encoding: chunked with a vertical tab", post(b"Transfer-Encoding: chunked\x0b\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding quoted", post(b'Transfer-Encoding: "chunked"\r\n', b"0\r\n\r\n"))
vector("Transfer-Encoding with an empty list element", post(b"Transfer-Encoding: chunked,\r\n", b"0\r\n\r\n"))
vector("Transfer-Encoding in HTTP/1.0",
       b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
vector("Transfer-Encoding: gzip, chunked (not implemented)",
       post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501)

# ---- field syntax (RFC 9112 5, 5.1, 5.2; RFC 9110 5.5)
vector("whitespace before the colon", post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"))
vector("tab before the colon", post(b"Content-Length\t: 5\r\n", b"hello"))
vector("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n")
vector("obs-fold continuing Transfer-Encoding", post(b"Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n"))
vector("whitespace before the first field", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n")
vector("bare CR inside a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")
vector("bare CR as a line ending", b"GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n")
vector("bare LF as a line ending", b"GET / HTTP/1.1\nHost: x\n\n")
vector("NUL in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")
vector("NUL in a field name", b"GET / HTTP/1.1\r\nHost: x\r\nX\x00A: b\r\n\r\n")
vector("control character in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n")
vector("DEL in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n")
vector("empty field name", b"GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n")
vector("field line without a colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n")
vector("separator in a field name", b"GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n")

# ---- chunked body framing (RFC 9112 7.1)
vector("chunk size overflow (17 hex digits)", chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n"))
vector("negative chunk size", chunked(b"-5\r\nhello\r\n0\r\n\r\n"))
vector("chunk size with a sign", chunked(b"+5\r\nhello\r\n0\r\n\r\n"))
vector("chunk size with 0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"))
vector("chunk size with leading whitespace", chunked(b" 5\r\nhello\r\n0\r\n\r\n"))
vector("chunk size with trailing whitespace", chunked(b"5 \r\nhello\r\n0\r\n\r\n"))
vector("chunk size not hexadecimal", chunked(b"5g\r\nhello\r\n0\r\n\r\n"))
vector("chunk extension without a name", chunked(b"5;\r\nhello\r\n0\r\n\r\n"))
vector("chunk extension ended by a bare LF", chunked(b"5;a=b\nhello\r\n0\r\n\r\n"))
vector("chunk extension with an unterminated quote", chunked(b'5;a="b\r\nhello\r\n0\r\n\r\n'))
vector("chunk extension of 5000 bytes", chunked(b"5;a=" + b"b" * 5000 + b"\r\nhello\r\n0\r\n\r\n"))
vector("chunk data longer than its size", chunked(b"5\r\nhelloXX\r\n0\r\n\r\n"))
vector("chunked with bare LF line endings", chunked(b"5\nhello\n0\n\n"))
vector("trailer field with obs-fold", chunked(b"0\r\nX-T: a\r\n b\r\n\r\n"))

# ---- request line and Host (RFC 9112 2.2, 3, 3.2; RFC 9110 7.2)
vector("absolute-form whose host differs from Host", b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n")
vector("absolute-form with another scheme", b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n")
vector("two Host fields", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
vector("Host with userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n")
vector("Host with a space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
vector("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n")
vector("HTTP/0.9 request", b"GET /\r\n\r\n")
vector("two spaces in the request line", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n")
vector("space at the end of the request line", b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n")
vector("tab as a request-line separator", b"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n")
vector("lowercase http version", b"GET / http/1.1\r\nHost: x\r\n\r\n")
vector("version HTTP/1.10", b"GET / HTTP/1.10\r\nHost: x\r\n\r\n")
vector("space inside the target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")
vector("fragment in the target", b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n")
vector("NUL in the target", b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
vector("non-ASCII byte in the target", b"GET /a\xffb HTTP/1.1\r\nHost: x\r\n\r\n")
vector("whitespace before the request line", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n")
vector("five empty lines before the request line", b"\r\n" * 5 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
vector("asterisk-form with GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n")
vector("HTTP/2.0 in an HTTP/1 request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)
vector("HTTP/3.1", b"GET / HTTP/3.1\r\nHost: x\r\n\r\n", 505)
vector("CONNECT (tunnels are not proxied)", b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501)


@S.case("a bad chunk behind good ones: the bad bytes never reach the backend")
def _():
    rec = E["rec"]
    rec.reset()
    head = chunked(b"")
    old = rec.reply
    rec.reply = [1.5, rawbackend.OK_REPLY]  # no early answer: the body is still wanted
    try:
        got, closed = gwtest.raw(E["port"], None, chunks=[head + b"5\r\nhello\r\n",
                                                        b"zz\r\n" + SMUGGLED], delay=0.2)
    finally:
        rec.reply = old
    eq(gwtest.status_line(got), 400, "status (got %r)" % got[:80])
    check(closed, "the connection stayed open")
    time.sleep(0.05)
    data = rec.received()
    check(b"zz" not in data and b"smuggled" not in data, "the backend got %r" % data[-80:])


@S.case("the gateway still serves after every vector")
def _():
    got, _ = gwtest.raw(E["port"], b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False)
    eq(gwtest.status_line(got), 200, "status")
    check(E["env"].alive(), "gatewayd died")


# ---- the response side: malformed responses from the backend

def expect_502(reply):
    rec = E["rec"]
    old = (rec.reply, rec.close_after)
    rec.reply, rec.close_after = reply, True
    try:
        got, _ = gwtest.raw(E["port"], b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False)
    finally:
        rec.reply, rec.close_after = old
    eq(gwtest.status_line(got), 502, "status (got %r)" % got[:120])
    resp = gwtest.parse_responses(got)
    eq(len(resp), 1, "complete responses")
    check(b"Bad Gateway" in got.split(b"\r\n", 1)[0], "status line %r" % got.split(b"\r\n", 1)[0])


def expect_cut(reply):
    """The response head went out before the fault: the only way to tell the client
    is to close without ending the body."""
    rec = E["rec"]
    old = (rec.reply, rec.close_after)
    rec.reply, rec.close_after = reply, True
    try:
        got, closed = gwtest.raw(E["port"], b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n", timeout=4)
    finally:
        rec.reply, rec.close_after = old
    eq(gwtest.status_line(got), 200, "status (got %r)" % got[:120])
    check(closed, "the client connection stayed open")
    eq(gwtest.parse_responses(got), [], "a complete response reached the client")


def resp_vector(name, reply):
    @S.case("response -> 502: %s" % name)
    def _():
        expect_502(reply)


def resp(fields, body=b"", status=b"200 OK"):
    return b"HTTP/1.1 " + status + b"\r\n" + fields + b"\r\n" + body


@S.case("response control: a clean response reaches the client")
def _():
    rec = E["rec"]
    old = (rec.reply, rec.close_after)
    rec.reply, rec.close_after = resp(b"Content-Length: 5\r\n", b"hello"), True
    try:
        got, _ = gwtest.raw(E["port"], b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False)
    finally:
        rec.reply, rec.close_after = old
    r = gwtest.parse_responses(got)
    eq([(s, b) for s, _, b in r], [(200, b"hello")], "responses")


resp_vector("Content-Length with Transfer-Encoding",
            resp(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"))
resp_vector("two Content-Length fields that differ", resp(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"))
resp_vector("two identical Content-Length fields", resp(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"))
resp_vector("negative Content-Length", resp(b"Content-Length: -5\r\n", b"hello"))
resp_vector("hexadecimal Content-Length", resp(b"Content-Length: 0x5\r\n", b"hello"))
resp_vector("Transfer-Encoding: xchunked", resp(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"))
resp_vector("Transfer-Encoding: chunked, identity", resp(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"))
resp_vector("Transfer-Encoding: Chunked (case trick)", resp(b"Transfer-Encoding: Chunked\r\n", b"0\r\n\r\n"))
resp_vector("Transfer-Encoding in an HTTP/1.0 response",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
resp_vector("obs-fold", resp(b"X-A: a\r\n b\r\nContent-Length: 0\r\n"))
resp_vector("whitespace before the colon", resp(b"Content-Length : 5\r\n", b"hello"))
resp_vector("bare CR in a field", resp(b"X-A: a\rb\r\nContent-Length: 0\r\n"))
resp_vector("bare LF line endings", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n")
resp_vector("NUL in a field value", resp(b"X-A: a\x00b\r\nContent-Length: 0\r\n"))
resp_vector("control character in the reason phrase", resp(b"Content-Length: 0\r\n", status=b"200 O\x01K"))
resp_vector("four-digit status code", resp(b"Content-Length: 0\r\n", status=b"2000 OK"))
resp_vector("two-digit status code", resp(b"Content-Length: 0\r\n", status=b"20 OK"))
resp_vector("status code 999", resp(b"Content-Length: 0\r\n", status=b"999 Odd"))
resp_vector("no status line (HTTP/0.9 style)", b"hello world\r\n")
resp_vector("HTTP/2.0 status line", b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
resp_vector("an unexpected 101 Switching Protocols",
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n")
resp_vector("a head larger than the head limit",
            resp(b"X-Big: " + b"a" * 40000 + b"\r\nContent-Length: 0\r\n"))
resp_vector("a bad chunk size in the same packet as the head",
            resp(b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"))
resp_vector("closed before the head ended", [b"HTTP/1.1 200 OK\r\nContent-Le"])


@S.case("response cut: a bad chunk size after the head went out")
def _():
    expect_cut([resp(b"Transfer-Encoding: chunked\r\n"), 0.3, b"5\r\nhello\r\n-1\r\n"])


@S.case("response cut: chunk data longer than its size")
def _():
    expect_cut([resp(b"Transfer-Encoding: chunked\r\n"), 0.3, b"5\r\nhelloEXTRA\r\n0\r\n\r\n"])


@S.case("response cut: the backend closes before Content-Length bytes arrived")
def _():
    expect_cut([resp(b"Content-Length: 100\r\n"), 0.3, b"only part"])


@S.case("the gateway still serves after every response vector")
def _():
    got, _ = gwtest.raw(E["port"], b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False)
    eq(gwtest.status_line(got), 200, "status")
    check(E["env"].alive(), "gatewayd died")


S.run()
