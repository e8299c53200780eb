/* SPDX-License-Identifier: MIT */
/* cmd_ctl: `reload`, `status`, `history`, `rollback`: clients of the control socket.
 * The daemon does the work and decides the exit status; these relay its lines.
 * `history` also works without a daemon, by reading the store (read-only). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "ops/control.h"
#include "settings/settings.h"
#include "store/store.h"

char *cmd_control_path(const char *run_dir)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", run_dir, CONTROL_SOCKET_NAME);
	return buf_steal(&b);
}

void cmd_format_history(const struct store_gen_info *h, int n, void (*emit)(void *ctx, const char *line),
			void *ctx)
{
	for (int i = 0; i < n; i++) {
		char when[32] = "-";
		struct tm tm;
		time_t t = h[i].created;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		char line[160];
		snprintf(line, sizeof line, "%" PRIu64 "  %s  %.12s%s", h[i].generation, when,
			 h[i].digest[0] ? h[i].digest : "-", h[i].is_current ? "  current" : "");
		emit(ctx, line);
	}
}

/* Loads the INI file for run_dir / state_dir; prints its errors. */
static bool load_settings(const struct cmd_opts *o, struct settings *s)
{
	struct diag_list dl;
	diag_list_init(&dl);
	bool ok = settings_load(s, o->conf, &dl);
	diag_print(&dl, stderr);
	diag_list_fini(&dl);
	if (ok)
		log_threshold = s->log_level;
	return ok;
}

/* Sends command; returns the exit status, or -1 (errno set) when nobody answered. */
static int call_daemon(const struct settings *s, const char *command, bool quiet_unreachable)
{
	char *path = cmd_control_path(s->run_dir);
	char err[600];
	int code = 1;
	int rc = control_call(path, command, stdout, stderr, &code, err, sizeof err);
	int saved = errno;
	free(path);
	if (rc != 0) {
		if (!quiet_unreachable)
			fprintf(stderr, "gatewayd: %s\n", err);
		errno = saved;
		return -1;
	}
	return code;
}

static int simple_call(const struct cmd_opts *o, const char *command)
{
	struct settings s;
	if (!load_settings(o, &s)) {
		settings_fini(&s);
		return 1;
	}
	int code = call_daemon(&s, command, false);
	settings_fini(&s);
	return code < 0 ? 1 : code;
}

int cmd_reload(const struct cmd_opts *o)
{
	return simple_call(o, "reload");
}

int cmd_status(const struct cmd_opts *o)
{
	return simple_call(o, o->json ? "status --json" : "status");
}

int cmd_rollback(const struct cmd_opts *o)
{
	char command[64];
	if (o->rollback_to)
		snprintf(command, sizeof command, "rollback %" PRIu64, o->rollback_to);
	else
		snprintf(command, sizeof command, "rollback");
	return simple_call(o, command);
}

static void emit_stdout(void *ctx, const char *line)
{
	printf("%s\n", line);
}

int cmd_history(const struct cmd_opts *o)
{
	struct settings s;
	if (!load_settings(o, &s)) {
		settings_fini(&s);
		return 1;
	}
	int code = call_daemon(&s, "history", true);
	if (code >= 0) {
		settings_fini(&s);
		return code;
	}
	/* No daemon: the store answers, read-only (LMDB lets a reader in beside a
	 * writer, should a daemon start meanwhile). */
	int saved = errno;
	struct stat sb;
	char err[600];
	struct store *st = NULL;
	if (stat(s.state_dir, &sb) != 0 || store_open(&st, s.state_dir, 1, err, sizeof err) != 0) {
		char *path = cmd_control_path(s.run_dir);
		fprintf(stderr, "gatewayd: cannot reach the daemon at %s: %s\n", path, strerror(saved));
		free(path);
		settings_fini(&s);
		return 1;
	}
	struct store_gen_info *h = NULL;
	int n = store_history(st, &h);
	if (n < 0) {
		fprintf(stderr, "gatewayd: cannot read the store in %s\n", s.state_dir);
	} else {
		cmd_format_history(h, n, emit_stdout, NULL);
		fflush(stdout);
	}
	free(h);
	store_close(st);
	settings_fini(&s);
	return n < 0 ? 1 : 0;
}
