/* groff man(7) source: escaped text and the page header. */
#include "core/roff.h"

#include <stdbool.h>
#include <string.h>

void roff_write(FILE *out, const char *s, size_t n)
{
	bool line_start = true; /* callers start text at a line's start or after a space */
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (line_start && (ch == '.' || ch == '\''))
			fputs("\\&", out);
		line_start = ch == '\n';
		if (ch == '\\')
			fputs("\\e", out);
		else if (ch == '-')
			fputs("\\-", out);
		else
			fputc(ch, out);
	}
}

void roff_puts(FILE *out, const char *s)
{
	roff_write(out, s, strlen(s));
}

void roff_th(FILE *out, const char *title, const char *section, const char *date,
             const char *source, const char *manual)
{
	fprintf(out, ".TH \"%s\" \"%s\" \"%s\" \"%s\" \"%s\"\n", title, section, date, source,
	        manual);
}
