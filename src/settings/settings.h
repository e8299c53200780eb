/* SPDX-License-Identifier: MIT */
/* settings: gatewayd.conf (INI, read with inih). One table of keys drives parsing,
 * defaults and validation. Unknown sections or keys and bad values are diagnostics
 * with file:line. Relative paths resolve against the INI file's folder. */
#ifndef GW_SETTINGS_H
#define GW_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/log.h"

enum access_format { ACCESS_FORMAT_JSON, ACCESS_FORMAT_COMBINED };

struct settings {
	char *file;               /* the INI file read (absolute), owned */
	/* [gatewayd] */
	char *config_dir;         /* absolute, owned */
	char *state_dir;
	char *run_dir;
	int workers;              /* resolved: "auto" = online CPUs */
	char *user;               /* empty = stay */
	char *controller_name;
	int history;              /* generations kept, >= 1 */
	/* [admin] */
	char *admin_listen;       /* "host:port", or NULL when "off" */
	/* [log] */
	enum log_level log_level;
	char *access;             /* "stdout", NULL for "off", or an absolute path */
	enum access_format access_format;
	/* [limits] */
	uint64_t header_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t max_header_bytes;
	uint64_t max_headers;
	uint64_t max_body_bytes;  /* 0 = unlimited */
	uint64_t max_connections;
	uint64_t connect_timeout_ms;
	uint64_t drain_timeout_ms;
	uint64_t request_timeout_ms;          /* whole request from the client; 0 = off */
	uint64_t max_requests_per_connection; /* 0 = unlimited */
	uint64_t max_request_line_bytes;      /* request line; beyond: 414 */
	/* [dns] */
	char *dns_nameservers;    /* NULL/empty = /etc/resolv.conf */
	uint64_t dns_min_ttl_ms;
	uint64_t dns_max_ttl_ms;
};

/* Fills s with the defaults, then reads file (which must exist). Returns false when
 * anything was reported as an error. */
bool settings_load(struct settings *s, const char *file, struct diag_list *dl);
void settings_defaults(struct settings *s);
void settings_fini(struct settings *s);
/* The default INI path: $GATEWAYD_CONF, else SYSCONFDIR/gatewayd/gatewayd.conf. */
const char *settings_default_file(void);

/* "500ms", "10s", "2m", "1h", or a bare number of seconds -> milliseconds. */
bool settings_parse_duration(const char *s, uint64_t *ms);
/* "512", "16k", "1m", "1g" (powers of 1024) -> bytes. */
bool settings_parse_size(const char *s, uint64_t *bytes);

#endif
