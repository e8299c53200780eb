/* SPDX-License-Identifier: MIT */
/* decode_secret: v1 Secret and ConfigMap, as the Kubernetes API server validates them
 * (keys, base64 `data`, the 1 MiB limit, the keys a kubernetes.io/tls Secret must
 * have). Their fields sit at the top level of the document. Whether a certificate
 * parses is a status question for resolve_tls.c, not a schema one. */
#include <string.h>

#include "gwapi/decode.h"

#define SECRET_TYPE_TLS "kubernetes.io/tls"
#define MAX_OBJECT_BYTES (1024 * 1024) /* MaxSecretSize, and ConfigMaps' limit */

static const struct dfield secret_fields[] = {
	{ "apiVersion", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "metadata", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "type", DT_STR, 0, 0, 0 },
	{ "data", DT_MAP, 0, 0, 0 },
	{ "stringData", DT_MAP, 0, 0, 0 },
	{ "immutable", DT_BOOL, 0, 0, 0 },
};

static const struct dfield configmap_fields[] = {
	{ "apiVersion", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "metadata", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "data", DT_MAP, 0, 0, 0 },
	{ "binaryData", DT_MAP, 0, 0, 0 },
	{ "immutable", DT_BOOL, 0, 0, 0 },
};

/* Kubernetes IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, neither "." nor "..",
 * nor starting with "..". */
static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 253 || !strcmp(k, ".") || !strncmp(k, "..", 2))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding, as Go's encoding/base64.StdEncoding reads a []byte
 * field: "\r" and "\n" are skipped, anything else outside the alphabet is invalid.
 * Returns the decoded bytes (NUL-terminated) or NULL. */
static char *b64_decode(struct arena *a, const char *s, size_t len, size_t *out_len)
{
	char *out = arena_alloc(a, len / 4 * 3 + 4);
	size_t n = 0, quad = 0, pad = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '=') {
			/* padding only in the last two places of the last group */
			if (quad < 2)
				return NULL;
			pad++;
			acc <<= 6;
			quad++;
		} else {
			int v = b64_value(ch);
			if (v < 0 || pad)
				return NULL;
			acc = acc << 6 | (uint32_t)v;
			quad++;
		}
		if (quad == 4) {
			out[n++] = (char)(acc >> 16);
			if (pad < 2)
				out[n++] = (char)(acc >> 8);
			if (pad < 1)
				out[n++] = (char)acc;
			if (pad && i + 1 < len && strspn(s + i + 1, "\r\n") != len - i - 1)
				return NULL; /* data after the padding */
			quad = 0;
			acc = 0;
			if (pad)
				break;
		}
	}
	if (quad != 0)
		return NULL;
	out[n] = '\0';
	*out_len = n;
	return out;
}

/* One key/value of data, stringData or binaryData. */
struct kv {
	const char *key;
	const char *value;
	size_t len;
	struct gw_pos pos;
};

/* Reads a string map; base64 values are decoded. Returns the entries (arena). */
static struct kv *read_map(struct dctx *c, const struct ynode *map, const char *path, bool base64,
			   size_t *nout, size_t *bytes)
{
	struct kv *kv = arena_alloc(c->a, (map->count + 1) * sizeof *kv);
	size_t n = 0;
	for (size_t i = 0; i < map->count; i++) {
		const struct ynode *k = map->pairs[i].key, *v = map->pairs[i].value;
		const char *kpath = decode_path(c, path, k->scalar);
		if (!key_ok(k->scalar)) {
			decode_error(c, k, path, "invalid key %s: a valid key consists of alphanumerics, \"-\", \"_\" or \".\"",
				     decode_quote(c, k->scalar));
			continue;
		}
		if (!decode_check(c, v, kpath, DT_STR, 0, 0))
			continue;
		kv[n].key = k->scalar;
		kv[n].pos = decode_pos(v);
		if (base64) {
			kv[n].value = b64_decode(c->a, v->scalar, v->scalar_len, &kv[n].len);
			if (!kv[n].value) {
				decode_error(c, v, kpath, "illegal base64 data (for text use stringData%s)",
					     strcmp(path, "binaryData") ? "" : " or data");
				continue;
			}
		} else {
			kv[n].value = v->scalar;
			kv[n].len = v->scalar_len;
		}
		*bytes += strlen(k->scalar) + kv[n].len;
		n++;
	}
	*nout = n;
	return kv;
}

static const struct kv *kv_find(const struct kv *kv, size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;)
		if (!strcmp(kv[i].key, key))
			return &kv[i];
	return NULL;
}

static void take(const struct kv *e, const char **out, size_t *len, struct gw_pos *pos)
{
	if (!e)
		return;
	*out = e->value;
	*len = e->len;
	*pos = e->pos;
}

void decode_secret(struct dctx *c, const struct ynode *root, struct gw_secret *s)
{
	struct dval v[7];
	DECODE_FIELDS(c, root, NULL, secret_fields, v);
	s->type = v[3].val ? v[3].val->scalar : "Opaque";
	struct kv *data = NULL, *sdata = NULL;
	size_t ndata = 0, nsdata = 0, bytes = 0;
	if (v[4].val)
		data = read_map(c, v[4].val, "data", true, &ndata, &bytes);
	if (v[5].val)
		sdata = read_map(c, v[5].val, "stringData", false, &nsdata, &bytes);
	if (bytes > MAX_OBJECT_BYTES)
		decode_error(c, root, NULL, "data: the Secret holds %zu bytes, more than the 1 MiB (1048576) allowed", bytes);
	/* stringData is merged into data, and wins for a key in both (Kubernetes). */
	static const char *const keys[] = { "tls.crt", "tls.key", "ca.crt" };
	const char **outs[] = { &s->tls_crt, &s->tls_key, &s->ca_crt };
	size_t *lens[] = { &s->tls_crt_len, &s->tls_key_len, &s->ca_crt_len };
	struct gw_pos *poss[] = { &s->tls_crt_pos, &s->tls_key_pos, &s->ca_crt_pos };
	for (size_t i = 0; i < 3; i++) {
		const struct kv *e = kv_find(sdata, nsdata, keys[i]);
		take(e ? e : kv_find(data, ndata, keys[i]), outs[i], lens[i], poss[i]);
	}
	if (v[3].val && !v[3].val->scalar[0])
		decode_error(c, v[3].val, "type", "must not be empty (default \"Opaque\")");
	if (!strcmp(s->type, SECRET_TYPE_TLS) && c->errors == 0) {
		/* the API server's ValidateSecret for kubernetes.io/tls */
		if (!s->tls_crt)
			decode_error(c, v[4].val ? v[4].val : root, "data", "a Secret of type \"%s\" must have the key \"tls.crt\"",
				     SECRET_TYPE_TLS);
		if (!s->tls_key)
			decode_error(c, v[4].val ? v[4].val : root, "data", "a Secret of type \"%s\" must have the key \"tls.key\"",
				     SECRET_TYPE_TLS);
	}
}

void decode_configmap(struct dctx *c, const struct ynode *root, struct gw_configmap *cm)
{
	struct dval v[6];
	DECODE_FIELDS(c, root, NULL, configmap_fields, v);
	struct kv *data = NULL, *bin = NULL;
	size_t ndata = 0, nbin = 0, bytes = 0;
	if (v[3].val)
		data = read_map(c, v[3].val, "data", false, &ndata, &bytes);
	if (v[4].val)
		bin = read_map(c, v[4].val, "binaryData", true, &nbin, &bytes);
	for (size_t i = 0; i < nbin; i++)
		if (kv_find(data, ndata, bin[i].key))
			decode_error(c, ynode_get(v[4].val, bin[i].key), "binaryData",
				     "duplicate of key %s in data", decode_quote(c, bin[i].key));
	if (bytes > MAX_OBJECT_BYTES)
		decode_error(c, root, NULL, "the ConfigMap holds %zu bytes, more than the 1 MiB (1048576) allowed", bytes);
	const struct kv *e = kv_find(data, ndata, "ca.crt");
	take(e ? e : kv_find(bin, nbin, "ca.crt"), &cm->ca_crt, &cm->ca_crt_len, &cm->ca_crt_pos);
}
