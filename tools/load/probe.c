/* Interest probes: their payload, their PUB line, and the record of which
 * subjects of a subscriber they have reached. */
#include "tools/load/probe.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"

static const char probe_magic[4] = {'R', 'L', 'P', 'B'};

size_t probe_encode(char *dst, size_t cap, const char *prefix, uint32_t k)
{
	char subject[300];
	if (!topo_subject(subject, sizeof(subject), prefix, k))
		return 0;
	size_t n = proto_encode_pub_head(dst, cap, proto_span_str(subject), proto_span_str(NULL),
	                                 PROBE_LEN);
	if (!n || n + PROBE_LEN + 2 > cap)
		return 0;
	uint32_t le = htole32(k);
	memcpy(dst + n, probe_magic, sizeof(probe_magic));
	memcpy(dst + n + 4, &le, sizeof(le));
	memcpy(dst + n + PROBE_LEN, "\r\n", 2);
	return n + PROBE_LEN + 2;
}

bool probe_read(const char *src, uint32_t len, uint32_t *k)
{
	if (len != PROBE_LEN || memcmp(src, probe_magic, sizeof(probe_magic)))
		return false;
	uint32_t le;
	memcpy(&le, src + 4, sizeof(le));
	*k = le32toh(le);
	return true;
}

int probe_seen_init(struct probe_seen *s, const struct topo_set *set, bool pattern)
{
	memset(s, 0, sizeof(*s));
	s->set = *set;
	if (pattern) {
		s->need = 1;
		return 0;
	}
	s->need = set->count;
	s->bits = calloc((set->count + 7u) / 8u, 1);
	return s->bits || !set->count ? 0 : -ENOMEM;
}

void probe_seen_fini(struct probe_seen *s)
{
	free(s->bits);
	s->bits = NULL;
}

bool probe_seen_add(struct probe_seen *s, uint32_t k)
{
	if (!s->need)
		return false;
	if (!s->bits) { /* a pattern: its one interest has crossed */
		s->need = 0;
		return true;
	}
	if (k < s->set.first || (k - s->set.first) % s->set.step)
		return false;
	uint32_t j = (k - s->set.first) / s->set.step;
	if (j >= s->set.count || (s->bits[j / 8] & (1u << (j % 8))))
		return false;
	s->bits[j / 8] |= (uint8_t)(1u << (j % 8));
	return --s->need == 0;
}
