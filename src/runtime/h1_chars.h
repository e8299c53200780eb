/* SPDX-License-Identifier: MIT */
/* h1_chars: byte-class tables for the HTTP/1.1 parser (internal to runtime/h1_*). */
#ifndef GW_RUNTIME_H1_CHARS_H
#define GW_RUNTIME_H1_CHARS_H

#include <stdint.h>

extern const uint8_t h1_tchar[256];
extern const uint8_t h1_fchar[256];
extern const uint8_t h1_tgchar[256];
extern const uint8_t h1_regname[256];
extern const uint8_t h1_hex[256];
extern const uint8_t h1_qdtext[256];

#define H1_U(c) ((uint8_t)(c))
#define H1_IS_WS(c) ((c) == ' ' || (c) == '\t')
#define H1_IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)

#endif
