/* SPDX-License-Identifier: MIT */
/* pipeline: load -> decode -> generations -> resolve -> status -> compile, stopping
 * after the first stage that reports an error: a configuration with errors is never
 * applied (DESIGN.md). Warnings never stop it. */
#include "compile/pipeline.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/sha256.h"
#include "compile/compile.h"
#include "gwapi/gwapi.h"
#include "yaml/ydoc.h"

/* The path below config_dir, as hashed: moving the directory keeps the digest. */
static const char *relative_path(const char *dir, const char *file)
{
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (strncmp(file, dir, dl) == 0 && file[dl] == '/')
		return file + dl + 1;
	return file;
}

static bool hash_file(mbedtls_sha256_context *ctx, const char *dir, const char *file,
		      struct diag_list *dl)
{
	char path[4096];
	const char *rel = relative_path(dir, file);
	FILE *f = fopen(file, "rb");
	if (!f && rel == file) {
		/* The loader may report paths relative to config_dir. */
		snprintf(path, sizeof path, "%s/%s", dir, file);
		f = fopen(path, "rb");
	}
	if (!f) {
		diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot read the file again for its digest");
		return false;
	}
	sha256_update(ctx, (const unsigned char *)rel, strlen(rel) + 1); /* with its NUL */
	unsigned char chunk[16384];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sha256_update(ctx, chunk, n);
	bool ok = !ferror(f);
	fclose(f);
	if (!ok)
		diag_add(dl, DIAG_ERROR, file, 0, 0, "read error while computing the digest");
	return ok;
}

/* SHA-256 over each file's relative path, a NUL and its bytes, in load order. Files
 * are read a second time: a file changed in between only makes the digest differ
 * from what was loaded, never the configuration. */
static bool digest_sources(const char *dir, const struct ydoc_set *docs, char out[65],
			   struct diag_list *dl)
{
	static const char hex[] = "0123456789abcdef";
	mbedtls_sha256_context ctx;
	unsigned char sum[32];
	bool ok = true;
	mbedtls_sha256_init(&ctx);
	sha256_starts(&ctx);
	for (size_t i = 0; i < docs->count && ok; i++) {
		const char *file = docs->docs[i].file;
		if (!file || (i > 0 && docs->docs[i - 1].file && strcmp(docs->docs[i - 1].file, file) == 0))
			continue;
		ok = hash_file(&ctx, dir, file, dl);
	}
	sha256_finish(&ctx, sum);
	mbedtls_sha256_free(&ctx);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[sum[i] >> 4];
		out[2 * i + 1] = hex[sum[i] & 15];
	}
	out[64] = '\0';
	return ok;
}

/* metadata.generation when given; else the store's count of content changes (1 the
 * first time an object is seen), or 1 without a store. */
static void fill_generations(struct arena *a, struct gw_model *m, struct store *st, bool dry_run)
{
	for (size_t i = 0; i < m->nall; i++) {
		struct gw_meta *meta = m->all[i];
		if (meta->generation > 0)
			continue;
		int64_t gen = 1;
		if (st) {
			const char *key = arena_printf(a, "%s/%s/%s", meta->kind, meta->ns ? meta->ns : "",
						       meta->name);
			gen = store_object_generation(st, key, meta->content_hash, dry_run);
			if (gen < 1)
				gen = 1;
		}
		meta->generation = gen;
	}
}

bool pipeline_build(const char *config_dir, const char *controller_name, struct store *st,
		    bool dry_run, struct pipeline_result *res)
{
	struct arena a;
	struct ydoc_set docs = {NULL, 0};
	struct gw_model model;

	memset(res, 0, sizeof *res);
	diag_list_init(&res->diags);
	memset(&model, 0, sizeof model);
	arena_init(&a);

	ydoc_load_dir(&a, config_dir, &docs, &res->diags);
	if (diag_has_errors(&res->diags))
		goto out;
	if (!digest_sources(config_dir, &docs, res->digest, &res->diags))
		goto out;
	gwapi_decode(&a, &docs, &model, &res->diags);
	if (diag_has_errors(&res->diags))
		goto out;
	fill_generations(&a, &model, st, dry_run);
	gwapi_resolve(&a, &model, controller_name, &res->diags);
	if (diag_has_errors(&res->diags))
		goto out;
	gwapi_status_json(&model, controller_name, &res->status_json);
	compile_image(&model, res->status_json.data, res->digest, &res->image, &res->diags);
	if (diag_has_errors(&res->diags))
		goto out;
	res->ok = true;
out:
	if (!res->ok)
		buf_free(&res->image);
	arena_fini(&a);
	return res->ok;
}

void pipeline_result_fini(struct pipeline_result *res)
{
	diag_list_fini(&res->diags);
	buf_free(&res->image);
	buf_free(&res->status_json);
	res->ok = false;
}
