/* ringbus(8) in groff man(7), written by `ringbus --help_man` at build time:
 * the flags from the settings table and admission's, grouped as --help
 * groups them, with the prose around them (description, signals, files). */
#include <stdio.h>
#include <string.h>

#include "core/roff.h"
#include "router/admission.h"
#include "router/conf/table.h"

/* The tag of one option: each flag of @spelled ("-p, --port") in bold,
 * then @arg in italics. */
static void config_man_tag(FILE *out, const char *spelled, const char *arg)
{
	fputs(".TP\n", out);
	for (const char *p = spelled; *p;) {
		size_t n = strcspn(p, ",");
		fputs("\\fB", out);
		roff_write(out, p, n);
		fputs("\\fR", out);
		p += n;
		if (*p == ',') {
			fputs(", ", out);
			p += 2; /* ", " */
		}
	}
	if (arg) {
		fputs(" \\fI", out);
		roff_puts(out, arg);
		fputs("\\fR", out);
	}
	fputs("\n", out);
}

/* Where a flag's setting is written in the file (@path: the block, NULL at
 * the top level), and whether a reload may change it. */
static void config_man_file_key(FILE *out, const char *path, const char *key, bool reload)
{
	fputs("In the file: ", out);
	if (path) {
		roff_puts(out, path);
		fputs(": ", out);
	}
	fputs("\\fB", out);
	roff_puts(out, key);
	fputs(reload ? "\\fR; a reload may change it.\n" : "\\fR.\n", out);
}

static void config_man_group(FILE *out, enum config_group g)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	fputs(".SS \"", out);
	roff_puts(out, config_group_title(g));
	fputs("\"\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct config_row *r = &rows[i];
		if (r->group != g || (r->opts & CONFIG_F_HIDDEN) ||
		    !(r->flags || r->rb_flags || r->off_flags))
			continue;
		char flags[128];
		config_row_flags_spelled(r, flags, sizeof(flags));
		config_man_tag(out, flags, r->arg);
		roff_puts(out, r->help);
		fputs(".\n", out);
		if (r->key)
			config_man_file_key(
			    out, r->block == CONFIG_B_TOP ? NULL : config_block_name(r->block),
			    r->key, r->opts & CONFIG_F_RELOAD);
	}
	if (g != CONFIG_G_ADMISSION)
		return;
	const struct adm_row *adm = adm_rows(&n);
	for (size_t i = 0; i < n; i++) {
		if (!adm[i].flag)
			continue;
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s", adm[i].flag);
		config_man_tag(out, flag, adm[i].arg);
		roff_puts(out, adm[i].help);
		fputs(".\n", out);
		config_man_file_key(out, CONFIG_MAN_ADMISSION, adm[i].key, true);
	}
}

static const char config_man_head[] =
    ".SH NAME\n"
    "ringbus \\- NATS\\-protocol publish/subscribe router on io_uring\n"
    ".SH SYNOPSIS\n"
    ".B ringbus\n"
    "[\\fIoptions\\fR]\n"
    ".br\n"
    ".B ringbus \\-c\n"
    "\\fIFILE\\fR [\\fB\\-t\\fR]\n"
    ".br\n"
    ".B ringbus \\-\\-signal\n"
    "\\fISIGNAL\\fR[=\\fIPID\\fR]\n"
    ".SH DESCRIPTION\n"
    ".B ringbus\n"
    "is a publish/subscribe router that speaks the NATS client protocol and\n"
    "drops in for\n"
    ".B nats\\-server\n" CONFIG_NATS_VERSION
    " in core publish/subscribe: clients connect to it as to\n"
    "nats\\-server, and it takes nats\\-server's flags and configuration file.\n"
    "It routes subjects on worker threads that own shards of the subject space\n"
    "and serves connections from I/O threads with one io_uring each; admission\n"
    "control holds back or sheds load where nats\\-server would let queues grow.\n"
    "JetStream, gateways, MQTT, operator (JWT) mode and subject mappings are not\n"
    "provided: a flag or key of them is refused with a line that says what to do\n"
    "instead.\n"
    ".PP\n"
    "A flag takes one dash or two (\\fB\\-user\\fR, \\fB\\-\\-user\\fR); a value\n"
    "after a space or \\(aq=\\(aq (\\fB\\-p 4222\\fR, \\fB\\-p=4222\\fR); a boolean bare\n"
    "or with \\(aq=\\(aq (\\fB\\-D\\fR, \\fB\\-D=false\\fR).\n"
    "The first argument that is no flag ends the flags; only \\fBversion\\fR and\n"
    "\\fBhelp\\fR may follow.\n"
    "The flags are read, then the file, then the flags again: a flag wins over\n"
    "the file.\n"
    "\\fISIZE\\fR is written as in the file (1MB = 1048576, 1M = 1000000);\n"
    "\\fIDUR\\fR is a Go duration (2s, 1m30s).\n"
    ".SH OPTIONS\n";

static const char config_man_tail[] =
    ".SH SIGNALS\n"
    ".TP\n"
    ".B SIGHUP\n"
    "Reload: the flags and the file are read again and checked; the settings a\n"
    "reload may change are changed, and a bad file leaves the running server\n"
    "alone.\n"
    ".TP\n"
    ".BR SIGTERM \", \" SIGINT\n"
    "Stop gracefully: stop accepting, give each connection up to\n"
    "\\fBshutdown_timeout\\fR to send what is queued to it, exit 0.\n"
    "In lame duck mode SIGTERM is ignored, as nats\\-server ignores it.\n"
    ".TP\n"
    ".B SIGUSR1\n"
    "Reopen the log file (after logrotate moved it).\n"
    ".TP\n"
    ".B SIGUSR2\n"
    "Lame duck mode: close the listening sockets, tell the clients (INFO\n"
    "\"ldm\":true), wait \\fBlame_duck_grace_period\\fR, close the clients one at\n"
    "a time over \\fBlame_duck_duration\\fR, then stop.\n"
    ".PP\n"
    "\\fBringbus \\-\\-signal\\fR \\fBstop\\fR, \\fBquit\\fR, \\fBterm\\fR, \\fBreopen\\fR,\n"
    "\\fBreload\\fR or \\fBldm\\fR sends them to a running ringbus.\n"
    ".SH FILES\n"
    ".TP\n"
    ".I /etc/ringbus/ringbus.conf\n"
    "The configuration file the service reads (\\fB\\-c\\fR), in nats\\-server's\n"
    "format: see\n"
    ".BR ringbus.conf (5).\n"
    ".SH EXIT STATUS\n"
    "0 after a graceful stop, \\fB\\-\\-help\\fR or \\fB\\-\\-version\\fR; 1 when a flag,\n"
    "the file or a setting is wrong (\\fB\\-t\\fR: also for a warning), or the\n"
    "server cannot start.\n"
    ".SH SEE ALSO\n"
    ".BR ringbus.conf (5),\n"
    ".BR ringbus\\-load (1),\n"
    "\\fBnats\\-server\\fR (https://docs.nats.io)\n";

void config_print_man(FILE *out)
{
	roff_th(out, "RINGBUS", "8", "", "ringbus " RINGBUS_VERSION, "System Manager's Manual");
	fputs(config_man_head, out);
	for (int g = 0; g < CONFIG_G_COUNT; g++)
		config_man_group(out, (enum config_group)g);
	fputs(config_man_tail, out);
}
