/* SPDX-License-Identifier: MIT */
/* ydoc: YAML files -> node trees (libyaml), every node with its file:line:col.
 * All memory lives in the caller's arena. Anchors/aliases are refused (a config
 * is data, and aliases are the classic "billion laughs" amplifier). */
#ifndef GW_YAML_YDOC_H
#define GW_YAML_YDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/diag.h"

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

/* How a scalar was written: a plain scalar may be a number, bool or null;
 * a quoted or block scalar is always a string. */
enum yscalar_style { YSCALAR_PLAIN, YSCALAR_QUOTED };

struct ynode;

struct ypair {
	struct ynode *key;   /* always a scalar */
	struct ynode *value;
};

struct ynode {
	enum ynode_kind kind;
	enum yscalar_style style; /* YNODE_SCALAR (next to kind: a 10,000-route file has
				     half a million nodes, padding counts) */
	const char *file;    /* path as given to ydoc_load_*, shared by all nodes of a file */
	int line, col;       /* 1-based, where the node's content starts */
	/* YNODE_SCALAR */
	const char *scalar;  /* NUL-terminated (may contain NULs before scalar_len) */
	size_t scalar_len;
	/* YNODE_MAP: pairs[count]; YNODE_SEQ: items[count] */
	struct ypair *pairs;
	struct ynode **items;
	size_t count;
};

struct ydoc {
	const char *file;     /* path of the file the document came from */
	int index;            /* 0-based position of the document within its file */
	struct ynode *root;   /* NULL for an empty document */
};

struct ydoc_set {
	struct ydoc *docs;    /* in load order: files sorted by path (bytewise), documents in file order */
	size_t count;
};

/* Parses every document of one file (or of a buffer when data != NULL; file is then only
 * the name used in positions). Appends to set. Returns false on a syntax error, which is
 * reported to dl as file:line:col. */
bool ydoc_load_file(struct arena *a, const char *file, struct ydoc_set *set, struct diag_list *dl);
bool ydoc_load_buffer(struct arena *a, const char *file, const char *data, size_t len,
		      struct ydoc_set *set, struct diag_list *dl);
/* Reads dir recursively: every *.yaml and *.yml file, skipping hidden files and folders.
 * display_prefix replaces dir in reported paths (NULL: use dir as given). */
bool ydoc_load_dir(struct arena *a, const char *dir, struct ydoc_set *set, struct diag_list *dl);

/* Map lookup by key; NULL when absent or when map is not a map. */
struct ynode *ynode_get(const struct ynode *map, const char *key);
/* Is this a plain null scalar ("", "~", "null", "Null", "NULL")? */
bool ynode_is_null(const struct ynode *n);

#endif
