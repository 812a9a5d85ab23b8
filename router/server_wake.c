/* Waking the server's threads, handing them sockets and asking them to
 * stop: what the threads themselves call, kept apart from the server's
 * assembly (router/server.c), which starts them. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "io/loop/loop.h"
#include "router/iothr.h"
#include "router/server_int.h"
#include "router/worker.h"

void server_wake_main(struct server *s)
{
	uint64_t one = 1;
	ssize_t n = write(s->main_efd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is far from zero, the main thread will look */
}

void server_wake_all(struct server *s)
{
	uint64_t one = 1;
	for (int i = 0; i < s->nio; i++) {
		ssize_t n = write(wake_fd(&s->io[i].wake), &one, sizeof(one));
		(void)n;
	}
	for (int i = 0; i < s->nworkers; i++) {
		ssize_t n = write(wake_fd(&s->workers[i].wake), &one, sizeof(one));
		(void)n;
	}
}

void server_stop(struct server *s)
{
	pthread_mutex_lock(&s->life_lock);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->life_cond);
	pthread_mutex_unlock(&s->life_lock);
	server_wake_all(s);
}

int server_adopt(struct server *s, int loop, int fd, uint64_t tag, const char *peer_ip,
                 uint32_t peer_port)
{
	if (loop < 0 || loop >= s->nio || !s->io[loop].loop)
		return -EINVAL;
	return io_loop_adopt(s->io[loop].loop, fd, tag, peer_ip, peer_port);
}
