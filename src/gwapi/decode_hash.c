/* SPDX-License-Identifier: MIT */
/* decode_hash: FNV-1a hashes of decoded content: a document's content hash (what
 * observedGeneration tracks without Kubernetes) and the key hash of the duplicate
 * check. */
#include "gwapi/decode.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void fnv(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= FNV_PRIME;
	}
}

/* A length-prefixed string, so that no two different sequences of parts collide by
 * concatenation. */
static void fnv_str(uint64_t *h, char tag, const char *s, size_t slen)
{
	size_t len = slen;
	/* "<tag><decimal len>:" written by hand: this runs for every scalar */
	char digits[24], head[32];
	size_t nd = 0, n = 0;
	do {
		digits[nd++] = (char)('0' + len % 10);
		len /= 10;
	} while (len);
	head[n++] = tag;
	while (nd)
		head[n++] = digits[--nd];
	head[n++] = ':';
	fnv(h, head, n);
	fnv(h, s, slen);
}

static int key_cmp(const void *x, const void *y)
{
	const struct ynode *a = (*(const struct ypair *const *)x)->key;
	const struct ynode *b = (*(const struct ypair *const *)y)->key;
	size_t n = a->scalar_len < b->scalar_len ? a->scalar_len : b->scalar_len;
	int c = memcmp(a->scalar, b->scalar, n);
	return c ? c : (a->scalar_len > b->scalar_len) - (a->scalar_len < b->scalar_len);
}

static int label_cmp(const void *x, const void *y)
{
	return strcmp(((const struct gw_label *)x)->key, ((const struct gw_label *)y)->key);
}

/* Maps hash their entries in key order (ydoc made keys unique), skipping nulls
 * (absent to the API server); at the top, status and metadata are left out. */
static void hash_node(struct arena *a, uint64_t *h, const struct ynode *n, bool top)
{
	switch (n->kind) {
	case YNODE_MAP: {
		const struct ypair **sorted = arena_alloc(a, (n->count ? n->count : 1) * sizeof *sorted);
		for (size_t i = 0; i < n->count; i++)
			sorted[i] = &n->pairs[i];
		qsort(sorted, n->count, sizeof *sorted, key_cmp);
		fnv(h, "{", 1);
		for (size_t i = 0; i < n->count; i++) {
			const struct ypair *p = sorted[i];
			if (ynode_is_null(p->value))
				continue;
			if (top && (!strcmp(p->key->scalar, "status") || !strcmp(p->key->scalar, "metadata")))
				continue;
			fnv_str(h, 'k', p->key->scalar, p->key->scalar_len);
			hash_node(a, h, p->value, false);
		}
		fnv(h, "}", 1);
		break;
	}
	case YNODE_SEQ:
		fnv(h, "[", 1);
		for (size_t i = 0; i < n->count; i++)
			hash_node(a, h, n->items[i], false);
		fnv(h, "]", 1);
		break;
	case YNODE_SCALAR: {
		static const char tags[] = { [SC_NULL] = 'n', [SC_BOOL] = 'b', [SC_INT] = 'i',
					     [SC_FLOAT] = 'f', [SC_STR] = 's' };
		fnv_str(h, tags[decode_scalar_class(n)], n->scalar, n->scalar_len);
		break;
	}
	}
}

uint64_t decode_content_hash(struct arena *a, const struct ynode *root, const struct gw_meta *meta)
{
	uint64_t h = FNV_OFFSET;
	hash_node(a, &h, root, true);
	/* metadata reduced to what identifies and selects the object */
	const char *ns = meta->ns ? meta->ns : "", *name = meta->name ? meta->name : "";
	fnv_str(&h, 'N', ns, strlen(ns));
	fnv_str(&h, 'N', name, strlen(name));
	struct gw_label *labels = arena_alloc(a, (meta->nlabels ? meta->nlabels : 1) * sizeof *labels);
	if (meta->nlabels)
		memcpy(labels, meta->labels, meta->nlabels * sizeof *labels);
	qsort(labels, meta->nlabels, sizeof *labels, label_cmp);
	for (size_t i = 0; i < meta->nlabels; i++) {
		fnv_str(&h, 'L', labels[i].key, strlen(labels[i].key));
		fnv_str(&h, 'V', labels[i].value, strlen(labels[i].value));
	}
	return h;
}

uint64_t decode_str_hash(const char *s)
{
	uint64_t h = FNV_OFFSET;
	fnv(&h, s, strlen(s));
	return h;
}
