/* Runs ringbus-load (or ringbus-load-blocking) as a child process with its
 * output in temporary files. */
#include "tests/tools/load_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void slurp(const char *path, char *dst, size_t cap)
{
	dst[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(dst, 1, cap - 1, f);
	dst[n] = '\0';
	fclose(f);
}

static int tmp_file(char *path, size_t cap, const char *tag)
{
	snprintf(path, cap, "/tmp/ringbus-load-test-%s-XXXXXX", tag);
	int fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	return fd;
}

int load_exec_run(struct load_exec *x, const char *const *args)
{
	return load_exec_run_bin(x, RINGBUS_LOAD_BIN, args);
}

int load_exec_run_bin(struct load_exec *x, const char *bin, const char *const *args)
{
	memset(x, 0, sizeof(*x));
	char json_path[64], out_path[64], err_path[64];
	int jfd = tmp_file(json_path, sizeof(json_path), "json");
	int ofd = tmp_file(out_path, sizeof(out_path), "out");
	int efd = tmp_file(err_path, sizeof(err_path), "err");
	if (jfd < 0 || ofd < 0 || efd < 0)
		return -EIO;
	close(jfd);
	const char *argv[64];
	size_t n = 0;
	argv[n++] = bin;
	for (size_t i = 0; args[i] && n < 58; i++)
		argv[n++] = args[i];
	argv[n++] = "--json";
	argv[n++] = json_path;
	argv[n++] = "--quiet";
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(ofd);
	close(efd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	x->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(err_path, x->err, sizeof(x->err));
	slurp(out_path, x->out, sizeof(x->out));
	static char text[1 << 20];
	slurp(json_path, text, sizeof(text));
	x->json = text[0] ? cJSON_Parse(text) : NULL;
	unlink(json_path);
	unlink(out_path);
	unlink(err_path);
	return 0;
}

void load_exec_fini(struct load_exec *x)
{
	cJSON_Delete(x->json);
	x->json = NULL;
}

double load_exec_num(const struct load_exec *x, const char *sub, const char *key)
{
	const cJSON *o = x->json;
	if (o && sub)
		o = cJSON_GetObjectItemCaseSensitive(o, sub);
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}
