/* ringbus.conf(5) as built (${CMAKE_BINARY_DIR}/man/ringbus.conf.5, from
 * `ringbus --help_man_conf`) against the tables: every key of the settings
 * table is in the section of its block, every key of admission's in
 * admission's, so a block or a key the page leaves out is named here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/admission.h"
#include "router/conf/table.h"

/* The page, read whole (owned by the caller). */
static char *read_page(void)
{
	FILE *f = fopen(RINGBUS_MAN_DIR "/ringbus.conf.5", "r");
	cr_assert(f, "cannot open %s", RINGBUS_MAN_DIR "/ringbus.conf.5");
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	cr_assert(n > 0 && n < sizeof(buf) - 1);
	buf[n] = '\0';
	return strdup(buf);
}

/* The section ".SS \"@title\"" of @page, up to the next .SS or .SH, in
 * place (NUL-terminated in a copy: free it), or NULL. */
static char *section_of(const char *page, const char *title)
{
	char head[128];
	snprintf(head, sizeof(head), ".SS \"%s\"\n", title);
	const char *s = strstr(page, head);
	if (!s)
		return NULL;
	s += strlen(head);
	const char *ss = strstr(s, "\n.SS "), *sh = strstr(s, "\n.SH ");
	const char *e = ss && (!sh || ss < sh) ? ss : sh ? sh : s + strlen(s);
	return strndup(s, (size_t)(e - s));
}

/* True when @sec names key @key as a tag (".TP" then "\fBkey\fR"). */
static bool has_key(const char *sec, const char *key)
{
	char want[128];
	size_t o = (size_t)snprintf(want, sizeof(want), ".TP\n\\fB");
	for (const char *k = key; *k && o + 4 < sizeof(want); k++) {
		if (*k == '-')
			want[o++] = '\\';
		want[o++] = *k;
	}
	snprintf(want + o, sizeof(want) - o, "\\fR");
	return strstr(sec, want) != NULL;
}

Test(config_man, every_key_of_the_table_is_in_its_block_of_ringbus_conf_5)
{
	char *page = read_page();
	size_t n;
	const struct config_row *rows = config_rows(&n);
	int missing = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].key)
			continue;
		const char *title = rows[i].block == CONFIG_B_TOP
		                        ? "The top level"
		                        : config_block_name(rows[i].block);
		char *sec = section_of(page, title);
		if (!sec || !has_key(sec, rows[i].key)) {
			cr_log_error("ringbus.conf.5 lacks key %s of %s", rows[i].key, title);
			missing++;
		}
		free(sec);
	}
	const struct adm_row *adm = adm_rows(&n);
	char *sec = section_of(page, CONFIG_MAN_ADMISSION);
	for (size_t i = 0; i < n; i++) {
		if (!sec || !has_key(sec, adm[i].key)) {
			cr_log_error("ringbus.conf.5 lacks key %s of " CONFIG_MAN_ADMISSION,
			             adm[i].key);
			missing++;
		}
	}
	free(sec);
	free(page);
	cr_expect_eq(missing, 0, "%d keys of the tables are not in ringbus.conf.5", missing);
}
