/* SPDX-License-Identifier: MIT */
/* unit.h: what every cmocka test program includes, in the order cmocka needs. */
#ifndef GW_TESTS_UNIT_H
#define GW_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Runs a group with TAP output so automake's TAP driver reports every case. */
#define UNIT_RUN(tests) \
	(cmocka_set_message_output(CM_OUTPUT_TAP), cmocka_run_group_tests(tests, NULL, NULL))

#endif
