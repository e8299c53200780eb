/* SPDX-License-Identifier: MIT */
/* cmd: the subcommands behind main(). Each returns the process exit status and is the
 * only place that prints diagnostics (stderr) and results (stdout). */
#ifndef GW_CMD_H
#define GW_CMD_H

#include <stdbool.h>
#include <stdint.h>

struct cmd_opts {
	const char *conf;         /* the INI file */
	bool conf_given;          /* -c was on the command line (else the default) */
	const char *dir;          /* check [DIR] */
	uint64_t rollback_to;     /* rollback [N]; 0 = the previous generation */
	bool json;                /* --json */
	bool strict;              /* --strict */
};

int cmd_run(const struct cmd_opts *o);
int cmd_check(const struct cmd_opts *o);
int cmd_reload(const struct cmd_opts *o);
int cmd_status(const struct cmd_opts *o);
int cmd_history(const struct cmd_opts *o);
int cmd_rollback(const struct cmd_opts *o);

/* Shared by the commands: "run_dir/gatewayd.sock" (malloc'ed). */
char *cmd_control_path(const char *run_dir);
/* Prints one history line per generation, newest first:
 * "7  2026-11-27T03:59:01Z  <digest12>  current". */
struct store_gen_info;
void cmd_format_history(const struct store_gen_info *h, int n, void (*emit)(void *ctx, const char *line),
			void *ctx);

#endif
