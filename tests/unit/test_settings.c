/* SPDX-License-Identifier: MIT */
/* test_settings: gatewayd.conf defaults, every key, units, and each diagnostic with
 * its line, read from files written into a temporary folder. */
#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings/settings.h"

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

/* Writes text to gatewayd.conf in a fresh temp folder and makes that folder the
 * working directory, so diagnostics read "gatewayd.conf:LINE: ...". */
static const char *write_conf(const char *text)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-test-settings-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_non_null(getcwd(oldcwd, sizeof oldcwd));
	assert_int_equal(chdir(tmpdir), 0);
	FILE *f = fopen("gatewayd.conf", "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return "gatewayd.conf";
}

static void cleanup(void)
{
	unlink("gatewayd.conf");
	assert_int_equal(chdir(oldcwd), 0);
	rmdir(tmpdir);
}

static char *path_in_tmp(const char *rel)
{
	static char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
	return p;
}

/* Loads text, expects exactly one diagnostic, and compares its formatted line. */
static void expect_one_error(const char *text, const char *expected)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf(text);
	assert_false(settings_load(&s, f, &dl));
	assert_int_equal(dl.count, 1);
	assert_int_equal(dl.errors, 1);
	char line[512];
	diag_format(&dl.items[0], line, sizeof line);
	assert_string_equal(line, expected);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_empty_file_gives_defaults(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("");
	assert_true(settings_load(&s, f, &dl));
	assert_int_equal(dl.count, 0);
	assert_string_equal(s.file, path_in_tmp("gatewayd.conf"));
	assert_string_equal(s.config_dir, path_in_tmp("conf.d"));
	assert_string_equal(s.state_dir, GW_LOCALSTATEDIR "/lib/gatewayd");
	assert_string_equal(s.run_dir, GW_RUNSTATEDIR "/gatewayd");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(s.workers, cpus > 256 ? 256 : cpus);
	assert_string_equal(s.user, "");
	assert_string_equal(s.controller_name, "gatewayd.io/gateway-controller");
	assert_int_equal(s.history, 20);
	assert_string_equal(s.admin_listen, "127.0.0.1:9901");
	assert_int_equal(s.log_level, LOG_LEVEL_INFO);
	assert_string_equal(s.access, "stdout");
	assert_int_equal(s.access_format, ACCESS_FORMAT_JSON);
	assert_int_equal(s.header_timeout_ms, 10000);
	assert_int_equal(s.idle_timeout_ms, 60000);
	assert_int_equal(s.max_header_bytes, 32 * 1024);
	assert_int_equal(s.max_headers, 100);
	assert_int_equal(s.max_body_bytes, 0);
	assert_int_equal(s.max_connections, 16384);
	assert_int_equal(s.connect_timeout_ms, 5000);
	assert_int_equal(s.drain_timeout_ms, 30000);
	assert_null(s.dns_nameservers);
	assert_int_equal(s.dns_min_ttl_ms, 5000);
	assert_int_equal(s.dns_max_ttl_ms, 300000);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_defaults_without_file_use_sysconfdir(void **state)
{
	struct settings s;
	settings_defaults(&s);
	assert_null(s.file);
	assert_string_equal(s.config_dir, GW_SYSCONFDIR "/gatewayd/conf.d");
	assert_int_equal(s.history, 20);
	settings_fini(&s);
}

static void test_every_key_is_read(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf(
		"; comment\n"
		"# another comment\n"
		"[gatewayd]\n"
		"config_dir = /srv/gw/conf.d\n"
		"state_dir = /srv/gw/state   ; inline comment\n"
		"run_dir = /srv/gw/run\n"
		"workers = 3\n"
		"user = gatewayd\n"
		"controller_name = example.com/ctl\n"
		"history = 5\n"
		"[admin]\n"
		"listen = [::1]:9902\n"
		"[log]\n"
		"level = debug\n"
		"access = /var/log/gw/access.log\n"
		"access_format = combined\n"
		"[limits]\n"
		"header_timeout = 500ms\n"
		"idle_timeout = 2m\n"
		"max_header_bytes = 16k\n"
		"max_headers = 50\n"
		"max_body_bytes = 1m\n"
		"max_connections = 1000\n"
		"connect_timeout = 1h\n"
		"drain_timeout = 0\n"
		"[dns]\n"
		"nameservers = 127.0.0.1:5353, [::1]:53, 10.0.0.1\n"
		"min_ttl = 1s\n"
		"max_ttl = 10m\n");
	assert_true(settings_load(&s, f, &dl));
	assert_int_equal(dl.count, 0);
	assert_string_equal(s.config_dir, "/srv/gw/conf.d");
	assert_string_equal(s.state_dir, "/srv/gw/state");
	assert_string_equal(s.run_dir, "/srv/gw/run");
	assert_int_equal(s.workers, 3);
	assert_string_equal(s.user, "gatewayd");
	assert_string_equal(s.controller_name, "example.com/ctl");
	assert_int_equal(s.history, 5);
	assert_string_equal(s.admin_listen, "[::1]:9902");
	assert_int_equal(s.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(s.access, "/var/log/gw/access.log");
	assert_int_equal(s.access_format, ACCESS_FORMAT_COMBINED);
	assert_int_equal(s.header_timeout_ms, 500);
	assert_int_equal(s.idle_timeout_ms, 120000);
	assert_int_equal(s.max_header_bytes, 16384);
	assert_int_equal(s.max_headers, 50);
	assert_int_equal(s.max_body_bytes, 1048576);
	assert_int_equal(s.max_connections, 1000);
	assert_int_equal(s.connect_timeout_ms, 3600000);
	assert_int_equal(s.drain_timeout_ms, 0);
	assert_string_equal(s.dns_nameservers, "127.0.0.1:5353, [::1]:53, 10.0.0.1");
	assert_int_equal(s.dns_min_ttl_ms, 1000);
	assert_int_equal(s.dns_max_ttl_ms, 600000);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_off_values_become_null(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[admin]\nlisten = off\n[log]\naccess = off\n");
	assert_true(settings_load(&s, f, &dl));
	assert_null(s.admin_listen);
	assert_null(s.access);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_relative_paths_resolve_against_the_ini_folder(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[gatewayd]\nconfig_dir = yaml\nstate_dir = ./state\n"
				   "run_dir = .\n[log]\naccess = logs/access.log\n");
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	/* Load through an absolute path from another working directory: the base is
	 * the file's folder, not the working directory. */
	char abs[PATH_MAX * 2];
	snprintf(abs, sizeof abs, "%s/%s", cwd, f);
	assert_int_equal(chdir("/"), 0);
	assert_true(settings_load(&s, abs, &dl));
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(s.config_dir, path_in_tmp("yaml"));
	assert_string_equal(s.state_dir, path_in_tmp("state"));
	assert_string_equal(s.run_dir, tmpdir);
	assert_string_equal(s.access, path_in_tmp("logs/access.log"));
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_workers_auto_is_online_cpus(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[gatewayd]\nworkers = auto\n");
	assert_true(settings_load(&s, f, &dl));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(s.workers, cpus > 256 ? 256 : cpus);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_indented_keys_are_keys_not_continuations(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[gatewayd]\n  history = 3\n\tworkers = 2\n");
	assert_true(settings_load(&s, f, &dl));
	assert_int_equal(s.history, 3);
	assert_int_equal(s.workers, 2);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_unknown_key_is_reported_with_its_line(void **state)
{
	expect_one_error("[gatewayd]\n\n\n\n\n\nwrokers = 4\n",
			 "gatewayd.conf:7: error: [gatewayd] wrokers: unknown key");
}

static void test_workers_out_of_range(void **state)
{
	expect_one_error("\n\n\n\n\n[gatewayd]\nworkers = 0\n",
			 "gatewayd.conf:7: error: [gatewayd] workers: \"0\" is out of range (1..256, or auto)");
	expect_one_error("[gatewayd]\nworkers = 257\n",
			 "gatewayd.conf:2: error: [gatewayd] workers: \"257\" is out of range (1..256, or auto)");
	expect_one_error("[gatewayd]\nworkers = many\n",
			 "gatewayd.conf:2: error: [gatewayd] workers: \"many\" is out of range (1..256, or auto)");
}

/* The hardening additions to DESIGN.md's [limits]: request_timeout,
 * max_requests_per_connection, max_request_line_bytes. */
static void test_hardening_limits_defaults_and_values(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	assert_true(settings_load(&s, write_conf(""), &dl));
	assert_int_equal(s.request_timeout_ms, 0);
	assert_int_equal(s.max_requests_per_connection, 0);
	assert_int_equal(s.max_request_line_bytes, 8192);
	settings_fini(&s);
	cleanup();
	assert_true(settings_load(&s, write_conf("[limits]\nrequest_timeout = 90s\n"
						    "max_requests_per_connection = 1000\n"
						    "max_request_line_bytes = 4k\n"), &dl));
	assert_int_equal(dl.count, 0);
	assert_int_equal(s.request_timeout_ms, 90000);
	assert_int_equal(s.max_requests_per_connection, 1000);
	assert_int_equal(s.max_request_line_bytes, 4096);
	settings_fini(&s);
	cleanup();
	diag_list_fini(&dl);
	expect_one_error("[limits]\nmax_request_line_bytes = 100\n",
			 "gatewayd.conf:2: error: [limits] max_request_line_bytes: \"100\" is out of range (256..1m)");
	expect_one_error("[limits]\nrequest_timeout = 2d\n",
			 "gatewayd.conf:2: error: [limits] request_timeout: \"2d\" is not a duration (e.g. 500ms, 10s, 2m, 1h)");
}

static void test_unknown_section_is_reported_once(void **state)
{
	expect_one_error("[gatewayd]\nhistory = 2\n[proxy]\na = 1\nb = 2\n",
			 "gatewayd.conf:3: error: [proxy]: unknown section");
}

static void test_bad_values_name_the_accepted_forms(void **state)
{
	expect_one_error("[limits]\nheader_timeout = 10x\n",
			 "gatewayd.conf:2: error: [limits] header_timeout: \"10x\" is not a duration (e.g. 500ms, 10s, 2m, 1h)");
	expect_one_error("[limits]\nheader_timeout = 0s\n",
			 "gatewayd.conf:2: error: [limits] header_timeout: \"0s\" is out of range (1ms..1h)");
	expect_one_error("[limits]\nmax_header_bytes = 16q\n",
			 "gatewayd.conf:2: error: [limits] max_header_bytes: \"16q\" is not a size (e.g. 512, 16k, 1m)");
	expect_one_error("[limits]\nmax_header_bytes = 100\n",
			 "gatewayd.conf:2: error: [limits] max_header_bytes: \"100\" is out of range (1k..1m)");
	expect_one_error("[limits]\nmax_headers = lots\n",
			 "gatewayd.conf:2: error: [limits] max_headers: \"lots\" is not a number");
	expect_one_error("[gatewayd]\nhistory = 0\n",
			 "gatewayd.conf:2: error: [gatewayd] history: \"0\" is out of range (1..1000)");
	expect_one_error("[log]\nlevel = verbose\n",
			 "gatewayd.conf:2: error: [log] level: \"verbose\" is not one of error, warn, info, debug");
	expect_one_error("[log]\naccess_format = xml\n",
			 "gatewayd.conf:2: error: [log] access_format: \"xml\" is not one of json, combined");
	expect_one_error("[admin]\nlisten = 9901\n",
			 "gatewayd.conf:2: error: [admin] listen: \"9901\" is not host:port or off");
	expect_one_error("[admin]\nlisten = ::1:9901\n",
			 "gatewayd.conf:2: error: [admin] listen: \"::1:9901\" is not host:port or off");
	expect_one_error("[dns]\nnameservers = 127.0.0.1:99999\n",
			 "gatewayd.conf:2: error: [dns] nameservers: \"127.0.0.1:99999\" is not an address with an optional port");
	expect_one_error("[gatewayd]\ncontroller_name =\n",
			 "gatewayd.conf:2: error: [gatewayd] controller_name: a value is required");
	expect_one_error("[gatewayd]\nstate_dir =\n",
			 "gatewayd.conf:2: error: [gatewayd] state_dir: a path is required");
}

static void test_syntax_errors_and_duplicates(void **state)
{
	expect_one_error("[gatewayd]\nhistory 5\n",
			 "gatewayd.conf:2: error: syntax error: expected \"key = value\" or \"[section]\"");
	expect_one_error("[gatewayd\nhistory = 5\n",
			 "gatewayd.conf:1: error: syntax error: \"]\" expected");
	expect_one_error("[gatewayd]\nhistory = 5\n\nhistory = 6\n",
			 "gatewayd.conf:4: error: [gatewayd] history: set twice (first on line 2)");
	expect_one_error("history = 5\n",
			 "gatewayd.conf:1: error: history: key outside of any [section]");
	expect_one_error("[dns]\nmin_ttl = 10m\nmax_ttl = 1m\n",
			 "gatewayd.conf:3: error: [dns] min_ttl: must not be above max_ttl");
}

static void test_every_error_is_reported_not_only_the_first(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[gatewayd]\nworkers = 0\nbogus\nfoo = 1\n[log]\nlevel = x\n");
	assert_false(settings_load(&s, f, &dl));
	assert_int_equal(dl.errors, 4);
	assert_int_equal(dl.items[0].line, 2);
	assert_int_equal(dl.items[1].line, 3);
	assert_int_equal(dl.items[2].line, 4);
	assert_int_equal(dl.items[3].line, 6);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_missing_file_is_an_error(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	assert_false(settings_load(&s, "/nonexistent/gatewayd.conf", &dl));
	assert_int_equal(dl.count, 1);
	char line[256];
	diag_format(&dl.items[0], line, sizeof line);
	assert_string_equal(line, "/nonexistent/gatewayd.conf: error: cannot read: No such file or directory");
	settings_fini(&s);
	diag_list_fini(&dl);
}

static void test_crlf_and_long_lines(void **state)
{
	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	const char *f = write_conf("[gatewayd]\r\nhistory = 4\r\n");
	assert_true(settings_load(&s, f, &dl));
	assert_int_equal(s.history, 4);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();

	char text[600];
	snprintf(text, sizeof text, "[gatewayd]\nuser = %0300d\nhistory = 9\n", 0);
	diag_list_init(&dl);
	f = write_conf(text);
	assert_false(settings_load(&s, f, &dl));
	assert_int_equal(dl.count, 1);
	assert_int_equal(dl.items[0].line, 2);
	assert_int_equal(s.history, 9);
	settings_fini(&s);
	diag_list_fini(&dl);
	cleanup();
}

static void test_duration_units(void **state)
{
	uint64_t ms = 0;
	assert_true(settings_parse_duration("500ms", &ms));
	assert_int_equal(ms, 500);
	assert_true(settings_parse_duration("10s", &ms));
	assert_int_equal(ms, 10000);
	assert_true(settings_parse_duration("2m", &ms));
	assert_int_equal(ms, 120000);
	assert_true(settings_parse_duration("1h", &ms));
	assert_int_equal(ms, 3600000);
	assert_true(settings_parse_duration("7", &ms));
	assert_int_equal(ms, 7000);
	assert_true(settings_parse_duration("0", &ms));
	assert_int_equal(ms, 0);
	assert_false(settings_parse_duration("", &ms));
	assert_false(settings_parse_duration("s", &ms));
	assert_false(settings_parse_duration("-1s", &ms));
	assert_false(settings_parse_duration("1.5s", &ms));
	assert_false(settings_parse_duration("10 s", &ms));
	assert_false(settings_parse_duration("10d", &ms));
	assert_false(settings_parse_duration("99999999999999999999ms", &ms));
	assert_false(settings_parse_duration("18446744073709551h", &ms));
}

static void test_size_units(void **state)
{
	uint64_t b = 0;
	assert_true(settings_parse_size("512", &b));
	assert_int_equal(b, 512);
	assert_true(settings_parse_size("16k", &b));
	assert_int_equal(b, 16384);
	assert_true(settings_parse_size("16K", &b));
	assert_int_equal(b, 16384);
	assert_true(settings_parse_size("1m", &b));
	assert_int_equal(b, 1048576);
	assert_true(settings_parse_size("2g", &b));
	assert_int_equal(b, UINT64_C(2) << 30);
	assert_false(settings_parse_size("", &b));
	assert_false(settings_parse_size("k", &b));
	assert_false(settings_parse_size("1kb", &b));
	assert_false(settings_parse_size("1t", &b));
	assert_false(settings_parse_size("-5", &b));
	assert_false(settings_parse_size("17179869184g", &b));
}

static void test_default_file_follows_the_environment(void **state)
{
	setenv("GATEWAYD_CONF", "/tmp/x/gw.conf", 1);
	assert_string_equal(settings_default_file(), "/tmp/x/gw.conf");
	setenv("GATEWAYD_CONF", "", 1);
	assert_string_equal(settings_default_file(), GW_SYSCONFDIR "/gatewayd/gatewayd.conf");
	unsetenv("GATEWAYD_CONF");
	assert_string_equal(settings_default_file(), GW_SYSCONFDIR "/gatewayd/gatewayd.conf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gives_defaults),
		cmocka_unit_test(test_defaults_without_file_use_sysconfdir),
		cmocka_unit_test(test_every_key_is_read),
		cmocka_unit_test(test_off_values_become_null),
		cmocka_unit_test(test_relative_paths_resolve_against_the_ini_folder),
		cmocka_unit_test(test_workers_auto_is_online_cpus),
		cmocka_unit_test(test_indented_keys_are_keys_not_continuations),
		cmocka_unit_test(test_unknown_key_is_reported_with_its_line),
		cmocka_unit_test(test_workers_out_of_range),
		cmocka_unit_test(test_hardening_limits_defaults_and_values),
		cmocka_unit_test(test_unknown_section_is_reported_once),
		cmocka_unit_test(test_bad_values_name_the_accepted_forms),
		cmocka_unit_test(test_syntax_errors_and_duplicates),
		cmocka_unit_test(test_every_error_is_reported_not_only_the_first),
		cmocka_unit_test(test_missing_file_is_an_error),
		cmocka_unit_test(test_crlf_and_long_lines),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_default_file_follows_the_environment),
	};
	return UNIT_RUN(tests);
}
