/* The monitoring HTTP endpoint on libmicrohttpd: routing, methods, status
 * codes and process figures (/proc); the bodies come from monitor_render.h. */
#include "router/monitor/monitor.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "router/account.h"
#include "router/monitor/monitor_dashboard.h"
#include "router/monitor/monitor_render.h"
#include "router/monitor/stats.h"
#include "router/route.h"
#include "router/server.h"

#define MONITOR_MAX_CLIENTS 64
#define MONITOR_TIMEOUT_S   30

#define MONITOR_JSON "application/json"
#define MONITOR_TEXT "text/plain; charset=utf-8"
#define MONITOR_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Owner: the thread that called monitor_start(); the fields below @d are
 * touched only by libmicrohttpd's one internal thread, which runs every
 * request handler. */
struct monitor {
	struct server *srv;
	struct MHD_Daemon *d;
	char host[64];
	int port;
	long clk_tck;
	long page_size;
	uint64_t cpu_prev_ticks; /* for /varz's cpu: the previous sample */
	uint64_t cpu_prev_ns;
	const char *url; /* the request being answered (borrowed from libmicrohttpd) */
};

/* One endpoint: renders into *body (heap) and says its content type. */
typedef int (*monitor_handler_fn)(struct monitor *m, struct MHD_Connection *conn, char **body,
                                  const char **type, unsigned *status);

/* ---- process figures ---- */

static uint64_t monitor_rss(const struct monitor *m)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)m->page_size;
}

/* User plus system time of the process, in clock ticks (0 when unknown). */
static uint64_t monitor_cpu_ticks(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields follow the last ')' */
	const char *p = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	                 &stime) != 2)
		return 0;
	return (uint64_t)(utime + stime);
}

static void monitor_proc_sample(struct monitor *m, struct monitor_proc *p)
{
	uint64_t ticks = monitor_cpu_ticks();
	uint64_t now = clock_now_ns();
	memset(p, 0, sizeof(*p));
	p->rss_bytes = monitor_rss(m);
	p->cpu_seconds = (double)ticks / (double)m->clk_tck;
	if (now > m->cpu_prev_ns && ticks >= m->cpu_prev_ticks) {
		double busy = (double)(ticks - m->cpu_prev_ticks) / (double)m->clk_tck;
		p->cpu_percent = 100.0 * busy / ((double)(now - m->cpu_prev_ns) / 1e9);
	}
	m->cpu_prev_ticks = ticks;
	m->cpu_prev_ns = now;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	p->cores = cores > 0 ? (int)cores : 1;
	p->http_host = m->host;
	p->http_port = m->port;
}

/* ---- endpoints ---- */

/* A heap copy of a formatted message, or NULL. */
RB_PRINTF(1, 2) static char *monitor_strf(const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return strdup(tmp);
}

/* Takes a snapshot (true), or puts in *body why not (503; NULL when out of
 * memory) and returns false. */
static bool monitor_collect(struct monitor *m, struct stats *st, unsigned want, char **body,
                            const char **type, unsigned *status)
{
	int r = stats_collect(m->srv, st, want);
	if (r == 0)
		return true;
	stats_free(st);
	*type = MONITOR_TEXT;
	*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	*body = monitor_strf("statistics unavailable: %s\n", strerror(-r));
	return false;
}

static int monitor_simple(struct monitor *m, char **body, const char **type, unsigned *status,
                          int (*render)(const struct stats *, char **))
{
	struct stats st;
	if (!monitor_collect(m, &st, 0, body, type, status))
		return *body ? 0 : -ENOMEM;
	int r = render(&st, body);
	stats_free(&st);
	return r;
}

/* /varz and /metrics: a snapshot (with what @want asks) and the process
 * figures. */
static int monitor_with_proc(struct monitor *m, unsigned want, char **body, const char **type,
                             unsigned *status,
                             int (*render)(const struct stats *, const struct monitor_proc *,
                                           char **))
{
	struct stats st;
	if (!monitor_collect(m, &st, want, body, type, status))
		return *body ? 0 : -ENOMEM;
	struct monitor_proc p;
	monitor_proc_sample(m, &p);
	int r = render(&st, &p, body);
	stats_free(&st);
	return r;
}

static int monitor_varz(struct monitor *m, struct MHD_Connection *conn, char **body,
                        const char **type, unsigned *status)
{
	(void)conn;
	return monitor_with_proc(m, 0, body, type, status, monitor_render_varz);
}

static int monitor_metrics(struct monitor *m, struct MHD_Connection *conn, char **body,
                           const char **type, unsigned *status)
{
	(void)conn;
	*type = MONITOR_PROM;
	/* per-account gauges only when accounts { } are configured: they cost a
	 * copy of every connection */
	unsigned want = m->srv->acc_pre ? STATS_ACCOUNTS : 0;
	return monitor_with_proc(m, want, body, type, status, monitor_render_metrics);
}

static int monitor_connz(struct monitor *m, struct MHD_Connection *conn, char **body,
                         const char **type, unsigned *status)
{
	struct monitor_connz_opts o;
	char err[160];
	const struct monitor_connz_query q = {
	    .offset = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "offset"),
	    .limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"),
	    .sort = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sort"),
	    .auth = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "auth"),
	};
	if (monitor_connz_parse(&q, &o, err, sizeof(err))) {
		*type = MONITOR_TEXT;
		*status = MHD_HTTP_BAD_REQUEST;
		*body = strdup(err);
		return *body ? 0 : -ENOMEM;
	}
	/* acc=NAME: that account's connections (an unknown one has none, as in
	 * nats-server) */
	const char *acc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "acc");
	if (acc && *acc) {
		const struct server_gen *g = server_gen_hold(m->srv); /* not an I/O thread */
		int i = acc_find(g->live->acc, acc);
		server_gen_release(m->srv, g);
		o.acc = i < 0 ? -1 : i + 1;
	}
	struct stats st;
	if (!monitor_collect(m, &st, STATS_CONNS, body, type, status))
		return *body ? 0 : -ENOMEM;
	int r = monitor_render_connz(&st, &o, body);
	stats_free(&st);
	return r;
}

/* /accountz, and ?acc=NAME for one account's detail (400 when unknown). */
static int monitor_accountz(struct monitor *m, struct MHD_Connection *conn, char **body,
                            const char **type, unsigned *status)
{
	const char *acc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "acc");
	struct stats st;
	unsigned want = acc && *acc ? STATS_ACCOUNTS : 0;
	if (!monitor_collect(m, &st, want, body, type, status))
		return *body ? 0 : -ENOMEM;
	int r = monitor_render_accountz(&st, acc, body);
	stats_free(&st);
	if (r == -ENOENT) {
		*type = MONITOR_TEXT;
		*status = MHD_HTTP_BAD_REQUEST;
		*body = monitor_strf("Account %.200s does not exist", acc);
		r = *body ? 0 : -ENOMEM;
	}
	return r;
}

static int monitor_healthz(struct monitor *m, struct MHD_Connection *conn, char **body,
                           const char **type, unsigned *status)
{
	(void)conn;
	(void)type;
	struct stats st;
	int r = stats_collect(m->srv, &st, 0);
	stats_free(&st);
	if (r == 0) {
		*body = strdup("{\"status\":\"ok\"}");
	} else {
		/* nats-server's shape for an unhealthy server */
		*status = MHD_HTTP_SERVICE_UNAVAILABLE;
		*body = monitor_strf("{\"status\":\"unavailable\",\"error\":\"%s\"}", strerror(-r));
	}
	return *body ? 0 : -ENOMEM;
}

/* A list of peers as nats-server shows it: this node, the count under
 * @count_key and the records @list writes (at most @cap bytes) under
 * @array_key; /routez also names the server. */
static int monitor_peers(struct monitor *m, char **body, size_t cap,
                         size_t (*list)(struct server *, char *, size_t, uint32_t *),
                         const char *count_key, const char *array_key, bool with_name)
{
	struct server *s = m->srv;
	char *recs = malloc(cap);
	if (!recs)
		return -ENOMEM;
	uint32_t n = 0;
	size_t len = list(s, recs, cap, &n);
	recs[len] = 0;
	char now[48], name[128] = "";
	monitor_fmt_time(clock_wall_ns(), now, sizeof(now));
	if (with_name)
		snprintf(name, sizeof(name), "\"server_name\":\"%s\",", s->server_name);
	size_t len2 = len + 512;
	*body = malloc(len2);
	if (*body)
		snprintf(*body, len2,
		         "{\"server_id\":\"%s\",%s\"now\":\"%s\",\"%s\":%u,\"%s\":[%s]}",
		         s->server_id, name, now, count_key, n, array_key, recs);
	free(recs);
	return *body ? 0 : -ENOMEM;
}

static int monitor_routez(struct monitor *m, struct MHD_Connection *conn, char **body,
                          const char **type, unsigned *status)
{
	(void)conn;
	(void)type;
	(void)status;
	return monitor_peers(m, body, 64 * 1024, route_routez, "num_routes", "routes", true);
}

static int monitor_leafz(struct monitor *m, struct MHD_Connection *conn, char **body,
                         const char **type, unsigned *status)
{
	(void)conn;
	(void)type;
	(void)status;
	return monitor_peers(m, body, 16 * 1024, route_leafz, "leafnodes", "leafs", false);
}

#define MONITOR_SIMPLE(fn, render)                                                                 \
	static int fn(struct monitor *m, struct MHD_Connection *conn, char **body,                 \
	              const char **type, unsigned *status)                                         \
	{                                                                                          \
		(void)conn;                                                                        \
		return monitor_simple(m, body, type, status, render);                              \
	}

/* /dashboard and the files under it (monitor_dashboard.c). */
static int monitor_dashboard(struct monitor *m, struct MHD_Connection *conn, char **body,
                             const char **type, unsigned *status)
{
	(void)conn;
	return monitor_dashboard_get(m->srv, m->url, body, type, status);
}

MONITOR_SIMPLE(monitor_subsz, monitor_render_subsz)
MONITOR_SIMPLE(monitor_shardz, monitor_render_shardz)
MONITOR_SIMPLE(monitor_ioz, monitor_render_ioz)
MONITOR_SIMPLE(monitor_admissionz, monitor_render_admissionz)
MONITOR_SIMPLE(monitor_servicez, monitor_render_servicez)

static const struct {
	const char *path;
	monitor_handler_fn fn;
} monitor_routes[] = {
    {"/varz", monitor_varz},         {"/connz", monitor_connz},
    {"/subsz", monitor_subsz},       {"/subscriptionsz", monitor_subsz},
    {"/healthz", monitor_healthz},   {"/shardz", monitor_shardz},
    {"/ioz", monitor_ioz},           {"/admissionz", monitor_admissionz},
    {"/servicez", monitor_servicez}, {"/metrics", monitor_metrics},
    {"/routez", monitor_routez},     {"/leafz", monitor_leafz},
    {"/accountz", monitor_accountz}, {"/dashboard/", monitor_dashboard},
};

/* A table path ending in '/' ("/dashboard/") takes itself without the
 * slash and every URL under it. */
static bool monitor_route_match(const char *path, const char *url)
{
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		return !strncmp(url, path, n) || (!strncmp(url, path, n - 1) && !url[n - 1]);
	return !strcmp(url, path);
}

/* ---- HTTP ---- */

/* Queues @body (taken, heap) or @fixed (static) with @status. */
static enum MHD_Result monitor_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                                     char *body, const char *fixed)
{
	/* one of the two, never both NULL (the callers); one text, so that
	 * gcc -O3 sees no strlen(NULL) path (-Wnonnull) */
	const char *text = body ? body : fixed ? fixed : "";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
	                                    body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result monitor_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version, const char *upload,
                                       size_t *upload_len, void **req)
{
	struct monitor *m = cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return monitor_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, MONITOR_TEXT, NULL,
		                     "method not allowed: only GET and HEAD\n");
	for (size_t i = 0; i < RB_ARRAY_LEN(monitor_routes); i++) {
		if (!monitor_route_match(monitor_routes[i].path, url))
			continue;
		m->url = url;
		char *body = NULL;
		const char *type = MONITOR_JSON;
		unsigned status = MHD_HTTP_OK;
		if (monitor_routes[i].fn(m, conn, &body, &type, &status) || !body) {
			free(body);
			return monitor_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, MONITOR_TEXT,
			                     NULL, "out of memory\n");
		}
		return monitor_reply(conn, status, type, body, NULL);
	}
	return monitor_reply(conn, MHD_HTTP_NOT_FOUND, MONITOR_TEXT, NULL, "404 page not found\n");
}

RB_PRINTF(2, 0) static void monitor_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_warn("monitor: %s", line);
}

int monitor_start(struct server *s, const char *host, int port, struct monitor **out)
{
	*out = NULL;
	if (port < 0 || port > 65535) {
		log_error("monitor: invalid port %d", port);
		return -EINVAL;
	}
	struct monitor *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->srv = s;
	m->port = port;
	snprintf(m->host, sizeof(m->host), "%s", host && *host ? host : "0.0.0.0");
	m->clk_tck = sysconf(_SC_CLK_TCK);
	m->page_size = sysconf(_SC_PAGESIZE);
	if (m->clk_tck <= 0)
		m->clk_tck = 100;
	if (m->page_size <= 0)
		m->page_size = 4096;
	m->cpu_prev_ticks = monitor_cpu_ticks();
	m->cpu_prev_ns = clock_now_ns();

	char service[12];
	snprintf(service, sizeof(service), "%d", port);
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(m->host, service, &hints, &ai);
	if (g) {
		log_error("monitor: cannot resolve %s: %s", m->host, gai_strerror(g));
		free(m);
		return -EINVAL;
	}
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, monitor_request, m,
	                        MHD_OPTION_EXTERNAL_LOGGER, monitor_mhd_log, NULL,
	                        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
	                        (unsigned)MONITOR_MAX_CLIENTS, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)MONITOR_TIMEOUT_S, MHD_OPTION_END);
	int err = errno ? errno : EIO;
	freeaddrinfo(ai);
	if (!m->d) {
		log_error("monitor: cannot serve on %s:%d: %s", m->host, port, strerror(err));
		free(m);
		return -err;
	}
	/* m->port stays as asked: the daemon's thread reads it from now on */
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	log_info("monitoring on http://%s:%d", m->host, info && info->port ? info->port : port);
	*out = m;
	return 0;
}

void monitor_stop(struct monitor *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
