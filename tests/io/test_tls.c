/* Tests of io/tls without the router: the context's errors name the file at
 * fault, and the service (its handshake and relay threads) behind a test
 * acceptor and a test "I/O thread" that reads and writes the handed-over
 * socket in plaintext. Certificates are made at run time by
 * tests/integration/tls_certs.sh in a temporary directory. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/memacct.h"
#include "io/tls/tls.h"
#include "tests/integration/tls_client.h"

#define WAIT_MS   5000
#define MAX_READY 256

static char certdir[64];

static void make_certs(void)
{
	snprintf(certdir, sizeof(certdir), "/tmp/ringbus-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(certdir));
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sh %s %s", RINGBUS_TLS_CERTS_SH, certdir);
	cr_assert_eq(system(cmd), 0, "%s failed (is the openssl command installed?)", cmd);
}

static const char *cert(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", certdir, name);
	return p;
}

static void remove_certs(void)
{
	if (!certdir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
	int r = system(cmd);
	(void)r;
	certdir[0] = 0;
}

/* ---- the context ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

TestSuite(tls_ctx, .fini = remove_certs, .timeout = 60);

Test(tls_ctx, bad_settings_are_refused_with_the_file_at_fault_named)
{
	make_certs();
	write_file(cert("junk.pem"), "not a PEM file\n");
	const char *srv = cert("server.pem"), *key = cert("server.key"), *ca = cert("ca.pem");
	const char *junk = cert("junk.pem"), *other_key = cert("client.key");
	const struct {
		const char *cert, *key, *ca;
		int ret;
		const char *says;
	} cases[] = {
	    {NULL, key, NULL, -EINVAL, "needs a certificate and a key"},
	    {srv, NULL, NULL, -EINVAL, "needs a certificate and a key"},
	    {"/nonexistent/cert.pem", key, NULL, -ENOENT, "certificate file /nonexistent/cert.pem"},
	    {srv, "/nonexistent/key.pem", NULL, -ENOENT, "key file /nonexistent/key.pem"},
	    {srv, key, "/nonexistent/ca.pem", -ENOENT, "CA file /nonexistent/ca.pem"},
	    {junk, key, NULL, -EINVAL, "certificate file"},
	    {srv, junk, NULL, -EINVAL, "key file"},
	    {srv, key, junk, -EINVAL, "CA file"},
	    {srv, other_key, NULL, -EINVAL, "does not match"},
	    {srv, key, ca, 0, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_config c = {.cert_file = cases[i].cert,
		                       .key_file = cases[i].key,
		                       .ca_file = cases[i].ca,
		                       .verify = cases[i].ca != NULL};
		char why[512] = "";
		struct tls_ctx *t = NULL;
		int r = tls_ctx_new(&c, &t, why, sizeof(why));
		cr_expect_eq(r, cases[i].ret, "case %zu: %d (%s)", i, r, why);
		cr_expect(strstr(why, cases[i].says) != NULL, "case %zu: '%s' should say '%s'", i,
		          why, cases[i].says);
		cr_expect_eq(t != NULL, r == 0, "case %zu", i);
		tls_ctx_free(t);
	}
}

Test(tls_ctx, cipher_suites_and_curves_take_nats_server_names)
{
	make_certs();
	struct tls_config c = {.cert_file = cert("server.pem"), .key_file = cert("server.key")};
	static const char *const good[] = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	                                   "TLS_AES_128_GCM_SHA256"};
	static const char *const bad[] = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	                                  "TLS_NOT_A_SUITE"};
	static const char *const curves[] = {"CurveP256", "X25519"};
	static const char *const bad_curves[] = {"CurveP999"};
	char why[512] = "";
	struct tls_ctx *t = NULL;
	c.ciphers = good;
	c.nciphers = 2;
	c.curves = curves;
	c.ncurves = 2;
	cr_expect_eq(tls_ctx_new(&c, &t, why, sizeof(why)), 0, "%s", why);
	tls_ctx_free(t);
	t = NULL;
	c.ciphers = bad;
	cr_expect_eq(tls_ctx_new(&c, &t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "TLS_NOT_A_SUITE") != NULL, "names the suite: %s", why);
	c.ciphers = good;
	c.curves = bad_curves;
	c.ncurves = 1;
	cr_expect_eq(tls_ctx_new(&c, &t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "CurveP999") != NULL, "names the curve: %s", why);
	cr_expect(tls_cipher_suite_known("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"));
	cr_expect(!tls_cipher_suite_known("ECDHE-RSA-AES128-GCM-SHA256"),
	          "OpenSSL names are not Go's");
	cr_expect(tls_curve_known("CurveP521"));
}

Test(tls_ctx, verify_is_reported)
{
	make_certs();
	for (int verify = 0; verify < 2; verify++) {
		struct tls_config c = {.cert_file = cert("server.pem"),
		                       .key_file = cert("server.key"),
		                       .ca_file = cert("ca.pem"),
		                       .verify = verify};
		char why[256];
		struct tls_ctx *t = NULL;
		cr_assert_eq(tls_ctx_new(&c, &t, why, sizeof(why)), 0, "%s", why);
		cr_expect_eq(tls_ctx_verify(t), verify == 1);
		tls_ctx_free(t);
	}
}

/* ---- the service behind a test acceptor ---- */

struct ready {
	int fd;
	uint64_t tag;
	enum tls_path path;
	uint32_t port;
};

static struct tls_service *svc;
static int lfd = -1;
static uint16_t lport;
static pthread_t acceptor;
static bool acceptor_on;
static atomic_bool acceptor_stop;
static pthread_mutex_t rq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rq_cond = PTHREAD_COND_INITIALIZER;
static struct ready rq[MAX_READY];
static int rq_head, rq_n;
static atomic_uint_fast64_t next_tag = 1;

static size_t t_info(void *ctx, const char *peer_ip, char *buf, size_t cap, uint64_t *tag)
{
	(void)ctx;
	*tag = atomic_fetch_add(&next_tag, 1);
	int n = snprintf(buf, cap, "INFO {\"client_id\":%llu,\"client_ip\":\"%s\"} \r\n",
	                 (unsigned long long)*tag, peer_ip);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int t_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                   uint32_t peer_port, enum tls_path path)
{
	(void)ctx;
	(void)peer_ip;
	if (loop != 7)
		return -EINVAL; /* the loop given at submission comes back */
	pthread_mutex_lock(&rq_lock);
	if (rq_head + rq_n >= MAX_READY) {
		pthread_mutex_unlock(&rq_lock);
		return -ENOSPC;
	}
	rq[rq_head + rq_n++] =
	    (struct ready){.fd = fd, .tag = tag, .path = path, .port = peer_port};
	pthread_cond_signal(&rq_cond);
	pthread_mutex_unlock(&rq_lock);
	return 0;
}

static const struct tls_ops t_ops = {.info = t_info, .ready = t_ready};

/* The stand-in for an I/O thread's accept: every socket goes to the service. */
static void *accept_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&acceptor_stop)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			tls_service_submit(svc, fd, 7);
	}
	return NULL;
}

static void start(bool verify, bool no_ktls, uint32_t timeout_ms)
{
	signal(SIGPIPE, SIG_IGN);
	make_certs();
	struct tls_config c = {.cert_file = cert("server.pem"),
	                       .key_file = cert("server.key"),
	                       .ca_file = cert("ca.pem"),
	                       .verify = verify,
	                       .no_ktls = no_ktls,
	                       .timeout_ms = timeout_ms};
	char why[256];
	struct tls_ctx *ctx = NULL;
	cr_assert_eq(tls_ctx_new(&c, &ctx, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(tls_service_new(ctx, &c, &t_ops, NULL, &svc), 0);
	cr_assert(!no_ktls || !tls_service_ktls(svc));

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	cr_assert(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	          listen(lfd, 512) == 0 && getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
	lport = ntohs(sa.sin_port);
	atomic_store(&acceptor_stop, false);
	cr_assert_eq(pthread_create(&acceptor, NULL, accept_main, NULL), 0);
	acceptor_on = true;
}

static void stop(void)
{
	if (acceptor_on) {
		atomic_store(&acceptor_stop, true);
		pthread_join(acceptor, NULL);
		acceptor_on = false;
	}
	tls_service_free(svc);
	svc = NULL;
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	for (int i = rq_head; i < rq_head + rq_n; i++)
		close(rq[i].fd);
	rq_head = rq_n = 0;
	remove_certs();
}

/* The next connection handed over, within @ms; fails the test otherwise. */
static struct ready next_ready(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rq_lock);
	while (rq_n == 0)
		if (pthread_cond_timedwait(&rq_cond, &rq_lock, &ts) != 0)
			break;
	bool got = rq_n > 0;
	struct ready r = {.fd = -1};
	if (got) {
		r = rq[rq_head++];
		rq_n--;
	}
	pthread_mutex_unlock(&rq_lock);
	cr_assert(got, "no connection was handed over within %d ms", ms);
	return r;
}

static int ready_count(void)
{
	pthread_mutex_lock(&rq_lock);
	int n = rq_n;
	pthread_mutex_unlock(&rq_lock);
	return n;
}

/* Plain I/O on the handed-over socket, bounded by WAIT_MS. */
static void plain_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "%zu bytes still missing", len);
		ssize_t r = recv(fd, p, len, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			continue;
		cr_assert_gt(r, 0, "the relayed socket ended with %zu bytes missing", len);
		p += r;
		len -= (size_t)r;
	}
}

static void plain_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0);
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN)
			continue;
		cr_assert_gt(w, 0);
		p += w;
		len -= (size_t)w;
	}
}

static void plain_expect_eof(int fd)
{
	char b;
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no end of stream");
	cr_assert_eq(recv(fd, &b, 1, MSG_DONTWAIT), 0, "bytes or an error instead of the end");
}

static struct tls_client *client(const struct tls_client_opts *o)
{
	struct tls_client *c = NULL;
	char info[512], why[256] = "";
	int r = tls_client_connect(lport, o, info, sizeof(info), why, sizeof(why), &c);
	cr_assert_eq(r, 0, "connect: %s %s", strerror(-r), why);
	cr_assert(strncmp(info, "INFO {", 6) == 0, "the first line is INFO, in plaintext: %s",
	          info);
	return c;
}

static void pattern(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 131u + seed) >> 3);
}

TestSuite(tls_service, .fini = stop, .timeout = 60);

/* 1 MiB each way through every (path setting, TLS version) pair, in 64 KiB
 * steps so neither side's buffers need to hold it all. */
Test(tls_service, one_mebibyte_each_way_arrives_intact)
{
	const struct {
		bool no_ktls;
		int max_version;
	} cases[] = {{false, 0}, {false, TLS1_2_VERSION}, {true, 0}, {true, TLS1_2_VERSION}};
	const size_t total = 1u << 20, step = 64u << 10;
	const uint64_t held = memacct_get(MEMACCT_TLS);
	char *sent = malloc(total), *got = malloc(total);
	cr_assert(sent && got);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		start(false, cases[k].no_ktls, 2000);
		struct tls_client_opts o = {.ca_file = cert("ca.pem"),
		                            .max_version = cases[k].max_version};
		struct tls_client *c = client(&o);
		struct ready r = next_ready(WAIT_MS);
		cr_expect(cases[k].no_ktls ? r.path == TLS_PATH_PROXY : true);
		if (cases[k].max_version)
			cr_expect_str_eq(tls_client_version(c), "TLSv1.2");

		pattern(sent, total, (unsigned)k);
		for (size_t off = 0; off < total; off += step) {
			cr_assert_eq(tls_client_send(c, sent + off, step), 0);
			plain_read(r.fd, got + off, step);
		}
		cr_assert(memcmp(sent, got, total) == 0, "case %zu: client to router differs", k);

		pattern(sent, total, (unsigned)k + 77);
		memset(got, 0, total);
		for (size_t off = 0; off < total; off += step) {
			plain_write(r.fd, sent + off, step);
			cr_assert_eq(tls_client_read(c, got + off, step, WAIT_MS), 0);
		}
		cr_assert(memcmp(sent, got, total) == 0, "case %zu: router to client differs", k);
		/* a relayed connection's buffers count toward the process mark */
		if (cases[k].no_ktls)
			cr_expect_gt(memacct_get(MEMACCT_TLS), held, "case %zu: relay not counted",
			             k);
		tls_client_close(c);
		plain_expect_eof(r.fd);
		close(r.fd);
		stop();
		cr_expect_eq(memacct_get(MEMACCT_TLS), held, "case %zu: relay still counted", k);
	}
	free(sent);
	free(got);
}

Test(tls_service, bytes_sent_with_the_finished_message_are_not_lost)
{
	static const char early[] = "CONNECT {\"verbose\":false}\r\nPING\r\n";
	for (int no_ktls = 0; no_ktls < 2; no_ktls++) {
		start(false, no_ktls, 2000);
		struct tls_client_opts o = {.ca_file = cert("ca.pem"), .early = early};
		struct tls_client *c = client(&o);
		cr_assert_str_eq(tls_client_version(c), "TLSv1.3");
		struct ready r = next_ready(WAIT_MS);
		char got[sizeof(early)] = "";
		plain_read(r.fd, got, sizeof(early) - 1);
		cr_assert_str_eq(got, early);
		plain_write(r.fd, "PONG\r\n", 6);
		cr_assert_eq(tls_client_expect(c, "PONG\r\n", WAIT_MS), 0);
		tls_client_close(c);
		close(r.fd);
		stop();
	}
}

Test(tls_service, info_comes_first_and_its_tag_comes_back)
{
	start(false, false, 2000);
	struct tls_client *c = NULL;
	char info[512];
	struct tls_client_opts o = {.ca_file = cert("ca.pem")};
	cr_assert_eq(tls_client_connect(lport, &o, info, sizeof(info), NULL, 0, &c), 0);
	struct ready r = next_ready(WAIT_MS);
	char want[64];
	snprintf(want, sizeof(want), "INFO {\"client_id\":%llu,", (unsigned long long)r.tag);
	cr_expect(strncmp(info, want, strlen(want)) == 0, "%s vs tag %llu", info,
	          (unsigned long long)r.tag);
	cr_expect_neq(r.port, 0);
	tls_client_close(c);
	close(r.fd);
}

static int raw_connect_read_info(char *info, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(lport)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t n = 0;
	char ch;
	while (n + 1 < cap && recv(fd, &ch, 1, 0) == 1) {
		info[n++] = ch;
		if (ch == '\n')
			break;
	}
	info[n] = 0;
	return fd;
}

/* Reads everything until EOF (within 5 s) into @buf; returns the length, or
 * -1 when the connection stayed open. */
static ssize_t read_to_eof(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			break;
		if (r < 0)
			return -1;
		n += (size_t)r;
	}
	buf[n] = 0;
	return (ssize_t)n;
}

Test(tls_service, a_plaintext_client_is_told_tls_is_required_and_closed)
{
	start(false, false, 2000);
	char info[512], rest[512];
	int fd = raw_connect_read_info(info, sizeof(info));
	cr_assert(strncmp(info, "INFO {", 6) == 0, "%s", info);
	static const char connect[] = "CONNECT {\"verbose\":false}\r\nPING\r\n";
	cr_assert_eq(send(fd, connect, sizeof(connect) - 1, 0), (ssize_t)sizeof(connect) - 1);
	cr_assert_geq(read_to_eof(fd, rest, sizeof(rest)), 0, "the connection stayed open");
	cr_assert_str_eq(rest, TLS_REQUIRED_ERR);
	close(fd);
	struct tls_stats st;
	tls_service_stats(svc, &st);
	cr_expect_eq(st.plaintext, 1);
	cr_expect_eq(ready_count(), 0);
}

Test(tls_service, a_client_that_never_handshakes_is_closed_after_the_timeout)
{
	start(false, false, 300);
	char info[512], rest[64];
	int fd = raw_connect_read_info(info, sizeof(info));
	cr_assert(strncmp(info, "INFO {", 6) == 0, "%s", info);
	cr_assert_eq(read_to_eof(fd, rest, sizeof(rest)), 0, "closed with nothing more sent");
	close(fd);
	struct tls_stats st;
	tls_service_stats(svc, &st);
	cr_expect_eq(st.timeouts, 1);
	cr_expect_eq(ready_count(), 0);
}

/* A refused client either fails its handshake or (TLS 1.3, where the client
 * finishes first) sees the connection end at its first read. */
static void expect_refused(const struct tls_client_opts *o)
{
	struct tls_client *c = NULL;
	char info[512], why[256] = "";
	int r = tls_client_connect(lport, o, info, sizeof(info), why, sizeof(why), &c);
	if (r == 0) {
		tls_client_send_str(c, "PING\r\n");
		cr_expect_eq(tls_client_expect_eof(c, WAIT_MS), 0, "the server must end it");
		tls_client_close(c);
	} else {
		cr_expect_eq(r, -EPROTO, "%s %s", strerror(-r), why);
	}
}

Test(tls_service, verify_requires_a_client_certificate_from_the_ca)
{
	start(true, false, 2000);
	for (int v = 0; v < 2; v++) {
		int max = v ? TLS1_2_VERSION : 0;
		struct tls_client_opts none = {.ca_file = cert("ca.pem"), .max_version = max};
		expect_refused(&none);
		struct tls_client_opts stranger = {.ca_file = cert("ca.pem"),
		                                   .cert_file = cert("other-client.pem"),
		                                   .key_file = cert("other-client.key"),
		                                   .max_version = max};
		expect_refused(&stranger);
		cr_expect_eq(ready_count(), 0);

		struct tls_client_opts good = {.ca_file = cert("ca.pem"),
		                               .cert_file = cert("client.pem"),
		                               .key_file = cert("client.key"),
		                               .max_version = max};
		struct tls_client *c = client(&good);
		struct ready r = next_ready(WAIT_MS);
		cr_assert_eq(tls_client_send_str(c, "PING\r\n"), 0);
		char got[7] = "";
		plain_read(r.fd, got, 6);
		cr_expect_str_eq(got, "PING\r\n");
		tls_client_close(c);
		close(r.fd);
	}
	struct tls_stats st;
	tls_service_stats(svc, &st);
	cr_expect_eq(st.failed, 4);
}

Test(tls_service, the_router_closing_ends_the_client_after_its_last_bytes)
{
	start(false, true, 2000);
	struct tls_client_opts o = {.ca_file = cert("ca.pem")};
	struct tls_client *c = client(&o);
	struct ready r = next_ready(WAIT_MS);
	plain_write(r.fd, "-ERR 'Stale Connection'\r\n", 25);
	shutdown(r.fd, SHUT_WR);
	close(r.fd);
	cr_assert_eq(tls_client_expect(c, "-ERR 'Stale Connection'\r\n", WAIT_MS), 0);
	cr_assert_eq(tls_client_expect_eof(c, WAIT_MS), 0);
	tls_client_close(c);
}

Test(tls_service, stopping_closes_handshakes_and_relayed_connections)
{
	start(false, true, 10000);
	struct tls_client_opts o = {.ca_file = cert("ca.pem")};
	struct tls_client *c[3];
	struct ready r[3];
	for (int i = 0; i < 3; i++) {
		c[i] = client(&o);
		r[i] = next_ready(WAIT_MS);
	}
	char info[512], rest[64];
	int raw = raw_connect_read_info(info, sizeof(info)); /* stays before its handshake */
	struct tls_stats st;
	tls_service_stats(svc, &st);
	cr_expect_eq(st.proxy_open, 3);
	tls_service_stop(svc);
	tls_service_stop(svc); /* idempotent */
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(tls_client_expect_eof(c[i], WAIT_MS), 0, "client %d still open", i);
		plain_expect_eof(r[i].fd);
		tls_client_close(c[i]);
		close(r[i].fd);
	}
	cr_expect_eq(read_to_eof(raw, rest, sizeof(rest)), 0);
	close(raw);
	cr_expect_eq(tls_service_submit(svc, socket(AF_INET, SOCK_STREAM, 0), 7), -ESHUTDOWN);
	tls_service_stats(svc, &st);
	cr_expect_eq(st.proxy_open, 0);
}

Test(tls_service, fifty_connections_at_once_each_get_their_own_bytes)
{
	enum { N = 50 };
	start(false, true, 5000);
	struct tls_client_opts o = {.ca_file = cert("ca.pem")};
	struct tls_client *c[N];
	for (int i = 0; i < N; i++)
		c[i] = client(&o);
	/* Match the handed-over sockets to the clients by what each sends. */
	int fd_of[N];
	for (int i = 0; i < N; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "hello %03d\r\n", i);
		cr_assert_eq(tls_client_send_str(c[i], msg), 0);
	}
	for (int k = 0; k < N; k++) {
		struct ready r = next_ready(WAIT_MS);
		char got[12] = "";
		plain_read(r.fd, got, 11);
		int i = atoi(got + 6);
		cr_assert(i >= 0 && i < N && strncmp(got, "hello ", 6) == 0, "%s", got);
		fd_of[i] = r.fd;
	}
	for (int i = 0; i < N; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "bye %03d\r\n", i);
		plain_write(fd_of[i], msg, strlen(msg));
	}
	for (int i = 0; i < N; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "bye %03d\r\n", i);
		cr_assert_eq(tls_client_expect(c[i], msg, WAIT_MS), 0, "client %d", i);
		tls_client_close(c[i]);
		plain_expect_eof(fd_of[i]);
		close(fd_of[i]);
	}
}
