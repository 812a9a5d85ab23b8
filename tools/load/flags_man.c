/* ringbus-load(1) in groff man(7), written by `ringbus-load --help_man` at
 * build time from the usage texts of flags_help.c: the page is --help's
 * text laid out again, so the two cannot differ. The texts keep a layout
 * this file reads: "usage:" and its lines indented 9, an item indented 2
 * ("  --size B   payload ...", "  pubsub   ...") with its help after two
 * spaces or more (or one, when the tag fills the column up to 25) and
 * continued indented 25, anything else a paragraph. */
#include <stdlib.h>
#include <string.h>

#include "core/roff.h"
#include "tools/load/flags.h"

enum load_man_state { LOAD_MAN_TEXT, LOAD_MAN_SYNOPSIS, LOAD_MAN_ITEM };

/* An item's tag: flags (--x) and command names in bold, their arguments in
 * italics. */
static void load_man_tag(FILE *out, const char *tag, size_t len)
{
	fputs(".TP\n", out);
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(tag + i, " ");
		if (n > len - i)
			n = len - i;
		bool bold = tag[i] == '-' || i == 0;
		bool plain = n == 1 && tag[i] == '/';
		fputs(i ? " " : "", out);
		fputs(plain ? "" : bold ? "\\fB" : "\\fI", out);
		roff_write(out, tag + i, n);
		fputs(plain ? "" : "\\fR", out);
		i += n;
		while (i < len && tag[i] == ' ')
			i++;
	}
	fputs("\n", out);
}

/* One line of usage text, in state *@st. */
static void load_man_line(FILE *out, const char *line, enum load_man_state *st)
{
	size_t indent = strspn(line, " ");
	const char *text = line + indent;
	if (!*text)
		return;
	if (!strncmp(line, "usage: ", 7) || (*st == LOAD_MAN_SYNOPSIS && indent == 9)) {
		if (*st != LOAD_MAN_SYNOPSIS)
			fputs(".PP\n.nf\n", out);
		*st = LOAD_MAN_SYNOPSIS;
		roff_puts(out, indent ? text : line + 7);
		fputs("\n", out);
		return;
	}
	if (*st == LOAD_MAN_SYNOPSIS)
		fputs(".fi\n", out);
	if (indent == 2) {
		const char *gap = strstr(text, "  ");
		if ((!gap || gap - line > 24) && strlen(line) > 25 && line[24] == ' ')
			gap = line + 24; /* a tag that fills its column */
		size_t tag = gap ? (size_t)(gap - text) : strlen(text);
		load_man_tag(out, text, tag);
		if (gap)
			roff_puts(out, gap + strspn(gap, " "));
		*st = LOAD_MAN_ITEM;
	} else {
		if (*st != LOAD_MAN_TEXT && indent < 25)
			fputs(".PP\n", out);
		else if (text[strlen(text) - 1] == ':')
			fputs(".br\n", out); /* a heading of the items that follow */
		if (indent < 25)
			*st = LOAD_MAN_TEXT;
		roff_puts(out, text);
	}
	fputs("\n", out);
}

/* Lays out the text @print writes for @mode. */
static void load_man_text(FILE *out, void (*print)(enum load_mode, FILE *), enum load_mode mode)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return;
	print(mode, mem);
	fclose(mem);
	enum load_man_state st = LOAD_MAN_TEXT;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		load_man_line(out, line, &st);
	}
	if (st == LOAD_MAN_SYNOPSIS)
		fputs(".fi\n", out);
	free(buf);
}

static void load_man_usage(enum load_mode mode, FILE *out)
{
	(void)mode;
	load_usage(out);
}

static void load_man_common(enum load_mode mode, FILE *out)
{
	load_flags_usage_common(mode != LOAD_BLOCKING, out);
}

void load_flags_man(FILE *out)
{
	roff_th(out, "RINGBUS-LOAD", "1", "", "ringbus " RINGBUS_VERSION, "User Commands");
	fputs(".SH NAME\n"
	      "ringbus\\-load, ringbus\\-load\\-blocking \\- load generators for NATS\\-protocol "
	      "servers\n"
	      ".SH SYNOPSIS\n"
	      ".B ringbus\\-load\n"
	      "\\fIcommand\\fR [\\fIoptions\\fR]\n"
	      ".br\n"
	      ".B ringbus\\-load\\-blocking\n"
	      "[\\fIoptions\\fR]\n"
	      ".SH DESCRIPTION\n",
	      out);
	load_man_text(out, load_man_usage, LOAD_PUBSUB);
	fputs(".PP\n.B ringbus\\-load\\-blocking\n"
	      "is the yardstick: a plain blocking client (below).\n"
	      ".SH COMMANDS\n",
	      out);
	for (int m = LOAD_PUBSUB; m <= LOAD_BLOCKING; m++) {
		enum load_mode mode = (enum load_mode)m;
		fprintf(out, ".SS %s\n",
		        mode == LOAD_BLOCKING ? "ringbus\\-load\\-blocking" : load_mode_name(mode));
		load_man_text(out, load_flags_usage_own, mode);
	}
	fputs(".SH OPTIONS\nEvery command takes these (ringbus\\-load\\-blocking all but "
	      "\\fB\\-\\-threads\\fR):\n",
	      out);
	load_man_text(out, load_man_common, LOAD_PUBSUB);
	fputs(".SH EXIT STATUS\n", out);
	load_man_text(out, load_flags_usage_exit, LOAD_PUBSUB);
	fputs(".PP\nringbus\\-load\\-blocking:\n", out);
	load_man_text(out, load_flags_usage_exit, LOAD_BLOCKING);
	fputs(".SH SEE ALSO\n.BR ringbus (8),\n.BR ringbus.conf (5);\n"
	      "docs/LOAD.md in the sources\n",
	      out);
}
