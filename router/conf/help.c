/* --help (the most used flags) and --help_all (every flag), grouped as
 * nats-server groups its own, one line a flag, all of it from the tables;
 * --help_tls; and -v. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "io/tls/tls.h"
#include "router/admission.h"
#include "router/conf/table.h"

static const char *const config_group_titles[CONFIG_G_COUNT] = {
    [CONFIG_G_SERVER] = "Server Options",
    [CONFIG_G_LOGGING] = "Logging Options",
    [CONFIG_G_AUTH] = "Authorization Options",
    [CONFIG_G_TLS] = "TLS Options",
    [CONFIG_G_CLUSTER] = "Cluster Options (docs/CLUSTER.md)",
    [CONFIG_G_LIMITS] = "Limits (in the file: max_payload, ping_interval, ...)",
    [CONFIG_G_THREADS] = "ringbus: threads (in the file: ringbus { threads { ... } })",
    [CONFIG_G_ADMISSION] = "ringbus: admission control (ringbus { admission { ... } })",
    [CONFIG_G_COMMON] = "Common Options",
};

/* Appends the flags of @list to @buf as nats-server's help spells them:
 * its short ones (@nats: one or two letters, or capitals: -p, -sl, -DVV)
 * with one dash, the others with two. */
static void config_help_flags(char *buf, size_t cap, const char *list, bool nats)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, " "), len = strlen(buf);
		snprintf(buf + len, cap - len, "%s%s%.*s", len ? ", " : "",
		         nats && (n <= 2 || isupper((unsigned char)p[0])) ? "-" : "--", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

#define HELP_COL   37 /* where the help text starts */
#define HELP_WIDTH 79

/* The length of @help without a parenthesis that ends it ("port for clients
 * (default 4222)" is "port for clients" in the short --help). */
static size_t config_help_brief_len(const char *help)
{
	size_t n = strlen(help);
	if (n < 2 || help[n - 1] != ')')
		return n;
	int depth = 0;
	for (size_t i = n; i-- > 0;) {
		depth += help[i] == ')' ? 1 : help[i] == '(' ? -1 : 0;
		if (depth == 0)
			return i > 0 && help[i - 1] == ' ' ? i - 1 : n;
	}
	return n;
}

/* One flag: its spelling, then @help wrapped at HELP_WIDTH (@brief: without
 * a parenthesis that ends it). */
static void config_help_line(FILE *out, const char *flags, const char *arg, const char *help,
                             bool brief)
{
	char left[128];
	snprintf(left, sizeof(left), "%s%s%s%s", flags, arg ? " <" : "", arg ? arg : "",
	         arg ? ">" : "");
	int col = fprintf(out, "    %s", left);
	if (col > HELP_COL - 1) {
		fprintf(out, "\n");
		col = 0;
	}
	const char *end = help + (brief ? config_help_brief_len(help) : strlen(help));
	for (const char *p = help; p < end;) {
		size_t n = strcspn(p, " ");
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		if (col + 1 + (int)n > HELP_WIDTH && col > HELP_COL) {
			fprintf(out, "\n");
			col = 0;
		}
		if (col < HELP_COL)
			col += fprintf(out, "%*s", HELP_COL - col, "");
		else
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", (int)n, p);
		p += n;
		while (p < end && *p == ' ')
			p++;
	}
	fprintf(out, "\n");
}

const char *config_group_title(enum config_group g)
{
	return config_group_titles[g];
}

void config_row_flags_spelled(const struct config_row *r, char *buf, size_t cap)
{
	buf[0] = '\0';
	config_help_flags(buf, cap, r->flags, true);
	config_help_flags(buf, cap, r->rb_flags, false);
	config_help_flags(buf, cap, r->off_flags, false);
}

/* The flags of group @g: all of them, or only the CONFIG_F_BRIEF ones. */
static void config_help_group(FILE *out, enum config_group g, bool brief)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	fprintf(out, "\n%s:\n", config_group_titles[g]);
	for (size_t i = 0; i < n; i++) {
		const struct config_row *r = &rows[i];
		if (r->group != g || (r->opts & CONFIG_F_HIDDEN) ||
		    (brief && !(r->opts & CONFIG_F_BRIEF)) ||
		    !(r->flags || r->rb_flags || r->off_flags))
			continue;
		char flags[128];
		config_row_flags_spelled(r, flags, sizeof(flags));
		config_help_line(out, flags, r->arg, r->help, brief);
	}
	if (g != CONFIG_G_ADMISSION)
		return;
	const struct adm_row *adm = adm_rows(&n);
	for (size_t i = 0; i < n; i++) {
		char flags[64] = "";
		if (!adm[i].flag || (brief && !adm[i].brief))
			continue;
		config_help_flags(flags, sizeof(flags), adm[i].flag, false);
		config_help_line(out, flags, adm[i].arg, adm[i].help, brief);
	}
}

/* The usage and the rules of flags, before the groups of --help_all. */
static void config_help_head(FILE *out)
{
	fprintf(out, "\nUsage: ringbus [options]\n\n"
	             "A NATS-protocol pub/sub router on io_uring; clients connect to it as to\n"
	             "nats-server " CONFIG_NATS_VERSION ", whose flags and configuration file "
	             "it takes.\n"
	             "A flag takes one dash or two (-user, --user); a value after a space or '='\n"
	             "(-p 4222, -p=4222); a boolean bare or with '=' (-D, -D=false). SIZE as in\n"
	             "the file (1MB = 1048576, 1M = 1000000); DUR a Go duration (2s, 1m30s).\n");
}

void config_print_help(FILE *out)
{
	fprintf(out, "\nUsage: ringbus [options]\n\n"
	             "A NATS-protocol pub/sub router; it takes nats-server " CONFIG_NATS_VERSION
	             "'s flags and file.\n"
	             "Flags: -x or --x, a value after a space or '='; SIZE 1MB, DUR 2s.\n");
	for (int g = 0; g < CONFIG_G_COUNT; g++)
		config_help_group(out, (enum config_group)g, true);
	fprintf(out, "\nEvery option: ringbus --help_all, or man ringbus (8); the file: "
	             "man ringbus.conf (5).\n\n");
}

void config_print_help_all(FILE *out)
{
	config_help_head(out);
	for (int g = 0; g < CONFIG_G_COUNT; g++)
		config_help_group(out, (enum config_group)g, false);
	fprintf(out, "\nThe configuration file: man ringbus.conf (5), tools/ringbus.conf; every\n"
	             "flag and key with what ringbus does with it: docs/OPERATIONS.md.\n\n");
}

void config_print_help_tls(FILE *out)
{
	fprintf(out, "\nTLS is configured in the tls block of the configuration file:\n\n"
	             "    tls {\n"
	             "        cert_file: \"./certs/server-cert.pem\"\n"
	             "        key_file:  \"./certs/server-key.pem\"\n"
	             "        ca_file:   \"./certs/ca.pem\"\n"
	             "        verify:    true\n"
	             "        timeout:   2\n"
	             "        cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n"
	             "        curve_preferences: [\"X25519\", \"CurveP256\"]\n"
	             "    }\n\n"
	             "Cipher suites it takes (TLS 1.2; the TLS 1.3 ones are always on):\n");
	for (size_t i = 0; tls_cipher_suite_name(i); i++)
		fprintf(out, "    %s\n", tls_cipher_suite_name(i));
	fprintf(out, "\nCurves it takes:\n");
	for (size_t i = 0; tls_curve_name(i); i++)
		fprintf(out, "    %s\n", tls_curve_name(i));
	fprintf(out, "\n");
}

void config_print_version(FILE *out)
{
	/* nats-server's line first: harnesses read "nats-server: v2.9.10". */
	fprintf(out, "nats-server: v%s (ringbus %s)\n", CONFIG_NATS_VERSION, RINGBUS_VERSION);
}
