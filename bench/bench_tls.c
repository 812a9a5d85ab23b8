/* The cost of TLS: one publisher and one subscriber move N messages through a
 * NATS server, plaintext or over TLS (OpenSSL, TLS 1.3 unless -2), and the
 * rate is printed. The publisher keeps at most a window of messages (4 MiB
 * by default) ahead of the subscriber, so no queue grows without bound. bench/tls.sh runs it
 * against ringbus (kTLS allowed, and the userspace proxy) and nats-server.
 *
 *   bench_tls -p PORT [-t] [-2] [-c CA.pem] [-n MSGS] [-s BYTES] [-w WINDOW]
 *
 * Prints one line: "msgs N size S secs T msgs_per_s R MB_per_s B". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_BUF (64 * 1024)

/* One client connection, blocking. Owner: the thread that uses it. */
struct bconn {
	int fd;
	SSL *ssl; /* NULL for plaintext */
};

struct bench {
	uint16_t port;
	bool tls;
	bool tls12;
	const char *ca;
	uint64_t n;
	uint32_t size;
	uint64_t window;
	SSL_CTX *ctx;
	atomic_uint_fast64_t received;
	atomic_bool failed;
	struct timespec t0, t1;
};

static double bench_secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int bconn_write(struct bconn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t w;
		if (c->ssl) {
			size_t n = 0;
			w = SSL_write_ex(c->ssl, p, len, &n) == 1 ? (ssize_t)n : -1;
		} else {
			w = send(c->fd, p, len, MSG_NOSIGNAL);
		}
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static ssize_t bconn_read(struct bconn *c, char *p, size_t cap)
{
	if (c->ssl) {
		size_t n = 0;
		return SSL_read_ex(c->ssl, p, cap, &n) == 1 ? (ssize_t)n : -1;
	}
	return recv(c->fd, p, cap, 0);
}

/* Reads one line (through "\n") byte by byte; for the plaintext INFO and the
 * handshake replies only. Returns 0 or -1. */
static int bconn_line(struct bconn *c, char *line, size_t cap, bool raw)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = raw ? recv(c->fd, &ch, 1, 0) : bconn_read(c, &ch, 1);
		if (r != 1)
			return -1;
		if (n + 1 < cap)
			line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = 0;
	return 0;
}

static int bconn_open(struct bench *b, struct bconn *c)
{
	c->ssl = NULL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(b->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("bench_tls: connect");
		return -1;
	}
	char line[4096];
	if (bconn_line(c, line, sizeof(line), true) != 0 || strncmp(line, "INFO ", 5) != 0) {
		fprintf(stderr, "bench_tls: no INFO\n");
		return -1;
	}
	if (b->tls) {
		c->ssl = SSL_new(b->ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set1_host(c->ssl, "localhost");
		if (SSL_connect(c->ssl) != 1) {
			fprintf(stderr, "bench_tls: TLS handshake failed: %s\n",
			        ERR_reason_error_string(ERR_get_error()));
			return -1;
		}
	}
	static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";
	if (bconn_write(c, hello, sizeof(hello) - 1) != 0 ||
	    bconn_line(c, line, sizeof(line), false) != 0 || strcmp(line, "PONG\r\n") != 0) {
		fprintf(stderr, "bench_tls: no PONG after CONNECT\n");
		return -1;
	}
	return 0;
}

static void bconn_close(struct bconn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
}

/* Counts MSG frames: "MSG <subject> <sid> <len>\r\n" then len + 2 bytes. */
struct bparse {
	char line[256];
	size_t ll;
	uint64_t skip; /* payload bytes (and CRLF) still to skip */
};

static uint64_t bparse_feed(struct bparse *p, struct bconn *c, const char *d, size_t n)
{
	uint64_t msgs = 0;
	while (n) {
		if (p->skip) {
			size_t k = n < p->skip ? n : (size_t)p->skip;
			p->skip -= k;
			d += k;
			n -= k;
			if (!p->skip)
				msgs++;
			continue;
		}
		char ch = *d++;
		n--;
		if (p->ll + 1 < sizeof(p->line))
			p->line[p->ll++] = ch;
		if (ch != '\n')
			continue;
		p->line[p->ll] = 0;
		p->ll = 0;
		if (!strncmp(p->line, "MSG ", 4)) {
			char *last = strrchr(p->line, ' ');
			p->skip = strtoull(last + 1, NULL, 10) + 2;
		} else if (!strncmp(p->line, "PING", 4)) {
			bconn_write(c, "PONG\r\n", 6);
		}
	}
	return msgs;
}

static void *bench_sub_main(void *arg)
{
	struct bench *b = arg;
	struct bconn c;
	if (bconn_open(b, &c) != 0 || bconn_write(&c, "SUB bench.tls 1\r\nPING\r\n", 23) != 0) {
		atomic_store(&b->failed, true);
		return NULL;
	}
	char *buf = malloc(BENCH_BUF);
	struct bparse p = {0};
	uint64_t got = 0;
	char line[64];
	if (!buf || bconn_line(&c, line, sizeof(line), false) != 0) { /* the PONG */
		atomic_store(&b->failed, true);
		free(buf);
		return NULL;
	}
	atomic_store(&b->received, 0); /* subscribed: the publisher may start */
	while (got < b->n) {
		ssize_t r = bconn_read(&c, buf, BENCH_BUF);
		if (r <= 0) {
			fprintf(stderr, "bench_tls: subscriber ended after %llu messages\n",
			        (unsigned long long)got);
			atomic_store(&b->failed, true);
			break;
		}
		got += bparse_feed(&p, &c, buf, (size_t)r);
		atomic_store_explicit(&b->received, got, memory_order_release);
	}
	clock_gettime(CLOCK_MONOTONIC, &b->t1);
	free(buf);
	bconn_close(&c);
	return NULL;
}

static int bench_publish(struct bench *b)
{
	struct bconn c;
	if (bconn_open(b, &c) != 0)
		return -1;
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "PUB bench.tls %u\r\n", b->size);
	size_t one = (size_t)hl + b->size + 2;
	size_t per = BENCH_BUF / one ? BENCH_BUF / one : 1;
	char *buf = malloc(per * one);
	if (!buf)
		return -1;
	for (size_t i = 0; i < per; i++) {
		char *m = buf + i * one;
		memcpy(m, hdr, (size_t)hl);
		memset(m + hl, 'x', b->size);
		memcpy(m + hl + b->size, "\r\n", 2);
	}
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	uint64_t sent = 0;
	while (sent < b->n && !atomic_load(&b->failed)) {
		while (sent - atomic_load_explicit(&b->received, memory_order_acquire) >
		           b->window &&
		       !atomic_load(&b->failed))
			sched_yield();
		size_t k = b->n - sent < per ? (size_t)(b->n - sent) : per;
		if (bconn_write(&c, buf, k * one) != 0) {
			fprintf(stderr, "bench_tls: publisher write failed\n");
			free(buf);
			return -1;
		}
		sent += k;
	}
	free(buf);
	/* Stay connected until the subscriber has everything. */
	while (atomic_load(&b->received) < b->n && !atomic_load(&b->failed))
		usleep(1000);
	bconn_close(&c);
	return 0;
}

static void bench_usage(void)
{
	fprintf(stderr, "usage: bench_tls -p PORT [-t] [-2] [-c CA.pem] [-n MSGS] [-s BYTES] "
	                "[-w WINDOW]\n");
}

int main(int argc, char **argv)
{
	struct bench b = {.n = 500000, .size = 128};
	int opt;
	while ((opt = getopt(argc, argv, "p:t2c:n:s:w:h")) != -1) {
		switch (opt) {
		case 'p':
			b.port = (uint16_t)atoi(optarg);
			break;
		case 't':
			b.tls = true;
			break;
		case '2':
			b.tls12 = true;
			break;
		case 'c':
			b.ca = optarg;
			break;
		case 'n':
			b.n = strtoull(optarg, NULL, 10);
			break;
		case 's':
			b.size = (uint32_t)atoi(optarg);
			break;
		case 'w':
			b.window = strtoull(optarg, NULL, 10);
			break;
		default:
			bench_usage();
			return 2;
		}
	}
	if (!b.window)
		b.window = b.size < (4u << 20) ? (4u << 20) / (b.size + 1) : 1;
	if (!b.port || !b.n) {
		bench_usage();
		return 2;
	}
	if (b.tls) {
		b.ctx = SSL_CTX_new(TLS_client_method());
		if (b.tls12)
			SSL_CTX_set_max_proto_version(b.ctx, TLS1_2_VERSION);
		if (b.ca) {
			SSL_CTX_load_verify_locations(b.ctx, b.ca, NULL);
			SSL_CTX_set_verify(b.ctx, SSL_VERIFY_PEER, NULL);
		}
	}
	atomic_init(&b.received, UINT64_MAX / 2); /* until the subscriber is ready */
	atomic_init(&b.failed, false);
	pthread_t sub;
	pthread_create(&sub, NULL, bench_sub_main, &b);
	while (atomic_load(&b.received) == UINT64_MAX / 2 && !atomic_load(&b.failed))
		usleep(1000);
	int ret = atomic_load(&b.failed) ? -1 : bench_publish(&b);
	if (ret)
		atomic_store(&b.failed, true);
	pthread_join(sub, NULL);
	SSL_CTX_free(b.ctx);
	if (atomic_load(&b.failed))
		return 1;
	double secs = bench_secs(&b.t0, &b.t1);
	printf("msgs %llu size %u secs %.3f msgs_per_s %.0f MB_per_s %.1f\n",
	       (unsigned long long)b.n, b.size, secs, (double)b.n / secs,
	       (double)b.n * b.size / secs / 1e6);
	return 0;
}
