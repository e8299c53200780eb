/* SPDX-License-Identifier: MIT */
/* buf: a growable byte string for building output (JSON, images, messages) on the
 * control plane. Allocation failure is fatal: the control plane has no better answer. */
#ifndef GW_BASE_BUF_H
#define GW_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* owned; always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends len zero bytes and returns the offset where they start. */
size_t buf_zero(struct buf *b, size_t len);
/* Gives the string to the caller (never NULL) and leaves b empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
