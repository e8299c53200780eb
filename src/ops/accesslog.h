/* SPDX-License-Identifier: MIT */
/* accesslog: the access log ([log] access, access_format) written by the main thread.
 * The workers queue one record per finished request (runtime/reqlog); every 100 ms, or
 * as soon as a worker's queue is half full, the records are formatted here and
 * written to stdout or to a file opened with O_APPEND, which SIGUSR1 reopens
 * (logrotate). Formats: one JSON object per line, or Apache/nginx "combined" with
 * extra fields after it (README "Observability"). */
#ifndef GW_OPS_ACCESSLOG_H
#define GW_OPS_ACCESSLOG_H

#include <stdint.h>

#include "base/buf.h"
#include "runtime/reqlog.h"
#include "settings/settings.h"

struct ev_loop;
struct accesslog;

/* Starts writing the records of src to access ("stdout" or an absolute path; the
 * file is created 0640 if needed). Call before the workers start. Returns NULL with
 * a message in err when the file cannot be opened. */
struct accesslog *accesslog_start(struct ev_loop *loop, struct reqlog *src, const char *access,
				  enum access_format fmt, char *err, size_t errlen);
/* Writes out what is queued now. */
void accesslog_flush(struct accesslog *a);
/* SIGUSR1: flushes to the current file, then opens the path again, so a file that
 * logrotate renamed stops growing. On failure the old file stays in use (logged).
 * Returns 0 or -1. stdout is left as it is. */
int accesslog_reopen(struct accesslog *a);
/* Final flush, then closes. The workers must have stopped. NULL is a no-op. */
void accesslog_stop(struct accesslog *a);
/* Lines written, and lines lost (full queues, failed writes), since the start. */
uint64_t accesslog_written(const struct accesslog *a);
uint64_t accesslog_lost(const struct accesslog *a);

/* One line, '\n' included, appended to out. Pure apart from the time zone (combined
 * writes local time, as Apache and nginx do). */
void accesslog_format_json(struct buf *out, const struct reqlog_rec *r);
void accesslog_format_combined(struct buf *out, const struct reqlog_rec *r);

#endif
