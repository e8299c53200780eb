/* SPDX-License-Identifier: MIT */
/* diag: configuration diagnostics, collected by every stage of the pipeline
 * (settings, YAML, decode, resolve, compile) and printed only by the commands.
 * One line each, GCC style:  file:line:col: error: Kind ns/name: field: text */
#ifndef GW_BASE_DIAG_H
#define GW_BASE_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag {
	char *file;     /* owned; may be "" */
	int line;       /* 1-based; 0 = unknown */
	int col;        /* 1-based; 0 = no column */
	enum diag_severity severity;
	char *message;  /* owned; lowercase, no final period */
};

struct diag_list {
	struct diag *items; /* owned */
	size_t count, cap;
	size_t errors;
	size_t warnings;
};

void diag_list_init(struct diag_list *dl);
void diag_list_fini(struct diag_list *dl);
void diag_add(struct diag_list *dl, enum diag_severity sev, const char *file, int line,
	      int col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void diag_vadd(struct diag_list *dl, enum diag_severity sev, const char *file, int line,
	       int col, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
static inline bool diag_has_errors(const struct diag_list *dl) { return dl->errors > 0; }
/* Writes "file:line:col: severity: message\n" for each diagnostic. */
void diag_print(const struct diag_list *dl, FILE *out);
/* Formats one diagnostic the same way, without the newline, into buf. */
void diag_format(const struct diag *d, char *buf, size_t size);
const char *diag_severity_name(enum diag_severity sev);

#endif
