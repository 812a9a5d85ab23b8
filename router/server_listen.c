/* Listening sockets: the clients' (one per I/O thread) and the cluster's. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "router/server_int.h"

/* Opens a listening socket on host:@port (SO_REUSEPORT: one per I/O thread).
 * Returns 0 and *@out, or -errno after logging why. */
int server_listen(const char *host, int port, int *out)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	int ret = getaddrinfo(host, ports, &hints, &res);
	if (ret) {
		log_error("cannot resolve listen address %s: %s", host, gai_strerror(ret));
		return -EINVAL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error("cannot listen on %s:%d: %s", host, port, strerror(err));
		return -err;
	}
	*out = fd;
	return 0;
}

/* The port a listening socket got (for -p -1: the kernel chose it). */
int server_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
