/* SPDX-License-Identifier: MIT */
/* decode_regex: RegularExpression values (HTTPRoute path, header and query matches)
 * are checked here, with PCRE2 and the very options the runtime compiles them with,
 * so that a pattern the data plane could not compile is a config error, never a
 * surprise at reload. The dialect is PCRE2's, matched byte-wise against the whole value. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gwapi/decode.h"

bool decode_regex(struct dctx *c, const struct ynode *n, const char *path)
{
	int err = 0;
	PCRE2_SIZE off = 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)n->scalar, PCRE2_ZERO_TERMINATED, DECODE_REGEX_OPTIONS,
				       &err, &off, NULL);
	if (re) {
		pcre2_code_free(re);
		return true;
	}
	PCRE2_UCHAR msg[256];
	if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
		msg[0] = '\0';
	decode_error(c, n, path, "invalid regular expression %s: %s at offset %zu",
		     decode_quote(c, n->scalar), (const char *)msg, (size_t)off);
	return false;
}
