/* Integration-test harness: fork/exec of the server under test on a free
 * loopback port, readiness by /proc socket ownership plus a TCP connect, and a
 * bounded stop that reports unclean exits. */
#define _GNU_SOURCE
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_MAX_ARGS   64
#define HARNESS_PORT_TRIES 5
#define HARNESS_MAX_INODES 256
#define HARNESS_MAX_PIDS   32

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int harness_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : -errno;
}

enum harness_kind harness_kind_from_env(void)
{
	const char *kind = getenv("RINGBUS_TEST_KIND");
	if (kind != NULL && *kind != '\0')
		return strcmp(kind, "nats-server") == 0 ? HARNESS_NATS_SERVER : HARNESS_RINGBUS;
	const char *path = getenv("RINGBUS_TEST_SERVER");
	const char *base = path != NULL ? strrchr(path, '/') : NULL;
	base = base != NULL ? base + 1 : path;
	if (base != NULL && strcmp(base, "nats-server") == 0)
		return HARNESS_NATS_SERVER;
	return HARNESS_RINGBUS;
}

/* Binds @port on loopback (0: any) and returns the port bound, or -errno. */
static int try_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	int ret;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		ret = -errno;
	else
		ret = ntohs(sa.sin_port);
	close(fd);
	return ret;
}

/* The lowest port the kernel hands out as the source of outgoing
 * connections (net.ipv4.ip_local_port_range), 32768 when unknown. */
static int ephemeral_low(void)
{
	int low = 32768, high = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		if (fscanf(f, "%d %d", &low, &high) != 2)
			low = 32768;
		fclose(f);
	}
	return low;
}

/* A port below the ephemeral range, picked at random: a port the kernel
 * chose for us there could be taken as the source port of any process's
 * next outgoing connection (tests run two at a time, each with clients)
 * before our server binds it. Falls back to the kernel's choice. */
int harness_free_port(void)
{
	int low = ephemeral_low();
	if (low > 12000) {
		/* Different in every process (Criterion forks its tests) and call. */
		static unsigned calls;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned seed =
		    (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec ^ (++calls * 40503u);
		for (int i = 0; i < 64; i++) {
			int port = 10000 + (int)((unsigned)rand_r(&seed) % (unsigned)(low - 10000));
			if (try_port(port) == port)
				return port;
		}
	}
	return try_port(0);
}

/* Collects the inodes of the sockets listening on port (any IPv4 address). */
static size_t listening_inodes(uint16_t port, unsigned long *inodes, size_t cap)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	if (f == NULL)
		return 0;
	char line[512];
	size_t n = 0;
	if (fgets(line, sizeof line, f) == NULL) /* header */
		goto out;
	while (n < cap && fgets(line, sizeof line, f) != NULL) {
		unsigned addr, lport, state;
		unsigned long inode;
		if (sscanf(line, " %*u: %x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &addr,
		           &lport, &state, &inode) != 4)
			continue;
		if (lport == port && state == 0x0A)
			inodes[n++] = inode;
	}
out:
	fclose(f);
	return n;
}

/* True when process pid has a descriptor for socket inode. */
static bool owns_socket(pid_t pid, unsigned long inode)
{
	char dir_path[64], want[64];
	snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	DIR *d = opendir(dir_path);
	if (d == NULL)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL) {
		char link[320], target[64];
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", dir_path, e->d_name);
		ssize_t len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		found = strcmp(target, want) == 0;
	}
	closedir(d);
	return found;
}

/* Appends the descendants of pid to pids (a wrapper script may be the server). */
static size_t add_descendants(pid_t pid, pid_t *pids, size_t n, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return n;
	int child;
	size_t first = n;
	while (n < cap && fscanf(f, "%d", &child) == 1)
		pids[n++] = (pid_t)child;
	fclose(f);
	size_t last = n;
	for (size_t i = first; i < last; i++)
		n = add_descendants(pids[i], pids, n, cap);
	return n;
}

/* 1 when only pid (or its descendants) listens on port, 0 when nobody does
 * yet, -EADDRINUSE when another process listens there too. */
static int listener_state(pid_t pid, uint16_t port)
{
	unsigned long inodes[HARNESS_MAX_INODES];
	pid_t pids[HARNESS_MAX_PIDS];
	size_t n = listening_inodes(port, inodes, HARNESS_MAX_INODES);
	size_t npids = add_descendants(pid, pids, 1, HARNESS_MAX_PIDS);
	size_t ours = 0;
	pids[0] = pid;
	for (size_t i = 0; i < n; i++) {
		bool owned = false;
		for (size_t k = 0; k < npids && !owned; k++)
			owned = owns_socket(pids[k], inodes[i]);
		if (owned)
			ours++;
		else if (inodes[i] != 0)
			return -EADDRINUSE;
	}
	return ours > 0 ? 1 : 0;
}

static bool tcp_accepts(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* Copies the server's log to stderr so that ctest output shows it. */
static void dump_log(const struct harness_server *srv, const char *why)
{
	FILE *f = fopen(srv->log_path, "re");
	fprintf(stderr, "---- %s log (%s): %s ----\n",
	        srv->kind == HARNESS_NATS_SERVER ? "nats-server" : "ringbus", srv->log_path, why);
	if (f != NULL) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, n, stderr);
		fclose(f);
	}
	fprintf(stderr, "---- end of server log ----\n");
}

static bool log_has_sanitizer_report(const struct harness_server *srv)
{
	FILE *f = fopen(srv->log_path, "re");
	if (f == NULL)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error:") != NULL;
	fclose(f);
	return found;
}

static int write_config(struct harness_server *srv, const char *text)
{
	snprintf(srv->conf_path, sizeof srv->conf_path, "/tmp/ringbus-it-XXXXXX.conf");
	int fd = mkostemps(srv->conf_path, 5, O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		srv->conf_path[0] = '\0';
		return err;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? -errno : -EIO;
			close(fd);
			return err;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

/* Forks and execs the server on srv->port with its output to logfd. */
static int spawn(struct harness_server *srv, const char *path, const struct harness_opts *opts,
                 int logfd)
{
	char port[8];
	const char *argv[HARNESS_MAX_ARGS];
	size_t argc = 0;
	snprintf(port, sizeof port, "%u", srv->port);
	argv[argc++] = path;
	argv[argc++] = "-a";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "-p";
	argv[argc++] = port;
	if (srv->conf_path[0] != '\0') {
		argv[argc++] = "-c";
		argv[argc++] = srv->conf_path;
	}
	for (size_t i = 0; opts != NULL && opts->args != NULL && opts->args[i] != NULL; i++) {
		if (argc + 1 >= HARNESS_MAX_ARGS)
			return -E2BIG;
		argv[argc++] = opts->args[i];
	}
	argv[argc] = NULL;

	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls here: the parent may have threads. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(126);
		setpgid(0, 0); /* its own group, so that helpers it forks die with it */
		if (dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
			_exit(126);
		close_range(3, ~0U, 0);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	srv->pid = pid;
	return 0;
}

/* Reaps srv->pid if it has exited; returns true when it has. */
static bool reap(struct harness_server *srv, int *status)
{
	pid_t r = waitpid(srv->pid, status, WNOHANG);
	if (r == srv->pid || (r < 0 && errno == ECHILD)) {
		srv->pid = 0;
		return true;
	}
	return false;
}

static void kill_and_reap(struct harness_server *srv)
{
	int status;
	if (srv->pid <= 0)
		return;
	kill(-srv->pid, SIGKILL);
	kill(srv->pid, SIGKILL);
	while (waitpid(srv->pid, &status, 0) < 0 && errno == EINTR)
		;
	srv->pid = 0;
}

/* Waits until the server owns the only listener on its port and accepts.
 * Returns 0, -ECHILD (it exited), -EADDRINUSE (port race) or -ETIMEDOUT. */
static int wait_ready(struct harness_server *srv)
{
	int64_t deadline = now_ms() + HARNESS_START_MS;
	while (now_ms() < deadline) {
		int status;
		if (reap(srv, &status))
			return -ECHILD;
		int st = listener_state(srv->pid, srv->port);
		if (st < 0)
			return st;
		if (st == 1 && tcp_accepts(srv->port))
			return 0;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int harness_server_start(struct harness_server *srv, const struct harness_opts *opts)
{
	return harness_server_start_kind(srv, harness_kind_from_env(), opts);
}

/* The binary of @kind: RINGBUS_TEST_SERVER, or for a test that runs both
 * kinds (clusters) RINGBUS_TEST_RINGBUS / RINGBUS_TEST_NATS_SERVER. */
static const char *harness_path(enum harness_kind kind)
{
	const char *p =
	    getenv(kind == HARNESS_RINGBUS ? "RINGBUS_TEST_RINGBUS" : "RINGBUS_TEST_NATS_SERVER");
	if (p && *p)
		return p;
	return harness_kind_from_env() == kind ? getenv("RINGBUS_TEST_SERVER") : NULL;
}

int harness_server_start_kind(struct harness_server *srv, enum harness_kind kind,
                              const struct harness_opts *opts)
{
	memset(srv, 0, sizeof *srv);
	harness_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap the server for us */
	const char *path = harness_path(kind);
	if (path == NULL || *path == '\0') {
		fprintf(stderr, "harness: no binary for the %s server is set\n",
		        kind == HARNESS_RINGBUS ? "ringbus" : "nats-server");
		return -ENOENT;
	}
	if (access(path, X_OK) != 0) {
		int err = -errno;
		fprintf(stderr, "harness: cannot execute %s: %s\n", path, strerror(errno));
		return err;
	}
	srv->kind = kind;
	int ret;
	if (opts != NULL && opts->config != NULL && (ret = write_config(srv, opts->config)) != 0)
		return ret;

	ret = -ECHILD;
	for (int attempt = 0; attempt < HARNESS_PORT_TRIES; attempt++) {
		int port = harness_free_port();
		if (port < 0) {
			ret = port;
			break;
		}
		srv->port = (uint16_t)port;
		snprintf(srv->log_path, sizeof srv->log_path, "/tmp/ringbus-it-XXXXXX.log");
		int logfd = mkostemps(srv->log_path, 4, O_CLOEXEC);
		if (logfd < 0) {
			ret = -errno;
			break;
		}
		ret = spawn(srv, path, opts, logfd);
		close(logfd);
		if (ret == 0)
			ret = wait_ready(srv);
		if (ret == 0) {
			snprintf(srv->url, sizeof srv->url, "nats://127.0.0.1:%u", srv->port);
			return 0;
		}
		kill_and_reap(srv);
		if (ret != -ECHILD && ret != -EADDRINUSE)
			break;
		if (attempt + 1 < HARNESS_PORT_TRIES)
			unlink(srv->log_path);
	}
	dump_log(srv, ret == -ETIMEDOUT ? "did not accept TCP in time" : "failed to start");
	unlink(srv->log_path);
	if (srv->conf_path[0] != '\0')
		unlink(srv->conf_path);
	return ret;
}

int harness_server_stop(struct harness_server *srv, char *why, size_t why_len)
{
	char local[128];
	if (why == NULL) {
		why = local;
		why_len = sizeof local;
	}
	snprintf(why, why_len, "exited cleanly");
	int ret = 0, status = 0;
	pid_t group = srv->pid;
	if (srv->pid <= 0) {
		snprintf(why, why_len, "was not running");
		ret = -ECHILD;
	} else if (reap(srv, &status)) {
		snprintf(why, why_len, "had exited before the stop (status 0x%x)",
		         (unsigned)status);
		ret = -EIO;
	} else {
		kill(srv->pid, srv->kind == HARNESS_NATS_SERVER ? SIGINT : SIGTERM);
		int64_t deadline = now_ms() + HARNESS_STOP_MS;
		bool exited = false;
		while (!(exited = reap(srv, &status)) && now_ms() < deadline)
			sleep_ms(5);
		if (!exited) {
			kill_and_reap(srv);
			snprintf(why, why_len, "did not exit within %d ms of the stop signal",
			         HARNESS_STOP_MS);
			ret = -ETIMEDOUT;
		}
	}
	if (ret == 0 && WIFSIGNALED(status)) {
		snprintf(why, why_len, "was killed by signal %d", WTERMSIG(status));
		ret = -EIO;
	} else if (ret == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(why, why_len, "exited with status %d", WEXITSTATUS(status));
		ret = -EIO;
	}
	if (group > 0)
		kill(-group, SIGKILL); /* whatever the server left behind */
	if (ret == 0 && log_has_sanitizer_report(srv)) {
		snprintf(why, why_len, "printed a sanitizer report");
		ret = -EIO;
	}
	if (ret != 0 && srv->log_path[0] != '\0')
		dump_log(srv, why);
	if (srv->log_path[0] != '\0')
		unlink(srv->log_path);
	if (srv->conf_path[0] != '\0')
		unlink(srv->conf_path);
	srv->log_path[0] = srv->conf_path[0] = '\0';
	return ret;
}

int harness_server_wait_exit(struct harness_server *srv, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (srv->pid > 0) {
		if (reap(srv, status))
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
	return -ECHILD;
}

int harness_run(const char *const *args, char *out, size_t cap)
{
	const char *path = getenv("RINGBUS_TEST_SERVER");
	const char *argv[HARNESS_MAX_ARGS];
	size_t argc = 0;
	int fds[2];
	if (!path || cap == 0 || pipe2(fds, O_CLOEXEC) != 0)
		return -EINVAL;
	argv[argc++] = path;
	for (size_t i = 0; args[i] && argc + 1 < HARNESS_MAX_ARGS; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(fds[1], STDERR_FILENO) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	size_t n = 0;
	int status = 0, ret = -ETIMEDOUT;
	int64_t deadline = now_ms() + HARNESS_STOP_MS;
	while (now_ms() < deadline) {
		ssize_t r = read(fds[0], out + n, cap - 1 - n);
		if (r > 0)
			n += (size_t)r;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			while (n < cap - 1 && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
				n += (size_t)r;
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : -EIO;
			break;
		}
		sleep_ms(2);
	}
	if (ret == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(fds[0]);
	out[n] = 0;
	return ret;
}
