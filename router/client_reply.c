/* Replies of a connection in order: +OK, -ERR, PONG and the closes that wait
 * for a mark in the route log (everything the connection sent before has its
 * results), and the log line a client's fatal error earns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/client_int.h"

static int client_pend_push(struct client *cl, bool waiting, const char *text, size_t len,
                            enum pend_kind kind)
{
	if (cl->pend_n == cl->pend_cap) {
		uint32_t cap = cl->pend_cap ? cl->pend_cap * 2 : 8;
		struct pend *p = malloc(sizeof(*p) * cap);
		if (!p)
			return -ENOMEM;
		for (uint32_t i = 0; i < cl->pend_n; i++)
			p[i] = cl->pend[(cl->pend_head + i) & (cl->pend_cap - 1)];
		free(cl->pend);
		cl->pend = p;
		cl->pend_head = 0;
		cl->pend_cap = cap;
	}
	struct pend *e = &cl->pend[(cl->pend_head + cl->pend_n) & (cl->pend_cap - 1)];
	e->big = NULL;
	if (len > sizeof(e->text)) {
		e->big = malloc(len);
		if (!e->big)
			return -ENOMEM;
		memcpy(e->big, text, len);
	} else if (len) {
		memcpy(e->text, text, len);
	}
	e->waiting = waiting;
	e->kind = (uint8_t)kind;
	e->len = (uint32_t)len;
	cl->pend_n++;
	return 0;
}

static const char *pend_text(const struct pend *e)
{
	return e->big ? e->big : e->text;
}

/* Frees what the entries not yet drained hold, and the queue (client close). */
void client_pend_free(struct client *cl)
{
	for (uint32_t i = 0; i < cl->pend_n; i++)
		free(cl->pend[(cl->pend_head + i) & (cl->pend_cap - 1)].big);
	free(cl->pend);
	cl->pend = NULL;
	cl->pend_n = 0;
}

void client_pend_drain(struct client *cl)
{
	while (cl->pend_n) {
		struct pend *e = &cl->pend[cl->pend_head];
		if (e->waiting)
			return;
		cl->pend_head = (cl->pend_head + 1) & (cl->pend_cap - 1);
		cl->pend_n--;
		cl->pend_seq++;
		switch ((enum pend_kind)e->kind) {
		case PEND_CTRL:
			/* Its subscription changes are applied: read it again (the
			 * I/O thread's poll resumes it once no other reason holds). */
			if (--cl->ctrl_waits == 0)
				cl->pause_reasons &= ~(uint32_t)CLIENT_PAUSE_CTRL;
			break;
		case PEND_TEXT:
			io_conn_write(cl->c, pend_text(e), e->len);
			break;
		case PEND_CLOSE:
			if (e->len)
				io_conn_write(cl->c, pend_text(e), e->len);
			free(e->big);
			io_conn_close(cl->c, true); /* frees @cl */
			return;
		}
		free(e->big);
	}
}

void client_mark_reached(struct iothr *t, uint64_t conn, uint32_t aux)
{
	struct io_conn *c = io_loop_conn(t->loop, conn);
	if (!c || !c->user)
		return; /* closed meanwhile */
	struct client *cl = c->user;
	uint32_t idx = aux - cl->pend_seq;
	if (idx >= cl->pend_n)
		return;
	cl->pend[(cl->pend_head + idx) & (cl->pend_cap - 1)].waiting = false;
	client_pend_drain(cl);
}

void client_reply(struct client *cl, const char *text, size_t len)
{
	if (cl->pend_n == 0)
		io_conn_write(cl->c, text, len);
	else if (client_pend_push(cl, false, text, len, PEND_TEXT) != 0)
		io_conn_close(cl->c, false);
}

/* Queues @text (or @kind's action) behind a mark in the route log: done when
 * everything this thread sent before has its results. */
void client_wait_mark(struct client *cl, const char *text, size_t len, enum pend_kind kind)
{
	uint32_t seq = cl->pend_seq + cl->pend_n;
	int r = iothr_mark(cl->t, cl->c->id, seq);
	if (r < 0 || client_pend_push(cl, r > 0, text, len, kind) != 0) {
		log_error("cid %llu: out of memory: closing", (unsigned long long)cl->cid);
		io_conn_close(cl->c, false);
		return;
	}
	if (r == 0)
		client_pend_drain(cl); /* nothing outstanding: at once */
}

void client_quit(struct client *cl, const char *text, size_t len)
{
	if (cl->quitting)
		return;
	cl->quitting = true;
	io_conn_pause(cl->c);
	client_wait_mark(cl, text, len, PEND_CLOSE);
}

void client_ok(struct client *cl)
{
	if (cl->opts.verbose)
		client_reply(cl, PROTO_OK_LINE, sizeof(PROTO_OK_LINE) - 1);
}

/* Logs why a client is closed for what it sent (or failed to send), at the
 * default level as nats-server does ("<ip>:<port> - cid:<n> - <reason>"),
 * rate-limited per I/O thread: a client can provoke it at will. */
void client_log_closing(struct client *cl, const char *reason)
{
	struct log_ratelimit *rl = &cl->t->client_log;
	unsigned long long missed = rl->suppressed;
	if (!log_ratelimit_ok(rl, clock_now_ns()))
		return;
	rl->suppressed = 0;
	if (missed)
		log_error("%s:%u - cid:%llu - %s (%llu earlier lines about clients suppressed)",
		          cl->c->peer_ip, cl->c->peer_port, (unsigned long long)cl->cid, reason,
		          missed);
	else
		log_error("%s:%u - cid:%llu - %s", cl->c->peer_ip, cl->c->peer_port,
		          (unsigned long long)cl->cid, reason);
}

void client_err(struct client *cl, const char *text, bool close)
{
	char buf[160];
	size_t n = proto_encode_err(buf, sizeof(buf), text);
	if (close) {
		cl->close_err = text; /* static texts only (a WebSocket's close frame) */
		client_log_closing(cl, text);
		client_quit(cl, buf, n);
		return;
	}
	client_reply(cl, buf, n);
}
