/* The live dashboard's files, served at /dashboard by the monitoring port
 * (docs/OPERATIONS.md, "The dashboard"). The files are built into the binary
 * (router/monitor/dashboard_embed.cmake writes them as arrays); nothing is
 * read from disk. Internal to router/monitor/: monitor.c calls it. */
#ifndef ROUTER_MONITOR_MONITOR_DASHBOARD_H
#define ROUTER_MONITOR_MONITOR_DASHBOARD_H

#include <stddef.h>

struct server;

/* One file of router/monitor/dashboard/. Read-only: static data. */
struct monitor_dashboard_file {
	const char *name;          /* its path under dashboard/, e.g. "vendor/nats.js" */
	const unsigned char *data; /* @len bytes, then a 0 (the files hold none) */
	size_t len;
};

/* The table the generated source defines. */
extern const struct monitor_dashboard_file monitor_dashboard_files[];
extern const size_t monitor_dashboard_nfiles;

/* Answers GET @url (borrowed) under /dashboard: "/dashboard" and
 * "/dashboard/" give index.html, "/dashboard/config.json" the page's
 * settings from @s (the WebSocket listener's host and port, or null), other
 * paths the file of that name. Sets *@body (heap, NUL-terminated, the
 * caller frees), *@type, and *@status (404 for an unknown file). Returns 0
 * or -ENOMEM. Called on the monitor's thread. */
int monitor_dashboard_get(const struct server *s, const char *url, char **body, const char **type,
                          unsigned *status);

#endif /* ROUTER_MONITOR_MONITOR_DASHBOARD_H */
