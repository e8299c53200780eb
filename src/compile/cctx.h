/* SPDX-License-Identifier: MIT */
/* cctx: the state of one compilation (compile.c) shared with the files that compile
 * one part of the model each (compile_*.c). Records are built in growable arrays whose
 * nested spans hold indices; compile.c lays them out once and turns the indices into
 * byte offsets. Private to compile/. */
#ifndef GW_COMPILE_CCTX_H
#define GW_COMPILE_CCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "compile/image.h"
#include "gwapi/gwapi.h"

struct vec {
	char *data;
	size_t n, cap, elem;
};

#define VEC_OF(type) {NULL, 0, 0, sizeof(type)}
#define VEC_AT(v, type, i) ((type *)(v).data + (i))

/* A new zeroed record at the end (exits on out of memory, like the rest of the
 * control plane). */
void *vec_push(struct vec *v);
void vec_free(struct vec *v);

struct strslot {
	uint32_t off, len;
	uint64_t hash;
	bool used;
};

/* Strings are stored once each, NUL-terminated, in insertion order. */
struct strtab {
	struct buf bytes;
	struct strslot *slots;
	size_t nslots, used;
	bool overflow;
};

struct img_str strtab_addn(struct strtab *t, const char *s, size_t len);
struct img_str strtab_add(struct strtab *t, const char *s);       /* NULL = "" */
struct img_str strtab_add_lower(struct strtab *t, const char *s);

struct prec_route;

struct cctx {
	const struct gw_model *m;
	struct diag_list *dl;
	struct arena a;              /* temporaries */
	struct strtab st;
	struct vec binds, lindex, listeners, matches, hms, rules, brefs, backends, endpoints;
	struct vec patterns;         /* struct img_str, distinct pattern texts */
	struct vec filters, hops, fstrs; /* img_filter, img_header_op, img_str (CORS origins) */
	struct vec hgroups;          /* struct img_host_group, the router's index */
	uint32_t **rule_map;         /* per route: image rule of each rule, or UINT32_MAX */
	struct prec_route *proutes;  /* per route */
	const char **lis_host;       /* per image listener: lowercase hostname, NULL = any */
	struct vec bind_items;       /* struct bind_item */
	struct vec certs;            /* struct img_cert (compile_tls.c) */
	struct vec btls;             /* struct img_backend_tls (compile_tls.c) */
	struct vec policies;         /* struct img_policy (compile_policy.c) */
};

#define NO_RULE UINT32_MAX

/* The image holds the Backend objects, then the backends resolve built for Service
 * ports: the i-th of either list, in that order. */
size_t cctx_nbackends(const struct gw_model *m);
const struct gw_backend *cctx_backend(const struct gw_model *m, size_t i);
/* The image index of b, or IMG_NO_BACKEND. */
uint32_t cctx_backend_index(const struct gw_model *m, const struct gw_backend *b);
/* A textual IPv4 or IPv6 address into family and 16 bytes (zero-padded). */
bool cctx_parse_ip(const char *s, uint8_t *family, uint8_t addr[16]);

#endif
