/* SPDX-License-Identifier: MIT */
/* jtree: recursive-descent JSON reader (RFC 8259), bounded depth, arena allocated. */
#include "config.h"

#include "ops/jtree.h"

#include <string.h>

#include "base/buf.h"

#define JTREE_MAX_DEPTH 64

struct jparser {
	struct arena *a;
	const char *p, *end;
	int depth;
};

static void skip_ws(struct jparser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool read_hex4(struct jparser *jp, unsigned *out)
{
	if (jp->end - jp->p < 4)
		return false;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(jp->p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	jp->p += 4;
	*out = v;
	return true;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 4);
	}
}

/* At the opening quote. Returns the decoded string (arena) or NULL. */
static const char *parse_string(struct jparser *jp, size_t *len)
{
	jp->p++;
	struct buf b = BUF_INIT;
	while (jp->p < jp->end && *jp->p != '"') {
		unsigned char c = (unsigned char)*jp->p;
		if (c < 0x20)
			goto fail;
		if (c != '\\') {
			buf_putc(&b, (char)c);
			jp->p++;
			continue;
		}
		if (++jp->p >= jp->end)
			goto fail;
		char e = *jp->p++;
		unsigned cp;
		switch (e) {
		case '"': buf_putc(&b, '"'); break;
		case '\\': buf_putc(&b, '\\'); break;
		case '/': buf_putc(&b, '/'); break;
		case 'b': buf_putc(&b, '\b'); break;
		case 'f': buf_putc(&b, '\f'); break;
		case 'n': buf_putc(&b, '\n'); break;
		case 'r': buf_putc(&b, '\r'); break;
		case 't': buf_putc(&b, '\t'); break;
		case 'u':
			if (!read_hex4(jp, &cp))
				goto fail;
			if (cp >= 0xD800 && cp < 0xDC00) {
				unsigned lo;
				if (jp->end - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u')
					goto fail;
				jp->p += 2;
				if (!read_hex4(jp, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					goto fail;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				goto fail;
			}
			put_utf8(&b, cp);
			break;
		default:
			goto fail;
		}
	}
	if (jp->p >= jp->end)
		goto fail;
	jp->p++;
	*len = b.len;
	const char *s = arena_strndup(jp->a, b.data ? b.data : "", b.len);
	buf_free(&b);
	return s;
fail:
	buf_free(&b);
	return NULL;
}

static bool parse_number(struct jparser *jp)
{
	const char *p = jp->p;
	if (p < jp->end && *p == '-')
		p++;
	if (p >= jp->end)
		return false;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < jp->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return false;
	}
	if (p < jp->end && *p == '.') {
		p++;
		if (p >= jp->end || *p < '0' || *p > '9')
			return false;
		while (p < jp->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < jp->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < jp->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= jp->end || *p < '0' || *p > '9')
			return false;
		while (p < jp->end && *p >= '0' && *p <= '9')
			p++;
	}
	jp->p = p;
	return true;
}

static bool literal(struct jparser *jp, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
		return false;
	jp->p += n;
	return true;
}

static struct jval *parse_value(struct jparser *jp);

/* Collects members into arena arrays that grow by doubling. */
static struct jval *parse_container(struct jparser *jp, bool is_object)
{
	if (++jp->depth > JTREE_MAX_DEPTH)
		return NULL;
	struct jval *v = arena_alloc(jp->a, sizeof *v);
	v->type = is_object ? J_OBJECT : J_ARRAY;
	char close = is_object ? '}' : ']';
	size_t cap = 0;
	jp->p++;
	skip_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		jp->depth--;
		return v;
	}
	for (;;) {
		const char *key = NULL;
		if (is_object) {
			size_t klen;
			skip_ws(jp);
			if (jp->p >= jp->end || *jp->p != '"' || !(key = parse_string(jp, &klen)))
				return NULL;
			skip_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':')
				return NULL;
			jp->p++;
		}
		struct jval *item = parse_value(jp);
		if (!item)
			return NULL;
		if (v->len == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			v->items = arena_grow(jp->a, v->items, v->len, ncap, sizeof *v->items);
			if (is_object)
				v->keys = arena_grow(jp->a, v->keys, v->len, ncap, sizeof *v->keys);
			cap = ncap;
		}
		if (is_object)
			v->keys[v->len] = key;
		v->items[v->len++] = item;
		skip_ws(jp);
		if (jp->p >= jp->end)
			return NULL;
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p != close)
			return NULL;
		jp->p++;
		jp->depth--;
		return v;
	}
}

static struct jval *parse_value(struct jparser *jp)
{
	skip_ws(jp);
	if (jp->p >= jp->end)
		return NULL;
	struct jval *v;
	const char *start = jp->p;
	switch (*jp->p) {
	case '{':
		return parse_container(jp, true);
	case '[':
		return parse_container(jp, false);
	case '"': {
		size_t len;
		const char *s = parse_string(jp, &len);
		if (!s)
			return NULL;
		v = arena_alloc(jp->a, sizeof *v);
		v->type = J_STRING;
		v->str = s;
		v->len = len;
		return v;
	}
	case 't':
		if (!literal(jp, "true"))
			return NULL;
		v = arena_alloc(jp->a, sizeof *v);
		v->type = J_TRUE;
		return v;
	case 'f':
		if (!literal(jp, "false"))
			return NULL;
		v = arena_alloc(jp->a, sizeof *v);
		v->type = J_FALSE;
		return v;
	case 'n':
		if (!literal(jp, "null"))
			return NULL;
		v = arena_alloc(jp->a, sizeof *v);
		v->type = J_NULL;
		return v;
	default:
		if (!parse_number(jp))
			return NULL;
		v = arena_alloc(jp->a, sizeof *v);
		v->type = J_NUMBER;
		v->str = arena_strndup(jp->a, start, (size_t)(jp->p - start));
		return v;
	}
}

struct jval *jtree_parse(struct arena *a, const char *text, size_t len)
{
	struct jparser jp = {a, text, text + len, 0};
	struct jval *v = parse_value(&jp);
	if (!v)
		return NULL;
	skip_ws(&jp);
	return jp.p == jp.end ? v : NULL;
}

const struct jval *jtree_get(const struct jval *o, const char *key)
{
	if (!o || o->type != J_OBJECT)
		return NULL;
	for (size_t i = 0; i < o->len; i++)
		if (strcmp(o->keys[i], key) == 0)
			return o->items[i];
	return NULL;
}

const char *jtree_get_str(const struct jval *o, const char *key)
{
	const struct jval *v = jtree_get(o, key);
	return v && v->type == J_STRING ? v->str : NULL;
}

size_t jtree_len(const struct jval *v)
{
	return v && v->type == J_ARRAY ? v->len : 0;
}

const struct jval *jtree_at(const struct jval *v, size_t i)
{
	return v && v->type == J_ARRAY && i < v->len ? v->items[i] : NULL;
}
