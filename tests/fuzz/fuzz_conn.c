/* Whole-connection fuzz target: a ringbus server runs in this process on a
 * loopback port; each input is sent on a fresh connection (in chunks), then
 * PING, and what the server answers is parsed and checked. Input: one flags
 * byte (bit 0: pause between chunks, bit 1: close with a reset), three split
 * points (byte * length / 256; 0 = none), then the stream.
 *
 * Invariants (abort on any): the server accepts (INFO comes first), sends
 * only well-formed protocol and known -ERR texts, answers every PING of a
 * stream that parses whole or closes the connection, and after each input a
 * canary connection still gets its own message and PONG. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "io/proto/proto.h"
#include "router/conf/config.h"
#include "router/iothr.h"
#include "router/server.h"
#include "tests/fuzz/fuzz_target.h"

#define HEAD     4
#define PAUSE_US 200
/* A whole stream's PONGs, or the close, come within this; and the canary's
 * answers. Generous: normally microseconds, but the fuzzer shares a busy
 * machine's cores with the server it runs, under ASan. */
#define ANSWER_MS    10000
#define TAIL_MS      20 /* how long output of an unfinished stream is collected */
#define CANARY_MS    10000
#define SEND_TIMEOUT 2 /* seconds; the server may stop reading a connection it closes */
#define CONNECT_ARGS "{\"verbose\":false,\"pedantic\":false}"

/* The -ERR texts a NATS server sends (docs: NATS-NOTES.md); nothing else. */
static const char *const known_errors[] = {
    "Unknown Protocol Operation",
    "Authorization Violation",
    "Authentication Timeout",
    "maximum control line exceeded",
    "Maximum Payload Violation",
    "invalid client protocol",
    "no responders requires headers support",
    "maximum connections exceeded",
    "Stale Connection",
    "Secure Connection - TLS Required",
    "Invalid Subject",
    "Invalid Publish Subject",
    "maximum subscriptions exceeded",
};

/* The server and the canary. Owner: the fuzzing thread (the server's own
 * threads run inside it). */
static struct server *srv;
static pthread_t srv_thread;
static uint16_t srv_port;
static int canary = -1;
static struct proto_parser canary_parser;
static unsigned long canary_seq;

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_conn: invariant broken: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	abort();
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *server_thread(void *arg)
{
	int ret = server_run(arg);
	if (ret != 0)
		fail("server_run failed", strerror(-ret));
	return NULL;
}

/* Stops the server at exit: server_run waits for SIGTERM in its thread. */
static void stop_server(void)
{
	if (canary >= 0)
		close(canary);
	proto_parser_fini(&canary_parser);
	pthread_kill(srv_thread, SIGTERM);
	pthread_join(srv_thread, NULL);
	server_free(srv);
	srv = NULL;
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(srv_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		fail("the server no longer accepts connections", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = {.tv_sec = SEND_TIMEOUT};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Sends all of @buf; returns false when the server closed the connection. */
static bool send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* What one connection has seen of the server's output. */
struct seen {
	bool info;
	unsigned pongs;
	unsigned frames;
	bool canary_msg; /* canary: its own message arrived */
	unsigned long want_seq;
};

static bool known_error(struct proto_span text)
{
	for (size_t i = 0; i < sizeof known_errors / sizeof known_errors[0]; i++)
		if (strlen(known_errors[i]) == text.len &&
		    memcmp(known_errors[i], text.ptr, text.len) == 0)
			return true;
	return false;
}

/* Checks one frame the server sent and answers a server PING. */
static void on_frame(int fd, const struct proto_frame *f, struct seen *s)
{
	char text[160];
	if (s->frames++ == 0 && f->op != PROTO_OP_INFO)
		fail("the first thing the server sent is not INFO", NULL);
	switch (f->op) {
	case PROTO_OP_INFO:
		if (s->frames != 1)
			fail("INFO sent twice", NULL);
		s->info = true;
		break;
	case PROTO_OP_ERR:
		if (!known_error(f->arg)) {
			snprintf(text, sizeof text, "%.*s", (int)f->arg.len, f->arg.ptr);
			fail("the server invented an -ERR text", text);
		}
		break;
	case PROTO_OP_PONG:
		s->pongs++;
		break;
	case PROTO_OP_PING:
		send_all(fd, PROTO_PONG_LINE, strlen(PROTO_PONG_LINE));
		break;
	case PROTO_OP_MSG:
	case PROTO_OP_HMSG:
		if (s->want_seq != 0 && f->payload.len > 0) {
			snprintf(text, sizeof text, "%lu", s->want_seq);
			s->canary_msg |= f->payload.len == strlen(text) &&
			                 memcmp(f->payload.ptr, text, f->payload.len) == 0;
		}
		break;
	default:
		break;
	}
}

/* Reads and checks the server's output on @fd until @done(s) holds, EOF or
 * @timeout_ms. Returns 1 (done), 0 (EOF) or -ETIMEDOUT. */
static int read_until(int fd, struct proto_parser *p, struct seen *s,
                      bool (*done)(const struct seen *s, unsigned want), unsigned want,
                      int timeout_ms)
{
	static char buf[64 * 1024];
	int64_t deadline = now_ms() + timeout_ms;
	while (!done(s, want)) {
		int left = (int)(deadline - now_ms());
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, left) == 0)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return 0;
		for (size_t off = 0; off < (size_t)n;) {
			struct proto_frame f;
			size_t used = 0;
			int rc = proto_parse(p, buf + off, (size_t)n - off, &used, &f);
			if (rc < 0)
				fail("the server sent something that does not parse",
				     proto_err_text(rc));
			off += used;
			if (rc == 0)
				break;
			on_frame(fd, &f, s);
		}
	}
	return 1;
}

static bool enough_pongs(const struct seen *s, unsigned want)
{
	return s->pongs >= want;
}

static bool canary_done(const struct seen *s, unsigned want)
{
	return s->canary_msg && s->pongs >= want;
}

static bool never(const struct seen *s, unsigned want)
{
	(void)s;
	(void)want;
	return false;
}

static void start_server(void)
{
	struct config cfg;
	config_init(&cfg);
	free(cfg.host);
	cfg.host = strdup("127.0.0.1");
	cfg.port = -1; /* one I/O thread: one listening socket on a free port */
	cfg.io_threads = 1;
	cfg.workers = 1;
	cfg.pin = false;
	cfg.buf_count = 64;
	if (!cfg.host || config_validate(&cfg) != 0)
		fail("configuration", NULL);
	log_set_level(LOG_ERROR);
	int ret = server_new(&cfg, &srv);
	config_fini(&cfg);
	if (ret != 0)
		fail("server_new", strerror(-ret));
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(srv->io[0].listen_fd, (struct sockaddr *)&sa, &len) != 0)
		fail("getsockname", strerror(errno));
	srv_port = ntohs(sa.sin_port);
	if (pthread_create(&srv_thread, NULL, server_thread, srv) != 0)
		fail("pthread_create", NULL);
	atexit(stop_server);

	canary = dial();
	proto_parser_init(&canary_parser, PROTO_SIDE_CLIENT, UINT32_MAX);
	const char hello[] = "CONNECT " CONNECT_ARGS "\r\nSUB canary.x 1\r\nPING\r\n";
	struct seen s = {0};
	if (!send_all(canary, hello, strlen(hello)) ||
	    read_until(canary, &canary_parser, &s, enough_pongs, 1, CANARY_MS) != 1)
		fail("the canary cannot connect", NULL);
}

/* The canary publishes to its own subject and must get the message and PONG. */
static void check_canary(void)
{
	char msg[32], line[96];
	struct seen s = {.info = true, .frames = 1, .want_seq = ++canary_seq};
	int len = snprintf(msg, sizeof msg, "%lu", canary_seq);
	int total = snprintf(line, sizeof line, "PUB canary.x %d\r\n%s\r\nPING\r\n", len, msg);
	if (!send_all(canary, line, (size_t)total))
		fail("the canary was disconnected", NULL);
	if (read_until(canary, &canary_parser, &s, canary_done, 1, CANARY_MS) != 1)
		fail("the canary did not get its message and PONG", NULL);
}

/* How many PINGs the server must answer for @s/@len followed by PING, as
 * the project's own parser frames it; *@whole is false when the stream ends
 * inside a frame or in an error that closes the connection. */
static unsigned expected_pongs(const char *s, size_t len, bool *whole)
{
	struct proto_parser p;
	unsigned pings = 0;
	*whole = true;
	proto_parser_init(&p, PROTO_SIDE_SERVER, PROTO_DEFAULT_MAX_PAYLOAD);
	for (int part = 0; part < 2 && *whole; part++) {
		const char *buf = part == 0 ? s : PROTO_PING_LINE;
		size_t n = part == 0 ? len : strlen(PROTO_PING_LINE);
		for (size_t off = 0; off < n;) {
			struct proto_frame f;
			size_t used = 0;
			int rc = proto_parse(&p, buf + off, n - off, &used, &f);
			if (rc < 0) {
				*whole = false;
				break;
			}
			off += used;
			if (rc == 0)
				break;
			pings += f.op == PROTO_OP_PING;
		}
	}
	*whole = *whole && !proto_parser_pending(&p);
	proto_parser_fini(&p);
	return pings;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (srv == NULL)
		start_server();
	if (size < HEAD)
		return 0;
	uint8_t flags = data[0];
	const char *stream = (const char *)data + HEAD;
	size_t len = size - HEAD;
	size_t cuts[5] = {0};
	size_t ncuts = 1;
	for (int i = 1; i < HEAD; i++)
		if (data[i] != 0)
			cuts[ncuts++] = (size_t)data[i] * len / 256;
	cuts[ncuts++] = len;
	/* Three values: a small sort. */
	for (size_t i = 1; i < ncuts; i++)
		for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
			size_t t = cuts[k];
			cuts[k] = cuts[k - 1];
			cuts[k - 1] = t;
		}

	int fd = dial();
	bool open = true;
	for (size_t i = 1; i < ncuts && open; i++) {
		if (cuts[i] > cuts[i - 1])
			open = send_all(fd, stream + cuts[i - 1], cuts[i] - cuts[i - 1]);
		if ((flags & 1) && i + 1 < ncuts)
			usleep(PAUSE_US);
	}
	if (open)
		open = send_all(fd, PROTO_PING_LINE, strlen(PROTO_PING_LINE));

	bool whole;
	unsigned want = expected_pongs(stream, len, &whole);
	struct proto_parser p;
	struct seen s = {0};
	proto_parser_init(&p, PROTO_SIDE_CLIENT, UINT32_MAX);
	int r = whole ? read_until(fd, &p, &s, enough_pongs, want, ANSWER_MS)
	              : read_until(fd, &p, &s, never, 0, TAIL_MS);
	if (whole && r == -ETIMEDOUT) {
		char detail[64];
		snprintf(detail, sizeof detail, "%u of %u PONGs", s.pongs, want);
		fail("a stream that parses whole was neither answered nor closed", detail);
	}
	if (r == 0 && !s.info)
		fail("closed without INFO", NULL);
	proto_parser_fini(&p);
	if (flags & 2) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fd);
	check_canary();
	return 0;
}
