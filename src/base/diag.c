/* SPDX-License-Identifier: MIT */
#include "base/diag.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"

void diag_list_init(struct diag_list *dl)
{
	memset(dl, 0, sizeof *dl);
}

void diag_list_fini(struct diag_list *dl)
{
	for (size_t i = 0; i < dl->count; i++) {
		free(dl->items[i].file);
		free(dl->items[i].message);
	}
	free(dl->items);
	memset(dl, 0, sizeof *dl);
}

void diag_vadd(struct diag_list *dl, enum diag_severity sev, const char *file, int line,
	       int col, const char *fmt, va_list ap)
{
	if (dl->count == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 16;
		struct diag *items = realloc(dl->items, cap * sizeof *items);
		if (!items)
			fatalx("out of memory");
		dl->items = items;
		dl->cap = cap;
	}
	struct buf msg = BUF_INIT;
	buf_vprintf(&msg, fmt, ap);
	struct diag *d = &dl->items[dl->count++];
	d->file = strdup(file ? file : "");
	if (!d->file)
		fatalx("out of memory");
	d->line = line;
	d->col = col;
	d->severity = sev;
	d->message = buf_steal(&msg);
	if (sev == DIAG_ERROR)
		dl->errors++;
	else if (sev == DIAG_WARNING)
		dl->warnings++;
}

void diag_add(struct diag_list *dl, enum diag_severity sev, const char *file, int line,
	      int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(dl, sev, file, line, col, fmt, ap);
	va_end(ap);
}

const char *diag_severity_name(enum diag_severity sev)
{
	switch (sev) {
	case DIAG_ERROR: return "error";
	case DIAG_WARNING: return "warning";
	case DIAG_NOTE: return "note";
	}
	return "error";
}

void diag_format(const struct diag *d, char *out, size_t size)
{
	const char *sev = diag_severity_name(d->severity);
	if (d->line > 0 && d->col > 0)
		snprintf(out, size, "%s:%d:%d: %s: %s", d->file, d->line, d->col, sev, d->message);
	else if (d->line > 0)
		snprintf(out, size, "%s:%d: %s: %s", d->file, d->line, sev, d->message);
	else if (d->file[0])
		snprintf(out, size, "%s: %s: %s", d->file, sev, d->message);
	else
		snprintf(out, size, "%s: %s", sev, d->message);
}

void diag_print(const struct diag_list *dl, FILE *out)
{
	char line[4096];
	for (size_t i = 0; i < dl->count; i++) {
		diag_format(&dl->items[i], line, sizeof line);
		fprintf(out, "%s\n", line);
	}
}
