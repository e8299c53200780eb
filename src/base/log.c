/* SPDX-License-Identifier: MIT */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const level_prefix[] = {"<3>error: ", "<4>warning: ", "<6>", "<7>debug: "};

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

__attribute__((format(printf, 3, 0)))
static void log_emit(enum log_level level, int err, const char *fmt, va_list ap)
{
	if (level > log_threshold)
		return;
	char line[2048];
	/* The "<N>" prefix is the syslog priority that journald reads from stderr;
	 * on a terminal it is dropped to keep lines readable. */
	const char *prefix = level_prefix[level];
	if (getenv("JOURNAL_STREAM") == NULL)
		prefix += 3;
	int n = snprintf(line, sizeof line, "gatewayd: %s", prefix);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) >= sizeof line - 2 ? (int)sizeof line - 2 : n + m;
	if (err)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

#define LOG_FN(name, level, with_errno)                                                    \
	void name(const char *fmt, ...)                                                    \
	{                                                                                  \
		int saved = errno;                                                         \
		va_list ap;                                                                \
		va_start(ap, fmt);                                                         \
		log_emit(level, (with_errno) ? saved : 0, fmt, ap);                        \
		va_end(ap);                                                                \
		errno = saved;                                                             \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
