/* SPDX-License-Identifier: MIT */
/* validate: hand-written matchers for the CRD patterns (no regex engine needed for
 * these simple grammars). Each function states the pattern it implements. */
#include "gwapi/validate.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
	return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

size_t validate_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* One label of [a-z0-9]([-a-z0-9]*[a-z0-9])? spanning s[0..len). */
static bool dns_label(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Labels joined by "." spanning s[0..len); no limit per label (the CRD regexes set
 * none, only the total length). */
static bool dns_labels(const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!dns_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool validate_dns1123_label(const char *s)
{
	size_t len = strlen(s);
	return len <= 63 && dns_label(s, len);
}

bool validate_dns1123_subdomain(const char *s)
{
	size_t len = strlen(s);
	return len >= 1 && len <= 253 && dns_labels(s, len);
}

bool validate_hostname(const char *s, bool allow_wildcard)
{
	size_t len = strlen(s);
	if (len < 1 || len > 253)
		return false;
	/* ^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ */
	if (allow_wildcard && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	return dns_labels(s, len);
}

bool validate_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_tchar(char ch)
{
	/* RFC 9110 §5.6.2 token */
	return is_alnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

bool validate_header_name(const char *s)
{
	size_t len = strlen(s);
	if (len < 1 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar(s[i]))
			return false;
	return true;
}

bool validate_kind(const char *s)
{
	/* ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$, 1..63 */
	size_t len = strlen(s);
	if (len < 1 || len > 63)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool validate_group(const char *s)
{
	return s[0] == '\0' || validate_dns1123_subdomain(s);
}

bool validate_duration(const char *s)
{
	/* ^([0-9]{1,5}(h|m|s|ms)){1,4}$ */
	int parts = 0;
	while (*s) {
		size_t digits = 0;
		while (is_digit(s[digits]))
			digits++;
		if (digits < 1 || digits > 5)
			return false;
		s += digits;
		if (s[0] == 'm' && s[1] == 's')
			s += 2;
		else if (*s == 'h' || *s == 'm' || *s == 's')
			s++;
		else
			return false;
		if (++parts > 4)
			return false;
	}
	return parts >= 1;
}

/* A "domain/path" name: DNS-1123 subdomain, "/", then [A-Za-z0-9/\-._~%!$&'()*+,;=:]+ */
static bool domain_path(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || !dns_labels(s, (size_t)(slash - s)) || slash[1] == '\0')
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (!is_alnum(*p) && !strchr("/-._~%!$&'()*+,;=:", *p))
			return false;
	return true;
}

bool validate_controller_name(const char *s)
{
	return strlen(s) <= 253 && domain_path(s);
}

bool validate_protocol(const char *s)
{
	size_t len = strlen(s);
	if (len < 1 || len > 255)
		return false;
	const char *slash = strchr(s, '/');
	if (!slash) {
		/* ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$ */
		if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
			return false;
		for (size_t i = 0; i < len; i++)
			if (!is_alnum(s[i]) && s[i] != '-')
				return false;
		return true;
	}
	/* domain/[A-Za-z0-9]+ */
	if (!dns_labels(s, (size_t)(slash - s)) || slash[1] == '\0')
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (!is_alnum(*p))
			return false;
	return true;
}

bool validate_address_type(const char *s)
{
	if (strcmp(s, "IPAddress") == 0 || strcmp(s, "Hostname") == 0 || strcmp(s, "NamedAddress") == 0)
		return true;
	return strlen(s) <= 253 && domain_path(s);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63: a label name or value. */
static bool label_name(const char *s, size_t len)
{
	if (len < 1 || len > 63 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

bool validate_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return label_name(s, strlen(s));
	size_t plen = (size_t)(slash - s);
	return plen >= 1 && plen <= 253 && dns_labels(s, plen) && label_name(slash + 1, strlen(slash + 1));
}

bool validate_label_value(const char *s)
{
	return s[0] == '\0' || label_name(s, strlen(s));
}

/* n digits at s, as a number no larger than max. */
static bool digits_in(const char *s, int n, int min, int max)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= min && v <= max;
}

bool validate_rfc3339(const char *s)
{
	/* RFC 3339 §5.6: full-date "T" full-time */
	if (!digits_in(s, 4, 0, 9999) || s[4] != '-' || !digits_in(s + 5, 2, 1, 12) || s[7] != '-' ||
	    !digits_in(s + 8, 2, 1, 31) || (s[10] != 'T' && s[10] != 't') ||
	    !digits_in(s + 11, 2, 0, 23) || s[13] != ':' || !digits_in(s + 14, 2, 0, 59) ||
	    s[16] != ':' || !digits_in(s + 17, 2, 0, 60))
		return false;
	s += 19;
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
	}
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
		return true;
	return (s[0] == '+' || s[0] == '-') && digits_in(s + 1, 2, 0, 23) && s[3] == ':' &&
	       digits_in(s + 4, 2, 0, 59) && s[6] == '\0';
}

static bool is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

const char *validate_path_problem(const char *s)
{
	/* The HTTPPathMatch CEL rules, in the CRD's order. */
	static const struct { const char *text, *problem; } banned[] = {
		{ "//", "must not contain \"//\"" },
		{ "/./", "must not contain \"/./\"" },
		{ "/../", "must not contain \"/../\"" },
		{ "%2f", "must not contain \"%2f\"" },
		{ "%2F", "must not contain \"%2F\"" },
		{ "#", "must not contain \"#\"" },
	};
	if (s[0] != '/')
		return "must be an absolute path starting with \"/\"";
	for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
		if (strstr(s, banned[i].text))
			return banned[i].problem;
	if (ends_with(s, "/.."))
		return "must not end with \"/..\"";
	if (ends_with(s, "/."))
		return "must not end with \"/.\"";
	/* ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$ */
	for (const char *p = s; *p; p++) {
		if (*p == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return "must only contain RFC 3986 path characters or percent-encoded octets";
			p += 2;
			continue;
		}
		if (!is_alnum(*p) && !strchr("-/._~!$&'()*+,;=:@", *p))
			return "must only contain RFC 3986 path characters or percent-encoded octets";
	}
	return NULL;
}
