/* A burst of requests from a plain blocking client, timed where the JavaScript
 * client cannot be: each request is written with its own send() and its
 * clock starts when that call returns (it has left the client); a second
 * thread reads the answers and stops each clock. For bench/services.sh:
 *
 *   bench_burst PORT SUBJECT COUNT TIMEOUT_MS
 *
 * Prints one JSON line: answered, busy (the 503 status), timed_out (no
 * answer within TIMEOUT_MS of its send), and the busy answers' latency
 * (p50, p95, p99, max in ms, and how many within 10 ms). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct burst {
	int fd;
	const char *subject;
	uint32_t count;
	uint64_t timeout_ns;
	_Atomic uint64_t *sent_ns; /* per request, 0 until sent */
	uint64_t *answer_ns;       /* per request, 0 until answered */
	uint8_t *busy;
	atomic_bool done_sending;
};

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *sender(void *arg)
{
	struct burst *b = arg;
	char buf[256];
	for (uint32_t i = 0; i < b->count; i++) {
		int n = snprintf(buf, sizeof buf,
		                 "HPUB %s _INBOX.burst.%u 12 15\r\nNATS/1.0\r\n\r\njob\r\n",
		                 b->subject, i);
		if (send_all(b->fd, buf, (size_t)n))
			break;
		atomic_store_explicit(&b->sent_ns[i], now_ns(), memory_order_release);
	}
	atomic_store(&b->done_sending, true);
	return NULL;
}

/* A buffered line reader over the socket. */
struct rd {
	int fd;
	char buf[1 << 16];
	size_t off, len;
};

/* Ensures @need bytes are buffered; false on EOF/error/timeout. */
static bool rd_fill(struct rd *r, size_t need)
{
	if (r->off && r->len - r->off < need) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	while (r->len - r->off < need) {
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		r->len += (size_t)n;
	}
	return true;
}

/* The next line (without CRLF) into @line; false at the end. */
static bool rd_line(struct rd *r, char *line, size_t cap)
{
	for (size_t scanned = 0;;) {
		char *nl = memchr(r->buf + r->off + scanned, '\n', r->len - r->off - scanned);
		if (nl) {
			size_t n = (size_t)(nl - (r->buf + r->off));
			size_t c = n && nl[-1] == '\r' ? n - 1 : n;
			snprintf(line, cap, "%.*s", (int)c, r->buf + r->off);
			r->off += n + 1;
			return true;
		}
		scanned = r->len - r->off;
		if (!rd_fill(r, scanned + 1))
			return false;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	return n ? (double)v[(size_t)(p * (double)(n - 1))] / 1e6 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: bench_burst PORT SUBJECT COUNT TIMEOUT_MS\n");
		return 2;
	}
	struct burst b = {.subject = argv[2],
	                  .count = (uint32_t)strtoul(argv[3], NULL, 10),
	                  .timeout_ns = strtoull(argv[4], NULL, 10) * 1000000u};
	b.sent_ns = calloc(b.count, sizeof(*b.sent_ns));
	b.answer_ns = calloc(b.count, sizeof(*b.answer_ns));
	b.busy = calloc(b.count, 1);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)atoi(argv[1])),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	b.fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(b.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!b.sent_ns || !b.answer_ns || !b.busy ||
	    connect(b.fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("bench_burst: connect");
		return 1;
	}
	static struct rd r;
	r.fd = b.fd;
	char line[1024];
	static const char hello[] =
	    "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
	    "\"no_responders\":true,\"protocol\":1}\r\n"
	    "SUB _INBOX.burst.* 1\r\nPING\r\n";
	if (!rd_line(&r, line, sizeof line) || send_all(b.fd, hello, sizeof hello - 1))
		return 1;
	while (rd_line(&r, line, sizeof line) && strcmp(line, "PONG"))
		;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	setsockopt(b.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pthread_t th;
	pthread_create(&th, NULL, sender, &b);
	uint32_t answers = 0;
	uint64_t last_send_seen = 0;
	while (answers < b.count) {
		if (!rd_line(&r, line, sizeof line)) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			/* quiet: done once every request is past its timeout */
			if (atomic_load(&b.done_sending)) {
				if (!last_send_seen)
					last_send_seen = now_ns();
				if (now_ns() - last_send_seen > b.timeout_ns + 200000000u)
					break;
			}
			continue;
		}
		uint64_t t = now_ns();
		char subj[256], sid[32], reply[256];
		unsigned hlen = 0, len = 0;
		bool h = sscanf(line, "HMSG %255s %31s %u %u", subj, sid, &hlen, &len) == 4;
		if (!h && sscanf(line, "MSG %255s %31s %u", subj, sid, &len) != 3) {
			if (!strcmp(line, "PING"))
				send_all(b.fd, "PONG\r\n", 6);
			continue;
		}
		(void)reply;
		if (!rd_fill(&r, (size_t)len + 2))
			break;
		bool is_busy = h && len >= 12 && !memcmp(r.buf + r.off, "NATS/1.0 503", 12);
		r.off += (size_t)len + 2;
		const char *dot = strrchr(subj, '.');
		uint32_t i = dot ? (uint32_t)strtoul(dot + 1, NULL, 10) : b.count;
		if (i >= b.count || b.answer_ns[i])
			continue;
		b.answer_ns[i] = t;
		b.busy[i] = is_busy;
		answers++;
	}
	pthread_join(th, NULL);
	uint32_t answered = 0, busy = 0, timed_out = 0, within = 0;
	uint64_t *lat = calloc(b.count ? b.count : 1, sizeof(*lat));
	size_t nl = 0;
	for (uint32_t i = 0; i < b.count; i++) {
		uint64_t s = atomic_load(&b.sent_ns[i]);
		/* the answer may beat the sender's clock by the send() return */
		uint64_t d = b.answer_ns[i] > s ? b.answer_ns[i] - s : 0;
		if (!b.answer_ns[i] || d > b.timeout_ns) {
			timed_out++;
		} else if (b.busy[i]) {
			busy++;
			lat[nl++] = d;
			within += d <= 10000000u;
		} else {
			answered++;
		}
	}
	qsort(lat, nl, sizeof(*lat), cmp_u64);
	printf("{\"count\":%u,\"answered\":%u,\"busy\":%u,\"timed_out\":%u,\"busy_within_10ms\":%u,"
	       "\"busy_p50_ms\":%.3f,\"busy_p95_ms\":%.3f,\"busy_p99_ms\":%.3f,\"busy_max_ms\":%."
	       "3f}\n",
	       b.count, answered, busy, timed_out, within, pct(lat, nl, 0.5), pct(lat, nl, 0.95),
	       pct(lat, nl, 0.99), nl ? (double)lat[nl - 1] / 1e6 : 0);
	close(b.fd);
	return 0;
}
