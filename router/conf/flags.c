/* The command line as Go's flag package reads nats-server's: a flag takes
 * one dash or two (-user, --user, -DV), its value after '=' or as the next
 * argument (-p 4222, -p=4222); a boolean is given bare or with "=value"
 * (-D=false) and never takes the next argument; "--" or the first argument
 * that is no flag ends the flags, and only the words "version" and "help"
 * may follow. ringbus's own flags (--io-threads, --sub-policy, ...) follow
 * the same rules. Unknown flags and flags of nats-server features ringbus
 * lacks are errors that name the flag (nats-server prints its usage and
 * exits 0 on an unknown flag; ringbus exits 1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "router/admission.h"
#include "router/conf/table.h"

/* One flag of the command line, split: "--p=4222" is "p" and "4222". */
struct config_flag {
	char name[64];
	const char *value; /* after '=', or NULL */
	char spelled[72];  /* "-p", as Go names it in messages */
};

/* Splits @arg. Returns 1 for a flag, 0 when @arg ends the flags, -EINVAL
 * for bad syntax (reported). */
static int config_flag_split(struct config_ctx *x, const char *arg, struct config_flag *f)
{
	if (arg[0] != '-' || arg[1] == 0)
		return 0;
	const char *name = arg + 1 + (arg[1] == '-');
	if (arg[1] == '-' && arg[2] == 0)
		return 0; /* "--": the end of the flags */
	size_t n = strcspn(name, "=");
	if (n == 0 || name[0] == '-' || n >= sizeof(f->name)) {
		struct config_in in = {.text = arg, .name = arg};
		config_report_in(x, false, &in, "bad flag syntax: %s", arg);
		return -EINVAL;
	}
	memcpy(f->name, name, n);
	f->name[n] = 0;
	f->value = name[n] == '=' ? name + n + 1 : NULL;
	snprintf(f->spelled, sizeof(f->spelled), "-%s", f->name);
	return 1;
}

/* A flag no table knows: one of nats-server's that ringbus lacks, or none. */
static int config_flag_unknown(struct config_ctx *x, const struct config_flag *f)
{
	struct config_in in = {.name = f->spelled};
	const char *advice = config_unsupported_flag(f->name);
	if (advice)
		config_report_in(x, false, &in, "flag %s is not supported: %s", f->spelled, advice);
	else
		config_report_in(
		    x, false, &in,
		    "flag provided but not defined: %s (ringbus --help_all lists the flags)",
		    f->spelled);
	return -EINVAL;
}

/* Takes the value of a flag that needs one: after '=', or the next argument. */
static int config_flag_value(struct config_ctx *x, struct config_flag *f, int argc, char **argv,
                             int *i)
{
	if (f->value)
		return 0;
	if (*i + 1 >= argc) {
		struct config_in in = {.name = f->spelled};
		config_report_in(x, false, &in, "flag needs an argument: %s", f->spelled);
		return -EINVAL;
	}
	f->value = argv[++*i];
	return 0;
}

/* Applies flag @f of a row of the settings table. */
static int config_flag_row(struct config_ctx *x, const struct config_row *r, bool off,
                           struct config_flag *f, int argc, char **argv, int *i,
                           struct config_flags_seen *seen)
{
	bool takes_value = !off && r->arg;
	if (takes_value && config_flag_value(x, f, argc, argv, i))
		return -EINVAL;
	struct config_in in = {.text = f->value, .name = f->spelled};
	if (off) {
		bool b;
		if (config_in_bool(x, &in, &b))
			return -EINVAL;
		*(bool *)((char *)x->c + r->off) = !b;
		return 0;
	}
	if (config_apply(x, r, &in))
		return -EINVAL;
	if (r->opts & CONFIG_F_TLS_FLAG) {
		seen->tls = true;
		if (!strcmp(f->name, "tls") && !x->c->tls_flags.tls)
			seen->tls_off = true;
	}
	return 0;
}

/* Applies flag @f of admission's table (the default policy's settings). */
static int config_flag_adm(struct config_ctx *x, const struct adm_row *r, struct config_flag *f,
                           int argc, char **argv, int *i)
{
	if (adm_row_takes_value(r) && config_flag_value(x, f, argc, argv, i))
		return -EINVAL;
	struct config_in in = {.text = f->value, .name = f->spelled};
	return adm_config_apply(x->c->adm, NULL, r, x, &in);
}

/* The words after the flags: "version" and "help", as nats-server takes them. */
static int config_flag_words(struct config_ctx *x, int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "version")) {
			x->c->show_version = true;
		} else if (!strcmp(argv[i], "help")) {
			x->c->show_help = true;
		} else {
			struct config_in in = {.name = argv[i]};
			config_report_in(x, false, &in, "unrecognized command: \"%s\"", argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int config_flags_apply(struct config_ctx *x, int argc, char **argv, struct config_flags_seen *seen)
{
	int i = 1;
	for (; i < argc; i++) {
		struct config_flag f;
		int r = config_flag_split(x, argv[i], &f);
		if (r < 0)
			return -EINVAL;
		if (r == 0) {
			i += !strcmp(argv[i], "--");
			break;
		}
		bool off = false;
		const struct config_row *row = config_row_by_flag(f.name, &off);
		const struct adm_row *adm = row ? NULL : adm_row_by_flag(f.name);
		if (row)
			r = config_flag_row(x, row, off, &f, argc, argv, &i, seen);
		else if (adm)
			r = config_flag_adm(x, adm, &f, argc, argv, &i);
		else
			r = config_flag_unknown(x, &f);
		if (r)
			return -EINVAL;
	}
	return config_flag_words(x, argc, argv, i);
}
