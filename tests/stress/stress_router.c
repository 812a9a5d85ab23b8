/* Stress of the whole router: starts the ringbus binary given as argv[1] with
 * several I/O threads, workers and shards, then client threads publish
 * numbered messages on many subjects while subscribers (plain, wildcard and a
 * queue group) check that each message arrives exactly once and in
 * per-publisher order across subjects (the route log's merge), with SUB/UNSUB churn, PING barriers
 * and connections closing with thousands of subscriptions in between. Ends with SIGTERM and
 * requires a clean exit. Exit 0 pass, 1 fail, 77 skip. Run under ThreadSanitizer by the tsan preset
 * (the server is instrumented). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUBLISHERS 3
#define SUBJECTS   16
#define MSGS       3000 /* per publisher, spread over the subjects */
#define QMEMBERS   3

static int port;
static atomic_int failures;

/* Reports "<what><detail>" and counts a failure. */
static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "stress_router: %s%s\n", what, detail);
	atomic_fetch_add(&failures, 1);
}

static int dial(void)
{
	for (int tries = 0; tries < 200; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		usleep(50000);
	}
	return -1;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A line reader over a blocking socket with a timeout. */
struct reader {
	int fd;
	char buf[1 << 16];
	size_t len;
	size_t off;
};

static int reader_fill(struct reader *r, int timeout_ms)
{
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* Returns the next line (without \r\n) or NULL on timeout/close. */
static char *reader_line(struct reader *r, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);
		if (nl) {
			char *line = r->buf + r->off;
			*nl = 0;
			if (nl > line && nl[-1] == '\r')
				nl[-1] = 0;
			r->off = (size_t)(nl + 1 - r->buf);
			return line;
		}
		if (reader_fill(r, timeout_ms) != 0)
			return NULL;
	}
}

/* Reads @n payload bytes plus \r\n into @out (n < 256). */
static int reader_payload(struct reader *r, char *out, size_t n, int timeout_ms)
{
	while (r->len - r->off < n + 2)
		if (reader_fill(r, timeout_ms) != 0)
			return -1;
	memcpy(out, r->buf + r->off, n);
	out[n] = 0;
	r->off += n + 2;
	return 0;
}

/* Sends CONNECT + PING and waits for PONG (skipping INFO). */
static int handshake(struct reader *r)
{
	const char *hello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";
	if (send_all(r->fd, hello, strlen(hello)))
		return -1;
	for (;;) {
		char *l = reader_line(r, 5000);
		if (!l)
			return -1;
		if (!strcmp(l, "PONG"))
			return 0;
	}
}

struct sub_ctx {
	const char *sub_lines; /* SUB lines to send */
	int expect;            /* messages expected in all */
	int got;
	int ordered; /* check per-publisher order across subjects */
	int per_sid; /* each message comes once per sid (1, 2): check each sid apart */
	struct reader r;
};

static atomic_int subs_ready;
static atomic_int total_queue_msgs;

static void *subscriber(void *arg)
{
	struct sub_ctx *s = arg;
	int last[PUBLISHERS][4]; /* per publisher and sid (1..3) */
	memset(last, -1, sizeof(last));
	s->r.fd = dial();
	if (s->r.fd < 0 || handshake(&s->r)) {
		fail("", "subscriber cannot connect");
		atomic_fetch_add(&subs_ready, 1);
		return NULL;
	}
	send_all(s->r.fd, s->sub_lines, strlen(s->sub_lines));
	send_all(s->r.fd, "PING\r\n", 6);
	char *l;
	while ((l = reader_line(&s->r, 5000)) && strcmp(l, "PONG"))
		;
	atomic_fetch_add(&subs_ready, 1);
	while (s->expect < 0 || s->got < s->expect) {
		l = reader_line(&s->r, s->expect < 0 ? 1500 : 10000);
		if (!l)
			break;
		if (!strcmp(l, "PING")) {
			send_all(s->r.fd, "PONG\r\n", 6);
			continue;
		}
		char subj[64], sid[16];
		unsigned len;
		if (sscanf(l, "MSG %63s %15s %u", subj, sid, &len) != 3 || len > 200) {
			fail("unexpected line: ", l);
			break;
		}
		char payload[256];
		if (reader_payload(&s->r, payload, len, 5000)) {
			fail("", "payload missing");
			break;
		}
		int pub, subject, seq;
		if (sscanf(payload, "%d.%d.%d", &pub, &subject, &seq) != 3 || pub < 0 ||
		    pub >= PUBLISHERS || subject < 0 || subject >= SUBJECTS) {
			fail("bad payload: ", payload);
			break;
		}
		/* one publisher's sequence runs across all its subjects */
		int sidn = atoi(sid);
		int slot = s->per_sid && sidn >= 1 && sidn <= 3 ? sidn : 0;
		if (s->ordered && seq <= last[pub][slot])
			fail("", "out of order or duplicate delivery");
		last[pub][slot] = seq;
		s->got++;
	}
	close(s->r.fd);
	return NULL;
}

static void *publisher(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct reader *r = calloc(1, sizeof(*r));
	r->fd = dial();
	if (r->fd < 0 || handshake(r)) {
		fail("", "publisher cannot connect");
		free(r);
		return NULL;
	}
	char out[1 << 14];
	size_t n = 0;
	for (int i = 0; i < MSGS; i++) {
		int subject = i % SUBJECTS;
		char payload[64];
		int plen = snprintf(payload, sizeof(payload), "%d.%d.%d", id, subject, i);
		n += (size_t)snprintf(out + n, sizeof(out) - n, "PUB s.%d %d\r\n%s\r\n", subject,
		                      plen, payload);
		if (i % 97 == 0) {
			/* churn: a short-lived subscription on a subject of its own */
			n += (size_t)snprintf(out + n, sizeof(out) - n,
			                      "SUB churn.%d.%d %d\r\nUNSUB %d\r\n", id, i, i + 1,
			                      i + 1);
		}
		if (n > sizeof(out) - 256 || i == MSGS - 1) {
			if (send_all(r->fd, out, n))
				fail("", "publisher send failed");
			n = 0;
		}
	}
	send_all(r->fd, "PING\r\n", 6);
	char *l;
	while ((l = reader_line(r, 10000)) && strcmp(l, "PONG"))
		;
	if (!l)
		fail("", "no PONG after publishing");
	close(r->fd);
	free(r);
	return NULL;
}

#define HOARD        3000 /* subscriptions of a hoarder: many per shard */
#define HOARD_ROUNDS 3

/* Connects, subscribes HOARD subjects of its own and s.> (so that it is
 * matched while the publishers run), reads what comes for a moment and
 * closes: the shards remove its subscriptions a slice at a time while
 * matching goes on. */
static void *hoarder(void *arg)
{
	(void)arg;
	static char lines[HOARD * 40 + 64];
	for (int round = 0; round < HOARD_ROUNDS; round++) {
		struct reader *r = calloc(1, sizeof(*r));
		r->fd = dial();
		if (r->fd < 0 || handshake(r)) {
			fail("", "hoarder cannot connect");
			if (r->fd >= 0)
				close(r->fd);
			free(r);
			return NULL;
		}
		size_t n = 0;
		for (int i = 0; i < HOARD; i++)
			n += (size_t)snprintf(lines + n, sizeof(lines) - n,
			                      "SUB hoard.%d.%d %d\r\n", round, i, i + 1);
		n += (size_t)snprintf(lines + n, sizeof(lines) - n, "SUB s.> 0\r\nPING\r\n");
		if (send_all(r->fd, lines, n))
			fail("", "hoarder send failed");
		char *l;
		while ((l = reader_line(r, 10000)) && strcmp(l, "PONG"))
			;
		if (!l)
			fail("", "hoarder: no PONG after subscribing");
		while (reader_line(r, 20)) /* what the publishers send meanwhile */
			;
		close(r->fd);
		free(r);
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "stress_router: timed out\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(1);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (void *)&sa, &sl))
		return -1;
	close(fd);
	return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stress_router PATH-TO-RINGBUS\n");
		return 77;
	}
	signal(SIGALRM, on_alarm);
	alarm(240);
	port = free_port();
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv[1], argv[1], "-a", "127.0.0.1", "-p", portstr, "--io-threads", "2",
		      "--workers", "2", "--shards", "8", "--no-pin", (char *)NULL);
		_exit(127);
	}

	/* plain subscribers of every subject, one wildcard, a queue group */
	static struct sub_ctx subs[2 + QMEMBERS];
	char lines[4096];
	size_t n = 0;
	for (int i = 0; i < SUBJECTS; i++)
		n += (size_t)snprintf(lines + n, sizeof(lines) - n, "SUB s.%d %d\r\n", i, i + 1);
	subs[0] = (struct sub_ctx){.sub_lines = lines, .expect = PUBLISHERS * MSGS, .ordered = 1};
	subs[1] = (struct sub_ctx){.sub_lines = "SUB s.* 1\r\nSUB s.> 2\r\n",
	                           .expect = 2 * PUBLISHERS * MSGS,
	                           .ordered = 1,
	                           .per_sid = 1};
	for (int q = 0; q < QMEMBERS; q++)
		subs[2 + q] = (struct sub_ctx){
		    .sub_lines = "SUB s.* workers 1\r\n", .expect = -1, .ordered = 1};

	pthread_t st[2 + QMEMBERS], pt[PUBLISHERS];
	for (int i = 0; i < 2 + QMEMBERS; i++)
		pthread_create(&st[i], NULL, subscriber, &subs[i]);
	while (atomic_load(&subs_ready) < 2 + QMEMBERS)
		usleep(1000);
	pthread_t ht;
	pthread_create(&ht, NULL, hoarder, NULL);
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_create(&pt[i], NULL, publisher, (void *)(intptr_t)i);
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_join(pt[i], NULL);
	pthread_join(ht, NULL);
	for (int i = 0; i < 2 + QMEMBERS; i++)
		pthread_join(st[i], NULL);

	char msg[128];
	for (int i = 0; i < 2; i++)
		if (subs[i].got != subs[i].expect) {
			snprintf(msg, sizeof(msg), "subscriber %d got %d of %d", i, subs[i].got,
			         subs[i].expect);
			fail("", msg);
		}
	int q = 0;
	for (int i = 0; i < QMEMBERS; i++)
		q += subs[2 + i].got;
	if (q != PUBLISHERS * MSGS) {
		snprintf(msg, sizeof(msg), "queue group got %d of %d", q, PUBLISHERS * MSGS);
		fail("", msg);
	}

	kill(pid, SIGTERM);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(msg, sizeof(msg), "status %d", status);
		fail("server did not exit cleanly: ", msg);
	}
	int f = atomic_load(&failures);
	printf("stress_router: %d publishers x %d msgs, %d subjects, fan-out to %d subscribers: "
	       "%s\n",
	       PUBLISHERS, MSGS, SUBJECTS, 2 + QMEMBERS, f ? "FAILED" : "ok");
	(void)total_queue_msgs;
	return f ? 1 : 0;
}
