/* SPDX-License-Identifier: MIT */
/* ydoc: libyaml's event stream -> ynode trees in the caller's arena, with a 1-based
 * file:line:col on every node. Keeps the invariants ydoc.h promises: map keys are
 * scalars and unique, no anchors or aliases survive, empty documents are dropped. */
#include "yaml/ydoc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "base/log.h"

/* A config tree deeper than this is a mistake or an attack; the decoders and the
 * content hash recurse over the tree, so the bound also bounds their stacks. */
#define YDOC_MAX_DEPTH 128
/* Gateway API objects are small; this only stops a stray huge file. */
#define YDOC_MAX_FILE_BYTES (64u << 20)
/* Directory nesting under config_dir (also stops symlink loops). */
#define YDOC_MAX_DIR_DEPTH 32

struct yframe {
	struct ynode *node;
	size_t cap;                  /* room in node->pairs / node->items */
	struct ynode *key;           /* map: key waiting for its value */
};

struct yloader {
	struct arena *a;
	struct diag_list *dl;
	const char *file;
	const unsigned char *data;
	size_t len;
	size_t *line_starts;         /* byte offset of each line, for block scalars */
	size_t nlines;
	struct yframe stack[YDOC_MAX_DEPTH];
	size_t depth;
	size_t skip_depth;           /* >0: inside a subtree that is too deep, dropped */
	bool ok;
};

/* ---- line table: libyaml's marks count characters, block scalars need bytes ---- */

static void yloader_index_lines(struct yloader *l)
{
	size_t n = 1;
	for (size_t i = 0; i < l->len; i++)
		if (l->data[i] == '\n' || (l->data[i] == '\r' && (i + 1 >= l->len || l->data[i + 1] != '\n')))
			n++;
	l->line_starts = arena_alloc(l->a, n * sizeof *l->line_starts);
	l->nlines = 0;
	l->line_starts[l->nlines++] = 0;
	for (size_t i = 0; i < l->len; i++)
		if (l->data[i] == '\n' || (l->data[i] == '\r' && (i + 1 >= l->len || l->data[i + 1] != '\n')))
			l->line_starts[l->nlines++] = i + 1;
}

/* A literal or folded scalar's mark is its "|" or ">" indicator; the content starts
 * on a following line. Report the first line that has content, at its indentation
 * (yoml and h2o do the same), so a diagnostic points at the text the user wrote. */
static void yloader_block_scalar_pos(const struct yloader *l, size_t line0, int *line, int *col)
{
	for (size_t ln = line0 + 1; ln < l->nlines; ln++) {
		size_t p = l->line_starts[ln];
		size_t end = ln + 1 < l->nlines ? l->line_starts[ln + 1] : l->len;
		size_t q = p;
		while (q < end && l->data[q] == ' ')
			q++;
		if (q < end && l->data[q] != '\n' && l->data[q] != '\r') {
			*line = (int)ln + 1;
			*col = (int)(q - p) + 1;
			return;
		}
	}
	*line = (int)line0 + 2;
	*col = 1;
}

static void yloader_offset_pos(const struct yloader *l, size_t off, int *line, int *col)
{
	size_t lo = 0, hi = l->nlines;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (int)lo + 1;
	*col = (int)(off - l->line_starts[lo]) + 1;
}

/* ---- tree building ---- */

static struct ynode *yloader_node(struct yloader *l, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n = arena_alloc(l->a, sizeof *n);
	n->kind = kind;
	n->file = l->file;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static void yloader_error(struct yloader *l, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void yloader_error(struct yloader *l, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(l->dl, DIAG_ERROR, l->file, (int)m->line + 1, (int)m->column + 1, fmt, ap);
	va_end(ap);
	l->ok = false;
}

static int ykey_cmp(const struct ynode *ka, const struct ynode *kb)
{
	size_t n = ka->scalar_len < kb->scalar_len ? ka->scalar_len : kb->scalar_len;
	int c = memcmp(ka->scalar, kb->scalar, n);
	if (c)
		return c;
	return ka->scalar_len < kb->scalar_len ? -1 : ka->scalar_len > kb->scalar_len;
}

static int ypair_cmp(const void *x, const void *y)
{
	const struct ypair *const *a = x, *const *b = y;
	int c = ykey_cmp((*a)->key, (*b)->key);
	if (c)
		return c;
	/* equal keys: document order, so the first of a run is the original */
	return *a < *b ? -1 : *a > *b;
}

/* Kubernetes refuses a mapping with a repeated key (sigs.k8s.io/yaml strict mode), and
 * silently taking the first or the last would hide a typo. Sorting keeps this
 * O(n log n) on hostile input; the report follows document order. */
static void yloader_check_duplicates(struct yloader *l, struct ynode *map)
{
	if (map->count < 2)
		return;
	/* Most mappings have a handful of keys: compare pairwise, allocating nothing,
	 * and sort only when there is a repeat to report or the map is large. */
	if (map->count <= 16) {
		bool repeat = false;
		for (size_t i = 1; i < map->count && !repeat; i++)
			for (size_t j = 0; j < i && !repeat; j++)
				repeat = ykey_cmp(map->pairs[i].key, map->pairs[j].key) == 0;
		if (!repeat)
			return;
	}
	struct ypair **sorted = arena_alloc(l->a, map->count * sizeof *sorted);
	for (size_t i = 0; i < map->count; i++)
		sorted[i] = &map->pairs[i];
	qsort(sorted, map->count, sizeof *sorted, ypair_cmp);
	/* orig[i]: for a repeated key at pairs[i], the pair that came first */
	const struct ypair **orig = arena_alloc(l->a, map->count * sizeof *orig);
	const struct ypair *run = sorted[0];
	bool any = false;
	for (size_t i = 1; i < map->count; i++) {
		if (ykey_cmp(run->key, sorted[i]->key) != 0) {
			run = sorted[i];
			continue;
		}
		orig[sorted[i] - map->pairs] = run;
		any = true;
	}
	if (!any)
		return;
	/* copy the originals out before compacting moves them */
	struct ypair *copy = arena_alloc(l->a, map->count * sizeof *copy);
	memcpy(copy, map->pairs, map->count * sizeof *copy);
	size_t kept = 0;
	for (size_t i = 0; i < map->count; i++) {
		if (!orig[i]) {
			map->pairs[kept++] = copy[i];
			continue;
		}
		const struct ynode *k = copy[i].key, *k0 = copy[orig[i] - map->pairs].key;
		diag_add(l->dl, DIAG_ERROR, l->file, k->line, k->col, "duplicate key \"%s\"", k->scalar);
		diag_add(l->dl, DIAG_NOTE, l->file, k0->line, k0->col, "\"%s\" first defined here", k0->scalar);
		l->ok = false;
	}
	map->count = kept;
}

/* Attaches a finished node to the collection on top of the stack, or makes it the
 * document root. */
static void yloader_attach(struct yloader *l, struct ynode *n, struct ynode **root)
{
	if (l->depth == 0) {
		*root = n;
		return;
	}
	struct yframe *f = &l->stack[l->depth - 1];
	struct ynode *parent = f->node;
	if (parent->kind == YNODE_SEQ) {
		if (parent->count == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 4;
			parent->items = arena_grow(l->a, parent->items, parent->count, cap, sizeof *parent->items);
			f->cap = cap;
		}
		parent->items[parent->count++] = n;
		return;
	}
	if (!f->key) {
		f->key = n;
		return;
	}
	struct ynode *key = f->key;
	f->key = NULL;
	if (key->kind != YNODE_SCALAR) {
		diag_add(l->dl, DIAG_ERROR, l->file, key->line, key->col, "mapping keys must be scalars");
		l->ok = false;
		return;
	}
	if (parent->count == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		parent->pairs = arena_grow(l->a, parent->pairs, parent->count, cap, sizeof *parent->pairs);
		f->cap = cap;
	}
	parent->pairs[parent->count].key = key;
	parent->pairs[parent->count].value = n;
	parent->count++;
}

static bool yloader_refuse_anchor(struct yloader *l, const yaml_event_t *ev, const yaml_char_t *anchor)
{
	if (!anchor)
		return false;
	yloader_error(l, &ev->start_mark, "anchors are not supported (\"&%s\")", (const char *)anchor);
	return true;
}

#define YTAG_PREFIX "tag:yaml.org,2002:"

/* Resolves a scalar's explicit tag: "!!str 80" is the string "80"; "!!int 80" stays
 * a plain scalar for the decoder to type; anything else is refused. */
static bool yloader_scalar_tag(struct yloader *l, const yaml_event_t *ev, enum yscalar_style *style)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	if (!tag)
		return true;
	if (strcmp(tag, "!") == 0 || strcmp(tag, YTAG_PREFIX "str") == 0) {
		*style = YSCALAR_QUOTED;
		return true;
	}
	if (strcmp(tag, YTAG_PREFIX "int") == 0 || strcmp(tag, YTAG_PREFIX "bool") == 0 ||
	    strcmp(tag, YTAG_PREFIX "null") == 0 || strcmp(tag, YTAG_PREFIX "float") == 0) {
		*style = YSCALAR_PLAIN;
		return true;
	}
	yloader_error(l, &ev->start_mark, "unsupported tag \"%s\"", tag);
	return false;
}

static bool yloader_collection_tag(struct yloader *l, const yaml_event_t *ev, const char *tag,
				   const char *expected)
{
	if (!tag || strcmp(tag, "!") == 0 || strcmp(tag, expected) == 0)
		return true;
	yloader_error(l, &ev->start_mark, "unsupported tag \"%s\"", tag);
	return false;
}

static void yloader_scalar(struct yloader *l, const yaml_event_t *ev, struct ynode **root)
{
	if (l->skip_depth)
		return;
	yloader_refuse_anchor(l, ev, ev->data.scalar.anchor);
	struct ynode *n = yloader_node(l, YNODE_SCALAR, &ev->start_mark);
	n->scalar = arena_strndup(l->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	n->scalar_len = ev->data.scalar.length;
	switch (ev->data.scalar.style) {
	case YAML_PLAIN_SCALAR_STYLE:
	case YAML_ANY_SCALAR_STYLE:
		n->style = YSCALAR_PLAIN;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		yloader_block_scalar_pos(l, ev->start_mark.line, &n->line, &n->col);
		n->style = YSCALAR_QUOTED;
		break;
	default:
		n->style = YSCALAR_QUOTED;
		break;
	}
	yloader_scalar_tag(l, ev, &n->style);
	yloader_attach(l, n, root);
}

static void yloader_start(struct yloader *l, const yaml_event_t *ev, enum ynode_kind kind)
{
	const yaml_char_t *anchor = kind == YNODE_MAP ? ev->data.mapping_start.anchor
						      : ev->data.sequence_start.anchor;
	const yaml_char_t *tag = kind == YNODE_MAP ? ev->data.mapping_start.tag
						   : ev->data.sequence_start.tag;
	if (l->skip_depth) {
		l->skip_depth++;
		return;
	}
	if (l->depth == YDOC_MAX_DEPTH) {
		yloader_error(l, &ev->start_mark, "nesting deeper than %d levels", YDOC_MAX_DEPTH);
		l->skip_depth = 1;
		return;
	}
	yloader_refuse_anchor(l, ev, anchor);
	yloader_collection_tag(l, ev, (const char *)tag, kind == YNODE_MAP ? YTAG_PREFIX "map" : YTAG_PREFIX "seq");
	struct yframe *f = &l->stack[l->depth++];
	f->node = yloader_node(l, kind, &ev->start_mark);
	f->cap = 0;
	f->key = NULL;
}

static void yloader_end(struct yloader *l, struct ynode **root)
{
	if (l->skip_depth) {
		l->skip_depth--;
		return;
	}
	struct ynode *n = l->stack[--l->depth].node;
	if (n->kind == YNODE_MAP)
		yloader_check_duplicates(l, n);
	yloader_attach(l, n, root);
}

static void yloader_alias(struct yloader *l, const yaml_event_t *ev, struct ynode **root)
{
	yloader_error(l, &ev->start_mark, "aliases are not supported (\"*%s\")",
		      (const char *)ev->data.alias.anchor);
	if (l->skip_depth)
		return;
	/* stand-in so the surrounding mapping stays well formed */
	struct ynode *n = yloader_node(l, YNODE_SCALAR, &ev->start_mark);
	n->scalar = "";
	yloader_attach(l, n, root);
}

static void yloader_push_doc(struct yloader *l, struct ydoc_set *set, size_t *cap, int index,
			     struct ynode *root)
{
	/* An empty document ("---" alone, or only comments) holds nothing to decode. */
	if (!root || ynode_is_null(root))
		return;
	if (set->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		set->docs = arena_grow(l->a, set->docs, set->count, ncap, sizeof *set->docs);
		*cap = ncap;
	}
	struct ydoc *d = &set->docs[set->count++];
	d->file = l->file;
	d->index = index;
	d->root = root;
}

static void yloader_syntax_error(struct yloader *l, const yaml_parser_t *p)
{
	int line, col;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_MEMORY_ERROR)
		fatalx("out of memory while parsing %s", l->file);
	if (p->error == YAML_READER_ERROR) {
		yloader_offset_pos(l, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			diag_add(l->dl, DIAG_ERROR, l->file, line, col, "%s: #%X", problem, (unsigned)p->problem_value);
		else
			diag_add(l->dl, DIAG_ERROR, l->file, line, col, "%s", problem);
	} else {
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context)
			diag_add(l->dl, DIAG_ERROR, l->file, line, col, "%s (%s at line %d column %d)", problem,
				 p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		else
			diag_add(l->dl, DIAG_ERROR, l->file, line, col, "%s", problem);
	}
	l->ok = false;
}

/* *cap is the room in set->docs; set->count when unknown (the first document then
 * reallocates). ydoc_load_dir keeps it across files so the array only doubles. */
static bool yparse(struct arena *a, const char *file, const char *data, size_t len,
		   struct ydoc_set *set, size_t *cap, struct diag_list *dl)
{
	struct yloader l = {
		.a = a, .dl = dl, .file = arena_strdup(a, file),
		.data = (const unsigned char *)data, .len = len, .ok = true,
	};
	yloader_index_lines(&l);

	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		fatalx("out of memory (yaml parser)");
	yaml_parser_set_input_string(&p, l.data, len);

	struct ynode *root = NULL;
	int index = 0;
	for (bool done = false; !done;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			yloader_syntax_error(&l, &p);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			root = NULL;
			l.depth = 0;
			l.skip_depth = 0;
			break;
		case YAML_DOCUMENT_END_EVENT:
			yloader_push_doc(&l, set, cap, index++, root);
			root = NULL;
			break;
		case YAML_SCALAR_EVENT:
			yloader_scalar(&l, &ev, &root);
			break;
		case YAML_SEQUENCE_START_EVENT:
			yloader_start(&l, &ev, YNODE_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			yloader_start(&l, &ev, YNODE_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			yloader_end(&l, &root);
			break;
		case YAML_ALIAS_EVENT:
			yloader_alias(&l, &ev, &root);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return l.ok;
}

bool ydoc_load_buffer(struct arena *a, const char *file, const char *data, size_t len,
		      struct ydoc_set *set, struct diag_list *dl)
{
	size_t cap = set->count;
	return yparse(a, file, data, len, set, &cap, dl);
}

/* Reads the whole file (nodes copy what they keep, so the text is freed after). */
static bool yload_file(struct arena *a, const char *file, struct ydoc_set *set, size_t *cap,
		       struct diag_list *dl)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot open: %s", strerror(errno));
		return false;
	}
	struct stat st;
	const char *problem = NULL;
	if (fstat(fd, &st) < 0)
		problem = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	else if ((uintmax_t)st.st_size > YDOC_MAX_FILE_BYTES)
		problem = "file too large";
	if (problem) {
		diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot read: %s", problem);
		close(fd);
		return false;
	}
	char *data = NULL;
	size_t len = 0, size = 0;
	bool ok = true;
	for (;;) {
		if (len == size) {
			/* st_size is a hint only: the file may grow or shrink while we read */
			size_t nsize = size ? size * 2 : (size_t)st.st_size + 1;
			if (size > YDOC_MAX_FILE_BYTES) {
				diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot read: file too large");
				ok = false;
				break;
			}
			char *ndata = realloc(data, nsize);
			if (!ndata)
				fatalx("out of memory reading %s", file);
			data = ndata;
			size = nsize;
		}
		ssize_t n = read(fd, data + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot read: %s", strerror(errno));
			ok = false;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (ok)
		ok = yparse(a, file, data, len, set, cap, dl);
	free(data);
	return ok;
}

bool ydoc_load_file(struct arena *a, const char *file, struct ydoc_set *set, struct diag_list *dl)
{
	size_t cap = set->count;
	return yload_file(a, file, set, &cap, dl);
}

/* ---- directories ---- */

struct ywalk {
	struct arena *a;
	struct diag_list *dl;
	char **paths;
	size_t count, cap;
	struct { dev_t dev; ino_t ino; } seen[YDOC_MAX_DIR_DEPTH + 1];
	bool ok;
};

static bool ywalk_is_yaml(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static void ywalk_add(struct ywalk *w, char *path)
{
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		w->paths = arena_grow(w->a, w->paths, w->count, cap, sizeof *w->paths);
		w->cap = cap;
	}
	w->paths[w->count++] = path;
}

static void ywalk_dir(struct ywalk *w, const char *dir, int depth)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		diag_add(w->dl, DIAG_ERROR, dir, 0, 0, "cannot read directory: %s", strerror(errno));
		w->ok = false;
		return;
	}
	for (int i = 0; i < depth; i++) {
		if (w->seen[i].dev == st.st_dev && w->seen[i].ino == st.st_ino) {
			diag_add(w->dl, DIAG_ERROR, dir, 0, 0, "directory loop (a symbolic link to a parent), skipped");
			w->ok = false;
			return;
		}
	}
	if (depth > YDOC_MAX_DIR_DEPTH) {
		diag_add(w->dl, DIAG_ERROR, dir, 0, 0, "directories nested deeper than %d levels, skipped",
			 YDOC_MAX_DIR_DEPTH);
		w->ok = false;
		return;
	}
	w->seen[depth].dev = st.st_dev;
	w->seen[depth].ino = st.st_ino;

	DIR *d = opendir(dir);
	if (!d) {
		diag_add(w->dl, DIAG_ERROR, dir, 0, 0, "cannot read directory: %s", strerror(errno));
		w->ok = false;
		return;
	}
	size_t dlen = strlen(dir);
	bool slash = dlen > 0 && dir[dlen - 1] == '/';
	struct dirent *de;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (de->d_name[0] == '.')
			continue; /* ".", ".." and hidden files (editor swap files, .git) */
		char *path = arena_printf(w->a, "%s%s%s", dir, slash ? "" : "/", de->d_name);
		struct stat est;
		if (stat(path, &est) < 0) {
			if (ywalk_is_yaml(de->d_name)) {
				diag_add(w->dl, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
				w->ok = false;
			}
			continue;
		}
		if (S_ISDIR(est.st_mode))
			ywalk_dir(w, path, depth + 1);
		else if (S_ISREG(est.st_mode) && ywalk_is_yaml(de->d_name))
			ywalk_add(w, path);
	}
	if (errno) {
		diag_add(w->dl, DIAG_ERROR, dir, 0, 0, "cannot read directory: %s", strerror(errno));
		w->ok = false;
	}
	closedir(d);
}

static int ywalk_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

bool ydoc_load_dir(struct arena *a, const char *dir, struct ydoc_set *set, struct diag_list *dl)
{
	struct ywalk w = { .a = a, .dl = dl, .ok = true };
	ywalk_dir(&w, dir, 0);
	/* DESIGN.md: load order is the files sorted by path, bytewise (strcmp compares
	 * as unsigned char), so creationTimestamp ties break the same way everywhere. */
	if (w.count > 1)
		qsort(w.paths, w.count, sizeof *w.paths, ywalk_cmp);
	size_t cap = set->count;
	for (size_t i = 0; i < w.count; i++)
		if (!yload_file(a, w.paths[i], set, &cap, dl))
			w.ok = false;
	return w.ok;
}

/* ---- lookups ---- */

struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->count; i++) {
		const struct ynode *k = map->pairs[i].key;
		if (k->scalar_len == klen && memcmp(k->scalar, key, klen) == 0)
			return map->pairs[i].value;
	}
	return NULL;
}

bool ynode_is_null(const struct ynode *n)
{
	if (!n || n->kind != YNODE_SCALAR || n->style != YSCALAR_PLAIN)
		return false;
	/* The length decides first: only "", "~" and the three spellings of null
	 * (with no NUL inside) are null. */
	const char *s = n->scalar;
	switch (n->scalar_len) {
	case 0:
		return s[0] == '\0';
	case 1:
		return s[0] == '~';
	case 4:
		return memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
		       memcmp(s, "NULL", 4) == 0;
	default:
		return false;
	}
}
