/* --signal CMD[=PID|=PIDFILE]: sends a running ringbus the signal nats-server
 * sends for CMD (stop SIGKILL, quit SIGINT, term SIGTERM, reopen SIGUSR1,
 * reload SIGHUP, ldm SIGUSR2). */
#ifndef ROUTER_SIGCMD_H
#define ROUTER_SIGCMD_H

/* Sends the signal of @arg ("reload", "ldm=1234", "reopen=/run/rb.pid").
 * Without a pid: the pid file @pid_file (the configuration's pid_file or -P;
 * may be NULL), else the one process named ringbus (nats-server runs
 * `pgrep nats-server` instead). Returns 0, or -1 after printing why on
 * stderr ("ringbus: unknown signal "x"", "ringbus: invalid pid: x", ...). */
int sigcmd_send(const char *arg, const char *pid_file);

#endif /* ROUTER_SIGCMD_H */
