/* SPDX-License-Identifier: MIT */
/* compile_filters: HTTPRouteFilter -> img_filter (compile/image.h). Header operations
 * are stored removes first, then sets, then adds: the order Envoy applies them in
 * (headers_to_remove before headers_to_add), which the runtime follows literally. */
#include "compile/compile_filters.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

size_t cfilter_nops(const struct gw_http_filter *f)
{
	if (f->type != GW_FILTER_REQUEST_HEADER && f->type != GW_FILTER_RESPONSE_HEADER)
		return 0;
	return f->nremove + f->nset + f->nadd;
}

size_t cfilter_nstrs(const struct gw_http_filter *f)
{
	return f->type == GW_FILTER_CORS ? f->nallow_origins : 0;
}

static struct img_str joined(const struct cfilter_env *env, const char *const *items, size_t n)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append(&b, ", ", 2);
		buf_append(&b, items[i], strlen(items[i]));
	}
	buf_putc(&b, '\0');
	struct img_str r = env->str(env->ctx, b.data);
	buf_free(&b);
	return r;
}

/* The PathPrefix of the rule's only match (CEL guarantees one), normalised as the
 * router stores it: without a trailing "/", except "/" itself. */
static struct img_str rule_prefix(const struct cfilter_env *env, const struct gw_http_rule *rule)
{
	const char *p = rule->nmatches == 1 && rule->matches[0].path_type == GW_PATH_PREFIX
			? rule->matches[0].path : "/";
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		len--;
	char *tmp = malloc(len + 1);
	if (tmp == NULL)
		abort();
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	struct img_str r = env->str(env->ctx, tmp);
	free(tmp);
	return r;
}

bool cfilter_build(const struct cfilter_env *env, const struct gw_http_filter *f,
		   const struct gw_http_rule *rule, struct img_filter *out,
		   struct img_header_op *ops, struct img_str *strs)
{
	memset(out, 0, sizeof *out);
	out->kind = (uint8_t)f->type;
	out->backend = IMG_NO_BACKEND;
	struct img_str empty = env->str(env->ctx, "");
	out->hostname = out->path = out->prefix = empty;
	out->methods = out->allow_headers = out->expose_headers = empty;
	switch (f->type) {
	case GW_FILTER_REQUEST_HEADER:
	case GW_FILTER_RESPONSE_HEADER: {
		size_t k = 0;
		for (size_t i = 0; i < f->nremove; i++, k++) {
			memset(&ops[k], 0, sizeof ops[k]);
			ops[k].op = IMG_HOP_REMOVE;
			ops[k].name = env->str(env->ctx, f->remove[i]);
			ops[k].value = empty;
		}
		for (size_t i = 0; i < f->nset; i++, k++) {
			memset(&ops[k], 0, sizeof ops[k]);
			ops[k].op = IMG_HOP_SET;
			ops[k].name = env->str(env->ctx, f->set[i].name);
			ops[k].value = env->str(env->ctx, f->set[i].value);
		}
		for (size_t i = 0; i < f->nadd; i++, k++) {
			memset(&ops[k], 0, sizeof ops[k]);
			ops[k].op = IMG_HOP_ADD;
			ops[k].name = env->str(env->ctx, f->add[i].name);
			ops[k].value = env->str(env->ctx, f->add[i].value);
		}
		return true;
	}
	case GW_FILTER_REDIRECT:
	case GW_FILTER_REWRITE:
		if (f->type == GW_FILTER_REDIRECT) {
			out->status = f->status_code ? f->status_code : 302;
			out->port = f->port;
			out->scheme = !f->scheme ? IMG_SCHEME_KEEP
				    : !strcmp(f->scheme, "https") ? IMG_SCHEME_HTTPS : IMG_SCHEME_HTTP;
		}
		if (f->hostname)
			out->hostname = env->str_lower(env->ctx, f->hostname);
		if (f->path_type == GW_PATH_MOD_FULL) {
			out->path_mod = IMG_PATHMOD_FULL;
			out->path = env->str(env->ctx, f->path_value);
		} else if (f->path_type == GW_PATH_MOD_PREFIX) {
			out->path_mod = IMG_PATHMOD_PREFIX;
			out->path = env->str(env->ctx, f->path_value);
			out->prefix = rule_prefix(env, rule);
		}
		return true;
	case GW_FILTER_MIRROR:
		if (f->mirror == NULL || f->mirror->resolved == NULL)
			return false;
		out->backend = env->backend(env->ctx, f->mirror->resolved);
		out->numerator = f->mirror_numerator;
		out->denominator = f->mirror_denominator ? f->mirror_denominator : 100;
		if (out->numerator > out->denominator)
			out->numerator = out->denominator;
		return out->backend != IMG_NO_BACKEND;
	case GW_FILTER_CORS:
		if (f->allow_credentials)
			out->flags |= IMG_CORS_CREDENTIALS;
		out->max_age = f->max_age;
		for (size_t i = 0; i < f->nallow_origins; i++)
			strs[i] = env->str_lower(env->ctx, f->allow_origins[i]);
		out->methods = joined(env, f->allow_methods, f->nallow_methods);
		out->allow_headers = joined(env, f->allow_headers, f->nallow_headers);
		out->expose_headers = joined(env, f->expose_headers, f->nexpose_headers);
		return true;
	case GW_FILTER_EXTENSION:
		out->kind = IMG_FILTER_ERROR;
		return true;
	}
	return false;
}
