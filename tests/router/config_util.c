/* Helpers of the settings tests. */
#include "tests/router/config_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char cfgt_reports[CFGT_MAX_REPORTS][512];
int cfgt_nreports;
char cfgt_path[64];

static void cfgt_collect(const char *problem)
{
	if (cfgt_nreports < CFGT_MAX_REPORTS)
		snprintf(cfgt_reports[cfgt_nreports++], sizeof(cfgt_reports[0]), "%s", problem);
}

void cfgt_init(struct config *c)
{
	config_init(c);
	c->report = cfgt_collect;
	cfgt_nreports = 0;
}

void cfgt_write(char *path, size_t cap, const char *text)
{
	snprintf(path, cap, "/tmp/ringbus-cfgt-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

int cfgt_load(struct config *c, const char *text)
{
	cfgt_write(cfgt_path, sizeof(cfgt_path), text);
	cfgt_init(c);
	int ret = config_load_file(c, cfgt_path);
	unlink(cfgt_path);
	return ret;
}

int cfgt_args(struct config *c, const char *const *args)
{
	char *argv[64] = {"ringbus"};
	int argc = 1;
	for (; args[argc - 1] && argc < 63; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	cfgt_init(c);
	return config_parse_args(c, argc, argv);
}

int cfgt_reported(const char *needle)
{
	for (int i = 0; i < cfgt_nreports; i++)
		if (strstr(cfgt_reports[i], needle))
			return 1;
	return 0;
}
