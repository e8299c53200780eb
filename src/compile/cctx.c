/* SPDX-License-Identifier: MIT */
/* cctx: the compiler's growable record arrays and its deduplicated string area. */
#include "compile/cctx.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* ---- growable record arrays ---- */



void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		char *d = realloc(v->data, cap * v->elem);
		if (!d)
			fatalx("out of memory");
		v->data = d;
		v->cap = cap;
	}
	void *p = v->data + v->n * v->elem;
	memset(p, 0, v->elem);
	v->n++;
	return p;
}

void vec_free(struct vec *v)
{
	free(v->data);
	v->data = NULL;
	v->n = v->cap = 0;
}

/* ---- string area, deduplicated ---- */



static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void strtab_rehash(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256;
	struct strslot *slots = calloc(n, sizeof *slots);
	if (!slots)
		fatalx("out of memory");
	for (size_t i = 0; i < t->nslots; i++) {
		if (!t->slots[i].used)
			continue;
		size_t j = t->slots[i].hash & (n - 1);
		while (slots[j].used)
			j = (j + 1) & (n - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
}

struct img_str strtab_addn(struct strtab *t, const char *s, size_t len)
{
	struct img_str r = {0, 0};
	if ((t->used + 1) * 2 > t->nslots)
		strtab_rehash(t);
	uint64_t h = str_hash(s, len);
	size_t i = h & (t->nslots - 1);
	while (t->slots[i].used) {
		struct strslot *sl = &t->slots[i];
		if (sl->hash == h && sl->len == len && memcmp(t->bytes.data + sl->off, s, len) == 0) {
			r.off = sl->off;
			r.len = sl->len;
			return r;
		}
		i = (i + 1) & (t->nslots - 1);
	}
	if (t->bytes.len + len + 1 > UINT32_MAX) {
		t->overflow = true;
		return r;
	}
	struct strslot *sl = &t->slots[i];
	sl->used = true;
	sl->hash = h;
	sl->off = (uint32_t)t->bytes.len;
	sl->len = (uint32_t)len;
	t->used++;
	buf_append(&t->bytes, s, len);
	buf_putc(&t->bytes, '\0');
	r.off = sl->off;
	r.len = sl->len;
	return r;
}

struct img_str strtab_add(struct strtab *t, const char *s)
{
	return strtab_addn(t, s ? s : "", s ? strlen(s) : 0);
}

struct img_str strtab_add_lower(struct strtab *t, const char *s)
{
	struct buf low = BUF_INIT;
	for (const char *p = s; *p; p++)
		buf_putc(&low, (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p);
	struct img_str r = strtab_addn(t, low.data ? low.data : "", low.len);
	buf_free(&low);
	return r;
}

size_t cctx_nbackends(const struct gw_model *m)
{
	return m->nbackends + m->nservice_backends;
}

const struct gw_backend *cctx_backend(const struct gw_model *m, size_t i)
{
	return i < m->nbackends ? m->backends[i] : m->service_backends[i - m->nbackends];
}

uint32_t cctx_backend_index(const struct gw_model *m, const struct gw_backend *b)
{
	for (size_t i = 0; i < cctx_nbackends(m); i++)
		if (cctx_backend(m, i) == b)
			return (uint32_t)i;
	return IMG_NO_BACKEND;
}

bool cctx_parse_ip(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (s && inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (s && inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}
