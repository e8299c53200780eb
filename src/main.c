/* SPDX-License-Identifier: MIT */
/* main: argv -> one subcommand. `-c FILE` may stand before or after the command. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "settings/settings.h"

static const char usage_text[] =
	"usage: gatewayd [-c FILE] [run]            run in the foreground\n"
	"       gatewayd [-c FILE] check [DIR] [--json] [--strict]\n"
	"                                           validate and compile config_dir (or DIR)\n"
	"       gatewayd [-c FILE] reload           make the running daemon load config_dir\n"
	"       gatewayd [-c FILE] status [--json]  resources, conditions, generation\n"
	"       gatewayd [-c FILE] history          generations kept, newest first\n"
	"       gatewayd [-c FILE] rollback [N]     make generation N (default: the previous) current\n"
	"       gatewayd version\n"
	"FILE defaults to $GATEWAYD_CONF, else the installed gatewayd.conf.\n";

static int usage(const char *problem, const char *arg)
{
	if (problem)
		fprintf(stderr, "gatewayd: %s%s%s%s\n", problem, arg ? " \"" : "", arg ? arg : "",
			arg ? "\"" : "");
	fputs(usage_text, stderr);
	return 2;
}

enum command { CMD_RUN, CMD_CHECK, CMD_RELOAD, CMD_STATUS, CMD_HISTORY, CMD_ROLLBACK, CMD_VERSION };

static const char *const command_names[] = {"run", "check", "reload", "status", "history", "rollback",
					    "version"};

int main(int argc, char **argv)
{
	struct cmd_opts o = {0};
	int cmd = -1;
	const char *operand = NULL;
	bool only_operands = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_operands && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				only_operands = true;
			} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
				if (++i >= argc)
					return usage("option requires a file:", a);
				o.conf = argv[i];
				o.conf_given = true;
			} else if (strncmp(a, "--config=", 9) == 0) {
				o.conf = a + 9;
				o.conf_given = true;
			} else if (strncmp(a, "-c", 2) == 0) {
				o.conf = a + 2;
				o.conf_given = true;
			} else if (strcmp(a, "--json") == 0) {
				o.json = true;
			} else if (strcmp(a, "--strict") == 0) {
				o.strict = true;
			} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
				fputs(usage_text, stdout);
				return 0;
			} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
				cmd = CMD_VERSION;
			} else {
				return usage("unknown option", a);
			}
			continue;
		}
		if (cmd < 0) {
			for (int c = 0; c <= CMD_VERSION; c++)
				if (strcmp(a, command_names[c]) == 0)
					cmd = c;
			if (cmd < 0)
				return usage("unknown command", a);
		} else if (!operand && (cmd == CMD_CHECK || cmd == CMD_ROLLBACK)) {
			operand = a;
		} else {
			return usage("unexpected argument", a);
		}
	}
	if (cmd < 0)
		cmd = CMD_RUN;
	if (o.json && cmd != CMD_STATUS && cmd != CMD_CHECK)
		return usage("--json applies to status and check only", NULL);
	if (o.strict && cmd != CMD_CHECK)
		return usage("--strict applies to check only", NULL);
	if (o.conf && !o.conf[0])
		return usage("empty configuration file name", NULL);
	if (!o.conf)
		o.conf = settings_default_file();

	switch ((enum command)cmd) {
	case CMD_VERSION:
		printf("gatewayd %s\n", PACKAGE_VERSION);
		return 0;
	case CMD_RUN:
		return cmd_run(&o);
	case CMD_CHECK:
		o.dir = operand;
		return cmd_check(&o);
	case CMD_RELOAD:
		return cmd_reload(&o);
	case CMD_STATUS:
		return cmd_status(&o);
	case CMD_HISTORY:
		return cmd_history(&o);
	case CMD_ROLLBACK:
		if (operand) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(operand, &end, 10);
			if (errno || *end || n == 0 || operand[0] < '1' || operand[0] > '9')
				return usage("not a generation number:", operand);
			o.rollback_to = n;
		}
		return cmd_rollback(&o);
	}
	return 2;
}
