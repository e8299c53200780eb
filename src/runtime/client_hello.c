/* SPDX-License-Identifier: MIT */
/* client_hello: SNI from a TLS ClientHello. Two steps: the handshake bytes are
 * gathered from the records (a ClientHello may be fragmented over several, RFC 8446
 * §5.1), then the ClientHello is walked field by field, every length checked against
 * what encloses it. Anything a conforming client would not send is CH_INVALID. */
#include "runtime/client_hello.h"

#include <stdbool.h>
#include <string.h>

#define TLS_RECORD_HANDSHAKE 22
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_RECORD_HEADER 5
#define TLS_MAX_FRAGMENT 16384   /* RFC 8446 §5.1: 2^14 */
#define EXT_SERVER_NAME 0
#define SNI_HOST_NAME 0

/* A bounded reader over one byte range. Once a read fails, every later one fails. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static bool rd_skip(struct rd *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return false;
	}
	r->p += n;
	r->left -= n;
	return true;
}

static unsigned rd_u8(struct rd *r)
{
	if (r->bad || r->left < 1) {
		r->bad = true;
		return 0;
	}
	unsigned v = r->p[0];
	rd_skip(r, 1);
	return v;
}

static unsigned rd_u16(struct rd *r)
{
	if (r->bad || r->left < 2) {
		r->bad = true;
		return 0;
	}
	unsigned v = (unsigned)r->p[0] << 8 | r->p[1];
	rd_skip(r, 2);
	return v;
}

/* A sub-reader over the next n bytes, which r then skips. */
static struct rd rd_sub(struct rd *r, size_t n)
{
	struct rd s = { r->p, n, false };
	if (!rd_skip(r, n)) {
		s.p = NULL;
		s.left = 0;
		s.bad = true;
	}
	return s;
}

/* RFC 6066 §3: an ASCII DNS hostname without a trailing dot; literal IP addresses are
 * not permitted there, and a name of digits and dots alone is one. RFC 1123 labels:
 * 1..63 of letters, digits and "-", not starting or ending with "-". */
static bool host_name_ok(const uint8_t *s, size_t n)
{
	if (n == 0 || n > CH_SNI_MAX)
		return false;
	size_t label = 0;
	bool all_numeric = true;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
		bool digit = ch >= '0' && ch <= '9';
		if (!alpha && !digit && ch != '-')
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (!digit)
			all_numeric = false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-' && !all_numeric;
}

/* The server_name extension body: a ServerNameList holding one host_name. */
static enum ch_result parse_server_name(struct rd ext, char *name, size_t *name_len)
{
	size_t list_len = rd_u16(&ext);
	if (ext.bad || list_len != ext.left || list_len == 0)
		return CH_INVALID;
	bool found = false;
	while (ext.left > 0) {
		unsigned type = rd_u8(&ext);
		size_t len = rd_u16(&ext);
		struct rd v = rd_sub(&ext, len);
		if (ext.bad || len == 0)
			return CH_INVALID;
		if (type != SNI_HOST_NAME)
			continue;  /* no other type is defined; ignore, as RFC 6066 lets servers */
		/* RFC 6066 §3: no more than one name of the same name_type */
		if (found || !host_name_ok(v.p, len))
			return CH_INVALID;
		for (size_t i = 0; i < len; i++) {
			uint8_t ch = v.p[i];
			name[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
		}
		name[len] = '\0';
		*name_len = len;
		found = true;
	}
	return found ? CH_SNI : CH_NO_SNI;
}

/* RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, whose extensions may be absent). */
static enum ch_result parse_body(struct rd r, char *name, size_t *name_len)
{
	unsigned version = rd_u16(&r);
	if (r.bad || (version >> 8) != 3)
		return CH_INVALID;
	rd_skip(&r, 32);                           /* random */
	size_t sid = rd_u8(&r);
	if (sid > 32)
		return CH_INVALID;
	rd_skip(&r, sid);
	size_t suites = rd_u16(&r);
	if (suites < 2 || suites % 2 != 0)
		return CH_INVALID;
	rd_skip(&r, suites);
	size_t comp = rd_u8(&r);
	if (comp < 1)
		return CH_INVALID;
	rd_skip(&r, comp);
	if (r.bad)
		return CH_INVALID;
	if (r.left == 0)
		return CH_NO_SNI;                  /* TLS 1.2 without extensions */
	size_t ext_len = rd_u16(&r);
	if (r.bad || ext_len != r.left)
		return CH_INVALID;
	enum ch_result res = CH_NO_SNI;
	/* RFC 8446 §4.2: one extension of each type at most; only server_name is
	 * interpreted, so only it is checked for a repeat. */
	bool seen_sni = false;
	while (r.left > 0) {
		unsigned type = rd_u16(&r);
		size_t len = rd_u16(&r);
		struct rd ext = rd_sub(&r, len);
		if (r.bad)
			return CH_INVALID;
		if (type != EXT_SERVER_NAME)
			continue;
		if (seen_sni)
			return CH_INVALID;
		seen_sni = true;
		/* RFC 6066 §3: a server's echo is empty; a client's never is */
		res = parse_server_name(ext, name, name_len);
		if (res == CH_INVALID)
			return res;
	}
	return res;
}

enum ch_result client_hello_parse(const uint8_t *buf, size_t len, char name[CH_SNI_MAX + 1],
				  size_t *name_len)
{
	/* The handshake message, gathered from the records' payloads. */
	uint8_t hs[CH_MAX_BYTES];
	size_t hn = 0, off = 0, need = 0;

	*name_len = 0;
	name[0] = '\0';
	for (;;) {
		if (hn >= 1 && hs[0] != TLS_HANDSHAKE_CLIENT_HELLO)
			return CH_INVALID;
		if (hn >= 4) {
			need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
			if (need > CH_MAX_BYTES)
				return CH_INVALID;
			if (hn >= need)
				break;
		}
		/* The next record header, checked as far as it arrived. */
		size_t have = len - off;
		if (have >= 1 && buf[off] != TLS_RECORD_HANDSHAKE)
			return CH_INVALID;
		if (have >= 2 && buf[off + 1] != 3)
			return CH_INVALID;
		if (have < TLS_RECORD_HEADER)
			return off + TLS_RECORD_HEADER > CH_MAX_BYTES ? CH_INVALID : CH_NEED_MORE;
		size_t rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		/* RFC 8446 §5.1: no zero-length handshake fragments, none over 2^14 */
		if (rlen == 0 || rlen > TLS_MAX_FRAGMENT || off + TLS_RECORD_HEADER + rlen > CH_MAX_BYTES)
			return CH_INVALID;
		if (have < TLS_RECORD_HEADER + rlen)
			return CH_NEED_MORE;
		/* hn <= off, so hn + rlen <= CH_MAX_BYTES */
		memcpy(hs + hn, buf + off + TLS_RECORD_HEADER, rlen);
		hn += rlen;
		off += TLS_RECORD_HEADER + rlen;
	}
	/* The record that completes the ClientHello carries nothing else: a client sends
	 * no other handshake message before the server answers. */
	if (hn != need)
		return CH_INVALID;
	struct rd body = { hs + 4, need - 4, false };
	enum ch_result r = parse_body(body, name, name_len);
	if (r != CH_SNI) {
		/* a name seen before a later field failed is no answer */
		name[0] = '\0';
		*name_len = 0;
	}
	return r;
}
