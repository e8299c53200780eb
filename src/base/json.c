/* SPDX-License-Identifier: MIT */
#include "base/json.h"

#include <string.h>

void json_strn(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_reserve(b, len + 2);
	buf_putc(b, '"');
	size_t run = 0; /* start of the pending run of bytes that need no escape */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, esc, sizeof esc);
		}
		}
	}
	buf_append(b, s + run, len - run);
	buf_putc(b, '"');
}

void json_str(struct buf *b, const char *s)
{
	json_strn(b, s ? s : "", s ? strlen(s) : 0);
}

void json_key(struct buf *b, const char *key)
{
	json_str(b, key);
	buf_putc(b, ':');
}
