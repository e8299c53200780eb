/* SPDX-License-Identifier: MIT */
/* resolve_tls_int: what resolve_tls.c and resolve_backendtls.c share: finding Secrets
 * and CA bundles (ConfigMap or Secret, key ca.crt). Private to those two files. */
#ifndef GW_GWAPI_RESOLVE_TLS_INT_H
#define GW_GWAPI_RESOLVE_TLS_INT_H

#include "base/buf.h"
#include "gwapi/gwapi.h"

enum rtls_ca { RTLS_CA_OK, RTLS_CA_BAD_KIND, RTLS_CA_NOT_FOUND, RTLS_CA_INVALID };

struct rtls_ca_result {
	const char *pem;             /* RTLS_CA_OK: the bundle (NUL-terminated) */
	size_t len;
	const char *problem;         /* otherwise: what is wrong */
	const struct gw_meta *obj;   /* the ConfigMap or Secret when found */
	struct gw_pos pos;           /* its ca.crt, or the ref when not found */
};

const struct gw_secret *rtls_find_secret(const struct gw_model *m, const char *ns, const char *name);
/* The CA bundle r names in namespace ns (grants are the caller's business). */
enum rtls_ca rtls_load_ca(struct arena *a, const struct gw_model *m, const struct gw_object_ref *r,
			  const char *ns, struct rtls_ca_result *out);
/* Appends a PEM to a bundle, with a newline between two. */
void rtls_append_pem(struct buf *b, const char *pem, size_t len);
/* BackendTLSPolicy (resolve_backendtls.c), from resolve_tls(). */
void resolve_backendtls(struct arena *a, struct gw_model *m, struct diag_list *dl);

#endif
