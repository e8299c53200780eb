/* SPDX-License-Identifier: MIT */
/* log: the error log, one line per event on stderr (journald adds the time).
 * log_warn and fatal append strerror(errno); the *x variants do not.
 * Safe to call from any thread: each line is written with one write(2). */
#ifndef GW_BASE_LOG_H
#define GW_BASE_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

extern enum log_level log_threshold;

/* Returns 0 and sets *out for "error", "warn", "info", "debug"; -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
