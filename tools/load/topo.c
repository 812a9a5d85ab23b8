/* Subjects of publishers and subscribers, and the counts each subscriber
 * should receive; wildcard patterns are matched with the router's reference
 * matcher (router/subject.c). */
#include "tools/load/topo.h"

#include <stdio.h>
#include <string.h>

#include "router/index/subject.h"

struct topo_set topo_spread(uint32_t k, uint32_t n, uint32_t i, bool wide_when_equal)
{
	struct topo_set s = {.first = i % k, .step = 1, .count = 1};
	if (k > n || (wide_when_equal && k == n)) {
		s.first = i;
		s.step = n;
		s.count = (k - i + n - 1) / n;
	}
	return s;
}

void topo_add_sent(uint64_t *sent, const struct topo_set *s, uint64_t n)
{
	for (uint32_t j = 0; j < s->count; j++)
		sent[topo_nth(s, j)] += topo_sent_on(s, n, j);
}

uint64_t topo_sum(const uint64_t *sent, const struct topo_set *s)
{
	uint64_t n = 0;
	for (uint32_t j = 0; j < s->count; j++)
		n += sent[topo_nth(s, j)];
	return n;
}

size_t topo_subject(char *dst, size_t cap, const char *prefix, uint32_t k)
{
	int n = snprintf(dst, cap, "%s.%u", prefix, k);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static bool matches(const char *prefix, uint32_t k, const char *pattern, size_t plen)
{
	char subject[300];
	size_t n = topo_subject(subject, sizeof(subject), prefix, k);
	return n && subject_matches(pattern, plen, subject, n);
}

uint32_t topo_count_matching(uint32_t k, const char *prefix, const char *pattern)
{
	size_t plen = strlen(pattern);
	uint32_t n = 0;
	for (uint32_t i = 0; i < k; i++)
		n += matches(prefix, i, pattern, plen);
	return n;
}

uint64_t topo_sum_matching(const uint64_t *sent, uint32_t k, const char *prefix,
                           const char *pattern)
{
	size_t plen = strlen(pattern);
	uint64_t n = 0;
	for (uint32_t i = 0; i < k; i++)
		if (matches(prefix, i, pattern, plen))
			n += sent[i];
	return n;
}
