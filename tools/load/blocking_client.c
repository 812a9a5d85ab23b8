/* ringbus-load-blocking: the yardstick for ringbus-load, a plain client on
 * blocking sockets (one thread per connection, 64 KiB buffered writes, the
 * same PING window, payload, sequence check and latency histogram) doing the
 * same pub/sub work. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "io/proto.h"
#include "tools/load/flags.h"
#include "core/hist.h"
#include "tools/load/payload.h"
#include "tools/load/track.h"

#define BC_BUF    (64 * 1024)
#define BC_WINDOW 1000u

struct bc_opts {
	struct load_url url;
	uint32_t pubs, subs, size;
	uint64_t msgs;
	double rate;
};

/* One connection and its thread. Owner: that thread. */
struct bc_conn {
	const struct bc_opts *o;
	int fd;
	uint32_t index;
	bool sub;
	pthread_t tid;
	struct proto_parser parser;
	char wbuf[BC_BUF];
	size_t wlen;
	uint64_t count; /* sent or received */
	uint64_t pongs;
	uint64_t done_ns;
	struct track track; /* the same per-message checks as ringbus-load */
	struct hist lat;
};

static uint64_t g_start_ns;
static volatile int g_go;

static void die(const char *what)
{
	fprintf(stderr, "ringbus-load-blocking: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void flush_out(struct bc_conn *c)
{
	size_t off = 0;
	while (off < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
		if (n <= 0)
			die("send");
		off += (size_t)n;
	}
	c->wlen = 0;
}

static void put(struct bc_conn *c, const char *p, size_t n)
{
	if (c->wlen + n > BC_BUF)
		flush_out(c);
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

/* Reads and parses one buffer; returns false at EOF. */
static bool read_some(struct bc_conn *c)
{
	static __thread char rbuf[BC_BUF];
	ssize_t n = recv(c->fd, rbuf, sizeof(rbuf), 0);
	if (n <= 0)
		return false;
	uint64_t now = clock_now_ns();
	size_t off = 0;
	while (off < (size_t)n) {
		struct proto_frame f;
		size_t used = 0;
		int r = proto_parse(&c->parser, rbuf + off, (size_t)n - off, &used, &f);
		off += used;
		if (r <= 0)
			break;
		if (f.op == PROTO_OP_PONG) {
			c->pongs++;
		} else if (f.op == PROTO_OP_PING) {
			put(c, PROTO_PONG_LINE, 6);
			flush_out(c);
		} else if (f.op == PROTO_OP_MSG) {
			struct payload_hdr h;
			if (payload_read(f.payload.ptr, f.payload.len, &h) &&
			    track_seen(&c->track, h.stream, h.seq) == TRACK_IN_ORDER) {
				c->count++;
				hist_record(&c->lat, now > h.stamp_ns ? now - h.stamp_ns : 0);
			}
		}
	}
	return true;
}

static void connect_conn(struct bc_conn *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(c->o->url.host, c->o->url.port, &hints, &ai))
		die("resolve");
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen))
		die("connect");
	freeaddrinfo(ai);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	proto_parser_init(&c->parser, PROTO_SIDE_CLIENT, 64u << 20);
	if (track_init(&c->track, 16) || hist_init(&c->lat, 1, UINT64_C(3600000000000), 3))
		die("memory");
	const char *conn = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"blocking\","
	                   "\"protocol\":1,\"echo\":true}\r\nPING\r\n";
	put(c, conn, strlen(conn));
	if (c->sub) {
		char line[128];
		int n = snprintf(line, sizeof(line), "SUB load.0 1\r\nPING\r\n");
		put(c, line, (size_t)n);
	}
	flush_out(c);
	uint64_t want = c->sub ? 2 : 1;
	while (c->pongs < want)
		if (!read_some(c))
			die("handshake");
	c->pongs = 0;
}

static void *pub_main(void *arg)
{
	struct bc_conn *c = arg;
	const struct bc_opts *o = c->o;
	uint64_t quota = o->msgs / o->pubs + (c->index < o->msgs % o->pubs);
	char head[64];
	int hl = snprintf(head, sizeof(head), "PUB load.0 %u\r\n", o->size);
	char *msg = malloc((size_t)hl + o->size + 2);
	memcpy(msg, head, (size_t)hl);
	memset(msg + hl, 'x', o->size);
	memcpy(msg + hl + o->size, "\r\n", 2);
	double period = o->rate > 0 ? 1e9 * o->pubs / o->rate : 0;
	uint64_t pings = 0;
	while (!__atomic_load_n(&g_go, __ATOMIC_ACQUIRE))
		;
	for (uint64_t i = 0; i < quota; i++) {
		uint64_t now = clock_now_ns();
		if (period > 0) {
			uint64_t due = g_start_ns + (uint64_t)((double)i * period);
			if (due > now) {
				flush_out(c);
				struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
				                      .tv_nsec = (long)(due % 1000000000u)};
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				now = due;
			}
		}
		payload_write(msg + hl, o->size, c->index, i, now, now);
		put(c, msg, (size_t)hl + o->size + 2);
		c->count++;
		if (period <= 0 && c->count % BC_WINDOW == 0) {
			put(c, PROTO_PING_LINE, 6);
			flush_out(c);
			pings++;
			while (pings - c->pongs >= 2)
				if (!read_some(c))
					die("recv");
		}
	}
	put(c, PROTO_PING_LINE, 6);
	flush_out(c);
	pings++;
	while (c->pongs < pings)
		if (!read_some(c))
			die("recv");
	c->done_ns = clock_now_ns();
	free(msg);
	return NULL;
}

static void *sub_main(void *arg)
{
	struct bc_conn *c = arg;
	while (c->count < c->o->msgs && read_some(c))
		c->done_ns = clock_now_ns();
	return NULL;
}

static double cpu_secs(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
	       (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct bc_opts o = {.pubs = 1, .subs = 1, .size = 128, .msgs = 1000000};
	if (load_parse_url("nats://127.0.0.1:4222", &o.url))
		return 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		double v = 0;
		if (!strcmp(argv[i], "--url")) {
			if (load_parse_url(argv[i + 1], &o.url))
				return 2;
			continue;
		}
		if (load_parse_count(argv[i + 1], &v))
			return 2;
		if (!strcmp(argv[i], "--pubs"))
			o.pubs = (uint32_t)v;
		else if (!strcmp(argv[i], "--subs"))
			o.subs = (uint32_t)v;
		else if (!strcmp(argv[i], "--size"))
			o.size = (uint32_t)v;
		else if (!strcmp(argv[i], "--msgs"))
			o.msgs = (uint64_t)v;
		else if (!strcmp(argv[i], "--rate"))
			o.rate = v;
		else
			return 2;
	}
	if (o.pubs < 1 || o.size < PAYLOAD_MIN) {
		fprintf(stderr, "usage: ringbus-load-blocking [--url U] [--pubs P] [--subs S] "
		                "[--msgs N] [--size B>=16] [--rate R]\n");
		return 2;
	}
	uint32_t n = o.pubs + o.subs;
	struct bc_conn *conns = calloc(n, sizeof(*conns));
	if (!conns)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		conns[i].o = &o;
		conns[i].sub = i < o.subs;
		conns[i].index = conns[i].sub ? i : i - o.subs;
		connect_conn(&conns[i]);
	}
	for (uint32_t i = 0; i < n; i++)
		pthread_create(&conns[i].tid, NULL, conns[i].sub ? sub_main : pub_main, &conns[i]);
	double cpu0 = cpu_secs();
	g_start_ns = clock_now_ns();
	__atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
	uint64_t sent = 0, got = 0, pub_end = 0, sub_end = 0;
	for (uint32_t i = 0; i < n; i++) {
		pthread_join(conns[i].tid, NULL);
		if (conns[i].sub) {
			got += conns[i].count;
			sub_end = conns[i].done_ns > sub_end ? conns[i].done_ns : sub_end;
		} else {
			sent += conns[i].count;
			pub_end = conns[i].done_ns > pub_end ? conns[i].done_ns : pub_end;
		}
	}
	double cpu = cpu_secs() - cpu0;
	double pub_s = (double)(pub_end - g_start_ns) / 1e9;
	double sub_s = sub_end > g_start_ns ? (double)(sub_end - g_start_ns) / 1e9 : 0;
	printf("sent=%llu delivered=%llu pub_msgs_per_sec=%.0f sub_msgs_per_sec=%.0f cpu_s=%.3f "
	       "cpu_us_per_msg=%.4f\n",
	       (unsigned long long)sent, (unsigned long long)got, (double)sent / pub_s,
	       sub_s > 0 ? (double)got / sub_s : 0.0, cpu,
	       cpu * 1e6 / (double)(sent + got ? sent + got : 1));
	for (uint32_t i = 0; i < n; i++) {
		close(conns[i].fd);
		proto_parser_fini(&conns[i].parser);
		track_fini(&conns[i].track);
		hist_fini(&conns[i].lat);
	}
	free(conns);
	return got == (uint64_t)o.subs * sent ? 0 : 1;
}
