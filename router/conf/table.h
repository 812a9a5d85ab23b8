/* The table of settings: every setting of the server declared once, as a
 * row (its keys in the file, its flags, how its value is read, where it is
 * stored, its bounds, its help, whether a reload may change it), as nginx
 * declares its directives. The flag parser (flags.c), the file's mapping
 * (file.c), --help (help.c), validation and reload read these rows; the
 * admission policies have a table of their own (router/admission.h).
 * Private to router/conf/ and its tests. */
#ifndef ROUTER_CONF_TABLE_H
#define ROUTER_CONF_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "router/conf/config.h"
#include "router/conf/value.h"

/* How a row's value is read, and the C type of its field. */
enum config_type {
	CONFIG_T_BOOL,    /* bool */
	CONFIG_T_INT,     /* int */
	CONFIG_T_U32,     /* uint32_t */
	CONFIG_T_SIZE,    /* uint32_t, bytes: a size (1MB) */
	CONFIG_T_MS,      /* uint32_t, ms: a Go duration string */
	CONFIG_T_SECONDS, /* uint32_t, ms: seconds (2, 0.5) or a Go duration string */
	CONFIG_T_STRING,  /* char * (owned) */
	CONFIG_T_LIST,    /* struct config_list */
	CONFIG_T_BLOCK,   /* a map whose keys are the rows of block @sub */
	CONFIG_T_CUSTOM,  /* row->set reads it (and stores what it stores) */
};

/* Where a key may be written. */
enum config_block {
	CONFIG_B_NONE = 0,     /* the command line only */
	CONFIG_B_TOP,          /* the top level of the file */
	CONFIG_B_AUTH,         /* authorization { } */
	CONFIG_B_TLS,          /* tls { } */
	CONFIG_B_RINGBUS,      /* ringbus { } */
	CONFIG_B_THREADS,      /* ringbus { threads { } } */
	CONFIG_B_CLUSTER,      /* cluster { } */
	CONFIG_B_CLUSTER_AUTH, /* cluster { authorization { } } */
	CONFIG_B_CLUSTER_TLS,  /* cluster { tls { } } */
	CONFIG_B_LEAF,         /* leafnodes { } */
	CONFIG_B_LEAF_AUTH,    /* leafnodes { authorization { } } */
	CONFIG_B_LEAF_TLS,     /* leafnodes { tls { } } */
	CONFIG_B_LEAF_RTLS,    /* leafnodes { remotes: [ { tls { } } ] } (leaf.c) */
	CONFIG_B_WS,           /* websocket { } */
	CONFIG_B_WS_TLS,       /* websocket { tls { } } */
	CONFIG_B_WS_AUTH,      /* websocket { authorization { } } */
	CONFIG_B_ACCOUNT,      /* accounts { NAME: { } }: no rows, read by accounts.c */
	CONFIG_B_EXPORT,       /* an account's exports: [ { } ] (imports.c) */
	CONFIG_B_IMPORT,       /* an account's imports: [ { } ] (imports.c) */
	CONFIG_B_COUNT,
};

/* --help's groups, in order. */
enum config_group {
	CONFIG_G_SERVER,
	CONFIG_G_LOGGING,
	CONFIG_G_AUTH,
	CONFIG_G_TLS,
	CONFIG_G_CLUSTER,
	CONFIG_G_LIMITS,
	CONFIG_G_THREADS,
	CONFIG_G_ADMISSION,
	CONFIG_G_COMMON,
	CONFIG_G_COUNT,
};

#define CONFIG_F_RELOAD      (1u << 0) /* a reload may change it */
#define CONFIG_F_RINGBUS     (1u << 1) /* ringbus's own: not a nats-server setting */
#define CONFIG_F_HIDDEN      (1u << 2) /* not in --help (tests, benchmarks) */
#define CONFIG_F_INT_SECONDS (1u << 3) /* file: an integer is seconds, with a warning */
#define CONFIG_F_TLS_FLAG    (1u << 4) /* a --tls* flag: given, it replaces tls {} */
#define CONFIG_F_ALL         (1u << 5) /* U32: the word "all" (or "always") is UINT32_MAX */
#define CONFIG_F_SECRET      (1u << 6) /* never printed (passwords, tokens) */
#define CONFIG_F_BRIEF       (1u << 7) /* in the short --help (else --help_all only) */

struct config_row;

/* A row's own reader (CONFIG_T_CUSTOM): reads @in into x->c. Returns 0 or
 * -EINVAL after reporting. */
typedef int (*config_set_fn)(struct config_ctx *x, const struct config_row *r,
                             const struct config_in *in);

struct config_row {
	const char *key;     /* in the file, in @block; NULL: the command line only */
	const char *aliases; /* more keys, space separated ("max_conn"), or NULL */
	enum config_block block;
	const char *flags;     /* nats-server's flags, space separated ("p port") */
	const char *rb_flags;  /* ringbus's own flags ("max-payload") */
	const char *off_flags; /* a bool's flags that set it false ("no-pin") */
	const char *arg;       /* the argument in --help ("PORT"); NULL for a bool */
	enum config_type type;
	size_t off;       /* of the field in struct config (not for BLOCK and CUSTOM) */
	int64_t min, max; /* numbers; durations in ms */
	unsigned opts;    /* CONFIG_F_* */
	enum config_group group;
	const char *help;
	enum config_block sub; /* CONFIG_T_BLOCK: the rows inside */
	config_set_fn set;     /* CONFIG_T_CUSTOM: reads the value */
	config_set_fn check;   /* optional, other types: checks the value once stored */
};

/* The table. */
const struct config_row *config_rows(size_t *n);

/* The row of key @key (any ASCII case, aliases too) in @block, or NULL. */
const struct config_row *config_row_by_key(enum config_block block, const char *key);

/* The row with the flag @name (without dashes), or NULL; *@off is set when
 * @name is one of the row's off_flags. */
const struct config_row *config_row_by_flag(const char *name, bool *off);

/* Checks @rows: every row has a key or a flag, help text and a reader that
 * fits its type; no two rows share a key in one block or a flag. Each
 * problem goes to @report (one line). Returns the number of problems. */
int config_table_check(const struct config_row *rows, size_t n,
                       void (*report)(const char *problem));

/* Reads @in into the field of @r (every type but BLOCK), checking bounds.
 * Returns 0 or -EINVAL after reporting. */
RB_MUST_CHECK int config_apply(struct config_ctx *x, const struct config_row *r,
                               const struct config_in *in);

/* Maps every entry of the file map @map to the rows of @block; unknown and
 * unsupported keys are reported. Returns 0 or -EINVAL. */
RB_MUST_CHECK int config_map_block(struct config_ctx *x, const struct conf_value *map,
                                   enum config_block block);

/* users: [...] of authorization { } or of an account (sections.c).
 * config_users_read() reads the array @in into a new one (*@out of *@n
 * entries, owned by the caller: config_users_free()), each user with a name
 * or an nkey, never both, and a copy of @account (NULL: $G). Returns 0,
 * -EINVAL after reporting, or -ENOMEM. config_users_append() takes @add
 * (freed on error too) and appends it to c->users, unless a name or nkey
 * would appear twice (reported at @in in nats-server's words: -EINVAL);
 * -ENOMEM. config_users_drop() frees the users of c->users that belong to
 * an account (@accounts) or to $G (!@accounts). */
RB_MUST_CHECK int config_users_read(struct config_ctx *x, const struct config_in *in,
                                    const char *account, struct config_user **out, int *n);
RB_MUST_CHECK int config_users_append(struct config_ctx *x, const struct config_in *in,
                                      struct config_user *add, int n);
void config_users_drop(struct config *c, bool accounts);
void config_users_free(struct config_user *u, int n);

/* The custom readers (sections.c). */
int config_set_listen(struct config_ctx *x, const struct config_row *r, const struct config_in *in);
int config_set_http(struct config_ctx *x, const struct config_row *r, const struct config_in *in);
int config_set_users(struct config_ctx *x, const struct config_row *r, const struct config_in *in);
int config_set_default_perms(struct config_ctx *x, const struct config_row *r,
                             const struct config_in *in);
int config_set_single_perms(struct config_ctx *x, const struct config_row *r,
                            const struct config_in *in);
int config_set_authorization(struct config_ctx *x, const struct config_row *r,
                             const struct config_in *in);
int config_set_tls_block(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in);
int config_set_link_tls(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in);
int config_set_debug_trace(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in);
int config_set_cluster_listen(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in);
int config_set_leaf_remotes(struct config_ctx *x, const struct config_row *r,
                            const struct config_in *in);
int config_set_leaf_users(struct config_ctx *x, const struct config_row *r,
                          const struct config_in *in);
int config_set_leaf_min_version(struct config_ctx *x, const struct config_row *r,
                                const struct config_in *in);
int config_set_leaf_listen(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in);
int config_set_ws_listen(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in);
int config_check_routes(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in);
int config_set_js_domain(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in);
int config_set_admission(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in);
int config_set_accounts(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in);
int config_set_system_account(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in);

/* Accounts (accounts.c, imports.c, imports_link.c). config_exports_read()
 * and config_imports_read() read an account's exports: [...] and
 * imports: [...] into @a (each entry on its own); config_accounts_link()
 * then checks them against each other and the @n accounts @a, once every
 * account is read, reporting at @in (the accounts block). Each returns 0,
 * or -EINVAL after reporting (and counting in @x, which callers that go on
 * to report more rely on). The _fini and _free functions release what
 * they were given (a zeroed one is a no-op). */
int config_exports_read(struct config_ctx *x, const struct config_in *in, struct config_account *a);
int config_imports_read(struct config_ctx *x, const struct config_in *in, struct config_account *a);
int config_accounts_link(struct config_ctx *x, const struct config_in *in,
                         const struct config_account *a, int n);
void config_export_fini(struct config_export *ex);
void config_import_fini(struct config_import *im);
void config_account_fini(struct config_account *a);
void config_accounts_free(struct config_account *a, int n);

/* Checks run once a value is stored (sections.c). */
int config_check_suites(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in);
int config_check_curves(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in);
int config_check_lame_duck(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in);
int config_check_recv_buffers(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in);
int config_check_stats_interval(struct config_ctx *x, const struct config_row *r,
                                const struct config_in *in);

/* What the flag parser saw (flags.c). */
struct config_flags_seen {
	bool tls;     /* a --tls* flag was given */
	bool tls_off; /* --tls=false was given */
};

/* Applies the flags of @argv (Go's rules: one dash or two, "=value" or the
 * next argument, booleans bare or "=value"; the first argument that is no
 * flag ends them, and what follows may only be "version" or "help").
 * Returns 0 or -EINVAL after reporting. */
RB_MUST_CHECK int config_flags_apply(struct config_ctx *x, int argc, char **argv,
                                     struct config_flags_seen *seen);

/* --help (the CONFIG_F_BRIEF rows), --help_all (every row but the hidden
 * ones), --help_tls and -v (help.c). */
void config_print_help(FILE *out);
void config_print_help_all(FILE *out);
void config_print_help_tls(FILE *out);
void config_print_version(FILE *out);

/* The title of --help's group @g ("Server Options"), and the flags of row
 * @r as --help spells them ("-p, --port") into @buf (help.c). */
const char *config_group_title(enum config_group g);
void config_row_flags_spelled(const struct config_row *r, char *buf, size_t cap);

/* The manual pages, groff man(7) source from the tables: ringbus(8), the
 * flags and signals (--help_man, help_man.c), and ringbus.conf(5), the
 * file's keys block by block (--help_man_conf, help_man_conf.c). */
void config_print_man(FILE *out);
void config_print_man_conf(FILE *out);

/* The path of block @b as written in the file ("cluster { authorization
 * { } }"), for the pages (help_man_conf.c); admission's keys are in
 * CONFIG_MAN_ADMISSION. */
const char *config_block_name(enum config_block b);
#define CONFIG_MAN_ADMISSION "ringbus { admission { } }"

/* nats-server's flags and keys for features ringbus lacks (unsupported.c):
 * the advice to print, or NULL when @name is not one. */
const char *config_unsupported_flag(const char *name);
const char *config_unsupported_key(enum config_block block, const char *key);

#endif /* ROUTER_CONF_TABLE_H */
