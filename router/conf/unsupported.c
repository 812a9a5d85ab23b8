/* nats-server 2.9.10's flags and keys for what ringbus does not do (yet),
 * each with what to do instead. They are errors, never ignored: a file or a
 * command line that asks for JetStream or a cluster must not start a server
 * without them. */
#include <string.h>
#include <strings.h>

#include "router/conf/table.h"

#define JETSTREAM                                                                                  \
	"JetStream is not supported: run JetStream on nats-server and join it as a leaf node "     \
	"(leafnodes { remotes = [ { url: ... } ] }, docs/CLUSTER.md)"
#define CLUSTER                                                                                    \
	"advertising another cluster address is not supported: routes dial the address each "      \
	"node listens on"
#define MAPPINGS "subject mappings are not supported yet: keep nats-server where they are needed"
#define OPERATOR "operator (JWT) mode is not supported: use authorization { users: [...] }"
#define HTTPS                                                                                      \
	"monitoring over HTTPS is not supported: serve http_port (-m) behind a TLS-terminating "   \
	"proxy"
#define SYSLOG "syslog is not supported: log to stderr (journald) or to a file with -l"
#define ROTATE "not supported: rotate the file with logrotate and --signal reopen (SIGUSR1)"
#define ADVERTISE                                                                                  \
	"advertising another client address is not supported: a cluster's connect_urls are the "   \
	"addresses its nodes listen on"
#define PORTS_FILE                                                                                 \
	"not supported: give the port with -p, or read it from the log ('ready for connections "   \
	"on ...')"
#define PROFILE   "not supported: profile ringbus with perf (docs/LOAD.md)"
#define TRACE_LEN "not supported: ringbus's trace (-V) prints operations, not payloads"

struct config_unsupported {
	const char *names; /* space separated */
	const char *advice;
};

/* nats-server's flags (nats-server --help, and the undocumented ones). */
static const struct config_unsupported config_bad_flags[] = {
    {"js jetstream sd store_dir", JETSTREAM},
    {"cluster_advertise", CLUSTER},
    {"ms https_port", HTTPS},
    {"s syslog r remote_syslog", SYSLOG},
    {"log_size_limit", ROTATE},
    {"client_advertise", ADVERTISE},
    {"ports_file_dir", PORTS_FILE},
    {"profile", PROFILE},
    {"max_traced_msg_len", TRACE_LEN},
};

/* nats-server's top-level keys. */
static const struct config_unsupported config_bad_keys[] = {
    {"jetstream store_dir storedir server_tags", JETSTREAM},
    {"gateway", "gateways are not supported: connect sites with nats-server"},
    {"mqtt", "MQTT is not supported: serve MQTT clients with nats-server"},
    {"no_system_account no_system no_sys_acc",
     "ringbus makes no system account of its own to turn off: only the one system_account "
     "names; remove the key"},
    {"mappings maps", MAPPINGS},
    {"operator operators roots root root_operators root_operator resolver account_resolver "
     "accounts_resolver resolver_tls resolver_preload resolver_pinned_accounts trusted "
     "trusted_keys",
     OPERATOR},
    {"https https_port http_base_path", HTTPS},
    {"syslog remote_syslog", SYSLOG},
    {"logfile_size_limit log_size_limit", ROTATE},
    {"client_advertise", ADVERTISE},
    {"ports_file_dir", PORTS_FILE},
    {"prof_port", PROFILE},
    {"max_traced_msg_len", TRACE_LEN},
    {"max_sub_tokens max_subscription_tokens",
     "not supported: ringbus limits a subject by max_control_line only"},
    {"ocsp", "OCSP stapling is not supported"},
    {"allow_non_tls", "not supported: with tls { }, ringbus requires TLS of every client"},
    {"disable_sublist_cache no_sublist_cache",
     "ringbus has no subscription result cache to disable: remove the key"},
    {"no_header_support", "not supported: ringbus always offers message headers"},
    {"connect_error_reports reconnect_error_reports",
     "these count route, gateway and leaf node connection errors, which ringbus does not "
     "have: remove them"},
};

/* tls { } */
static const struct config_unsupported config_bad_tls[] = {
    {"insecure", "not supported (it only concerns outgoing connections, which ringbus does "
                 "not make)"},
    {"verify_and_map verify_cert_and_check_known_urls",
     "mapping certificates to users is not supported yet (issue 15): use verify: true and "
     "authorization { }"},
    {"pinned_certs", "pinned certificates are not supported: use verify: true with a CA"},
    {"connection_rate_limit", "not supported: the handshake queue is bounded by max_connections"},
    {"ocsp_peer", "OCSP is not supported"},
};

/* cluster { } */
static const struct config_unsupported config_bad_cluster[] = {
    {"advertise cluster_advertise", CLUSTER},
    {"permissions", "route permissions (import/export) are not supported yet"},
    {"pool_size compression", "not in nats-server 2.9: remove it"},
};

/* leafnodes { } */
static const struct config_unsupported config_bad_leaf[] = {
    {"advertise no_advertise",
     "not supported yet on ringbus's leaf node listener: keep it on a private network, or "
     "run the hub on nats-server"},
};

/* leafnodes { authorization { } } */
static const struct config_unsupported config_bad_leaf_auth[] = {
    {"nkeys token timeout",
     "not supported yet on ringbus's leaf node listener: one user, password and account"},
};

/* leafnodes { tls { } }, before the client block's list */
static const struct config_unsupported config_bad_leaf_tls[] = {
    {"insecure", "it concerns the hubs this node joins: put it in the remote's tls { }"},
};

/* leafnodes { remotes: [ { tls { } } ] } */
static const struct config_unsupported config_bad_leaf_rtls[] = {
    {"verify", "a remote always checks the hub's certificate (unless insecure): remove it"},
    {"verify_and_map verify_cert_and_check_known_urls pinned_certs",
     "not supported on leaf remotes: check the hub's certificate against ca_file"},
};

/* websocket { } */
static const struct config_unsupported config_bad_ws[] = {
    {"advertise", "not supported yet on ringbus's WebSocket listener: clients learn no other "
                  "WebSocket address"},
    {"jwt_cookie", OPERATOR},
    {"username user password pass token users nkeys",
     "nats-server 2.9.10 refuses it here too: write websocket { authorization { user, "
     "password } } or { token }, or name one of the top level's users in websocket { "
     "no_auth_user }"},
};

/* websocket { authorization { } } */
static const struct config_unsupported config_bad_ws_auth[] = {
    {"users nkeys permissions default_permissions",
     "nats-server 2.9.10 refuses it here too: this block takes one user and password, or a "
     "token, and a timeout; without a user or token here, WebSocket clients log in as "
     "the top level's users"},
};

/* accounts { NAME: { } } */
static const struct config_unsupported config_bad_account[] = {
    {"nkey", "account nkeys belong to operator (JWT) mode, which ringbus does not have: "
             "remove it"},
    {"jetstream", JETSTREAM},
    {"mappings maps", MAPPINGS},
    {"limits", "account limits are not supported yet: max_connections, max_subscriptions "
               "and max_payload apply to every client"},
};

/* an account's exports: [ { } ] */
static const struct config_unsupported config_bad_export[] = {
    {"response response_type threshold response_threshold response_max_time response_time",
     "service responses are singletons in ringbus: remove it, or keep nats-server for "
     "streamed and chunked responses"},
    {"latency", "service latency tracking is not supported"},
    {"account_token_position", "exports whose subject names the importing account are not "
                               "supported: list the accounts in accounts: [...]"},
};

/* an account's imports: [ { } ] */
static const struct config_unsupported config_bad_import[] = {
    {"share", "service latency tracking is not supported, so there is nothing to share"},
};

static const char *config_find(const struct config_unsupported *t, size_t n, const char *name,
                               bool ignore_case)
{
	for (size_t i = 0; i < n; i++)
		if (config_word_in(t[i].names, name, ignore_case))
			return t[i].advice;
	return NULL;
}

const char *config_unsupported_flag(const char *name)
{
	return config_find(config_bad_flags, RB_ARRAY_LEN(config_bad_flags), name, false);
}

const char *config_unsupported_key(enum config_block block, const char *key)
{
	const char *advice;
	switch (block) {
	case CONFIG_B_TOP:
		return config_find(config_bad_keys, RB_ARRAY_LEN(config_bad_keys), key, true);
	case CONFIG_B_TLS:
	case CONFIG_B_WS_TLS:
	case CONFIG_B_CLUSTER_TLS:
		return config_find(config_bad_tls, RB_ARRAY_LEN(config_bad_tls), key, true);
	case CONFIG_B_LEAF_TLS:
		if ((advice = config_find(config_bad_leaf_tls, RB_ARRAY_LEN(config_bad_leaf_tls),
		                          key, true)))
			return advice;
		return config_find(config_bad_tls, RB_ARRAY_LEN(config_bad_tls), key, true);
	case CONFIG_B_LEAF_RTLS:
		return config_find(config_bad_leaf_rtls, RB_ARRAY_LEN(config_bad_leaf_rtls), key,
		                   true);
	case CONFIG_B_LEAF:
		return config_find(config_bad_leaf, RB_ARRAY_LEN(config_bad_leaf), key, true);
	case CONFIG_B_LEAF_AUTH:
		return config_find(config_bad_leaf_auth, RB_ARRAY_LEN(config_bad_leaf_auth), key,
		                   true);
	case CONFIG_B_WS:
		return config_find(config_bad_ws, RB_ARRAY_LEN(config_bad_ws), key, true);
	case CONFIG_B_WS_AUTH:
		return config_find(config_bad_ws_auth, RB_ARRAY_LEN(config_bad_ws_auth), key, true);
	case CONFIG_B_CLUSTER:
		return config_find(config_bad_cluster, RB_ARRAY_LEN(config_bad_cluster), key, true);
	case CONFIG_B_ACCOUNT:
		return config_find(config_bad_account, RB_ARRAY_LEN(config_bad_account), key, true);
	case CONFIG_B_EXPORT:
		return config_find(config_bad_export, RB_ARRAY_LEN(config_bad_export), key, true);
	case CONFIG_B_IMPORT:
		return config_find(config_bad_import, RB_ARRAY_LEN(config_bad_import), key, true);
	default:
		return NULL;
	}
}
