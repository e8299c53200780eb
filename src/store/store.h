/* SPDX-License-Identifier: MIT */
/* store: the LMDB environment in state_dir. It holds numbered generations (each one
 * compiled image plus its time and source digest), which one is current, and the
 * per-object generation counters behind status observedGeneration.
 * A commit is one write transaction: the new image and the "current" pointer change
 * together or not at all, so a crash at any point leaves a complete generation.
 * MDB_* codes do not leave this module. */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

struct store_gen_info {
	uint64_t generation;
	time_t created;           /* seconds since the epoch */
	char digest[65];          /* hex SHA-256 of the sources */
	int is_current;
};

/* A read snapshot of one generation: the image is read in place (zero copy) and stays
 * valid until store_snapshot_close. Snapshots may be closed from any thread. */
struct store_snapshot {
	void *txn;                /* MDB_txn *, opaque */
	const void *image;
	size_t len;
	uint64_t generation;
};

/* Opens (creating if needed) the environment in dir. Returns 0, or -1 with a message
 * in err. read_only: for `check`, which must not write. */
int store_open(struct store **out, const char *dir, int read_only, char *err, size_t errlen);
void store_close(struct store *st);

/* Writes image as generation (last + 1), makes it current, drops generations beyond
 * keep (never the current one). Returns 0 and sets *gen, or -1 with err. */
int store_commit(struct store *st, const void *image, size_t len, const char *digest,
		 int keep, uint64_t *gen, char *err, size_t errlen);
/* Makes an existing generation current. gen 0: the one before the current.
 * Returns 0 and sets *made_current, -1 with err (e.g. "generation 9 not found"). */
int store_set_current(struct store *st, uint64_t gen, uint64_t *made_current, char *err, size_t errlen);
/* Current generation number, 0 if none. */
uint64_t store_current(struct store *st);
/* Newest first; *out is malloc'ed (free it). Returns the count, or -1. */
int store_history(struct store *st, struct store_gen_info **out);

/* gen 0 = current. Returns 0, or -1 when there is no such generation. */
int store_snapshot_open(struct store *st, uint64_t gen, struct store_snapshot *snap);
void store_snapshot_close(struct store_snapshot *snap);

/* observedGeneration bookkeeping: returns the generation number of an object, bumped
 * when content_hash differs from the recorded one. With read_only or dry_run it
 * computes the value without writing. */
int64_t store_object_generation(struct store *st, const char *key, uint64_t content_hash, int dry_run);
/* Object generations computed (not dry_run) are written by the next store_commit, in
 * its transaction. When the build that computed them is not committed (it failed, or
 * its image equals the current one), the caller drops them with this. */
void store_discard_pending(struct store *st);

#endif
