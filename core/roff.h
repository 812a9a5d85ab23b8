/* Writing groff man(7) source: text escaped so that no character of it is
 * read as a request, an escape or a break, and the page's header. Used by
 * the generators of the manual pages (router/conf/help_man*.c,
 * tools/load/flags_man.c); nothing here allocates. */
#ifndef CORE_ROFF_H
#define CORE_ROFF_H

#include <stddef.h>
#include <stdio.h>

/* Writes the @n bytes of @s to @out as running text: a backslash as \e, a
 * hyphen as \- (flags and subjects are copied from pages), and a '.' or a
 * '\'' that would begin an output line behind \& (else a control line).
 * @s may hold new lines; the caller ends the last line. */
void roff_write(FILE *out, const char *s, size_t n);

/* roff_write() of the whole string @s. */
void roff_puts(FILE *out, const char *s);

/* The .TH line of page @title in @section, dated @date ("" for none: the
 * build stays reproducible), from @source ("ringbus 0.2.0"), in @manual
 * ("System Manager's Manual"); none of them may hold a '"'. */
void roff_th(FILE *out, const char *title, const char *section, const char *date,
             const char *source, const char *manual);

#endif /* CORE_ROFF_H */
