/* SPDX-License-Identifier: MIT */
/* test_ydoc: YAML -> node trees: positions (block scalars included), documents,
 * refused constructs, and the order in which a directory is read. */
#include "config.h"

#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/diag.h"
#include "yaml/ydoc.h"

struct fixture {
	struct arena a;
	struct diag_list dl;
	struct ydoc_set set;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	arena_init(&f->a);
	diag_list_init(&f->dl);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	diag_list_fini(&f->dl);
	arena_fini(&f->a);
	free(f);
	return 0;
}

static bool load(struct fixture *f, const char *yaml)
{
	return ydoc_load_buffer(&f->a, "t.yaml", yaml, strlen(yaml), &f->set, &f->dl);
}

static void assert_diag(const struct fixture *f, size_t i, const char *expected)
{
	char line[1024];
	assert_true(i < f->dl.count);
	diag_format(&f->dl.items[i], line, sizeof line);
	assert_string_equal(line, expected);
}

static void assert_pos(const struct ynode *n, int line, int col)
{
	assert_non_null(n);
	assert_int_equal(n->line, line);
	assert_int_equal(n->col, col);
}

static void test_positions_are_one_based_for_scalars_maps_and_sequences(void **state)
{
	struct fixture *f = *state;
	const char *yaml =
		"a: 1\n"               /* 1 */
		"b:\n"                 /* 2 */
		"  c: \"x\"\n"         /* 3 */
		"  d:\n"               /* 4 */
		"    - e\n"            /* 5 */
		"    - f: g\n"         /* 6 */
		"    - [h, {i: j}]\n"; /* 7 */
	assert_true(load(f, yaml));
	assert_int_equal(f->set.count, 1);
	const struct ynode *root = f->set.docs[0].root;
	assert_int_equal(root->kind, YNODE_MAP);
	assert_pos(root, 1, 1);
	assert_string_equal(root->file, "t.yaml");
	const struct ynode *a = ynode_get(root, "a");
	assert_pos(a, 1, 4);
	assert_int_equal(a->style, YSCALAR_PLAIN);
	assert_string_equal(a->scalar, "1");
	assert_pos(root->pairs[1].key, 2, 1);
	const struct ynode *b = ynode_get(root, "b");
	assert_int_equal(b->kind, YNODE_MAP);
	assert_pos(b, 3, 3);
	const struct ynode *c = ynode_get(b, "c");
	assert_pos(c, 3, 6);
	assert_int_equal(c->style, YSCALAR_QUOTED);
	const struct ynode *d = ynode_get(b, "d");
	assert_int_equal(d->kind, YNODE_SEQ);
	assert_int_equal(d->count, 3);
	assert_pos(d, 5, 5);
	assert_pos(d->items[0], 5, 7);
	assert_int_equal(d->items[1]->kind, YNODE_MAP);
	assert_pos(d->items[1], 6, 7);
	assert_pos(ynode_get(d->items[1], "f"), 6, 10);
	const struct ynode *flow = d->items[2];
	assert_int_equal(flow->kind, YNODE_SEQ);
	assert_pos(flow, 7, 7);
	assert_pos(flow->items[1], 7, 11);
	assert_pos(ynode_get(flow->items[1], "i"), 7, 15);
	assert_int_equal(f->dl.count, 0);
}

static void test_block_scalars_report_the_line_their_content_starts_on(void **state)
{
	struct fixture *f = *state;
	const char *yaml =
		"lit: |\n"       /* 1 */
		"  one\n"        /* 2 */
		"  two\n"        /* 3 */
		"fold: >-\n"     /* 4 */
		"\n"             /* 5 */
		"    folded\n"   /* 6 */
		"    text\n";    /* 7 */
	assert_true(load(f, yaml));
	const struct ynode *root = f->set.docs[0].root;
	const struct ynode *lit = ynode_get(root, "lit");
	assert_string_equal(lit->scalar, "one\ntwo\n");
	assert_int_equal(lit->style, YSCALAR_QUOTED);
	assert_pos(lit, 2, 3);
	const struct ynode *fold = ynode_get(root, "fold");
	assert_string_equal(fold->scalar, "\nfolded text");
	assert_pos(fold, 6, 5);
}

static void test_documents_keep_file_order_and_empty_ones_are_skipped(void **state)
{
	struct fixture *f = *state;
	const char *yaml =
		"a: 1\n"
		"---\n"
		"b: 2\n"
		"---\n"
		"# nothing here\n"
		"---\n"
		"c: 3\n";
	assert_true(load(f, yaml));
	assert_int_equal(f->set.count, 3);
	assert_int_equal(f->set.docs[0].index, 0);
	assert_int_equal(f->set.docs[1].index, 1);
	assert_int_equal(f->set.docs[2].index, 3);
	assert_non_null(ynode_get(f->set.docs[0].root, "a"));
	assert_non_null(ynode_get(f->set.docs[2].root, "c"));
	assert_pos(f->set.docs[2].root, 7, 1);
	assert_string_equal(f->set.docs[2].file, "t.yaml");
}

static void test_syntax_error_is_reported_at_its_position(void **state)
{
	struct fixture *f = *state;
	assert_false(load(f, "a: 1\nkey: value: x\n"));
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, "t.yaml:2:11: error: mapping values are not allowed in this context");
}

static void test_unclosed_flow_sequence_names_its_context(void **state)
{
	struct fixture *f = *state;
	assert_false(load(f, "a: [1, 2\nb: 3\n"));
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, "t.yaml:2:2: error: did not find expected ',' or ']' "
			  "(while parsing a flow sequence at line 1 column 4)");
}

static void test_anchors_and_aliases_are_refused(void **state)
{
	struct fixture *f = *state;
	assert_false(load(f, "a: &x 1\nb: *x\n"));
	assert_int_equal(f->dl.count, 2);
	assert_diag(f, 0, "t.yaml:1:4: error: anchors are not supported (\"&x\")");
	assert_diag(f, 1, "t.yaml:2:4: error: aliases are not supported (\"*x\")");
}

static void test_duplicate_key_is_refused_and_the_first_kept(void **state)
{
	struct fixture *f = *state;
	assert_false(load(f, "a: 1\nb: 2\na: 3\n"));
	assert_int_equal(f->dl.count, 2);
	assert_diag(f, 0, "t.yaml:3:1: error: duplicate key \"a\"");
	assert_diag(f, 1, "t.yaml:1:1: note: \"a\" first defined here");
	const struct ynode *root = f->set.docs[0].root;
	assert_int_equal(root->count, 2);
	assert_string_equal(ynode_get(root, "a")->scalar, "1");
}

static void test_str_tag_makes_a_string(void **state)
{
	struct fixture *f = *state;
	assert_true(load(f, "port: !!str 80\nn: 80\n"));
	const struct ynode *root = f->set.docs[0].root;
	assert_int_equal(ynode_get(root, "port")->style, YSCALAR_QUOTED);
	assert_int_equal(ynode_get(root, "n")->style, YSCALAR_PLAIN);
}

static void test_nulls_are_recognised(void **state)
{
	struct fixture *f = *state;
	assert_true(load(f, "a:\nb: ~\nc: null\nd: \"\"\ne: nil\n"));
	const struct ynode *root = f->set.docs[0].root;
	assert_true(ynode_is_null(ynode_get(root, "a")));
	assert_true(ynode_is_null(ynode_get(root, "b")));
	assert_true(ynode_is_null(ynode_get(root, "c")));
	assert_false(ynode_is_null(ynode_get(root, "d")));
	assert_false(ynode_is_null(ynode_get(root, "e")));
	assert_null(ynode_get(root, "zz"));
}

static void test_deep_nesting_is_refused(void **state)
{
	struct fixture *f = *state;
	char yaml[1024];
	size_t n = 0;
	for (int i = 0; i < 200; i++)
		yaml[n++] = '[';
	for (int i = 0; i < 200; i++)
		yaml[n++] = ']';
	yaml[n] = '\0';
	assert_false(load(f, yaml));
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, "t.yaml:1:129: error: nesting deeper than 128 levels");
}

/* ---- directories ---- */

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void make_dir(const char *dir, const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_directory_is_read_recursively_in_bytewise_path_order(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test_ydoc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	make_dir(dir, "a");
	make_dir(dir, "z");
	make_dir(dir, "z/y");
	make_dir(dir, ".git");
	write_file(dir, "b.yaml", "n: b\n");
	write_file(dir, "a.yaml", "n: a\n");
	write_file(dir, "a/x.yaml", "n: a-x\n---\nn: a-x-2\n");
	write_file(dir, "a/.hidden.yaml", "n: hidden\n");
	write_file(dir, ".git/config.yaml", "n: git\n");
	write_file(dir, "C.yml", "n: C\n");
	write_file(dir, "notes.txt", "n: txt\n");
	write_file(dir, "z/y/deep.yaml", "n: deep\n");

	assert_true(ydoc_load_dir(&f->a, dir, &f->set, &f->dl));
	assert_int_equal(f->dl.count, 0);
	/* '/' (0x2f) sorts after '.' (0x2e) and 'C' before 'a' */
	static const char *const want[][2] = {
		{ "C.yml", "C" }, { "a.yaml", "a" }, { "a/x.yaml", "a-x" }, { "a/x.yaml", "a-x-2" },
		{ "b.yaml", "b" }, { "z/y/deep.yaml", "deep" },
	};
	assert_int_equal(f->set.count, 6);
	for (size_t i = 0; i < 6; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, want[i][0]);
		assert_string_equal(f->set.docs[i].file, path);
		assert_string_equal(ynode_get(f->set.docs[i].root, "n")->scalar, want[i][1]);
	}
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_directory_reports_syntax_errors_with_the_joined_path(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test_ydoc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	make_dir(dir, "sub");
	write_file(dir, "sub/bad.yaml", "a: 1\n b: 2\n");
	write_file(dir, "good.yaml", "n: 1\n");
	assert_false(ydoc_load_dir(&f->a, dir, &f->set, &f->dl));
	assert_int_equal(f->set.count, 1);
	char want[600];
	snprintf(want, sizeof want, "%s/sub/bad.yaml:2:3: error: mapping values are not allowed in this context", dir);
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, want);
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_missing_directory_is_an_error(void **state)
{
	struct fixture *f = *state;
	assert_false(ydoc_load_dir(&f->a, "/nonexistent/gatewayd-test", &f->set, &f->dl));
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, "/nonexistent/gatewayd-test: error: cannot read directory: No such file or directory");
}

static void test_unreadable_file_is_reported(void **state)
{
	struct fixture *f = *state;
	/* root reads anything; the dangling-symlink test below covers the report there
	 * (cmocka's skip() prints "not ok # SKIP", which the TAP driver counts as a failure) */
	if (geteuid() == 0)
		return;
	char dir[] = "/tmp/test_ydoc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_file(dir, "secret.yaml", "n: 1\n");
	char path[512];
	snprintf(path, sizeof path, "%s/secret.yaml", dir);
	assert_int_equal(chmod(path, 0), 0);
	assert_false(ydoc_load_dir(&f->a, dir, &f->set, &f->dl));
	char want[600];
	snprintf(want, sizeof want, "%s: error: cannot open: Permission denied", path);
	assert_diag(f, 0, want);
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_dangling_yaml_symlink_is_reported(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test_ydoc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[512];
	snprintf(path, sizeof path, "%s/gone.yaml", dir);
	assert_int_equal(symlink("/nonexistent/gatewayd-test.yaml", path), 0);
	write_file(dir, "ok.yaml", "n: 1\n");
	assert_false(ydoc_load_dir(&f->a, dir, &f->set, &f->dl));
	assert_int_equal(f->set.count, 1);
	char want[600];
	snprintf(want, sizeof want, "%s: error: cannot read: No such file or directory", path);
	assert_int_equal(f->dl.count, 1);
	assert_diag(f, 0, want);
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_positions_are_one_based_for_scalars_maps_and_sequences),
		T(test_block_scalars_report_the_line_their_content_starts_on),
		T(test_documents_keep_file_order_and_empty_ones_are_skipped),
		T(test_syntax_error_is_reported_at_its_position),
		T(test_unclosed_flow_sequence_names_its_context),
		T(test_anchors_and_aliases_are_refused),
		T(test_duplicate_key_is_refused_and_the_first_kept),
		T(test_str_tag_makes_a_string),
		T(test_nulls_are_recognised),
		T(test_deep_nesting_is_refused),
		T(test_directory_is_read_recursively_in_bytewise_path_order),
		T(test_directory_reports_syntax_errors_with_the_joined_path),
		T(test_missing_directory_is_an_error),
		T(test_unreadable_file_is_reported),
		T(test_dangling_yaml_symlink_is_reported),
#undef T
	};
	return UNIT_RUN(tests);
}
