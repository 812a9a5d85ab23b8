/* Lame duck mode on an I/O thread, as nats-server does it: every client that
 * can take an INFO at any time (its CONNECT said protocol >= 1 and its
 * first PING was answered) is told "ldm":true, so it knows to reconnect
 * elsewhere; then, as the main thread asks (router/server_main.c), the
 * thread closes its clients a few at a time, each once what it sent has its
 * results (no -ERR, as nats-server closes them). The server's stop closes
 * what is left the same way, at once. */
#include <stdio.h>

#include "core/log.h"
#include "router/client_int.h"

/* One client: the INFO with "ldm":true, after the replies it waits for. */
static void client_ldm_info_one(struct io_conn *c, void *arg)
{
	const struct live *lv = arg;
	struct client *cl = c->user;
	if (!cl || !cl->connected || cl->quitting || cl->opts.protocol < 1 || !cl->first_pong)
		return;
	char info[4096];
	size_t n = client_info(cl->t->srv, lv, cl->cid, c->peer_ip, true, info, sizeof(info));
	if (n)
		client_reply(cl, info, n);
}

void client_ldm_info_all(struct iothr *t)
{
	io_loop_foreach(t->loop, client_ldm_info_one, (void *)server_live(t->srv));
}

struct client_ldm_close {
	uint32_t want;
	uint32_t closed;
};

static void client_ldm_close_one(struct io_conn *c, void *arg)
{
	struct client_ldm_close *x = arg;
	struct client *cl = c->user;
	if (x->closed == x->want || !cl || cl->quitting)
		return;
	log_debug("cid %llu %s:%u: closing (lame duck mode)", (unsigned long long)cl->cid,
	          c->peer_ip, c->peer_port);
	cl->close_why = CLIENT_CLOSE_SHUTDOWN;
	client_quit(cl, NULL, 0); /* may free @cl; the loop's slot stays valid */
	x->closed++;
}

uint32_t client_ldm_close(struct iothr *t, uint32_t n)
{
	struct client_ldm_close x = {.want = n};
	io_loop_foreach(t->loop, client_ldm_close_one, &x);
	return x.closed;
}

static void client_stop_one(struct io_conn *c, void *arg)
{
	(void)arg;
	struct client *cl = c->user;
	if (cl && !cl->close_why)
		cl->close_why = CLIENT_CLOSE_SHUTDOWN;
	io_conn_close(c, true);
}

void client_stop_all(struct iothr *t)
{
	io_loop_foreach(t->loop, client_stop_one, NULL);
}
