/* SPDX-License-Identifier: MIT */
/* cmd_check: `gatewayd check [DIR] [--json] [--strict]`. Runs the same pipeline as a
 * reload, as a dry run: nothing is written, the daemon is not involved. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "compile/pipeline.h"
#include "ops/status_doc.h"
#include "settings/settings.h"
#include "store/store.h"

static void print_json(bool ok, const struct pipeline_result *res, const struct diag_list *dl)
{
	struct buf b = BUF_INIT;
	status_doc_check_json(&b, ok, res ? res->status_json.data : NULL, res ? res->status_json.len : 0, dl);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
}

/* DIR on the command line is relative to the working directory, as any argument. */
static char *absolute(const char *dir)
{
	if (dir[0] == '/')
		return strdup(dir);
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return strdup(dir);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", cwd, dir);
	return buf_steal(&b);
}

int cmd_check(const struct cmd_opts *o)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	/* Without -c and without the installed file, `check DIR` still works (a
	 * developer's machine, CI): the defaults stand in for gatewayd.conf. */
	struct stat sb;
	bool ok;
	if (!o->conf_given && o->dir && stat(o->conf, &sb) != 0) {
		settings_defaults(&s);
		ok = true;
	} else {
		ok = settings_load(&s, o->conf, &dl);
	}
	if (!ok) {
		if (o->json)
			print_json(false, NULL, &dl);
		else
			diag_print(&dl, stderr);
		diag_list_fini(&dl);
		settings_fini(&s);
		return 1;
	}
	diag_list_fini(&dl);
	log_threshold = s.log_level;
	char *dir = o->dir ? absolute(o->dir) : strdup(s.config_dir);
	if (!dir)
		fatalx("out of memory");

	/* observedGeneration numbers come from the store when it exists and is
	 * readable; check never creates it and never writes to it. */
	struct store *st = NULL;
	if (stat(s.state_dir, &sb) == 0) {
		char err[512];
		if (store_open(&st, s.state_dir, 1, err, sizeof err) != 0) {
			log_debug("check: store not used: %s", err);
			st = NULL;
		}
	}
	struct pipeline_result res;
	pipeline_build(dir, s.controller_name, st, true, &res);
	bool accepted = res.ok && !(o->strict && res.diags.warnings > 0);
	if (o->json) {
		print_json(accepted, &res, &res.diags);
	} else {
		diag_print(&res.diags, stderr);
		if (accepted)
			printf("configuration OK\n");
		else if (res.ok)
			fprintf(stderr, "gatewayd: %zu warning(s), which --strict turns into a failure\n",
				res.diags.warnings);
		else
			fprintf(stderr, "gatewayd: configuration has %zu error(s)\n", res.diags.errors);
	}
	pipeline_result_fini(&res);
	store_close(st);
	free(dir);
	settings_fini(&s);
	return accepted ? 0 : 1;
}
