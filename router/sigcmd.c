/* --signal: the command, the process it is for, and kill(2). */
#define _GNU_SOURCE
#include "router/sigcmd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *cmd;
	int sig;
} sigcmd_table[] = {
    {"stop", SIGKILL},   {"quit", SIGINT},   {"term", SIGTERM},
    {"reopen", SIGUSR1}, {"reload", SIGHUP}, {"ldm", SIGUSR2},
};

/* A whole decimal pid, or -1. */
static long sigcmd_number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (!*s || *end || errno || v <= 0 || v > 0x3fffffff)
		return -1;
	return v;
}

/* The pid in file @path (a number, spaces around it allowed). */
static long sigcmd_pid_file(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "ringbus: cannot read pid file %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	long pid = sigcmd_number(buf);
	if (pid < 0)
		fprintf(stderr, "ringbus: invalid pid: %s (in %s)\n", buf, path);
	return pid;
}

/* The one other process named ringbus (as nats-server's pgrep). */
static long sigcmd_find(void)
{
	DIR *d = opendir("/proc");
	if (!d) {
		fprintf(stderr, "ringbus: unable to resolve pid, try providing one\n");
		return -1;
	}
	long found[8], n = 0, self = (long)getpid();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long pid = sigcmd_number(e->d_name);
		char path[64], comm[64] = "";
		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ringbus\n") && n < 8)
			found[n++] = pid;
		fclose(f);
	}
	closedir(d);
	if (n == 1)
		return found[0];
	if (n == 0)
		fprintf(stderr, "ringbus: no ringbus processes running\n");
	else {
		fprintf(stderr, "ringbus: multiple ringbus processes running:");
		for (long i = 0; i < n; i++)
			fprintf(stderr, "\n%ld", found[i]);
		fprintf(stderr, "\n");
	}
	return -1;
}

int sigcmd_send(const char *arg, const char *pid_file)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (eq && strchr(eq + 1, '=')) {
		fprintf(stderr, "ringbus: invalid signal parameters: %s\n", strchr(eq + 1, '='));
		return -1;
	}
	int sig = 0;
	for (size_t i = 0; i < sizeof(sigcmd_table) / sizeof(sigcmd_table[0]); i++)
		if (strlen(sigcmd_table[i].cmd) == len && !strncmp(sigcmd_table[i].cmd, arg, len))
			sig = sigcmd_table[i].sig;
	if (!sig) {
		fprintf(stderr, "ringbus: unknown signal \"%.*s\"\n", (int)len, arg);
		return -1;
	}
	long pid;
	if (eq && sigcmd_number(eq + 1) > 0)
		pid = sigcmd_number(eq + 1);
	else if (eq && access(eq + 1, F_OK) == 0)
		pid = sigcmd_pid_file(eq + 1);
	else if (eq) {
		fprintf(stderr, "ringbus: invalid pid: %s\n", eq + 1);
		return -1;
	} else
		pid = pid_file ? sigcmd_pid_file(pid_file) : sigcmd_find();
	if (pid < 0)
		return -1;
	if (kill((pid_t)pid, sig) != 0) {
		fprintf(stderr, "ringbus: %s\n",
		        errno == ESRCH ? "no such process" : strerror(errno));
		return -1;
	}
	return 0;
}
