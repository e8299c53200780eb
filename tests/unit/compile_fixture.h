/* SPDX-License-Identifier: MIT */
/* compile_fixture: inline YAML -> decode -> resolve -> status -> image, and a helper
 * that asks the router which route rule answers a request. Shared by test_compile.c
 * and test_router.c; include after unit.h. */
#ifndef GW_TESTS_COMPILE_FIXTURE_H
#define GW_TESTS_COMPILE_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "compile/compile.h"
#include "compile/image.h"
#include "gwapi/gwapi.h"
#include "runtime/regex.h"
#include "runtime/router.h"
#include "yaml/ydoc.h"

#define FX_CONTROLLER "gatewayd.io/gateway-controller"

/* Our GatewayClass "gatewayd", loaded as its own file so that the test's YAML keeps
 * its line numbers. */
static const char fx_class_yaml[] =
	"apiVersion: gateway.networking.k8s.io/v1\n"
	"kind: GatewayClass\n"
	"metadata:\n"
	"  name: gatewayd\n"
	"spec:\n"
	"  controllerName: " FX_CONTROLLER "\n";

struct fx {
	struct arena a;
	struct ydoc_set docs;
	struct gw_model m;
	struct diag_list dl;
	struct buf status;
	struct buf image;
	const struct img_header *img;
	struct regex_set *rx;        /* the image's patterns, as a generation compiles them */
	struct regex_scratch *scratch;
};

static inline void fx_dump_diags(const struct fx *f)
{
	if (f->dl.count)
		diag_print(&f->dl, stderr);
}

/* Loads and decodes; fails the test on any error (warnings are fine). */
static inline void fx_load(struct fx *f, const char *yaml)
{
	memset(f, 0, sizeof *f);
	arena_init(&f->a);
	diag_list_init(&f->dl);
	assert_true(ydoc_load_buffer(&f->a, "class.yaml", fx_class_yaml, strlen(fx_class_yaml),
				     &f->docs, &f->dl));
	assert_true(ydoc_load_buffer(&f->a, "routes.yaml", yaml, strlen(yaml), &f->docs, &f->dl));
	bool ok = gwapi_decode(&f->a, &f->docs, &f->m, &f->dl);
	if (!ok)
		fx_dump_diags(f);
	assert_true(ok);
}

/* Generations (1, as without a store), resolve, status, image. */
static inline void fx_finish(struct fx *f)
{
	for (size_t i = 0; i < f->m.nall; i++)
		if (f->m.all[i]->generation == 0)
			f->m.all[i]->generation = 1;
	assert_true(gwapi_resolve(&f->a, &f->m, FX_CONTROLLER, &f->dl));
	gwapi_status_json(&f->m, FX_CONTROLLER, &f->status);
	assert_true(compile_image(&f->m, f->status.data, "digest", &f->image, &f->dl));
	assert_int_equal(img_check(f->image.data, f->image.len), 0);
	f->img = (const struct img_header *)f->image.data;
	char err[256];
	f->rx = regex_set_new(f->img, err, sizeof err);
	if (!f->rx)
		fail_msg("regex_set_new: %s", err);
	f->scratch = regex_scratch_new();
	assert_non_null(f->scratch);
}

static inline void fx_build(struct fx *f, const char *yaml)
{
	fx_load(f, yaml);
	fx_finish(f);
}

static inline void fx_free(struct fx *f)
{
	regex_set_free(f->rx);
	regex_scratch_free(f->scratch);
	buf_free(&f->status);
	buf_free(&f->image);
	diag_list_fini(&f->dl);
	arena_fini(&f->a);
}

/* Is there a warning whose formatted text contains needle? */
static inline bool fx_has_diag(const struct fx *f, const char *needle)
{
	char line[2048];
	for (size_t i = 0; i < f->dl.count; i++) {
		diag_format(&f->dl.items[i], line, sizeof line);
		if (strstr(line, needle))
			return true;
	}
	return false;
}

static inline const struct img_bind *fx_bind(const struct fx *f, int family, uint16_t port)
{
	const struct img_bind *b = IMG_ARRAY(f->img, f->img->binds, struct img_bind);
	for (uint32_t i = 0; i < f->img->binds.count; i++)
		if (b[i].family == family && b[i].port == port)
			return &b[i];
	return NULL;
}

/* Which "namespace/name#rule" answers the request, or "404". target may carry a
 * query; headers are "Name: value" strings, NULL-terminated (or NULL). */
static inline const char *fx_route(const struct fx *f, uint16_t port, const char *host,
				   const char *method, const char *target,
				   const char *const *headers)
{
	static char out[256];
	struct h1_header hs[16];
	size_t nh = 0;
	for (size_t i = 0; headers && headers[i]; i++) {
		const char *colon = strchr(headers[i], ':');
		assert_non_null(colon);
		assert_true(nh < 16);
		hs[nh].name = headers[i];
		hs[nh].name_len = (size_t)(colon - headers[i]);
		hs[nh].value = colon + 1;
		while (*hs[nh].value == ' ')
			hs[nh].value++;
		hs[nh].value_len = strlen(hs[nh].value);
		nh++;
	}
	const struct img_bind *b = fx_bind(f, AF_INET, port);
	if (!b)
		return "404";
	const struct img_listener *l = router_select_listener(f->img, b, host, host ? strlen(host) : 0);
	if (!l)
		return "404";
	struct router_request rq;
	memset(&rq, 0, sizeof rq);
	rq.host = host;
	rq.host_len = host ? strlen(host) : 0;
	const char *q = strchr(target, '?');
	rq.path = target;
	rq.path_len = q ? (size_t)(q - target) : strlen(target);
	rq.query = q ? q + 1 : NULL;
	rq.query_len = q ? strlen(q + 1) : 0;
	rq.method = router_method(method, strlen(method));
	rq.headers = hs;
	rq.nheaders = nh;
	rq.regex = f->rx;
	rq.scratch = f->scratch;
	const struct img_rule *r = router_match(f->img, l, &rq);
	if (!r)
		return "404";
	snprintf(out, sizeof out, "%s#%u", img_str_ptr(f->img, r->route), (unsigned)r->rule_index);
	return out;
}

/* One request and the expected answer, for the conformance tables. */
struct fx_case {
	const char *host;
	const char *method;
	const char *target;
	const char *headers[4];
	const char *expect;
};

static inline void fx_run_cases(const struct fx *f, uint16_t port, const struct fx_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fx_case *c = &cs[i];
		const char *got = fx_route(f, port, c->host, c->method ? c->method : "GET", c->target,
					   c->headers);
		if (strcmp(got, c->expect) != 0)
			fail_msg("case %zu: %s %s%s (headers: %s): got %s, want %s", i,
				 c->method ? c->method : "GET", c->host ? c->host : "", c->target,
				 c->headers[0] ? c->headers[0] : "-", got, c->expect);
	}
}

#define FX_RUN(f, port, cases) fx_run_cases((f), (port), (cases), sizeof(cases) / sizeof((cases)[0]))

#endif
