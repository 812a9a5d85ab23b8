/* ringbus.conf(5) in groff man(7), written by `ringbus --help_man_conf` at
 * build time: a short account of the format (docs/CONFIG-FORMAT.md has the
 * whole grammar), then the keys of each block from the settings table and
 * admission's, with their types, whether a reload may change them, and
 * their help. */
#include <stdio.h>
#include <string.h>

#include "core/roff.h"
#include "router/admission.h"
#include "router/conf/table.h"

static const char *const config_block_names[CONFIG_B_COUNT] = {
    [CONFIG_B_NONE] = "the command line",
    [CONFIG_B_TOP] = "the top level",
    [CONFIG_B_AUTH] = "authorization { }",
    [CONFIG_B_TLS] = "tls { }",
    [CONFIG_B_RINGBUS] = "ringbus { }",
    [CONFIG_B_THREADS] = "ringbus { threads { } }",
    [CONFIG_B_CLUSTER] = "cluster { }",
    [CONFIG_B_CLUSTER_AUTH] = "cluster { authorization { } }",
    [CONFIG_B_CLUSTER_TLS] = "cluster { tls { } }",
    [CONFIG_B_LEAF] = "leafnodes { }",
    [CONFIG_B_LEAF_AUTH] = "leafnodes { authorization { } }",
    [CONFIG_B_LEAF_TLS] = "leafnodes { tls { } }",
    [CONFIG_B_LEAF_RTLS] = "leafnodes { remotes: [ { tls { } } ] }",
    [CONFIG_B_WS] = "websocket { }",
    [CONFIG_B_WS_TLS] = "websocket { tls { } }",
    [CONFIG_B_WS_AUTH] = "websocket { authorization { } }",
    [CONFIG_B_ACCOUNT] = "accounts { NAME: { } }",
    [CONFIG_B_EXPORT] = "exports: [ { } ]",
    [CONFIG_B_IMPORT] = "imports: [ { } ]",
};

const char *config_block_name(enum config_block b)
{
	return config_block_names[b];
}

/* The blocks with rows, in the order of the page. */
static const enum config_block config_man_blocks[] = {
    CONFIG_B_TOP,          CONFIG_B_AUTH,        CONFIG_B_TLS,     CONFIG_B_CLUSTER,
    CONFIG_B_CLUSTER_AUTH, CONFIG_B_CLUSTER_TLS, CONFIG_B_LEAF,    CONFIG_B_LEAF_AUTH,
    CONFIG_B_LEAF_TLS,     CONFIG_B_LEAF_RTLS,   CONFIG_B_WS,      CONFIG_B_WS_TLS,
    CONFIG_B_WS_AUTH,      CONFIG_B_RINGBUS,     CONFIG_B_THREADS,
};

static const char *config_man_type(const struct config_row *r)
{
	switch (r->type) {
	case CONFIG_T_BOOL:
		return "boolean";
	case CONFIG_T_INT:
		return "integer";
	case CONFIG_T_U32:
		return r->opts & CONFIG_F_ALL ? "integer or all" : "integer";
	case CONFIG_T_SIZE:
		return "size";
	case CONFIG_T_MS:
		return r->opts & CONFIG_F_INT_SECONDS ? "duration (an integer: seconds)"
		                                      : "duration";
	case CONFIG_T_SECONDS:
		return "seconds or duration";
	case CONFIG_T_STRING:
		return "string";
	case CONFIG_T_LIST:
		return "array of strings";
	case CONFIG_T_BLOCK:
		return "block";
	case CONFIG_T_CUSTOM:
		break;
	}
	return NULL;
}

static const char *config_man_adm_type(enum adm_type t)
{
	switch (t) {
	case ADM_T_SUB_ACTION:
		return "defer, drop-new, drop-old or disconnect";
	case ADM_T_SHARD_ACTION:
		return "defer or drop-new";
	case ADM_T_FALLBACK:
		return "drop-new, drop-old or disconnect";
	case ADM_T_SIZE:
		return "size";
	case ADM_T_MS:
		return "duration";
	case ADM_T_BOOL:
		return "boolean";
	case ADM_T_SUBJECTS:
		return "array of subject patterns";
	}
	return NULL;
}

/* The tag of key @key: bold, its @aliases after it, then @type in italics. */
static void config_man_key_tag(FILE *out, const char *key, const char *aliases, const char *type)
{
	fputs(".TP\n\\fB", out);
	roff_puts(out, key);
	fputs("\\fR", out);
	for (const char *p = aliases; p && *p;) {
		size_t n = strcspn(p, " ");
		fputs(p == aliases ? " (also \\fB" : ", \\fB", out);
		roff_write(out, p, n);
		fputs("\\fR", out);
		p += n;
		while (*p == ' ')
			p++;
		if (!*p)
			fputs(")", out);
	}
	if (type) {
		fputs(" \\fI", out);
		roff_puts(out, type);
		fputs("\\fR", out);
	}
	fputs("\n", out);
}

static void config_man_block(FILE *out, enum config_block b)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	fputs(".SS \"", out);
	roff_puts(out, b == CONFIG_B_TOP ? "The top level" : config_block_name(b));
	fputs("\"\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct config_row *r = &rows[i];
		if (!r->key || r->block != b)
			continue;
		config_man_key_tag(out, r->key, r->aliases, config_man_type(r));
		roff_puts(out, r->help);
		fputs(".\n", out);
		if (r->opts & CONFIG_F_RELOAD)
			fputs("A reload may change it.\n", out);
		if (r->flags || r->rb_flags || r->off_flags) {
			char flags[128];
			config_row_flags_spelled(r, flags, sizeof(flags));
			fputs("Flag: \\fB", out);
			roff_puts(out, flags);
			fputs("\\fR.\n", out);
		}
	}
}

static void config_man_admission(FILE *out)
{
	size_t n;
	const struct adm_row *adm = adm_rows(&n);
	fputs(".SS \"" CONFIG_MAN_ADMISSION "\"\n"
	      "The defaults of every subject, and\n"
	      "\\fBpolicies { \\fINAME\\fB { subjects: [ ... ], ... } }\\fR for the subjects\n"
	      "a policy names (the most specific pattern wins).\n"
	      "A reload may change all of it.\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		config_man_key_tag(out, adm[i].key, NULL, config_man_adm_type(adm[i].type));
		roff_puts(out, adm[i].help);
		fputs(".\n", out);
		fputs(adm[i].per_policy ? "In admission { } and in a policy.\n"
		                        : "In admission { } only.\n",
		      out);
		if (adm[i].flag) {
			fputs("Flag: \\fB\\-\\-", out);
			roff_puts(out, adm[i].flag);
			fputs("\\fR.\n", out);
		}
	}
}

static const char config_man_conf_head[] =
    ".SH NAME\n"
    "ringbus.conf \\- configuration file of ringbus\n"
    ".SH SYNOPSIS\n"
    ".I /etc/ringbus/ringbus.conf\n"
    ".SH DESCRIPTION\n"
    ".BR ringbus (8)\n"
    "reads nats\\-server's configuration files (\\fB\\-c\\fR \\fIFILE\\fR): the format is\n"
    "nats\\-server " CONFIG_NATS_VERSION "'s, and each key means what it means there.\n"
    "ringbus's own settings are in a \\fBringbus { }\\fR block.\n"
    "\\fBringbus \\-t \\-c\\fR \\fIFILE\\fR checks a file and exits.\n"
    ".SH FORMAT\n"
    "An entry is \\fIkey\\fB: \\fIvalue\\fR, \\fIkey\\fB = \\fIvalue\\fR or\n"
    "\\fIkey value\\fR, ended by a new line, \\(aq;\\(aq or \\(aq,\\(aq.\n"
    "Keys are looked up ignoring case; a key written twice counts the last time.\n"
    "Comments run from \\(aq#\\(aq or \\(aq//\\(aq to the end of the line.\n"
    ".PP\n"
    "A block \\fB{ ... }\\fR holds entries; an array \\fB[ ... ]\\fR holds values\n"
    "split by \\(aq,\\(aq or new lines.\n"
    "Strings are bare, \\(dq...\\(dq (escapes \\fB\\et\\fR, \\fB\\en\\fR, \\fB\\ex\\fIHH\\fR, "
    "...)\n"
    "or \\(aq...\\(aq (raw); \\fBtrue\\fR, \\fBfalse\\fR, \\fByes\\fR, \\fBno\\fR, \\fBon\\fR and\n"
    "\\fBoff\\fR are booleans.\n"
    ".PP\n"
    "A \\fIsize\\fR is a number with an optional unit: 1k, 1m, 1g are powers of\n"
    "1000, 1KB, 1MB, 1GB (and 1KiB, 1Ki) powers of 1024.\n"
    "A \\fIduration\\fR is a Go duration string (2s, 500ms, \\(dq1m30s\\(dq: quote one\n"
    "with more than one unit); beware that a bare 1m is the size 1000000.\n"
    ".PP\n"
    "\\fINAME\\fB = \\fIvalue\\fR defines a variable that \\fB$\\fINAME\\fR copies later;\n"
    "a name not defined in the file is taken from the environment.\n"
    "\\fBinclude\\fR \\fIpath\\fR adds the entries of another file in place, the path\n"
    "relative to the including file.\n"
    ".SH KEYS\n"
    "Each key with its type; those a reload (SIGHUP) may change say so, the\n"
    "others need a restart.\n"
    "A key of nats\\-server for a feature ringbus lacks is refused with advice.\n";

static const char config_man_conf_tail[] =
    ".SS \"accounts { NAME: { } }\"\n"
    "Each account is a separate subject space with keys \\fBusers\\fR (as in\n"
    "authorization { }), \\fBdefault_permissions\\fR, \\fBexports\\fR\n"
    "(\\fB[ { stream: \\fISUBJECT\\fB } ]\\fR or \\fBservice\\fR, optionally\n"
    "\\fBaccounts: [ ... ]\\fR) and \\fBimports\\fR (\\fB[ { stream: { account: \\fIA\\fB,\n"
    "subject: \\fIS\\fB }, prefix: \\fIP\\fB } ]\\fR or \\fBservice\\fR with \\fBto\\fR).\n"
    "Users may change on reload; accounts, exports and imports may not.\n"
    ".SH EXAMPLE\n"
    ".EX\n"
    "port: 4222\n"
    "http_port: 8222\n"
    "authorization { users: [ { user: app, password: \\(dq$2a$11$...\\(dq } ] }\n"
    "ringbus {\n"
    "    threads { io: 2, workers: 2 }\n"
    "    admission { subscriber: defer, subscriber_high: 8MB }\n"
    "}\n"
    ".EE\n"
    ".SH FILES\n"
    ".I /etc/ringbus/ringbus.conf\n"
    ".SH SEE ALSO\n"
    ".BR ringbus (8),\n"
    ".BR ringbus\\-load (1);\n"
    "nats\\-server's configuration: https://docs.nats.io\n";

void config_print_man_conf(FILE *out)
{
	roff_th(out, "RINGBUS.CONF", "5", "", "ringbus " RINGBUS_VERSION, "File Formats Manual");
	fputs(config_man_conf_head, out);
	for (size_t i = 0; i < RB_ARRAY_LEN(config_man_blocks); i++)
		config_man_block(out, config_man_blocks[i]);
	config_man_admission(out);
	fputs(config_man_conf_tail, out);
}
