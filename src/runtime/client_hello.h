/* SPDX-License-Identifier: MIT */
/* client_hello: the server name (SNI) of a TLS ClientHello, read from the first bytes
 * a client sends, for TLS passthrough routing (TLSRoute). A pure, strict and bounded
 * parser: no allocation, no state between calls (call it again on the grown buffer),
 * never reads past len. RFC 8446 §5.1 (records), §4.1.2 (ClientHello), RFC 6066 §3
 * (server_name). Any thread. */
#ifndef GW_RUNTIME_CLIENT_HELLO_H
#define GW_RUNTIME_CLIENT_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes of records looked at: a ClientHello that does not end within them is
 * refused (CH_INVALID). Real ones are a few hundred bytes, rarely over 2 KiB (large
 * post-quantum key shares stay well under this). */
#define CH_MAX_BYTES 16384
/* RFC 6066 §3: HostName is at most 2^16-1 bytes; a DNS name is at most 253 (255 with
 * the length bytes); longer ones are refused. */
#define CH_SNI_MAX 253

enum ch_result {
	CH_NEED_MORE = 0, /* the buffer ends before the ClientHello does */
	CH_SNI = 1,       /* a host_name was found (name, name_len) */
	CH_NO_SNI = 2,    /* a well-formed ClientHello without a server_name extension */
	CH_INVALID = -1,  /* not TLS, not a ClientHello, malformed, or over CH_MAX_BYTES */
};

/* Parses buf[0..len) as the start of a TLS connection: handshake records (type 22,
 * version 3.x) whose payloads carry one ClientHello, possibly split over several
 * records. On CH_SNI, name receives the host_name in lowercase, NUL-terminated, and
 * *name_len its length; it holds only letters, digits, "-" and "." (RFC 1123 labels,
 * no trailing dot). Bytes after the record that completes the ClientHello are not
 * looked at (they are for the backend). */
enum ch_result client_hello_parse(const uint8_t *buf, size_t len, char name[CH_SNI_MAX + 1],
				  size_t *name_len);

#endif
