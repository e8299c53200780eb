/* SPDX-License-Identifier: MIT */
/* cmd_run: `gatewayd run`, the daemon's main thread. It owns the control plane:
 * settings, the store, compiling config_dir into generations, the control socket,
 * the admin listener, signals and systemd notifications; the runtime's worker
 * threads serve traffic from whatever generation it hands them. */
#include "config.h"

#include <errno.h>
#include <ev.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "compile/image.h"
#include "compile/pipeline.h"
#include "discover/dns_report.h"
#include "discover/resolver.h"
#include "ops/accesslog.h"
#include "ops/admin.h"
#include "ops/control.h"
#include "ops/metrics.h"
#include "ops/notify.h"
#include "ops/status_doc.h"
#include "ops/backend_status.h"
#include "runtime/epset.h"
#include "runtime/runtime.h"
#include "runtime/tls_ctx.h"
#include "settings/settings.h"
#include "store/store.h"

struct daemon {
	struct settings s;
	struct ev_loop *loop;
	struct store *st;
	struct runtime *rt;
	struct control *ctl;
	struct admin *adm;
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	ev_timer absorb;          /* folds retired generations' request counts into the totals */
	uint64_t generation;      /* applied; 0 before the first */
	bool stale;               /* serving a stored generation because config_dir failed at start */
	bool binds_ok;            /* the last apply bound every socket */
	bool stopping;
	struct buf resources;     /* status JSON array of the applied generation, owned */
	struct buf backends;      /* its backends and endpoints (status_doc_backends), owned */
	struct accesslog *alog;   /* NULL when [log] access = off */
	struct metrics *metrics;  /* totals kept across reloads for /metrics */
	uint64_t reloads_ok, reloads_failed;
	struct resolver *res;     /* fqdn endpoints (discover/resolver.h); NULL if c-ares failed */
	struct dns_uses dns;      /* the applied generation's hostnames and their backends */
};

/* Where a command's output goes: to a control client, or (SIGHUP, start) to the log. */
struct sink {
	struct ctl_reply *r;
};

static void sink_err(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sink_err(struct sink *k, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (k->r)
		ctl_reply_err(k->r, "%s", b.data);
	else
		log_warnx("%s", b.data);
	buf_free(&b);
}

static void sink_diags(struct sink *k, const struct diag_list *dl)
{
	char line[4096];
	for (size_t i = 0; i < dl->count; i++) {
		diag_format(&dl->items[i], line, sizeof line);
		if (k->r)
			ctl_reply_err(k->r, "%s", line);
		else if (dl->items[i].severity == DIAG_ERROR)
			log_error("%s", line);
		else
			log_warnx("%s", line);
	}
}

static void notify_ready(struct daemon *d)
{
	char msg[128];
	snprintf(msg, sizeof msg, "READY=1\nSTATUS=generation %" PRIu64 "%s", d->generation,
		 d->stale ? " (stale)" : "");
	notify_send(msg);
}

/* Distinct files of the errors, for the "serving stale" log line. */
static void failing_files(const struct diag_list *dl, struct buf *out)
{
	for (size_t i = 0; i < dl->count; i++) {
		const struct diag *d = &dl->items[i];
		if (d->severity != DIAG_ERROR)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = dl->items[j].severity == DIAG_ERROR && strcmp(dl->items[j].file, d->file) == 0;
		if (!seen)
			buf_printf(out, "%s%s", out->len ? ", " : "", d->file[0] ? d->file : "(config_dir)");
	}
}

/* Hands generation gen (0 = current) to the workers. Returns 0; 1 when it is active
 * but some socket could not be bound (message in err); -1 when nothing changed. */
static int apply_generation(struct daemon *d, uint64_t gen, char *err, size_t errlen)
{
	struct store_snapshot snap;
	if (store_snapshot_open(d->st, gen, &snap) != 0) {
		snprintf(err, errlen, "generation %" PRIu64 " cannot be read from the store", gen);
		return -1;
	}
	if (img_check(snap.image, snap.len) != 0) {
		snprintf(err, errlen, "generation %" PRIu64 " is not an image this gatewayd reads "
			 "(compiled by another version?)", snap.generation);
		store_snapshot_close(&snap);
		return -1;
	}
	const struct img_header *h = snap.image;
	uint64_t number = snap.generation;
	d->resources.len = 0;
	buf_append(&d->resources, img_str_ptr(h, h->status_json), h->status_json.len);
	d->backends.len = 0;
	status_doc_backends(&d->backends, h);
	/* Before the runtime builds its endpoint sets: names kept keep their addresses. */
	dns_uses_from_image(&d->dns, h);
	resolver_watch(d->res, d->dns.names, d->dns.n);
	int rc = runtime_apply(d->rt, &snap, err, errlen); /* owns snap from here on */
	d->generation = number;
	d->binds_ok = rc == 0;
	return rc == 0 ? 0 : 1;
}

/* True when img equals the current generation's image: restarting with an unchanged
 * config_dir then keeps its number instead of filling the history with copies. */
static bool same_as_current(struct daemon *d, const struct buf *img)
{
	struct store_snapshot snap;
	if (store_snapshot_open(d->st, 0, &snap) != 0)
		return false;
	bool same = snap.len == img->len && memcmp(snap.image, img->data, img->len) == 0;
	store_snapshot_close(&snap);
	return same;
}

/* ---- commands ---- */

/* reload: compile config_dir; with errors nothing changes. An explicit reload always
 * makes a new generation (the number it prints is new), even for unchanged files.
 * When the new generation is active but a socket could not be bound, the reload
 * still counts as applied: exit 0, with the bind failure as a warning line, since
 * every other change is live and a retry would not fix a port in use. */
static void do_reload(struct daemon *d, struct sink *k)
{
	notify_reloading();
	struct pipeline_result res;
	pipeline_build(d->s.config_dir, d->s.controller_name, d->st, false, &res);
	sink_diags(k, &res.diags);
	if (!res.ok) {
		store_discard_pending(d->st);
		d->reloads_failed++;
		sink_err(k, "configuration not applied: %zu error(s); generation %" PRIu64 " stays active",
			 res.diags.errors, d->generation);
		if (k->r) {
			k->r->exit_code = 1;
			log_warnx("reload: configuration not applied: %zu error(s); generation %" PRIu64
				  " stays active", res.diags.errors, d->generation);
		}
		pipeline_result_fini(&res);
		notify_ready(d);
		return;
	}
	char err[512] = "";
	uint64_t gen = 0;
	if (store_commit(d->st, res.image.data, res.image.len, res.digest, d->s.history, &gen, err,
			 sizeof err) != 0) {
		d->reloads_failed++;
		sink_err(k, "configuration not applied: %s", err);
		if (k->r)
			k->r->exit_code = 1;
		pipeline_result_fini(&res);
		notify_ready(d);
		return;
	}
	pipeline_result_fini(&res);
	int rc = apply_generation(d, gen, err, sizeof err);
	if (rc < 0) {
		d->reloads_failed++;
		sink_err(k, "generation %" PRIu64 " stored but not applied: %s", gen, err);
		if (k->r)
			k->r->exit_code = 1;
		notify_ready(d);
		return;
	}
	d->reloads_ok++;
	d->stale = false;
	if (rc > 0)
		sink_err(k, "warning: %s (generation %" PRIu64 " is active without that socket)", err, gen);
	if (k->r)
		ctl_reply_out(k->r, "%" PRIu64, gen);
	log_info("reload: generation %" PRIu64 " active", gen);
	notify_ready(d);
}

static void do_rollback(struct daemon *d, const char *arg, struct ctl_reply *r)
{
	uint64_t want = 0;
	if (arg && *arg) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || *end || v == 0 || arg[0] == '-') {
			ctl_reply_err(r, "rollback: \"%s\" is not a generation number", arg);
			r->exit_code = 2;
			return;
		}
		want = v;
	}
	char err[512] = "";
	uint64_t made = 0;
	if (want == 0 && d->generation) {
		/* "The previous one": before the generation being served, which is what the
		 * user sees in status, even if the store's pointer says otherwise. */
		if (store_current(d->st) != d->generation &&
		    store_set_current(d->st, d->generation, &made, err, sizeof err) != 0) {
			ctl_reply_err(r, "rollback: %s", err);
			r->exit_code = 1;
			return;
		}
	}
	if (store_set_current(d->st, want, &made, err, sizeof err) != 0) {
		ctl_reply_err(r, "rollback: %s", err);
		r->exit_code = 1;
		return;
	}
	notify_reloading();
	int rc = apply_generation(d, made, err, sizeof err);
	if (rc < 0) {
		ctl_reply_err(r, "rollback: %s", err);
		r->exit_code = 1;
		/* Put the pointer back to what is really served. */
		uint64_t back;
		if (d->generation)
			store_set_current(d->st, d->generation, &back, NULL, 0);
		notify_ready(d);
		return;
	}
	d->stale = false;
	if (rc > 0)
		ctl_reply_err(r, "warning: %s (generation %" PRIu64 " is active without that socket)", err, made);
	ctl_reply_out(r, "generation %" PRIu64 " active", made);
	log_info("rollback: generation %" PRIu64 " active", made);
	notify_ready(d);
}

static void emit_reply_line(void *ctx, const char *line)
{
	ctl_reply_out(ctx, "%s", line);
}

static void do_history(struct daemon *d, struct ctl_reply *r)
{
	struct store_gen_info *h = NULL;
	int n = store_history(d->st, &h);
	if (n < 0) {
		ctl_reply_err(r, "history: cannot read the store");
		r->exit_code = 1;
		return;
	}
	/* The store's "current" is what is served, except after a failed rollback. */
	for (int i = 0; i < n; i++)
		h[i].is_current = h[i].generation == d->generation;
	cmd_format_history(h, n, emit_reply_line, r);
	free(h);
}

/* The backends part with the endpoints' live health (ops/backend_status.h). */
static void refresh_backends(struct daemon *d)
{
	struct epset *s = d->rt ? runtime_epset(d->rt) : NULL;
	if (s == NULL)
		return;
	d->backends.len = 0;
	backend_status_json(&d->backends, s);
	epset_unref(s);
}

static void on_command(void *ctx, const char *line, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	struct sink k = {r};
	if (strcmp(line, "reload") == 0) {
		do_reload(d, &k);
	} else if (strcmp(line, "status") == 0 || strcmp(line, "status --json") == 0) {
		struct buf b = BUF_INIT;
		refresh_backends(d);
		if (line[6] == ' ')
			status_doc_json_full(&b, d->generation, d->stale, d->resources.data,
					     d->resources.len, d->backends.data, d->backends.len);
		else
			status_doc_table_full(&b, d->generation, d->stale, d->resources.data,
					      d->resources.len, d->backends.data, d->backends.len);
		if (line[6] == ' ')
			dns_report_add_to_status(&b, d->res, &d->dns);
		else
			dns_report_table(&b, d->res, &d->dns);
		if (b.len && b.data[b.len - 1] == '\n')
			b.len--;
		ctl_reply_out_text(r, b.data, b.len);
		buf_free(&b);
	} else if (strcmp(line, "history") == 0) {
		do_history(d, r);
	} else if (strcmp(line, "rollback") == 0 || strncmp(line, "rollback ", 9) == 0) {
		do_rollback(d, line[8] ? line + 9 : NULL, r);
	} else {
		ctl_reply_err(r, "unknown command \"%s\"", line);
		r->exit_code = 2;
	}
}

/* ---- admin hooks ---- */

static bool admin_ready(void *ctx, bool *stale)
{
	struct daemon *d = ctx;
	*stale = d->stale;
	return !d->stopping && d->generation > 0 && d->binds_ok;
}

static void admin_status(void *ctx, struct buf *out)
{
	struct daemon *d = ctx;
	refresh_backends(d);
	status_doc_json_full(out, d->generation, d->stale, d->resources.data, d->resources.len,
			     d->backends.data, d->backends.len);
	dns_report_add_to_status(out, d->res, &d->dns);
}

static void admin_metrics(void *ctx, struct buf *out)
{
	struct daemon *d = ctx;
	struct metrics_facts f = {
		.generation = d->generation,
		.stale = d->stale,
		.reloads_ok = d->reloads_ok,
		.reloads_failed = d->reloads_failed,
		.connections_active = d->rt ? runtime_active_connections(d->rt) : 0,
		.access_log_written = accesslog_written(d->alog),
		.access_log_dropped = accesslog_lost(d->alog),
		.tls_handshake_failures = tls_handshake_failures(),
	};
	struct epset *eps = d->rt ? runtime_epset(d->rt) : NULL;
	f.eps = eps;
	metrics_write(d->metrics, out, d->rt ? runtime_stats(d->rt) : NULL, &f);
	epset_unref(eps);
	dns_report_metrics(out, d->res);
}

/* The resolver's "changed": a name's address set moved; the workers get new endpoint
 * sets without a reload. */
static void on_dns_changed(void *arg)
{
	struct daemon *d = arg;
	if (d->rt && runtime_endpoints_changed(d->rt) != 0)
		log_warnx("dns: out of memory: new addresses not handed to the workers yet");
}

/* ---- signals ---- */

static void stop_serving(struct daemon *d)
{
	d->stopping = true;
	control_stop(d->ctl);
	d->ctl = NULL;
	admin_stop(d->adm);
	d->adm = NULL;
}

static void on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	if (d->stopping)
		return;
	log_info("%s: stopping; draining for up to %" PRIu64 " ms", w->signum == SIGINT ? "SIGINT" : "SIGTERM",
		 d->s.drain_timeout_ms);
	notify_send("STOPPING=1");
	stop_serving(d);
	if (d->rt)
		runtime_shutdown(d->rt, d->s.drain_timeout_ms);
	ev_break(loop, EVBREAK_ALL);
}

/* Request counters of a generation no worker uses any more keep that generation (and
 * its LMDB reader) alive until counted into the totals: do it now and then, not only
 * when /metrics is scraped, so reloads without a scraper free their generations. */
static void on_absorb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	(void)loop;
	(void)revents;
	if (d->rt)
		metrics_absorb(d->metrics, runtime_stats(d->rt));
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct sink k = {NULL};
	log_info("SIGHUP: reloading %s", d->s.config_dir);
	do_reload(d, &k);
}

static void on_sigusr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	/* logrotate hook. The error log is stderr (journald): only the access log file
	 * is reopened. */
	struct daemon *d = w->data;
	log_info("SIGUSR1: reopening log files");
	accesslog_reopen(d->alog);
}

/* ---- start-up helpers ---- */

/* Each client connection may hold a backend connection too. The soft RLIMIT_NOFILE
 * (often 1024) is raised as far as the hard limit allows, as nginx's
 * worker_rlimit_nofile or systemd's LimitNOFILE would; past the limit, accepting
 * pauses until descriptors free up (runtime/listener.c), so this is about capacity,
 * not safety. */
static void raise_fd_limit(const struct settings *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)s->max_connections * 2 + 256;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	/* Not even room for the client connections: say so once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)s->max_connections + 64)
		log_warnx("[limits] max_connections = %" PRIu64 " but only %llu file descriptors are "
			  "allowed (RLIMIT_NOFILE): accepting pauses at that limit", s->max_connections,
			  (unsigned long long)rl.rlim_cur);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* [gatewayd] user: after the sockets are bound. The store's files and the control
 * socket are handed over first, as they stay open or are reopened after the switch. */
static int drop_privileges(struct daemon *d, const char *ctl_path)
{
	const char *user = d->s.user;
	if (!user || !user[0])
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_error("[gatewayd] user: no such user \"%s\"", user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (geteuid() != 0) {
		log_error("[gatewayd] user: only root can switch to \"%s\"", user);
		return -1;
	}
	const char *files[] = {"data.mdb", "lock.mdb"};
	char p[4200];
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", d->s.state_dir, files[i]);
		if (chown(p, pw->pw_uid, pw->pw_gid) != 0)
			log_warn("chown %s", p);
	}
	if (chown(d->s.state_dir, pw->pw_uid, pw->pw_gid) != 0)
		log_warn("chown %s", d->s.state_dir);
	/* The socket stays 0600: root and this user only may reload or roll back. */
	if (chown(ctl_path, pw->pw_uid, pw->pw_gid) != 0)
		log_warn("chown %s", ctl_path);
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_warn("cannot switch to user \"%s\"", user);
		return -1;
	}
	log_info("running as user %s", user);
	return 0;
}

/* The first generation: config_dir if it compiles, else the last good one (stale).
 * Returns the generation to apply, 0 when there is none (exit 1). */
static uint64_t initial_generation(struct daemon *d)
{
	struct pipeline_result res;
	pipeline_build(d->s.config_dir, d->s.controller_name, d->st, false, &res);
	diag_print(&res.diags, stderr);
	uint64_t current = store_current(d->st);
	if (!res.ok) {
		store_discard_pending(d->st);
		struct buf files = BUF_INIT;
		failing_files(&res.diags, &files);
		if (current) {
			log_error("%s does not compile (%zu error(s) in %s); SERVING THE LAST GOOD "
				  "GENERATION %" PRIu64 " (stale) until a reload succeeds",
				  d->s.config_dir, res.diags.errors, files.data ? files.data : "?", current);
			d->stale = true;
		} else {
			log_error("%s does not compile (%zu error(s) in %s) and no earlier generation "
				  "is stored: nothing to serve", d->s.config_dir, res.diags.errors,
				  files.data ? files.data : "?");
		}
		buf_free(&files);
		pipeline_result_fini(&res);
		return current;
	}
	if (current && same_as_current(d, &res.image)) {
		store_discard_pending(d->st);
		pipeline_result_fini(&res);
		return current;
	}
	char err[512] = "";
	uint64_t gen = 0;
	int rc = store_commit(d->st, res.image.data, res.image.len, res.digest, d->s.history, &gen,
			      err, sizeof err);
	pipeline_result_fini(&res);
	if (rc != 0) {
		log_error("%s", err);
		return 0;
	}
	return gen;
}

static void daemon_fini(struct daemon *d)
{
	stop_serving(d);
	if (d->loop) {
		ev_signal_stop(d->loop, &d->sig_hup);
		ev_signal_stop(d->loop, &d->sig_term);
		ev_signal_stop(d->loop, &d->sig_int);
		ev_signal_stop(d->loop, &d->sig_usr1);
		ev_timer_stop(d->loop, &d->absorb);
		/* Stopping a watcher restores the default action; a second SIGTERM (as
		 * a supervisor may send) must not turn an orderly exit 0 into a kill. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
	}
	/* The workers stop before the access log's last lines are written: they may
	 * still signal it until then. */
	if (d->rt)
		runtime_shutdown(d->rt, 0);
	accesslog_stop(d->alog);
	d->alog = NULL;
	if (d->rt)
		runtime_free(d->rt);
	resolver_free(d->res);   /* after the runtime, which borrows it */
	dns_uses_fini(&d->dns);
	metrics_free(d->metrics);
	store_close(d->st);
	buf_free(&d->resources);
	buf_free(&d->backends);
	settings_fini(&d->s);
}

int cmd_run(const struct cmd_opts *o)
{
	struct daemon dd, *d = &dd;
	memset(d, 0, sizeof *d);
	signal(SIGPIPE, SIG_IGN);

	struct diag_list dl;
	diag_list_init(&dl);
	bool ok = settings_load(&d->s, o->conf, &dl);
	diag_print(&dl, stderr);
	diag_list_fini(&dl);
	if (!ok) {
		settings_fini(&d->s);
		return 1;
	}
	log_threshold = d->s.log_level;
	d->metrics = metrics_new();
	if (!d->metrics) {
		settings_fini(&d->s);
		return 1;
	}
	int status = 1;
	char err[512] = "";
	char *ctl_path = cmd_control_path(d->s.run_dir);
	notify_init();

	if (mkdir_p(d->s.state_dir, 0750) != 0) {
		log_warn("state_dir %s", d->s.state_dir);
		goto out;
	}
	if (mkdir_p(d->s.run_dir, 0755) != 0) {
		log_warn("run_dir %s", d->s.run_dir);
		goto out;
	}
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop) {
		log_error("cannot initialise the event loop");
		goto out;
	}
	/* Caught from now on, handled once the loop runs: a SIGTERM during start-up
	 * then still ends in an orderly exit. */
	ev_signal_init(&d->sig_hup, on_sighup, SIGHUP);
	ev_signal_init(&d->sig_term, on_sigterm, SIGTERM);
	ev_signal_init(&d->sig_int, on_sigterm, SIGINT);
	ev_signal_init(&d->sig_usr1, on_sigusr1, SIGUSR1);
	d->sig_hup.data = d->sig_term.data = d->sig_int.data = d->sig_usr1.data = d;
	ev_signal_start(d->loop, &d->sig_hup);
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_usr1);
	/* The control socket first: it fails when another daemon already runs here. */
	d->ctl = control_start(d->loop, ctl_path, on_command, d, err, sizeof err);
	if (!d->ctl) {
		log_error("control socket: %s", err);
		goto out;
	}
	if (d->s.admin_listen) {
		struct admin_hooks hooks = {d, admin_ready, admin_status, admin_metrics};
		d->adm = admin_start(d->loop, d->s.admin_listen, &hooks, err, sizeof err);
		if (!d->adm) {
			log_error("%s", err);
			goto out;
		}
	}
	if (store_open(&d->st, d->s.state_dir, 0, err, sizeof err) != 0) {
		log_error("store: %s", err);
		goto out;
	}
	uint64_t gen = initial_generation(d);
	if (gen == 0)
		goto out;

	raise_fd_limit(&d->s);
	d->rt = runtime_new(&d->s);
	if (!d->rt) {
		log_error("cannot start the workers");
		goto out;
	}
	/* Without c-ares (logged), fqdn endpoints simply have no address: 503. */
	d->res = resolver_new(d->loop, &d->s, on_dns_changed, d);
	runtime_set_resolver(d->rt, d->res);
	runtime_set_main_loop(d->rt, d->loop);  /* health checks, ejection sweep */
	if (d->s.access) {
		d->alog = accesslog_start(d->loop, runtime_reqlog(d->rt), d->s.access,
					  d->s.access_format, err, sizeof err);
		if (!d->alog) {
			log_error("%s", err);
			goto out;
		}
	}
	if (runtime_start(d->rt) != 0) {
		log_error("cannot start the workers");
		goto out;
	}
	int rc = apply_generation(d, gen, err, sizeof err);
	if (rc != 0) {
		/* At start a listener that cannot be bound is fatal, as in nginx: better
		 * than a daemon that looks up but does not serve (systemd will report it). */
		log_error("cannot serve generation %" PRIu64 ": %s", gen, err);
		runtime_shutdown(d->rt, 0);
		goto out;
	}
	if (drop_privileges(d, ctl_path) != 0) {
		runtime_shutdown(d->rt, 0);
		goto out;
	}
	log_info("generation %" PRIu64 " active%s (%d worker(s), config_dir %s)", d->generation,
		 d->stale ? " (STALE)" : "", d->s.workers, d->s.config_dir);

	notify_ready(d);

	ev_timer_init(&d->absorb, on_absorb, 2., 2.);
	d->absorb.data = d;
	ev_timer_start(d->loop, &d->absorb);
	ev_run(d->loop, 0);
	log_info("stopped");
	status = 0;
out:
	daemon_fini(d);
	free(ctl_path);
	return status;
}
