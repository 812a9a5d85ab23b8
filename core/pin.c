/* CPU pinning through sched_{get,set}affinity. */
#define _GNU_SOURCE
#include "core/pin.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

int pin_ncpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

int pin_self(int index)
{
	cpu_set_t set, one;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	int n = CPU_COUNT(&set);
	if (n <= 0)
		return -EINVAL;
	int want = index % n, seen = 0;
	for (size_t cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (seen++ == want) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			return -pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
		}
	}
	return -EINVAL;
}
