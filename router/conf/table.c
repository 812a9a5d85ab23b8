/* The table of settings and the lookups over it. Each row is one setting:
 * its keys in the file (where nats-server has one, its name and aliases),
 * its flags (nats-server's, then ringbus's own), how its value is read, the
 * field it sets, its bounds, whether a reload may change it, its help. */
#include "router/conf/table.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/proto/proto.h"

#define OFF(f) offsetof(struct config, f)
#define MB     (1024 * 1024)

/* clang-format off */
/* The rows of a tls { } block inside a listener's block (@blk), stored in
 * the struct config_tls @f; @who names whose certificates ca_file signs. */
#define CONFIG_TLS_ROWS(blk, f, g, who)                                                     \
    {.key = "cert_file", .block = blk, .type = CONFIG_T_STRING, .off = OFF(f.cert),         \
     .group = g, .help = "certificate chain (PEM)"},                                        \
    {.key = "key_file", .block = blk, .type = CONFIG_T_STRING, .off = OFF(f.key),           \
     .group = g, .help = "private key (PEM)"},                                              \
    {.key = "ca_file", .block = blk, .type = CONFIG_T_STRING, .off = OFF(f.ca), .group = g, \
     .help = "CAs of the " who " certificates"},                                            \
    {.key = "verify", .block = blk, .type = CONFIG_T_BOOL, .off = OFF(f.verify), .group = g, \
     .help = "the " who " certificates are required, checked against ca_file"},            \
    {.key = "timeout", .block = blk, .type = CONFIG_T_SECONDS, .off = OFF(f.timeout_ms),    \
     .min = 10, .max = 3600 * 1000, .group = g,                                             \
     .help = "the TLS handshake, at most (default 2s)"},                                    \
    {.key = "cipher_suites", .block = blk, .type = CONFIG_T_LIST, .off = OFF(f.ciphers),    \
     .check = config_check_suites, .group = g,                                              \
     .help = "TLS 1.2 cipher suites by Go's names (--help_tls)"},                           \
    {.key = "curve_preferences", .block = blk, .type = CONFIG_T_LIST, .off = OFF(f.curves), \
     .check = config_check_curves, .group = g, .help = "curves by Go's names (--help_tls)"}

static const struct config_row config_table[] = {
    /* ---- Server Options (nats-server's) ---- */
    {.key = "host", .aliases = "net", .block = CONFIG_B_TOP, .flags = "a addr net",
     .arg = "HOST", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_STRING, .off = OFF(host),
     .group = CONFIG_G_SERVER,
     .help = "address to listen on for clients (default 0.0.0.0)"},
    {.key = "port", .block = CONFIG_B_TOP, .flags = "p port", .arg = "PORT",
     .opts = CONFIG_F_BRIEF, .type = CONFIG_T_INT, .off = OFF(port), .min = -1, .max = 65535,
     .group = CONFIG_G_SERVER,
     .help = "port for clients (default 4222; -1: any free port)"},
    {.key = "listen", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM, .set = config_set_listen,
     .group = CONFIG_G_SERVER, .help = "host:port, or a port, for clients"},
    {.key = "server_name", .block = CONFIG_B_TOP, .flags = "n name server_name",
     .arg = "NAME", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_STRING, .off = OFF(server_name),
     .group = CONFIG_G_SERVER, .help = "server name in INFO and /varz (default: the server id)"},
    {.key = "http_port", .aliases = "monitor_port", .block = CONFIG_B_TOP,
     .flags = "m http_port", .arg = "PORT", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_INT,
     .off = OFF(http_port),
     .min = 0, .max = 65535, .group = CONFIG_G_SERVER,
     .help = "monitoring port: /varz /connz /subsz /healthz /metrics (default: off)"},
    {.key = "http", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM, .set = config_set_http,
     .group = CONFIG_G_SERVER, .help = "host:port, or a port, for monitoring"},
    {.key = "lame_duck_duration", .block = CONFIG_B_TOP, .type = CONFIG_T_MS,
     .off = OFF(lame_duck_duration_ms), .min = 0, .max = UINT32_MAX, .opts = CONFIG_F_RELOAD,
     .check = config_check_lame_duck, .group = CONFIG_G_SERVER,
     .help = "lame duck mode closes the clients over this long (default 2m, at least 30s)"},
    {.key = "lame_duck_grace_period", .block = CONFIG_B_TOP, .type = CONFIG_T_MS,
     .off = OFF(lame_duck_grace_ms), .min = 0, .max = UINT32_MAX, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_SERVER,
     .help = "lame duck mode waits this long before it closes clients (default 10s)"},

    /* ---- limits and timeouts (nats-server's keys, ringbus's flags) ---- */
    {.key = "max_payload", .block = CONFIG_B_TOP, .rb_flags = "max-payload", .arg = "SIZE",
     .type = CONFIG_T_SIZE, .off = OFF(max_payload), .min = 1, .max = 64 * MB,
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD, .group = CONFIG_G_LIMITS,
     .help = "largest message payload, in INFO (default 1MB)"},
    {.key = "max_pending", .block = CONFIG_B_TOP, .rb_flags = "max-pending", .arg = "SIZE",
     .type = CONFIG_T_SIZE, .off = OFF(max_pending), .min = 64 * 1024, .max = 1024 * MB,
     .group = CONFIG_G_LIMITS,
     .help = "output queued to a connection before it is a slow consumer (default 64MB)"},
    {.key = "max_connections", .aliases = "max_conn", .block = CONFIG_B_TOP,
     .rb_flags = "max-connections", .arg = "N", .type = CONFIG_T_U32,
     .off = OFF(max_connections), .min = 0, .max = 1 << 24,
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD,
     .group = CONFIG_G_LIMITS, .help = "refuse clients beyond N (default 65536)"},
    {.key = "max_subscriptions", .aliases = "max_subs", .block = CONFIG_B_TOP,
     .rb_flags = "max-subscriptions", .arg = "N", .type = CONFIG_T_U32,
     .off = OFF(max_subscriptions), .min = 0, .max = UINT32_MAX, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_LIMITS, .help = "subscriptions per connection (default 0: no limit)"},
    {.key = "max_control_line", .block = CONFIG_B_TOP, .rb_flags = "max-control-line",
     .arg = "SIZE", .type = CONFIG_T_SIZE, .off = OFF(max_control_line), .min = 0,
     .max = PROTO_CONTROL_LINE_LIMIT, .opts = CONFIG_F_RELOAD, .group = CONFIG_G_LIMITS,
     .help = "longest protocol line a client may send (default 4KB)"},
    {.key = "ping_interval", .block = CONFIG_B_TOP, .rb_flags = "ping-interval", .arg = "DUR",
     .type = CONFIG_T_MS, .off = OFF(ping_interval_ms), .min = 10, .max = UINT32_MAX,
     .opts = CONFIG_F_RELOAD | CONFIG_F_INT_SECONDS, .group = CONFIG_G_LIMITS,
     .help = "PING clients idle this long (default 2m)"},
    {.key = "ping_max", .block = CONFIG_B_TOP, .rb_flags = "ping-max", .arg = "N",
     .type = CONFIG_T_U32, .off = OFF(ping_max), .min = 0, .max = 1000000,
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_LIMITS,
     .help = "unanswered PINGs before 'Stale Connection' (default 2)"},
    {.key = "write_deadline", .block = CONFIG_B_TOP, .rb_flags = "write-deadline",
     .arg = "DUR", .type = CONFIG_T_MS, .off = OFF(write_deadline_ms), .min = 0,
     .max = UINT32_MAX, .opts = CONFIG_F_INT_SECONDS, .group = CONFIG_G_LIMITS,
     .help = "a connection whose output makes no progress this long is a slow consumer "
             "(default 10s)"},

    /* ---- Logging Options ---- */
    {.key = "log_file", .aliases = "logfile", .block = CONFIG_B_TOP, .flags = "l log",
     .arg = "FILE", .type = CONFIG_T_STRING, .off = OFF(log_file),
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD,
     .group = CONFIG_G_LOGGING, .help = "log to FILE (reopened on SIGUSR1) instead of stderr"},
    {.key = "logtime", .block = CONFIG_B_TOP, .flags = "T logtime", .type = CONFIG_T_BOOL,
     .off = OFF(logtime), .opts = CONFIG_F_RELOAD, .group = CONFIG_G_LOGGING,
     .help = "timestamp log lines (default true)"},
    {.key = "debug", .block = CONFIG_B_TOP, .flags = "D debug", .type = CONFIG_T_BOOL,
     .off = OFF(debug), .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD, .group = CONFIG_G_LOGGING,
     .help = "debug logging"},
    {.key = "trace", .block = CONFIG_B_TOP, .flags = "V trace", .type = CONFIG_T_BOOL,
     .off = OFF(trace), .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD, .group = CONFIG_G_LOGGING,
     .help = "protocol trace (slow: never benchmark with it)"},
    {.key = "trace_verbose", .block = CONFIG_B_TOP, .flags = "VV", .type = CONFIG_T_CUSTOM,
     .set = config_set_debug_trace, .opts = CONFIG_F_RELOAD, .group = CONFIG_G_LOGGING,
     .help = "as -V (ringbus has no system account to trace as well)"},
    {.flags = "DV", .type = CONFIG_T_CUSTOM, .set = config_set_debug_trace,
     .group = CONFIG_G_LOGGING, .help = "debug and trace"},
    {.flags = "DVV", .type = CONFIG_T_CUSTOM, .set = config_set_debug_trace,
     .group = CONFIG_G_LOGGING, .help = "as -DV"},
    {.key = "pid_file", .aliases = "pidfile", .block = CONFIG_B_TOP, .flags = "P pid",
     .arg = "FILE", .type = CONFIG_T_STRING, .off = OFF(pid_file), .group = CONFIG_G_LOGGING,
     .help = "write the process id to FILE (removed at exit)"},

    /* ---- Authorization Options: authorization { } and its flags ---- */
    {.key = "authorization", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM,
     .set = config_set_authorization, .opts = CONFIG_F_RELOAD, .group = CONFIG_G_AUTH,
     .help = "user and password, token, or users"},
    {.key = "user", .aliases = "username", .block = CONFIG_B_AUTH, .flags = "user",
     .arg = "USER", .type = CONFIG_T_STRING, .off = OFF(user),
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD,
     .group = CONFIG_G_AUTH, .help = "user required for connections"},
    {.key = "password", .aliases = "pass", .block = CONFIG_B_AUTH, .flags = "pass",
     .arg = "PASSWORD", .type = CONFIG_T_STRING, .off = OFF(pass),
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD | CONFIG_F_SECRET,
     .group = CONFIG_G_AUTH, .help = "password required for connections (plain or bcrypt)"},
    {.key = "token", .block = CONFIG_B_AUTH, .flags = "auth", .arg = "TOKEN",
     .type = CONFIG_T_STRING, .off = OFF(token),
     .opts = CONFIG_F_BRIEF | CONFIG_F_RELOAD | CONFIG_F_SECRET,
     .group = CONFIG_G_AUTH, .help = "token required for connections (plain or bcrypt)"},
    {.key = "no_auth_user", .block = CONFIG_B_TOP, .type = CONFIG_T_STRING,
     .off = OFF(no_auth_user), .opts = CONFIG_F_RELOAD, .group = CONFIG_G_AUTH,
     .help = "a client that sends no credentials logs in as this user of users [...]"},
    {.key = "users", .block = CONFIG_B_AUTH, .type = CONFIG_T_CUSTOM, .set = config_set_users,
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_AUTH,
     .help = "[{user: u, password: p}, ...]"},
    {.key = "permissions", .aliases = "permission", .block = CONFIG_B_AUTH,
     .type = CONFIG_T_CUSTOM, .set = config_set_single_perms, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_AUTH, .help = "ignored beside a single user, as in nats-server"},
    {.key = "default_permissions", .aliases = "default_permission", .block = CONFIG_B_AUTH,
     .type = CONFIG_T_CUSTOM, .set = config_set_default_perms, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_AUTH,
     .help = "{publish: ..., subscribe: ...} for the users without permissions of their own"},
    {.key = "accounts", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM,
     .set = config_set_accounts, .opts = CONFIG_F_RELOAD, .group = CONFIG_G_AUTH,
     .help = "{ NAME: { users: [...], exports: [...], imports: [...] } }: separate subject "
             "spaces (users may change on reload; accounts, exports and imports may not)"},
    {.key = "system_account", .aliases = "system", .block = CONFIG_B_TOP,
     .type = CONFIG_T_CUSTOM, .set = config_set_system_account, .group = CONFIG_G_AUTH,
     .help = "the account of the server's advisories (one of accounts { })"},
    {.key = "timeout", .block = CONFIG_B_AUTH, .rb_flags = "auth-timeout", .arg = "SECONDS",
     .type = CONFIG_T_SECONDS, .off = OFF(auth_timeout_ms), .min = 0, .max = 3600 * 1000,
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_AUTH,
     .help = "time to send CONNECT when authorization is on (default 2s; with TLS, its "
             "timeout + 1s)"},

    /* ---- TLS Options: tls { } and the --tls* flags that replace it ---- */
    {.key = "tls", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM, .set = config_set_tls_block,
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_TLS, .help = "clients must use TLS"},
    {.key = "cert_file", .block = CONFIG_B_TLS, .type = CONFIG_T_STRING, .off = OFF(tls_cert),
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_TLS, .help = "certificate chain (PEM)"},
    {.key = "key_file", .block = CONFIG_B_TLS, .type = CONFIG_T_STRING, .off = OFF(tls_key),
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_TLS, .help = "private key (PEM)"},
    {.key = "ca_file", .block = CONFIG_B_TLS, .type = CONFIG_T_STRING, .off = OFF(tls_ca),
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_TLS, .help = "CAs of client certificates"},
    {.key = "verify", .block = CONFIG_B_TLS, .type = CONFIG_T_BOOL, .off = OFF(tls_verify),
     .opts = CONFIG_F_RELOAD, .group = CONFIG_G_TLS,
     .help = "clients must present a certificate ca_file signed"},
    {.key = "timeout", .block = CONFIG_B_TLS, .type = CONFIG_T_SECONDS,
     .off = OFF(tls_timeout_ms), .min = 10, .max = 3600 * 1000, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_TLS, .help = "accept to end of handshake, at most (default 2s)"},
    {.key = "cipher_suites", .block = CONFIG_B_TLS, .type = CONFIG_T_LIST,
     .off = OFF(tls_ciphers), .check = config_check_suites, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_TLS, .help = "TLS 1.2 cipher suites by Go's names (--help_tls)"},
    {.key = "curve_preferences", .block = CONFIG_B_TLS, .type = CONFIG_T_LIST,
     .off = OFF(tls_curves), .check = config_check_curves, .opts = CONFIG_F_RELOAD,
     .group = CONFIG_G_TLS, .help = "curves by Go's names (--help_tls)"},
    {.flags = "tls", .type = CONFIG_T_BOOL, .off = OFF(tls_flags.tls),
     .opts = CONFIG_F_TLS_FLAG, .group = CONFIG_G_TLS,
     .help = "TLS, no client certificates (replaces tls {})"},
    {.flags = "tlsverify", .type = CONFIG_T_BOOL, .off = OFF(tls_flags.verify),
     .opts = CONFIG_F_BRIEF | CONFIG_F_TLS_FLAG, .group = CONFIG_G_TLS,
     .help = "TLS, and clients present a certificate --tlscacert signed"},
    {.flags = "tlscert", .arg = "FILE", .type = CONFIG_T_STRING, .off = OFF(tls_flags.cert),
     .opts = CONFIG_F_BRIEF | CONFIG_F_TLS_FLAG, .group = CONFIG_G_TLS,
     .help = "server certificate (PEM)"},
    {.flags = "tlskey", .arg = "FILE", .type = CONFIG_T_STRING, .off = OFF(tls_flags.key),
     .opts = CONFIG_F_BRIEF | CONFIG_F_TLS_FLAG, .group = CONFIG_G_TLS,
     .help = "its private key (PEM)"},
    {.flags = "tlscacert", .arg = "FILE", .type = CONFIG_T_STRING, .off = OFF(tls_flags.ca),
     .opts = CONFIG_F_BRIEF | CONFIG_F_TLS_FLAG, .group = CONFIG_G_TLS,
     .help = "CAs of client certificates (PEM)"},

    /* ---- Cluster Options (nats-server's; docs/CLUSTER.md) ---- */
    {.key = "cluster", .block = CONFIG_B_TOP, .type = CONFIG_T_BLOCK, .sub = CONFIG_B_CLUSTER,
     .group = CONFIG_G_CLUSTER, .help = "join a NATS cluster over the route protocol"},
    {.key = "listen", .block = CONFIG_B_CLUSTER, .flags = "cluster cluster_listen",
     .arg = "URL", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_CUSTOM,
     .set = config_set_cluster_listen,
     .group = CONFIG_G_CLUSTER, .help = "cluster URL for route connections (nats://host:port)"},
    {.key = "host", .block = CONFIG_B_CLUSTER, .type = CONFIG_T_STRING, .off = OFF(cluster_host),
     .group = CONFIG_G_CLUSTER, .help = "address to listen on for routes"},
    {.key = "port", .block = CONFIG_B_CLUSTER, .type = CONFIG_T_CUSTOM,
     .set = config_set_cluster_listen, .group = CONFIG_G_CLUSTER,
     .help = "port to listen on for routes (-1: any free port)"},
    {.key = "name", .block = CONFIG_B_CLUSTER, .flags = "cluster_name", .arg = "NAME",
     .opts = CONFIG_F_BRIEF, .type = CONFIG_T_STRING, .off = OFF(cluster_name),
     .group = CONFIG_G_CLUSTER,
     .help = "cluster name (default: one made up, adopted from the peers)"},
    {.key = "routes", .block = CONFIG_B_CLUSTER, .flags = "routes", .arg = "URL,...",
     .opts = CONFIG_F_BRIEF, .type = CONFIG_T_LIST, .off = OFF(routes),
     .check = config_check_routes,
     .group = CONFIG_G_CLUSTER,
     .help = "routes to dial (nats://[user:pass@]host:port), retried every second"},
    {.key = "no_advertise", .block = CONFIG_B_CLUSTER, .flags = "no_advertise",
     .type = CONFIG_T_BOOL, .off = OFF(cluster_no_advertise), .group = CONFIG_G_CLUSTER,
     .help = "do not tell clients about the other nodes (connect_urls)"},
    {.key = "connect_retries", .block = CONFIG_B_CLUSTER, .flags = "connect_retries",
     .arg = "N", .type = CONFIG_T_INT, .off = OFF(cluster_connect_retries), .min = 0,
     .max = 1 << 20, .group = CONFIG_G_CLUSTER,
     .help = "tries to reach a route learned from a peer (default 0: once)"},
    {.key = "tls", .block = CONFIG_B_CLUSTER, .type = CONFIG_T_CUSTOM, .set = config_set_link_tls,
     .group = CONFIG_G_CLUSTER,
     .help = "TLS on routes, before any INFO; certificates verified both ways (docs/TLS.md)"},
    CONFIG_TLS_ROWS(CONFIG_B_CLUSTER_TLS, cluster_tls, CONFIG_G_CLUSTER, "peers'"),
    {.key = "insecure", .block = CONFIG_B_CLUSTER_TLS, .type = CONFIG_T_BOOL,
     .off = OFF(cluster_tls.insecure), .group = CONFIG_G_CLUSTER,
     .help = "routes we dial do not verify the peer's certificate (the peer still verifies ours)"},
    {.key = "authorization", .block = CONFIG_B_CLUSTER, .type = CONFIG_T_BLOCK,
     .sub = CONFIG_B_CLUSTER_AUTH, .group = CONFIG_G_CLUSTER,
     .help = "user and password routes must present"},
    {.key = "user", .aliases = "username", .block = CONFIG_B_CLUSTER_AUTH,
     .type = CONFIG_T_STRING, .off = OFF(cluster_user), .group = CONFIG_G_CLUSTER,
     .help = "user a route must present"},
    {.key = "password", .aliases = "pass", .block = CONFIG_B_CLUSTER_AUTH,
     .type = CONFIG_T_STRING, .off = OFF(cluster_pass), .opts = CONFIG_F_SECRET,
     .group = CONFIG_G_CLUSTER, .help = "its password"},

    {.key = "leafnodes", .aliases = "leaf", .block = CONFIG_B_TOP, .type = CONFIG_T_BLOCK,
     .sub = CONFIG_B_LEAF, .group = CONFIG_G_CLUSTER,
     .help = "join NATS hubs as a leaf node (docs/CLUSTER.md)"},
    {.key = "listen", .block = CONFIG_B_LEAF, .type = CONFIG_T_CUSTOM,
     .set = config_set_leaf_listen, .group = CONFIG_G_CLUSTER,
     .help = "host:port where leaf nodes join this node as their hub"},
    {.key = "port", .block = CONFIG_B_LEAF, .type = CONFIG_T_CUSTOM,
     .set = config_set_leaf_listen, .group = CONFIG_G_CLUSTER,
     .help = "port where leaf nodes join (-1: any free port)"},
    {.key = "host", .block = CONFIG_B_LEAF, .type = CONFIG_T_STRING, .off = OFF(leaf_host),
     .group = CONFIG_G_CLUSTER, .help = "address where leaf nodes join"},
    {.key = "remotes", .block = CONFIG_B_LEAF, .type = CONFIG_T_CUSTOM,
     .set = config_set_leaf_remotes, .group = CONFIG_G_CLUSTER,
     .help = "hubs to join: [ { urls: [nats-leaf://[user:pass@]host:port, ...], account, "
             "credentials: user.creds, deny_imports, deny_exports, tls { } } ]"},
    {.key = "authorization", .block = CONFIG_B_LEAF, .type = CONFIG_T_BLOCK,
     .sub = CONFIG_B_LEAF_AUTH, .group = CONFIG_G_CLUSTER,
     .help = "user and password leaf nodes must present to join"},
    {.key = "user", .aliases = "username", .block = CONFIG_B_LEAF_AUTH,
     .type = CONFIG_T_STRING, .off = OFF(leaf_user), .group = CONFIG_G_CLUSTER,
     .help = "user a leaf node must present"},
    {.key = "password", .aliases = "pass", .block = CONFIG_B_LEAF_AUTH,
     .type = CONFIG_T_STRING, .off = OFF(leaf_pass), .opts = CONFIG_F_SECRET,
     .group = CONFIG_G_CLUSTER, .help = "its password"},
    {.key = "account", .block = CONFIG_B_LEAF_AUTH, .type = CONFIG_T_STRING,
     .off = OFF(leaf_auth_account), .group = CONFIG_G_CLUSTER,
     .help = "the local account such a leaf node is bound to (default $G)"},
    {.key = "users", .block = CONFIG_B_LEAF_AUTH, .type = CONFIG_T_CUSTOM,
     .set = config_set_leaf_users, .group = CONFIG_G_CLUSTER,
     .help = "[ {user, password, account}, ... ]: leaf nodes that log in as one of them are "
             "bound to its account (default $G)"},
    {.key = "min_version", .block = CONFIG_B_LEAF, .type = CONFIG_T_CUSTOM,
     .set = config_set_leaf_min_version, .group = CONFIG_G_CLUSTER,
     .help = "the oldest server version a leaf node may run to join (at least 2.8.0)"},
    {.key = "reconnect", .aliases = "reconnect_delay", .block = CONFIG_B_LEAF,
     .type = CONFIG_T_SECONDS, .off = OFF(leaf_reconnect_ms), .min = 10, .max = 3600 * 1000,
     .group = CONFIG_G_CLUSTER, .help = "wait between tries to reach a hub (default 1s)"},
    {.key = "tls", .block = CONFIG_B_LEAF, .type = CONFIG_T_CUSTOM, .set = config_set_link_tls,
     .group = CONFIG_G_CLUSTER,
     .help = "TLS for the leaf nodes that join: INFO in plaintext, then their handshake "
             "(docs/TLS.md)"},
    CONFIG_TLS_ROWS(CONFIG_B_LEAF_TLS, leaf_tls, CONFIG_G_CLUSTER, "leaf nodes'"),
    /* a remote's tls { } (read by leaf.c into leaf_rtls, then its remote's) */
    {.key = "cert_file", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_STRING,
     .off = OFF(leaf_rtls.cert), .group = CONFIG_G_CLUSTER,
     .help = "certificate chain (PEM) shown to the hub (default: none)"},
    {.key = "key_file", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_STRING,
     .off = OFF(leaf_rtls.key), .group = CONFIG_G_CLUSTER, .help = "its private key (PEM)"},
    {.key = "ca_file", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_STRING,
     .off = OFF(leaf_rtls.ca), .group = CONFIG_G_CLUSTER,
     .help = "CAs of the hub's certificate (default: the system's)"},
    {.key = "insecure", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_BOOL,
     .off = OFF(leaf_rtls.insecure), .group = CONFIG_G_CLUSTER,
     .help = "do not verify the hub's certificate"},
    {.key = "timeout", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_SECONDS,
     .off = OFF(leaf_rtls.timeout_ms), .min = 10, .max = 3600 * 1000, .group = CONFIG_G_CLUSTER,
     .help = "the hub's INFO and the TLS handshake, at most (default 2s)"},
    {.key = "cipher_suites", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_LIST,
     .off = OFF(leaf_rtls.ciphers), .check = config_check_suites, .group = CONFIG_G_CLUSTER,
     .help = "TLS 1.2 cipher suites by Go's names (--help_tls)"},
    {.key = "curve_preferences", .block = CONFIG_B_LEAF_RTLS, .type = CONFIG_T_LIST,
     .off = OFF(leaf_rtls.curves), .check = config_check_curves, .group = CONFIG_G_CLUSTER,
     .help = "curves by Go's names (--help_tls)"},

    {.key = "websocket", .aliases = "ws", .block = CONFIG_B_TOP, .type = CONFIG_T_BLOCK,
     .sub = CONFIG_B_WS, .group = CONFIG_G_SERVER,
     .help = "NATS clients over WebSocket (docs/WEBSOCKET.md)"},
    {.key = "listen", .block = CONFIG_B_WS, .type = CONFIG_T_CUSTOM,
     .set = config_set_ws_listen, .group = CONFIG_G_SERVER,
     .help = "host:port where WebSocket clients connect"},
    {.key = "port", .block = CONFIG_B_WS, .type = CONFIG_T_CUSTOM,
     .set = config_set_ws_listen, .group = CONFIG_G_SERVER,
     .help = "port where WebSocket clients connect (-1: any free port)"},
    {.key = "host", .aliases = "net", .block = CONFIG_B_WS, .type = CONFIG_T_STRING,
     .off = OFF(ws_host), .group = CONFIG_G_SERVER, .help = "address for WebSocket clients"},
    {.key = "no_tls", .block = CONFIG_B_WS, .type = CONFIG_T_BOOL, .off = OFF(ws_no_tls),
     .group = CONFIG_G_SERVER, .help = "plain ws:// (required without tls { })"},
    {.key = "tls", .block = CONFIG_B_WS, .type = CONFIG_T_CUSTOM, .set = config_set_link_tls,
     .group = CONFIG_G_SERVER, .help = "wss://: TLS first, then the upgrade (docs/TLS.md)"},
    CONFIG_TLS_ROWS(CONFIG_B_WS_TLS, ws_tls, CONFIG_G_SERVER, "WebSocket clients'"),
    {.key = "same_origin", .block = CONFIG_B_WS, .type = CONFIG_T_BOOL,
     .off = OFF(ws_same_origin), .group = CONFIG_G_SERVER,
     .help = "refuse (403) an Origin whose host and port are not Host's"},
    {.key = "allowed_origins",
     .aliases = "allowed_origin allow_origins allow_origin origins origin",
     .block = CONFIG_B_WS, .type = CONFIG_T_LIST, .off = OFF(ws_allowed_origins),
     .group = CONFIG_G_SERVER,
     .help = "the Origins accepted (scheme://host[:port]); others get 403"},
    {.key = "compression", .block = CONFIG_B_WS, .type = CONFIG_T_BOOL,
     .off = OFF(ws_compression), .group = CONFIG_G_SERVER,
     .help = "permessage-deflate when the client offers it (sends above 64 bytes)"},
    {.key = "handshake_timeout", .block = CONFIG_B_WS, .type = CONFIG_T_SECONDS,
     .off = OFF(ws_handshake_timeout_ms), .min = 0, .max = 3600 * 1000,
     .group = CONFIG_G_SERVER,
     .help = "time for the HTTP upgrade request (default: none, as nats-server without TLS)"},
    {.key = "authorization", .aliases = "authentication", .block = CONFIG_B_WS,
     .type = CONFIG_T_BLOCK, .sub = CONFIG_B_WS_AUTH, .group = CONFIG_G_SERVER,
     .help = "WebSocket clients' own login: a user or a token replaces the top level's"},
    {.key = "user", .aliases = "username", .block = CONFIG_B_WS_AUTH, .type = CONFIG_T_STRING,
     .off = OFF(ws_user), .group = CONFIG_G_SERVER,
     .help = "the one user WebSocket clients log in as (not with authorization { users })"},
    {.key = "password", .aliases = "pass", .block = CONFIG_B_WS_AUTH,
     .type = CONFIG_T_STRING, .off = OFF(ws_pass), .opts = CONFIG_F_SECRET,
     .group = CONFIG_G_SERVER, .help = "its password (plain or bcrypt; default: empty)"},
    {.key = "token", .block = CONFIG_B_WS_AUTH, .type = CONFIG_T_STRING, .off = OFF(ws_token),
     .opts = CONFIG_F_SECRET, .group = CONFIG_G_SERVER,
     .help = "the token WebSocket clients log in with (then user and password are not used)"},
    {.key = "timeout", .block = CONFIG_B_WS_AUTH, .type = CONFIG_T_SECONDS,
     .off = OFF(ws_auth_timeout_ms), .min = 0, .max = 3600 * 1000, .group = CONFIG_G_SERVER,
     .help = "time a WebSocket client has to send CONNECT (default: the top level's)"},
    {.key = "no_auth_user", .block = CONFIG_B_WS, .type = CONFIG_T_STRING,
     .off = OFF(ws_no_auth_user), .group = CONFIG_G_SERVER,
     .help = "a WebSocket client without credentials logs in as this user of users [...]"},

    {.key = "default_js_domain", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM,
     .set = config_set_js_domain, .group = CONFIG_G_CLUSTER,
     .help = "{ \"$G\": DOMAIN }: clients naming no JetStream domain reach the hub's DOMAIN"},

    /* ---- ringbus { threads { } ... } ---- */
    {.key = "ringbus", .block = CONFIG_B_TOP, .type = CONFIG_T_BLOCK, .sub = CONFIG_B_RINGBUS,
     .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS, .help = "ringbus's own settings"},
    {.key = "threads", .block = CONFIG_B_RINGBUS, .type = CONFIG_T_BLOCK,
     .sub = CONFIG_B_THREADS, .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "threads and how they share work"},
    {.key = "io", .block = CONFIG_B_THREADS, .rb_flags = "io-threads", .arg = "N",
     .type = CONFIG_T_INT, .off = OFF(io_threads), .min = 1, .max = CONFIG_MAX_THREADS,
     .opts = CONFIG_F_BRIEF | CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "I/O threads, one io_uring each (default: half the cores)"},
    {.key = "workers", .block = CONFIG_B_THREADS, .rb_flags = "workers", .arg = "N",
     .type = CONFIG_T_INT, .off = OFF(workers), .min = 1, .max = CONFIG_MAX_THREADS,
     .opts = CONFIG_F_BRIEF | CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "worker threads that own subject shards (default: the other cores)"},
    {.key = "shards", .block = CONFIG_B_THREADS, .rb_flags = "shards", .arg = "N",
     .type = CONFIG_T_INT, .off = OFF(shards), .min = 0, .max = CONFIG_MAX_SHARDS,
     .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "subject shards (default 0: 4 per worker)"},
    {.key = "pin", .block = CONFIG_B_THREADS, .rb_flags = "pin", .off_flags = "no-pin",
     .type = CONFIG_T_BOOL, .off = OFF(pin), .opts = CONFIG_F_BRIEF | CONFIG_F_RINGBUS,
     .group = CONFIG_G_THREADS, .help = "pin threads to cores (default: on above 2 cores)"},
    {.key = "spin_us", .block = CONFIG_B_THREADS, .rb_flags = "spin-us", .arg = "N",
     .type = CONFIG_T_U32, .off = OFF(spin_us), .min = 0, .max = 1000000,
     .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "microseconds a thread polls before it sleeps (default 100; 50 on 2 cores)"},
    {.key = "inline_max", .block = CONFIG_B_THREADS, .rb_flags = "inline-max", .arg = "N",
     .type = CONFIG_T_U32, .off = OFF(inline_max), .min = 0, .max = UINT32_MAX,
     .opts = CONFIG_F_RINGBUS | CONFIG_F_RELOAD | CONFIG_F_ALL, .group = CONFIG_G_THREADS,
     .help = "an I/O thread routes up to N entries itself when the worker sleeps (default "
             "64; all on 2 cores; 0: never)"},
    {.key = "recv_buffers", .block = CONFIG_B_RINGBUS, .arg = "N", .type = CONFIG_T_U32,
     .off = OFF(buf_count), .min = 8, .max = 32768, .check = config_check_recv_buffers,
     .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "provided receive buffers per I/O thread, a power of two (default 256)"},
    {.key = "recv_buffer_size", .block = CONFIG_B_RINGBUS, .arg = "SIZE",
     .type = CONFIG_T_SIZE, .off = OFF(buf_size), .min = 4096, .max = MB,
     .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "bytes of each receive buffer (default 64KB)"},
    {.key = "shutdown_timeout", .block = CONFIG_B_RINGBUS, .rb_flags = "shutdown-timeout",
     .arg = "DUR", .type = CONFIG_T_MS, .off = OFF(shutdown_timeout_ms), .min = 10,
     .max = UINT32_MAX, .opts = CONFIG_F_RINGBUS, .group = CONFIG_G_THREADS,
     .help = "on SIGTERM, time a connection has to send its queued output (default 10s)"},
    {.key = "stats_interval", .block = CONFIG_B_RINGBUS, .rb_flags = "stats-interval",
     .arg = "DUR", .type = CONFIG_T_MS, .off = OFF(stats_interval_ms), .min = 0,
     .max = UINT32_MAX, .check = config_check_stats_interval, .opts = CONFIG_F_RINGBUS,
     .group = CONFIG_G_THREADS,
     .help = "publish the server's figures on $SYS.RINGBUS.<server_id>.STATS this often "
             "(default 1s with a system_account, else off; at least 100ms; 0: off; a reload "
             "cannot change it)"},
    {.key = "ktls", .block = CONFIG_B_RINGBUS, .off_flags = "tls-no-ktls",
     .type = CONFIG_T_BOOL, .off = OFF(tls_ktls), .opts = CONFIG_F_RINGBUS | CONFIG_F_HIDDEN,
     .group = CONFIG_G_TLS, .help = "let the kernel carry TLS records when it can (default true)"},
    {.key = "admission", .block = CONFIG_B_RINGBUS, .type = CONFIG_T_CUSTOM,
     .set = config_set_admission, .opts = CONFIG_F_RINGBUS | CONFIG_F_RELOAD,
     .group = CONFIG_G_ADMISSION, .help = "admission control: marks and policies"},

    /* ---- Common Options (the command line) ---- */
    {.flags = "c config", .arg = "FILE", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_STRING,
     .off = OFF(config_file),
     .group = CONFIG_G_COMMON, .help = "configuration file (nats-server's format)"},
    {.flags = "t", .rb_flags = "check-config", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_BOOL,
     .off = OFF(check_config),
     .group = CONFIG_G_COMMON, .help = "check the configuration file and exit"},
    {.flags = "sl signal", .arg = "SIGNAL[=PID]", .opts = CONFIG_F_BRIEF,
     .type = CONFIG_T_STRING, .off = OFF(signal),
     .group = CONFIG_G_COMMON,
     .help = "send stop, quit, term, reopen, reload or ldm to a running ringbus (PID: a "
             "number or a pid file; default: pid_file, else the one ringbus running)"},
    {.flags = "h help", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_BOOL, .off = OFF(show_help),
     .group = CONFIG_G_COMMON,
     .help = "the most used options"},
    {.flags = "help_all", .type = CONFIG_T_BOOL, .off = OFF(show_help_all),
     .opts = CONFIG_F_BRIEF, .group = CONFIG_G_COMMON,
     .help = "every option (man ringbus has them too)"},
    {.flags = "help_man", .type = CONFIG_T_BOOL, .off = OFF(show_help_man),
     .opts = CONFIG_F_HIDDEN, .group = CONFIG_G_COMMON,
     .help = "ringbus(8) in groff, from this table (the build writes it)"},
    {.flags = "help_man_conf", .type = CONFIG_T_BOOL, .off = OFF(show_help_man_conf),
     .opts = CONFIG_F_HIDDEN, .group = CONFIG_G_COMMON,
     .help = "ringbus.conf(5) in groff, from this table"},
    {.flags = "help_tls", .type = CONFIG_T_BOOL, .off = OFF(show_help_tls),
     .group = CONFIG_G_COMMON, .help = "the tls block, cipher suites and curves"},
    {.flags = "v version", .opts = CONFIG_F_BRIEF, .type = CONFIG_T_BOOL, .off = OFF(show_version),
     .group = CONFIG_G_COMMON, .help = "print the version and exit"},
};
/* clang-format on */

const struct config_row *config_rows(size_t *n)
{
	*n = RB_ARRAY_LEN(config_table);
	return config_table;
}

const struct config_row *config_row_by_key(enum config_block block, const char *key)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(config_table); i++) {
		const struct config_row *r = &config_table[i];
		if (r->key && r->block == block &&
		    (!strcasecmp(r->key, key) || config_word_in(r->aliases, key, true)))
			return r;
	}
	return NULL;
}

const struct config_row *config_row_by_flag(const char *name, bool *off)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(config_table); i++) {
		const struct config_row *r = &config_table[i];
		if (config_word_in(r->flags, name, false) ||
		    config_word_in(r->rb_flags, name, false)) {
			*off = false;
			return r;
		}
		if (config_word_in(r->off_flags, name, false)) {
			*off = true;
			return r;
		}
	}
	return NULL;
}

/* Every word of @a that is also a word of @b goes to @report as "@what". */
static int config_words_clash(const char *a, const char *b, bool ignore_case, const char *what,
                              const char *where, void (*report)(const char *problem))
{
	int bad = 0;
	char word[64], line[256];
	for (const char *p = a; p && *p;) {
		size_t n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (n && config_word_in(b, word, ignore_case)) {
			snprintf(line, sizeof(line), "%s \"%s\" is declared twice%s", what, word,
			         where);
			report(line);
			bad++;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return bad;
}

/* The problems of one row on its own. */
static int config_row_check(const struct config_row *r, size_t i,
                            void (*report)(const char *problem))
{
	char line[256];
	const char *why = NULL;
	bool has_flag = r->flags || r->rb_flags || r->off_flags;
	if (!r->key && !has_flag)
		why = "has neither a key nor a flag";
	else if (!r->help || !*r->help)
		why = "has no help text";
	else if (r->key && r->block == CONFIG_B_NONE)
		why = "has a key but no block";
	else if (!r->key && r->block != CONFIG_B_NONE)
		why = "has a block but no key";
	else if (r->type == CONFIG_T_CUSTOM && !r->set)
		why = "is custom without a reader";
	else if (r->type != CONFIG_T_CUSTOM && r->set)
		why = "has a reader but is not custom";
	else if (r->type == CONFIG_T_BLOCK && (r->sub == CONFIG_B_NONE || has_flag))
		why = "is a block without rows, or with a flag";
	else if (r->type == CONFIG_T_BOOL && r->arg)
		why = "is a boolean that takes an argument";
	else if (has_flag && r->type != CONFIG_T_BOOL && r->type != CONFIG_T_CUSTOM && !r->arg)
		why = "takes a value but names no argument";
	else if (r->off_flags && r->type != CONFIG_T_BOOL)
		why = "has off flags but is no boolean";
	if (!why)
		return 0;
	snprintf(line, sizeof(line), "row %zu (%s) %s", i,
	         r->key        ? r->key
	         : r->flags    ? r->flags
	         : r->rb_flags ? r->rb_flags
	                       : "?",
	         why);
	report(line);
	return 1;
}

int config_table_check(const struct config_row *rows, size_t n, void (*report)(const char *problem))
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		const struct config_row *a = &rows[i];
		bad += config_row_check(a, i, report);
		bad +=
		    config_words_clash(a->aliases, a->key, true, "key", " (as an alias)", report);
		for (size_t j = i + 1; j < n; j++) {
			const struct config_row *b = &rows[j];
			if (a->key && b->key && a->block == b->block) {
				char keys_a[256], keys_b[256];
				snprintf(keys_a, sizeof(keys_a), "%s %s", a->key,
				         a->aliases ? a->aliases : "");
				snprintf(keys_b, sizeof(keys_b), "%s %s", b->key,
				         b->aliases ? b->aliases : "");
				bad += config_words_clash(keys_a, keys_b, true, "key", "", report);
			}
			const char *fa[] = {a->flags, a->rb_flags, a->off_flags};
			const char *fb[] = {b->flags, b->rb_flags, b->off_flags};
			for (size_t k = 0; k < 3; k++)
				for (size_t l = 0; l < 3; l++)
					bad += config_words_clash(fa[k], fb[l], false, "flag", "",
					                          report);
		}
	}
	return bad;
}
