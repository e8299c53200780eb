/* SPDX-License-Identifier: MIT */
/* test_store: generations in LMDB: commit, current, history, rollback, prune, object
 * generations, snapshots read in place across threads and commits, persistence, and
 * a write transaction that dies before its commit leaving nothing behind. */
#include "unit.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/gw-test-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];
	snprintf(p, sizeof p, "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", dir);
	unlink(p);
	return rmdir(dir);
}

static struct store *open_rw(void)
{
	struct store *st = NULL;
	char err[256] = "";
	assert_int_equal(store_open(&st, dir, 0, err, sizeof err), 0);
	assert_non_null(st);
	return st;
}

static uint64_t commit_text(struct store *st, const char *text, int keep)
{
	uint64_t gen = 0;
	char err[256] = "";
	char digest[65];
	memset(digest, 'a' + (int)(strlen(text) % 26), 64);
	digest[64] = '\0';
	assert_int_equal(store_commit(st, text, strlen(text) + 1, digest, keep, &gen, err, sizeof err), 0);
	return gen;
}

static void expect_image(struct store *st, uint64_t gen, const char *text)
{
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(st, gen, &snap), 0);
	assert_int_equal(snap.len, strlen(text) + 1);
	assert_string_equal((const char *)snap.image, text);
	if (gen)
		assert_int_equal(snap.generation, gen);
	store_snapshot_close(&snap);
	assert_null(snap.txn);
}

static void test_empty_store_has_no_generation(void **state)
{
	struct store *st = open_rw();
	assert_int_equal(store_current(st), 0);
	struct store_gen_info *h;
	assert_int_equal(store_history(st, &h), 0);
	free(h);
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(st, 0, &snap), -1);
	uint64_t g = 0;
	char err[128];
	assert_int_equal(store_set_current(st, 0, &g, err, sizeof err), -1);
	assert_string_equal(err, "no generation stored yet");
	store_close(st);
}

static void test_commit_numbers_generations_and_makes_them_current(void **state)
{
	struct store *st = open_rw();
	assert_int_equal(commit_text(st, "one", 20), 1);
	assert_int_equal(commit_text(st, "two!", 20), 2);
	assert_int_equal(commit_text(st, "three", 20), 3);
	assert_int_equal(store_current(st), 3);
	expect_image(st, 0, "three");
	expect_image(st, 1, "one");
	expect_image(st, 2, "two!");

	struct store_gen_info *h;
	assert_int_equal(store_history(st, &h), 3);
	assert_int_equal(h[0].generation, 3);
	assert_int_equal(h[1].generation, 2);
	assert_int_equal(h[2].generation, 1);
	assert_true(h[0].is_current);
	assert_false(h[1].is_current);
	assert_int_equal(strlen(h[0].digest), 64);
	assert_int_equal(h[0].digest[0], 'a' + 5); /* strlen("three") */
	assert_true(h[0].created > 1600000000);
	free(h);
	store_close(st);
}

static void test_rollback_to_previous_and_to_a_number(void **state)
{
	struct store *st = open_rw();
	for (int i = 0; i < 4; i++)
		commit_text(st, i % 2 ? "odd" : "even", 20);
	uint64_t g = 0;
	char err[128] = "";
	assert_int_equal(store_set_current(st, 0, &g, err, sizeof err), 0);
	assert_int_equal(g, 3);
	assert_int_equal(store_current(st), 3);
	assert_int_equal(store_set_current(st, 0, &g, err, sizeof err), 0);
	assert_int_equal(g, 2);
	assert_int_equal(store_set_current(st, 4, &g, err, sizeof err), 0);
	assert_int_equal(g, 4);
	assert_int_equal(store_set_current(st, 9, &g, err, sizeof err), -1);
	assert_string_equal(err, "generation 9 not found");
	assert_int_equal(store_current(st), 4);
	assert_int_equal(store_set_current(st, 1, &g, err, sizeof err), 0);
	assert_int_equal(store_set_current(st, 0, &g, err, sizeof err), -1);
	assert_string_equal(err, "no generation before 1");

	struct store_gen_info *h;
	assert_int_equal(store_history(st, &h), 4);
	assert_false(h[0].is_current);
	assert_true(h[3].is_current);
	free(h);
	/* A commit after a rollback takes the next number, never a reused one. */
	assert_int_equal(commit_text(st, "five", 20), 5);
	store_close(st);
}

static void test_prune_keeps_the_newest(void **state)
{
	struct store *st = open_rw();
	for (int i = 0; i < 6; i++)
		commit_text(st, "x", 3);
	struct store_gen_info *h;
	assert_int_equal(store_history(st, &h), 3);
	assert_int_equal(h[0].generation, 6);
	assert_int_equal(h[2].generation, 4);
	free(h);
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(st, 3, &snap), -1);
	uint64_t g;
	char err[128];
	assert_int_equal(store_set_current(st, 2, &g, err, sizeof err), -1);
	assert_int_equal(store_set_current(st, 4, &g, err, sizeof err), 0);
	/* keep 1: only the new (current) generation remains. */
	assert_int_equal(commit_text(st, "y", 1), 7);
	assert_int_equal(store_history(st, &h), 1);
	assert_int_equal(h[0].generation, 7);
	assert_true(h[0].is_current);
	free(h);
	store_close(st);
}

static void test_reopen_after_close_persists(void **state)
{
	struct store *st = open_rw();
	commit_text(st, "first", 20);
	commit_text(st, "second", 20);
	uint64_t g;
	char err[128];
	assert_int_equal(store_set_current(st, 1, &g, err, sizeof err), 0);
	store_close(st);

	st = open_rw();
	assert_int_equal(store_current(st), 1);
	expect_image(st, 0, "first");
	expect_image(st, 2, "second");
	store_close(st);

	/* Read-only (as `check` opens it): readable, not writable. */
	assert_int_equal(store_open(&st, dir, 1, err, sizeof err), 0);
	assert_int_equal(store_current(st), 1);
	expect_image(st, 2, "second");
	assert_int_equal(store_commit(st, "z", 1, "", 20, &g, err, sizeof err), -1);
	store_close(st);
}

static void test_read_only_open_of_missing_dir_fails_with_message(void **state)
{
	struct store *st = (struct store *)1;
	char err[256] = "";
	assert_int_equal(store_open(&st, "/nonexistent/gw-state", 1, err, sizeof err), -1);
	assert_null(st);
	assert_string_equal(err, "/nonexistent/gw-state: No such file or directory");
}

static void test_object_generations_count_content_changes(void **state)
{
	struct store *st = open_rw();
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 111, 0), 1);
	commit_text(st, "a", 20);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 111, 0), 1);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 0), 2);
	/* Not committed yet: a second build still sees 2, not 3. */
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 0), 2);
	commit_text(st, "b", 20);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 0), 2);
	/* dry_run computes but does not record. */
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 333, 1), 3);
	commit_text(st, "c", 20);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 0), 2);
	/* A build that is never committed does not count. */
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 444, 0), 3);
	store_discard_pending(st);
	commit_text(st, "d", 20);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 1), 2);
	assert_int_equal(store_object_generation(NULL, "x", 1, 0), 1);
	store_close(st);

	char err[128];
	assert_int_equal(store_open(&st, dir, 1, err, sizeof err), 0);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 222, 0), 2);
	assert_int_equal(store_object_generation(st, "HTTPRoute/default/web", 555, 0), 3);
	assert_int_equal(store_object_generation(st, "Gateway/default/new", 1, 0), 1);
	store_close(st);
}

struct closer {
	struct store_snapshot snap;
	char copy[64];
};

static void *close_on_thread(void *arg)
{
	struct closer *c = arg;
	snprintf(c->copy, sizeof c->copy, "%s", (const char *)c->snap.image);
	store_snapshot_close(&c->snap);
	return NULL;
}

static void test_snapshot_is_zero_copy_and_survives_prune_across_threads(void **state)
{
	struct store *st = open_rw();
	commit_text(st, "generation one", 20);
	struct closer c;
	assert_int_equal(store_snapshot_open(st, 0, &c.snap), 0);
	const void *image = c.snap.image;
	/* Read in place: the image is inside the map and aligned for its records. */
	assert_int_equal((uintptr_t)image % 8, 0);
	struct store_snapshot again;
	assert_int_equal(store_snapshot_open(st, 1, &again), 0);
	assert_ptr_equal(again.image, image);
	store_snapshot_close(&again);

	/* Later commits prune generation 1 away; the open snapshot still reads it. */
	for (int i = 0; i < 5; i++)
		commit_text(st, "a newer generation that reuses pages", 1);
	struct store_snapshot gone;
	assert_int_equal(store_snapshot_open(st, 1, &gone), -1);
	assert_string_equal((const char *)image, "generation one");

	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, close_on_thread, &c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_string_equal(c.copy, "generation one");
	assert_null(c.snap.txn);
	store_close(st);
}

/* A writer that dies between its puts and its commit (a crash, a kill -9) must leave
 * the store exactly as it was: LMDB discards the uncommitted pages. */
static void test_uncommitted_write_is_never_visible(void **state)
{
	struct store *st = open_rw();
	commit_text(st, "good", 20);
	store_close(st);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi gens, meta;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
		    mdb_env_set_mapsize(env, (size_t)1 << 30) ||
		    mdb_env_open(env, dir, MDB_NOTLS, 0640) || mdb_txn_begin(env, NULL, 0, &txn) ||
		    mdb_dbi_open(txn, "generations", 0, &gens) || mdb_dbi_open(txn, "meta", 0, &meta))
			_exit(2);
		unsigned char k2[8] = {0, 0, 0, 0, 0, 0, 0, 2};
		uint64_t two = 2;
		MDB_val k = {8, k2}, v = {4, "bad"}, mk = {7, "current"}, mv = {8, &two};
		if (mdb_put(txn, gens, &k, &v, 0) || mdb_put(txn, meta, &mk, &mv, 0))
			_exit(3);
		_exit(0); /* dies holding the write lock, without committing */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	st = open_rw();
	assert_int_equal(store_current(st), 1);
	expect_image(st, 0, "good");
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(st, 2, &snap), -1);
	/* The dead writer's lock is recovered: the next commit works. */
	assert_int_equal(commit_text(st, "next", 20), 2);
	expect_image(st, 0, "next");
	store_close(st);
}

static void test_large_image_round_trips(void **state)
{
	struct store *st = open_rw();
	size_t len = 3 * 1024 * 1024 + 5;
	char *big = malloc(len);
	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)(i * 7);
	uint64_t g;
	char err[128];
	assert_int_equal(store_commit(st, big, len, "", 20, &g, err, sizeof err), 0);
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(st, g, &snap), 0);
	assert_int_equal(snap.len, len);
	assert_memory_equal(snap.image, big, len);
	assert_int_equal((uintptr_t)snap.image % 8, 0);
	store_snapshot_close(&snap);
	free(big);
	store_close(st);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_store_has_no_generation),
		T(test_commit_numbers_generations_and_makes_them_current),
		T(test_rollback_to_previous_and_to_a_number),
		T(test_prune_keeps_the_newest),
		T(test_reopen_after_close_persists),
		cmocka_unit_test(test_read_only_open_of_missing_dir_fails_with_message),
		T(test_object_generations_count_content_changes),
		T(test_snapshot_is_zero_copy_and_survives_prune_across_threads),
		T(test_uncommitted_write_is_never_visible),
		T(test_large_image_round_trips),
	};
	return UNIT_RUN(tests);
}
