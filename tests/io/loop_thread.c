/* See loop_thread.h. */
#include "loop_thread.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int loop_thread_on_open(void *ctx, struct io_conn *c)
{
	(void)ctx;
	c->user = c;
	return 0;
}

bool loop_thread_idle(void *ctx)
{
	(void)ctx;
	return false;
}

/* The ring is single-issuer: made and run on this thread. */
static void *loop_thread_run(void *arg)
{
	struct loop_thread *t = arg;
	struct io_loop *l = NULL;
	if (io_loop_new(&t->cfg, &l) != 0) {
		atomic_store(&t->ready, -1);
		return NULL;
	}
	atomic_store(&t->ready, 1);
	int r = io_loop_run(l);
	io_loop_free(l);
	return (void *)(intptr_t)r;
}

int loop_thread_start(struct loop_thread *t, const struct io_ops *ops, uint32_t nbufs,
                      uint32_t buf_size, uint32_t linger_ms)
{
	memset(t, 0, sizeof(*t));
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	t->addr =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof t->addr;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&t->addr, sizeof t->addr) != 0 ||
	    listen(lfd, 8) != 0 || getsockname(lfd, (struct sockaddr *)&t->addr, &sl) != 0 ||
	    wake_init(&t->wk, true) != 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	t->cfg = (struct io_loop_config){.listen_fd = lfd,
	                                 .buf_count = nbufs,
	                                 .buf_size = buf_size,
	                                 .max_pending = IO_MAX_PENDING_LIMIT,
	                                 .close_linger_ms = linger_ms,
	                                 .wake = &t->wk,
	                                 .stop = &t->stop,
	                                 .ops = ops};
	if (pthread_create(&t->th, NULL, loop_thread_run, t) != 0) {
		close(lfd);
		wake_fini(&t->wk);
		return -1;
	}
	while (atomic_load(&t->ready) == 0)
		usleep(1000);
	if (atomic_load(&t->ready) < 0) {
		pthread_join(t->th, NULL);
		close(lfd);
		wake_fini(&t->wk);
		return -1;
	}
	return 0;
}

int loop_thread_connect(const struct loop_thread *t, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)&t->addr, sizeof t->addr) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int loop_thread_stop(struct loop_thread *t)
{
	atomic_store(&t->stop, true);
	wake_notify(&t->wk);
	void *ret = NULL;
	pthread_join(t->th, &ret);
	close(t->cfg.listen_fd);
	wake_fini(&t->wk);
	return (int)(intptr_t)ret;
}
