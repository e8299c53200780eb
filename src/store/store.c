/* SPDX-License-Identifier: MIT */
/* store: generations in LMDB. Named databases: "generations" (number -> image),
 * "info" (number -> time, length, digest), "meta" (current, last number, layout),
 * "objects" (object key -> generation, content hash). Numbers are 8-byte big-endian
 * keys so that LMDB's bytewise order is numeric order. The daemon is the only writer;
 * every change is one write transaction. */
#include "config.h"

#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Bump when the meaning of any key or value below changes. */
#define STORE_LAYOUT_VERSION 1u

/* The map is address space, not disk: the file grows only as pages are used. */
#define STORE_MAP_SIZE (sizeof(void *) >= 8 ? (size_t)1 << 30 : (size_t)256 << 20)
#define STORE_MAX_READERS 1024

struct store_info_rec {
	uint64_t created;
	uint64_t len;        /* image bytes (the stored value may be padded) */
	char digest[64];
};

struct store_objgen_rec {
	uint64_t generation;
	uint64_t hash;
};

struct store_pending {
	char *key;           /* owned */
	uint64_t generation;
	uint64_t hash;
};

struct store {
	MDB_env *env;
	MDB_dbi gens, info, meta, objs;
	bool read_only;
	bool empty;          /* read-only on an environment without our databases */
	size_t page_size;
	/* object generations computed during a pipeline run, written by the next commit */
	struct store_pending *pending;
	size_t npending, cap_pending;
};

/* ---- helpers ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* MDB_* codes stop here: callers get sentences. */
static const char *store_strerror(int rc)
{
	switch (rc) {
	case MDB_MAP_FULL: return "the LMDB map is full (too many or too large generations)";
	case MDB_READERS_FULL: return "too many open snapshots (LMDB reader table full)";
	case MDB_VERSION_MISMATCH: return "written by an incompatible LMDB version";
	case MDB_INVALID: return "not an LMDB environment";
	case MDB_CORRUPTED: return "the LMDB environment is corrupted";
	case MDB_PANIC: return "LMDB fatal error";
	case MDB_NOTFOUND: return "not found";
	default: return mdb_strerror(rc);
	}
}

static void gen_key(uint64_t gen, unsigned char k[8])
{
	for (int i = 7; i >= 0; i--) {
		k[i] = (unsigned char)(gen & 0xff);
		gen >>= 8;
	}
}

static uint64_t gen_from_key(const MDB_val *v)
{
	uint64_t g = 0;
	const unsigned char *k = v->mv_data;
	if (v->mv_size != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		g = g << 8 | k[i];
	return g;
}

static uint64_t meta_get(struct store *st, MDB_txn *txn, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	uint64_t n = 0;
	if (st->empty || mdb_get(txn, st->meta, &k, &v) != 0 || v.mv_size != sizeof n)
		return 0;
	memcpy(&n, v.mv_data, sizeof n);
	return n;
}

static int meta_put(struct store *st, MDB_txn *txn, const char *name, uint64_t n)
{
	MDB_val k = {strlen(name), (void *)name}, v = {sizeof n, &n};
	return mdb_put(txn, st->meta, &k, &v, 0);
}

static bool gen_exists(struct store *st, MDB_txn *txn, uint64_t gen)
{
	unsigned char kb[8];
	gen_key(gen, kb);
	MDB_val k = {8, kb}, v;
	return !st->empty && mdb_get(txn, st->info, &k, &v) == 0;
}

static void pending_clear(struct store *st)
{
	for (size_t i = 0; i < st->npending; i++)
		free(st->pending[i].key);
	st->npending = 0;
}

/* ---- open / close ---- */

static int open_dbis(struct store *st, char *err, size_t errlen, const char *dir)
{
	MDB_txn *txn;
	unsigned flags = st->read_only ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(st->env, NULL, st->read_only ? MDB_RDONLY : 0, &txn);
	if (rc) {
		set_err(err, errlen, "%s: %s", dir, store_strerror(rc));
		return -1;
	}
	if ((rc = mdb_dbi_open(txn, "generations", flags, &st->gens)) == 0 &&
	    (rc = mdb_dbi_open(txn, "info", flags, &st->info)) == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", flags, &st->meta)) == 0)
		rc = mdb_dbi_open(txn, "objects", flags, &st->objs);
	if (rc == MDB_NOTFOUND && st->read_only) {
		/* Never written by a daemon: an empty store, not an error. */
		st->empty = true;
		mdb_txn_abort(txn);
		return 0;
	}
	if (rc == 0) {
		MDB_val k = {6, "layout"}, v;
		uint32_t layout = STORE_LAYOUT_VERSION;
		if (mdb_get(txn, st->meta, &k, &v) == 0) {
			if (v.mv_size == sizeof layout)
				memcpy(&layout, v.mv_data, sizeof layout);
			if (layout != STORE_LAYOUT_VERSION) {
				mdb_txn_abort(txn);
				set_err(err, errlen, "%s: store layout %" PRIu32 " (this gatewayd reads %u)",
					dir, layout, STORE_LAYOUT_VERSION);
				return -1;
			}
		} else if (!st->read_only) {
			v.mv_size = sizeof layout;
			v.mv_data = &layout;
			rc = mdb_put(txn, st->meta, &k, &v, 0);
		}
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc) {
		set_err(err, errlen, "%s: %s", dir, store_strerror(rc));
		return -1;
	}
	return 0;
}

int store_open(struct store **out, const char *dir, int read_only, char *err, size_t errlen)
{
	*out = NULL;
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		fatalx("out of memory");
	st->read_only = read_only != 0;
	int rc = mdb_env_create(&st->env);
	if (rc) {
		set_err(err, errlen, "%s: %s", dir, store_strerror(rc));
		free(st);
		return -1;
	}
	mdb_env_set_maxdbs(st->env, 8);
	mdb_env_set_mapsize(st->env, STORE_MAP_SIZE);
	mdb_env_set_maxreaders(st->env, STORE_MAX_READERS);
	/* MDB_NOTLS: a snapshot's read transaction belongs to the image, not to a thread;
	 * workers close it when the last request on that generation ends. */
	unsigned flags = MDB_NOTLS | (st->read_only ? MDB_RDONLY : 0);
	rc = mdb_env_open(st->env, dir, flags, 0640);
	if (rc) {
		set_err(err, errlen, "%s: %s", dir, store_strerror(rc));
		goto fail;
	}
	/* Reader slots of processes that died with a snapshot open would pin old pages
	 * forever (the file would only grow): clear them now. */
	int dead = 0;
	mdb_reader_check(st->env, &dead);
	if (dead)
		log_info("store: cleared %d stale reader(s) in %s", dead, dir);
	MDB_stat ms;
	if (mdb_env_stat(st->env, &ms) == 0)
		st->page_size = ms.ms_psize;
	if (st->page_size == 0)
		st->page_size = 4096;
	if (open_dbis(st, err, errlen, dir) != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	mdb_env_close(st->env);
	free(st);
	return -1;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	pending_clear(st);
	free(st->pending);
	mdb_env_close(st->env);
	free(st);
}

void store_discard_pending(struct store *st)
{
	if (st)
		pending_clear(st);
}

/* ---- writes ---- */

static int write_pending(struct store *st, MDB_txn *txn)
{
	for (size_t i = 0; i < st->npending; i++) {
		struct store_objgen_rec rec = {st->pending[i].generation, st->pending[i].hash};
		MDB_val k = {strlen(st->pending[i].key), st->pending[i].key}, v = {sizeof rec, &rec};
		int rc = mdb_put(txn, st->objs, &k, &v, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* Drops the oldest generations until keep remain; the current one always stays. */
static int prune(struct store *st, MDB_txn *txn, int keep, uint64_t current)
{
	MDB_stat ms;
	int rc = mdb_stat(txn, st->info, &ms);
	if (rc)
		return rc;
	size_t count = ms.ms_entries;
	if (keep < 1)
		keep = 1;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->info, &cur)) != 0)
		return rc;
	MDB_val k, v;
	int op = MDB_FIRST;
	while (count > (size_t)keep && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		uint64_t g = gen_from_key(&k);
		if (g == current)
			continue;
		MDB_val gk = k;
		rc = mdb_del(txn, st->gens, &gk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		count--;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_commit(struct store *st, const void *image, size_t len, const char *digest,
		 int keep, uint64_t *gen, char *err, size_t errlen)
{
	if (st->read_only) {
		set_err(err, errlen, "store opened read-only");
		return -1;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		goto fail_msg;
	uint64_t n = meta_get(st, txn, "last") + 1;
	unsigned char kb[8];
	gen_key(n, kb);

	/* Padding a small image to a full page puts it on its own overflow page: LMDB
	 * aligns those, while values inside a leaf page are only 2-byte aligned, and
	 * the runtime reads the image's records in place. */
	size_t stored = len < st->page_size ? st->page_size : len;
	MDB_val k = {8, kb}, v = {stored, NULL};
	if ((rc = mdb_put(txn, st->gens, &k, &v, MDB_RESERVE)) != 0)
		goto fail_txn;
	memcpy(v.mv_data, image, len);
	memset((char *)v.mv_data + len, 0, stored - len);

	struct store_info_rec info = {.created = (uint64_t)time(NULL), .len = len};
	if (digest)
		memcpy(info.digest, digest, strnlen(digest, sizeof info.digest));
	MDB_val iv = {sizeof info, &info};
	if ((rc = mdb_put(txn, st->info, &k, &iv, 0)) != 0)
		goto fail_txn;
	if ((rc = meta_put(st, txn, "last", n)) != 0 || (rc = meta_put(st, txn, "current", n)) != 0)
		goto fail_txn;
	if ((rc = write_pending(st, txn)) != 0)
		goto fail_txn;
	if ((rc = prune(st, txn, keep, n)) != 0)
		goto fail_txn;
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail_msg;
	pending_clear(st);
	*gen = n;
	return 0;
fail_txn:
	mdb_txn_abort(txn);
fail_msg:
	pending_clear(st);
	set_err(err, errlen, "cannot store the generation: %s", store_strerror(rc));
	return -1;
}

int store_set_current(struct store *st, uint64_t gen, uint64_t *made_current, char *err, size_t errlen)
{
	if (st->read_only) {
		set_err(err, errlen, "store opened read-only");
		return -1;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc) {
		set_err(err, errlen, "cannot change the current generation: %s", store_strerror(rc));
		return -1;
	}
	uint64_t current = meta_get(st, txn, "current");
	uint64_t target = gen;
	if (gen == 0) {
		/* The previous generation is the newest one older than the current. */
		MDB_cursor *cur;
		target = 0;
		if (current && mdb_cursor_open(txn, st->info, &cur) == 0) {
			unsigned char kb[8];
			gen_key(current, kb);
			MDB_val k = {8, kb}, v;
			int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
				   : mdb_cursor_get(cur, &k, &v, MDB_LAST);
			if (r == 0 && gen_from_key(&k) < current)
				target = gen_from_key(&k);
			mdb_cursor_close(cur);
		}
		if (target == 0) {
			mdb_txn_abort(txn);
			if (current)
				set_err(err, errlen, "no generation before %" PRIu64, current);
			else
				set_err(err, errlen, "no generation stored yet");
			return -1;
		}
	} else if (!gen_exists(st, txn, gen)) {
		mdb_txn_abort(txn);
		set_err(err, errlen, "generation %" PRIu64 " not found", gen);
		return -1;
	}
	if ((rc = meta_put(st, txn, "current", target)) != 0)
		mdb_txn_abort(txn);
	else
		rc = mdb_txn_commit(txn); /* frees txn, whatever the outcome */
	if (rc) {
		set_err(err, errlen, "cannot change the current generation: %s", store_strerror(rc));
		return -1;
	}
	*made_current = target;
	return 0;
}

/* ---- reads ---- */

uint64_t store_current(struct store *st)
{
	MDB_txn *txn;
	if (!st || mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	uint64_t n = meta_get(st, txn, "current");
	mdb_txn_abort(txn);
	return n;
}

int store_history(struct store *st, struct store_gen_info **out)
{
	*out = NULL;
	MDB_txn *txn;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	if (st->empty) {
		mdb_txn_abort(txn);
		return 0;
	}
	uint64_t current = meta_get(st, txn, "current");
	MDB_stat ms;
	MDB_cursor *cur;
	if (mdb_stat(txn, st->info, &ms) != 0 || mdb_cursor_open(txn, st->info, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	struct store_gen_info *list = calloc(ms.ms_entries ? ms.ms_entries : 1, sizeof *list);
	if (!list)
		fatalx("out of memory");
	size_t n = 0;
	MDB_val k, v;
	int op = MDB_LAST;
	while (n < ms.ms_entries && mdb_cursor_get(cur, &k, &v, op) == 0) {
		op = MDB_PREV;
		struct store_info_rec rec;
		memset(&rec, 0, sizeof rec);
		memcpy(&rec, v.mv_data, v.mv_size < sizeof rec ? v.mv_size : sizeof rec);
		struct store_gen_info *g = &list[n++];
		g->generation = gen_from_key(&k);
		g->created = (time_t)rec.created;
		memcpy(g->digest, rec.digest, sizeof rec.digest);
		g->digest[64] = '\0';
		g->is_current = g->generation == current;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	*out = list;
	return (int)n;
}

int store_snapshot_open(struct store *st, uint64_t gen, struct store_snapshot *snap)
{
	memset(snap, 0, sizeof *snap);
	if (st->empty)
		return -1;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		log_error("store: cannot open a snapshot: %s", store_strerror(rc));
		return -1;
	}
	if (gen == 0)
		gen = meta_get(st, txn, "current");
	unsigned char kb[8];
	gen_key(gen, kb);
	MDB_val k = {8, kb}, v, iv;
	struct store_info_rec info;
	if (gen == 0 || mdb_get(txn, st->info, &k, &iv) != 0 || iv.mv_size != sizeof info ||
	    mdb_get(txn, st->gens, &k, &v) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	memcpy(&info, iv.mv_data, sizeof info);
	if (info.len > v.mv_size || ((uintptr_t)v.mv_data & (sizeof(uint32_t) - 1))) {
		log_error("store: generation %" PRIu64 " is not readable in place", gen);
		mdb_txn_abort(txn);
		return -1;
	}
	snap->txn = txn;
	snap->image = v.mv_data;
	snap->len = (size_t)info.len;
	snap->generation = gen;
	return 0;
}

void store_snapshot_close(struct store_snapshot *snap)
{
	if (!snap || !snap->txn)
		return;
	mdb_txn_abort(snap->txn);
	memset(snap, 0, sizeof *snap);
}

/* ---- object generations ---- */

int64_t store_object_generation(struct store *st, const char *key, uint64_t content_hash, int dry_run)
{
	if (!st || st->empty || !key)
		return 1;
	size_t klen = strlen(key);
	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(st->env))
		return 1;
	MDB_txn *txn;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) != 0)
		return 1;
	MDB_val k = {klen, (void *)key}, v;
	int64_t g = 1;
	bool changed = true;
	if (mdb_get(txn, st->objs, &k, &v) == 0 && v.mv_size == sizeof(struct store_objgen_rec)) {
		struct store_objgen_rec rec;
		memcpy(&rec, v.mv_data, sizeof rec);
		changed = rec.hash != content_hash;
		g = (int64_t)rec.generation + (changed ? 1 : 0);
	}
	mdb_txn_abort(txn);
	if (dry_run || st->read_only || !changed)
		return g;
	/* Remembered until the next commit, so that a configuration that is never
	 * applied does not count as a change. */
	for (size_t i = 0; i < st->npending; i++) {
		if (strcmp(st->pending[i].key, key) == 0) {
			st->pending[i].generation = (uint64_t)g;
			st->pending[i].hash = content_hash;
			return g;
		}
	}
	if (st->npending == st->cap_pending) {
		size_t cap = st->cap_pending ? st->cap_pending * 2 : 32;
		struct store_pending *p = realloc(st->pending, cap * sizeof *p);
		if (!p)
			fatalx("out of memory");
		st->pending = p;
		st->cap_pending = cap;
	}
	struct store_pending *p = &st->pending[st->npending];
	p->key = strdup(key);
	if (!p->key)
		fatalx("out of memory");
	p->generation = (uint64_t)g;
	p->hash = content_hash;
	st->npending++;
	return g;
}
