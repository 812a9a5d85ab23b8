/* Permissions on a connection (router/perm.h): what it may publish and
 * subscribe to, checked with nats-server's answers: one -ERR per offending
 * PUB or SUB, the connection kept, a rate-limited log line. The check of a
 * publish is cached with the connection's last subject (most publishers send
 * to one subject again and again): no allocation, no regex per message.
 * allow_responses: the reply subjects of the requests delivered to the
 * connection, each answerable so many times within so long. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "router/client_int.h"
#include "router/perm.h"

bool client_perm_connect(struct client *cl, const struct perms *p)
{
	bool ok;
	perm_free(cl->perms);
	cl->perms = perm_copy(p, &ok);
	cl->last_subj_len = 0; /* the cached check was made without them */
	return ok;
}

/* One violation: the -ERR, and a log line at a rate-limited pace. */
static void client_perm_violation(struct client *cl, const char *err, const char *log)
{
	cl->perm_violations++;
	cl->t->perm_violations++;
	client_err(cl, err, false);
	if (log_ratelimit_ok(&cl->t->client_log, clock_now_ns()))
		log_error("%s:%u - cid:%llu - %s", cl->c->peer_ip, cl->c->peer_port,
		          (unsigned long long)cl->cid, log);
}

/* With allow_responses: @subj is the reply subject of a request it got and
 * may still answer; counts the reply. */
static bool client_perm_response(struct client *cl, const char *subj, size_t len)
{
	if (!cl->perms->resp_max || !map_count(&cl->responses))
		return false;
	uint64_t h = hash_bytes(subj, len);
	uintptr_t v = (uintptr_t)map_get(&cl->responses, h);
	if (!v)
		return false;
	uint64_t now_ms = io_loop_now(cl->c->loop) / 1000000u;
	uint64_t deadline = (uint64_t)v >> 16, sent = (uint64_t)v & 0xffff;
	if (now_ms > deadline || sent >= cl->perms->resp_max) {
		map_del(&cl->responses, h);
		return false;
	}
	if (sent + 1 >= cl->perms->resp_max)
		map_del(&cl->responses, h);
	else if (map_put(&cl->responses, h, (void *)(uintptr_t)(v + 1)) != 0)
		map_del(&cl->responses, h);
	return true;
}

bool client_perm_publish(struct client *cl, const struct proto_frame *f)
{
	const char *s = f->subject.ptr;
	size_t len = f->subject.len;
	bool hit = len == cl->last_subj_len && !memcmp(s, cl->last_subj, len);
	bool ok = hit ? cl->last_pub_ok : perm_can_publish(cl->perms, s, len);
	if (ok || client_perm_response(cl, s, len)) {
		/* the result goes with last_subj, which the publish of this
		 * subject sets next when it is short enough */
		if (!hit)
			cl->pend_pub_ok = ok;
		return true;
	}
	char err[300], log[360];
	snprintf(err, sizeof(err), "Permissions Violation for Publish to \"%.*s\"", (int)len, s);
	snprintf(log, sizeof(log), "Publish Violation - User \"%s\", Subject \"%.*s\"",
	         cl->opts.user ? cl->opts.user : "", (int)len, s);
	client_perm_violation(cl, err, log);
	return false;
}

bool client_perm_reply(struct client *cl, const struct proto_frame *f)
{
	const char *r = f->reply.ptr;
	size_t n = f->reply.len;
	if (!(n > 4 && !memcmp(r, "_R_.", 4)) && !(n > 5 && !memcmp(r, "_GR_.", 5)) &&
	    !(n > 8 && !memcmp(r, "$JS.ACK.", 8)))
		return true;
	char err[300], log[400];
	snprintf(err, sizeof(err), "Permissions Violation for Publish with Reply of \"%.*s\"",
	         (int)n, r);
	snprintf(log, sizeof(log), "Publish Violation - User \"%s\", Reply \"%.*s\"",
	         cl->opts.user ? cl->opts.user : "", (int)n, r);
	client_perm_violation(cl, err, log);
	return false;
}

bool client_perm_subscribe(struct client *cl, const struct proto_frame *f, bool *filter)
{
	if (perm_can_subscribe(cl->perms, f->subject.ptr, f->subject.len, f->queue.ptr,
	                       f->queue.len, filter))
		return true;
	char err[400], log[480];
	int sl = (int)f->subject.len, ql = (int)f->queue.len;
	if (ql)
		snprintf(err, sizeof(err),
		         "Permissions Violation for Subscription to \"%.*s\" using queue \"%.*s\"",
		         sl, f->subject.ptr, ql, f->queue.ptr);
	else
		snprintf(err, sizeof(err), "Permissions Violation for Subscription to \"%.*s\"", sl,
		         f->subject.ptr);
	snprintf(
	    log, sizeof(log),
	    "Subscription Violation - User \"%s\", Subject \"%.*s\", Queue: \"%.*s\", SID %.*s",
	    cl->opts.user ? cl->opts.user : "", sl, f->subject.ptr, ql, f->queue.ptr,
	    (int)f->sid.len, f->sid.ptr);
	client_perm_violation(cl, err, log);
	return false;
}

void client_perm_request(struct client *cl, const char *reply, size_t len, uint64_t now)
{
	uint64_t deadline = (now + cl->perms->resp_expires_ns) / 1000000u;
	if (map_put(&cl->responses, hash_bytes(reply, len), (void *)(uintptr_t)(deadline << 16)))
		log_warn("cid %llu: out of memory: a reply will be refused",
		         (unsigned long long)cl->cid);
}

void client_perm_tick(struct client *cl, uint64_t now)
{
	if (!map_count(&cl->responses))
		return;
	uint64_t now_ms = now / 1000000u, key;
	void *v;
	/* map_next must not see the map change: collect a few, then delete */
	uint64_t gone[64];
	size_t n = 0;
	for (uint32_t it = 0; n < 64 && map_next(&cl->responses, &it, &key, &v);)
		if (((uint64_t)(uintptr_t)v >> 16) < now_ms)
			gone[n++] = key;
	for (size_t i = 0; i < n; i++)
		map_del(&cl->responses, gone[i]);
}

void client_perm_free(struct client *cl)
{
	perm_free(cl->perms);
	cl->perms = NULL;
	map_fini(&cl->responses);
}
