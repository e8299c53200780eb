/* SPDX-License-Identifier: MIT */
/* replay_main: main() for the fuzz targets when they are built without libFuzzer.
 * It feeds every file of tests/fuzz/corpus/<name>/ (name = the program's basename
 * without "fuzz_", e.g. corpus/h1_request/ for fuzz_h1_request) to
 * LLVMFuzzerTestOneInput and prints TAP, so each corpus file, crash reproducers
 * included, is a regression test under make check. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay_list {
	char **paths;
	size_t count, cap;
};

static void replay_add(struct replay_list *l, const char *dir, const char *name)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->paths = realloc(l->paths, l->cap * sizeof *l->paths);
		if (!l->paths) {
			perror("replay");
			exit(1);
		}
	}
	size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	char *p = malloc(n);
	if (!p) {
		perror("replay");
		exit(1);
	}
	snprintf(p, n, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	l->paths[l->count++] = p;
}

static int replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or the regular files of the directory path in name order. */
static int replay_collect(struct replay_list *l, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		replay_add(l, NULL, path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	size_t first = l->count;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		replay_add(l, path, e->d_name);
	}
	closedir(d);
	if (l->count > first)
		qsort(l->paths + first, l->count - first, sizeof *l->paths, replay_cmp);
	return 0;
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 4096, len = 0;
	uint8_t *data = malloc(cap);
	while (data) {
		len += fread(data + len, 1, cap - len, f);
		if (len < cap)
			break;
		uint8_t *bigger = realloc(data, cap *= 2);
		if (!bigger)
			free(data);
		data = bigger;
	}
	int err = ferror(f);
	fclose(f);
	if (!data || err) {
		free(data);
		return -1;
	}
	/* An exact-size copy, so that ASan sees any read past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	memcpy(exact, data, len);
	free(data);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

/* $GW_SRCDIR (set by make check), else the source directory this file was compiled
 * from, which holds for a build tree run by hand. */
static void replay_default_dir(char *out, size_t size, const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if (strncmp(base, "fuzz_", 5) == 0)
		base += 5;
	const char *src = getenv("GW_SRCDIR");
	if (src && *src) {
		snprintf(out, size, "%s/tests/fuzz/corpus/%s", src, base);
		return;
	}
	const char *self = __FILE__;
	const char *slash = strrchr(self, '/');
	int dirlen = slash ? (int)(slash - self) : 1;
	snprintf(out, size, "%.*s/corpus/%s", dirlen, slash ? self : ".", base);
}

/* "corpus/h1_request/x" is shorter than the full path and still unique. */
static const char *replay_shown(const char *path)
{
	const char *last = strrchr(path, '/');
	if (!last || last == path)
		return path;
	const char *prev = last - 1;
	while (prev > path && *prev != '/')
		prev--;
	return *prev == '/' ? prev + 1 : prev;
}

int main(int argc, char **argv)
{
	struct replay_list l = {0};
	char dir[4096];
	int rc = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if (replay_collect(&l, argv[i]) != 0) {
				printf("Bail out! %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
		}
	} else {
		replay_default_dir(dir, sizeof dir, argv[0]);
		if (replay_collect(&l, dir) != 0) {
			printf("Bail out! %s: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	if (l.count == 0)
		printf("1..0 # SKIP empty corpus\n");
	else
		printf("1..%zu\n", l.count);
	for (size_t i = 0; i < l.count; i++) {
		/* A crash ends the program here; the TAP driver reports the missing results. */
		fflush(stdout);
		if (replay_file(l.paths[i]) != 0) {
			printf("not ok %zu - %s: %s\n", i + 1, replay_shown(l.paths[i]), strerror(errno));
			rc = 1;
		} else {
			printf("ok %zu - %s\n", i + 1, replay_shown(l.paths[i]));
		}
		free(l.paths[i]);
	}
	free(l.paths);
	return rc;
}
