/* ringbus-load's event loop: connections, the NATS client handshake, recv on
 * a provided-buffer ring, double-buffered sends, and the thread body. */
#include "tools/load/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "io/loop/uring.h"
#include "io/proto/connect.h"
#include "tools/load/hello.h"
#include "tools/load/run.h"

#define LOOP_SQ_ENTRIES  4096u
#define LOOP_CQ_ENTRIES  16384u
#define LOOP_NBUFS       512u /* provided recv buffers per thread (power of 2) */
#define LOOP_BUF_SIZE    (32u * 1024u)
#define LOOP_BGID        0
#define LOOP_MAX_WAIT_NS 5000000u   /* notice phase changes within 5 ms */
#define LOOP_SNAPSHOT_NS 100000000u /* progress snapshot period */
#define LOOP_MAX_PAYLOAD (64u << 20)

enum loop_op {
	OP_CONNECT = 1,
	OP_RECV,
	OP_SEND,
};

/* user_data as the server's loop packs it (io/loop/uring.h). */
static inline uint64_t ud_make(enum loop_op op, const struct load_conn *c)
{
	return uring_ud((unsigned)op, c->gen, c->slot);
}

static inline struct load_conn *ud_conn(struct load_thread *t, uint64_t ud, enum loop_op *op)
{
	*op = (enum loop_op)uring_ud_op(ud);
	uint32_t slot = uring_ud_slot(ud);
	if (slot >= t->nconns)
		return NULL;
	struct load_conn *c = &t->conns[slot];
	return (c->gen & 0xffffffu) == uring_ud_gen(ud) ? c : NULL;
}

const char *loop_role_name(enum load_role role)
{
	static const char *const names[] = {"publisher", "subscriber", "requester", "responder"};
	return names[role];
}

static struct io_uring_sqe *get_sqe(struct load_thread *t)
{
	return uring_sqe(&t->ring);
}

static void close_conn(struct load_conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	c->gen++; /* completions still in flight no longer match */
	if (c->fd >= 0) {
		shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
		c->fd = -1;
	}
}

void loop_conn_fail(struct load_conn *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run_fail(c->t->run, "%s %u: %s", loop_role_name(c->role), c->index, msg);
	close_conn(c);
}

int loop_thread_init(struct load_thread *t, struct load_run *run, uint32_t id, uint32_t nconns)
{
	memset(t, 0, sizeof(*t));
	t->run = run;
	t->id = id;
	int err = load_stats_init(&t->stats);
	if (err)
		return err;
	err = load_snapshot_init(&t->snap);
	if (err)
		goto undo_stats;
	pthread_mutex_init(&t->snap_lock, NULL);

	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	/* Created disabled: SINGLE_ISSUER binds the ring to the task that
	 * enables it, the loop thread (loop_thread_main). */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
	          IORING_SETUP_R_DISABLED;
	p.cq_entries = LOOP_CQ_ENTRIES;
	err = io_uring_queue_init_params(LOOP_SQ_ENTRIES, &t->ring, &p);
	if (err == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = LOOP_CQ_ENTRIES;
		err = io_uring_queue_init_params(LOOP_SQ_ENTRIES, &t->ring, &p);
	}
	if (err)
		goto undo_snap;

	t->nbufs = LOOP_NBUFS;
	if (posix_memalign((void **)&t->br, 4096, t->nbufs * sizeof(struct io_uring_buf))) {
		err = -ENOMEM;
		goto undo_ring;
	}
	t->bufs = malloc((size_t)t->nbufs * LOOP_BUF_SIZE);
	if (!t->bufs) {
		err = -ENOMEM;
		goto undo_br;
	}
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)t->br;
	reg.ring_entries = t->nbufs;
	reg.bgid = LOOP_BGID;
	err = io_uring_register_buf_ring(&t->ring, &reg, 0);
	if (err)
		goto undo_bufs;
	io_uring_buf_ring_init(t->br);
	int mask = io_uring_buf_ring_mask(t->nbufs);
	for (uint32_t i = 0; i < t->nbufs; i++)
		io_uring_buf_ring_add(t->br, t->bufs + (size_t)i * LOOP_BUF_SIZE, LOOP_BUF_SIZE,
		                      (unsigned short)i, mask, (int)i);
	io_uring_buf_ring_advance(t->br, (int)t->nbufs);

	t->conns = calloc(nconns ? nconns : 1, sizeof(*t->conns));
	t->pumped = calloc(nconns ? nconns : 1, sizeof(*t->pumped));
	t->dirty = calloc(nconns ? nconns : 1, sizeof(*t->dirty));
	if (!t->conns || !t->pumped || !t->dirty) {
		err = -ENOMEM;
		goto undo_conns;
	}
	t->nconns = nconns;
	for (uint32_t i = 0; i < nconns; i++) {
		t->conns[i].t = t;
		t->conns[i].slot = i;
		t->conns[i].gen = 1;
		t->conns[i].fd = -1;
	}
	return 0;

undo_conns:
	free(t->conns);
	free(t->pumped);
	free(t->dirty);
	(void)io_uring_unregister_buf_ring(&t->ring, LOOP_BGID);
undo_bufs:
	free(t->bufs);
undo_br:
	free(t->br);
undo_ring:
	io_uring_queue_exit(&t->ring);
undo_snap:
	load_snapshot_fini(&t->snap);
	pthread_mutex_destroy(&t->snap_lock);
undo_stats:
	load_stats_fini(&t->stats);
	return err;
}

void loop_thread_fini(struct load_thread *t)
{
	for (uint32_t i = 0; i < t->nconns; i++) {
		struct load_conn *c = &t->conns[i];
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	/* Exiting the ring ends every operation before the buffers go. */
	io_uring_queue_exit(&t->ring);
	for (uint32_t i = 0; i < t->nconns; i++) {
		proto_parser_fini(&t->conns[i].parser);
		free(t->conns[i].obuf[0]);
		free(t->conns[i].obuf[1]);
	}
	free(t->conns);
	free(t->pumped);
	free(t->dirty);
	free(t->bufs);
	free(t->br);
	load_snapshot_fini(&t->snap);
	pthread_mutex_destroy(&t->snap_lock);
	load_stats_fini(&t->stats);
}

int loop_conn_setup(struct load_conn *c, enum load_role role, uint32_t index,
                    const struct load_role_ops *ops, uint32_t ocap)
{
	c->role = role;
	c->index = index;
	c->ops = ops;
	c->pump_at = UINT64_MAX;
	c->ocap[0] = c->ocap[1] = ocap;
	c->ocap_max = 0;
	c->obuf[0] = malloc(ocap);
	c->obuf[1] = malloc(ocap);
	if (!c->obuf[0] || !c->obuf[1])
		return -ENOMEM;
	proto_parser_init(&c->parser, PROTO_SIDE_CLIENT, LOOP_MAX_PAYLOAD);
	if (ops->pump)
		c->t->pumped[c->t->npumped++] = c;
	return 0;
}

static void mark_dirty(struct load_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->t->dirty[c->t->ndirty++] = c;
	}
}

/* Grows the buffer that takes output (never the one on the wire) to hold @n
 * more bytes, up to ocap_max. */
static bool loop_grow(struct load_conn *c, uint32_t n)
{
	uint64_t need = (uint64_t)c->olen[c->fill] + n;
	if (need > c->ocap_max)
		return false;
	uint64_t cap = (uint64_t)c->ocap[c->fill] * 2;
	while (cap < need)
		cap *= 2;
	if (cap > c->ocap_max)
		cap = c->ocap_max;
	char *f = realloc(c->obuf[c->fill], cap);
	if (!f)
		return false;
	c->obuf[c->fill] = f;
	c->ocap[c->fill] = (uint32_t)cap;
	return true;
}

char *loop_reserve(struct load_conn *c, uint32_t n)
{
	if (n > c->ocap[c->fill] - c->olen[c->fill] && !(c->ocap_max && loop_grow(c, n)))
		return NULL;
	return c->obuf[c->fill] + c->olen[c->fill];
}

void loop_commit(struct load_conn *c, uint32_t n)
{
	c->olen[c->fill] += n;
	mark_dirty(c);
}

bool loop_write(struct load_conn *c, const char *data, uint32_t len)
{
	char *dst = loop_reserve(c, len);
	if (!dst)
		return false;
	memcpy(dst, data, len);
	loop_commit(c, len);
	return true;
}

bool loop_ping(struct load_conn *c)
{
	if (!loop_write(c, PROTO_PING_LINE, sizeof(PROTO_PING_LINE) - 1))
		return false;
	c->pings++;
	return true;
}

static void submit_send(struct load_conn *c)
{
	uint32_t idx = c->fill ^ 1u;
	struct io_uring_sqe *sqe = get_sqe(c->t);
	io_uring_prep_send(sqe, c->fd, c->obuf[idx] + c->sent_off, c->olen[idx] - c->sent_off,
	                   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud_make(OP_SEND, c));
}

static void flush(struct load_conn *c)
{
	c->dirty = false;
	if (c->state == CONN_CLOSED || c->sending || c->olen[c->fill] == 0)
		return;
	c->fill ^= 1u; /* the filled buffer goes on the wire, the empty one fills */
	c->sending = true;
	c->sent_off = 0;
	submit_send(c);
}

static void arm_recv(struct load_conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c->t);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = LOOP_BGID;
	io_uring_sqe_set_data64(sqe, ud_make(OP_RECV, c));
	c->recv_armed = true;
}

static void start_connect(struct load_conn *c)
{
	const struct hello_target *to = c->target;
	c->fd = socket(to->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0) {
		loop_conn_fail(c, "socket: %s", strerror(errno));
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = CONN_CONNECTING;
	struct io_uring_sqe *sqe = get_sqe(c->t);
	io_uring_prep_connect(sqe, c->fd, (const struct sockaddr *)&to->addr, to->addrlen);
	io_uring_sqe_set_data64(sqe, ud_make(OP_CONNECT, c));
}

static void on_info(struct load_conn *c, const struct proto_frame *f)
{
	struct load_run *run = c->t->run;
	struct connect_info info;
	char scratch[1024];
	if (connect_info_parse(&info, f->arg.ptr, f->arg.len, scratch, sizeof(scratch))) {
		loop_conn_fail(c, "the server's INFO is not valid JSON: is this a NATS server?");
		return;
	}
	pthread_mutex_lock(&run->lock);
	if (!run->server.seen) {
		run->server.seen = true;
		snprintf(run->server.version, sizeof(run->server.version), "%s",
		         info.version ? info.version : "");
		snprintf(run->server.server_id, sizeof(run->server.server_id), "%s",
		         info.server_id ? info.server_id : "");
		run->server.max_payload = info.max_payload;
	}
	pthread_mutex_unlock(&run->lock);
	if (info.max_payload && run->cfg->size > info.max_payload) {
		loop_conn_fail(c, "--size %u is above the server's max_payload %u", run->cfg->size,
		               info.max_payload);
		return;
	}
	if (!loop_write(c, c->target->connect_line, c->target->connect_len)) {
		loop_conn_fail(c, "CONNECT does not fit the output buffer");
		return;
	}
	c->state = CONN_WAIT_PONG;
}

static void on_err(struct load_conn *c, const struct proto_frame *f)
{
	char why[400];
	hello_err_message(why, sizeof(why), f->arg, c->state == CONN_READY);
	loop_conn_fail(c, "%s", why);
}

/* Handles one parsed operation. */
static void on_frame(struct load_conn *c, const struct proto_frame *f, uint64_t now)
{
	switch (f->op) {
	case PROTO_OP_INFO:
		if (c->state == CONN_WAIT_INFO)
			on_info(c, f);
		break;
	case PROTO_OP_PING:
		if (!loop_write(c, PROTO_PONG_LINE, sizeof(PROTO_PONG_LINE) - 1))
			c->pong_owed = true;
		break;
	case PROTO_OP_PONG:
		if (c->state == CONN_WAIT_PONG) {
			c->state = CONN_READY;
			c->ops->ready(c, now);
		} else if (c->pings) {
			c->pings--;
			if (c->ops->pong)
				c->ops->pong(c, now);
		}
		break;
	case PROTO_OP_ERR:
		on_err(c, f);
		break;
	case PROTO_OP_MSG:
	case PROTO_OP_HMSG:
		if (c->state == CONN_READY && c->ops->msg) {
			struct proto_span body = f->payload;
			body.ptr += f->hdr_len;
			body.len -= f->hdr_len;
			c->ops->msg(c, f, body, now);
		}
		break;
	default:
		break;
	}
}

static void on_bytes(struct load_conn *c, const char *buf, size_t len, uint64_t now)
{
	size_t off = 0;
	while (off < len && c->state != CONN_CLOSED) {
		struct proto_frame f;
		size_t used = 0;
		int r = proto_parse(&c->parser, buf + off, len - off, &used, &f);
		off += used;
		if (r == 0)
			break;
		if (r < 0) {
			const char *why = proto_err_text(r);
			loop_conn_fail(c, "protocol error from the server (%s)",
			               why ? why : "malformed operation");
			return;
		}
		on_frame(c, &f, now);
	}
}

static void on_recv(struct load_conn *c, const struct io_uring_cqe *cqe, uint64_t now,
                    int *recycled)
{
	struct load_thread *t = c->t;
	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		char *buf = t->bufs + (size_t)bid * LOOP_BUF_SIZE;
		on_bytes(c, buf, (size_t)cqe->res, now);
		io_uring_buf_ring_add(t->br, buf, LOOP_BUF_SIZE, (unsigned short)bid,
		                      io_uring_buf_ring_mask(t->nbufs), *recycled);
		(*recycled)++;
	}
	if (c->state == CONN_CLOSED || (cqe->flags & IORING_CQE_F_MORE))
		return;
	c->recv_armed = false;
	if (cqe->res == 0) {
		bool stopping = run_phase(t->run) >= PHASE_STOP;
		if (!stopping)
			loop_conn_fail(c, "the server closed the connection%s",
			               c->role == ROLE_SUB || c->role == ROLE_REQ
			                   ? " (a slow consumer? NATS servers drop subscribers "
			                     "that fall behind)"
			                   : "");
		else
			close_conn(c);
		return;
	}
	if (cqe->res < 0 && cqe->res != -ENOBUFS) {
		loop_conn_fail(c, "recv: %s", strerror(-cqe->res));
		return;
	}
	arm_recv(c); /* out of buffers, or the multishot ended: go again */
}

static void on_send(struct load_conn *c, int res)
{
	if (c->state == CONN_CLOSED)
		return;
	if (res < 0) {
		if (res == -EPIPE || res == -ECONNRESET)
			loop_conn_fail(c, "the server closed the connection");
		else
			loop_conn_fail(c, "send: %s", strerror(-res));
		return;
	}
	uint32_t idx = c->fill ^ 1u;
	c->sent_off += (uint32_t)res;
	if (c->sent_off < c->olen[idx]) {
		submit_send(c); /* short send: the rest */
		return;
	}
	c->olen[idx] = 0;
	c->sent_off = 0;
	c->sending = false;
	if (c->pong_owed && loop_write(c, PROTO_PONG_LINE, sizeof(PROTO_PONG_LINE) - 1))
		c->pong_owed = false;
	if (c->olen[c->fill])
		mark_dirty(c);
}

static void on_connect(struct load_conn *c, int res)
{
	if (c->state == CONN_CLOSED)
		return;
	if (res < 0) {
		loop_conn_fail(c, "cannot connect to %s: %s%s", c->target->shown, strerror(-res),
		               res == -ECONNREFUSED ? " (is a NATS server listening there?)" : "");
		return;
	}
	c->state = CONN_WAIT_INFO;
	arm_recv(c);
}

static void dispatch(struct load_thread *t, const struct io_uring_cqe *cqe, uint64_t now,
                     int *recycled)
{
	enum loop_op op;
	struct load_conn *c = ud_conn(t, cqe->user_data, &op);
	if (!c) {
		/* A stale completion: give back any buffer it holds. */
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			io_uring_buf_ring_add(t->br, t->bufs + (size_t)bid * LOOP_BUF_SIZE,
			                      LOOP_BUF_SIZE, (unsigned short)bid,
			                      io_uring_buf_ring_mask(t->nbufs), *recycled);
			(*recycled)++;
		}
		return;
	}
	switch (op) {
	case OP_CONNECT:
		on_connect(c, cqe->res);
		break;
	case OP_RECV:
		on_recv(c, cqe, now, recycled);
		break;
	case OP_SEND:
		on_send(c, cqe->res);
		break;
	}
}

static void take_snapshot(struct load_thread *t, uint64_t now)
{
	pthread_mutex_lock(&t->snap_lock);
	load_snapshot_take(&t->snap, &t->stats);
	pthread_mutex_unlock(&t->snap_lock);
	t->next_snapshot = now + LOOP_SNAPSHOT_NS;
}

void *loop_thread_main(void *arg)
{
	struct load_thread *t = arg;
	struct load_run *run = t->run;
	if (t->ring.flags & IORING_SETUP_R_DISABLED) {
		/* liburing 2.3's library lacks io_uring_enable_rings(): the syscall. */
		if (syscall(__NR_io_uring_register, t->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
		            NULL, 0) < 0) {
			run_fail(run, "enabling the io_uring: %s", strerror(errno));
			return NULL;
		}
	}
	for (uint32_t i = 0; i < t->nconns && !run_failed(run); i++)
		start_connect(&t->conns[i]);

	while (!run_failed(run)) {
		uint64_t now = clock_now_ns();
		int phase = run_phase(run);
		if (phase >= PHASE_STOP)
			break;
		uint64_t next = now + LOOP_MAX_WAIT_NS;
		/* Woken by a completion before the end of a timed wait: paced
		 * senders keep to the wait (see below). */
		bool early = now < t->wake_at;
		if (phase >= PHASE_PROBE) { /* only pubsub's publishers probe */
			for (uint32_t i = 0; i < t->npumped; i++) {
				struct load_conn *c = t->pumped[i];
				if (c->state != CONN_READY)
					continue;
				uint64_t w;
				if (early && c->pump_at != UINT64_MAX)
					w = c->pump_at > t->wake_at ? c->pump_at : t->wake_at;
				else
					w = c->pump_at = c->ops->pump(c, now);
				if (w < next)
					next = w;
			}
		}
		if (now >= t->next_snapshot)
			take_snapshot(t, now);
		for (uint32_t i = 0; i < t->ndirty; i++)
			flush(t->dirty[i]);
		t->ndirty = 0;

		struct io_uring_cqe *cqe = NULL;
		if (next <= now) {
			t->wake_at = 0;
			io_uring_submit(&t->ring);
		} else {
			/* Timed waits shorter than the send window are stretched
			 * to it: arming a timer per message costs more than the
			 * message, as for nanosleep (whose default slack is 50 us).
			 * Sends that fall due meanwhile wait for the end of the
			 * wait, even when a completion wakes the thread earlier
			 * (the deadline is kept), and leave together in one write.
			 * Their lateness counts in the send delay and the corrected
			 * latency like any other. */
			uint64_t wait = next - now;
			uint64_t window = t->run->cfg->send_window_ns;
			if (wait < window && !(early && next <= t->wake_at))
				wait = window;
			t->wake_at = now + wait;
			struct __kernel_timespec ts = {.tv_sec = (long long)(wait / 1000000000u),
			                               .tv_nsec = (long long)(wait % 1000000000u)};
			io_uring_submit_and_wait_timeout(&t->ring, &cqe, 1, &ts, NULL);
		}
		now = clock_now_ns();
		unsigned head, seen = 0;
		int recycled = 0;
		io_uring_for_each_cqe(&t->ring, head, cqe)
		{
			dispatch(t, cqe, now, &recycled);
			seen++;
		}
		io_uring_cq_advance(&t->ring, seen);
		if (recycled)
			io_uring_buf_ring_advance(t->br, recycled);
	}
	take_snapshot(t, clock_now_ns());
	return NULL;
}
