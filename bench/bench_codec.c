/* Micro-benchmark of the NATS codec: ns per message to parse a long stream of
 * PUBs (one big input parsed again and again, and the same stream cut into
 * 16 KiB reads), of MSGs as a client reads them and of RMSGs as a route
 * reads them, and ns per MSG head encoded. About 3 s in all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "io/proto/proto.h"

#define NMSGS     4096u
#define READ_SIZE (16u * 1024u)
#define RUN_NS    300000000ull /* per measurement */

static volatile uint64_t sink; /* keeps results observable */

/* What each side parses: its operation and the fields before the size. */
static const struct {
	enum proto_side side;
	const char *line;
} sides[] = {
    {PROTO_SIDE_SERVER, "PUB foo.bar.baz"},
    {PROTO_SIDE_CLIENT, "MSG foo.bar.baz 12"},
    {PROTO_SIDE_ROUTE, "RMSG $G foo.bar.baz"},
};

/* NMSGS x "<line> <n>\r\n<payload>\r\n" */
static char *build_stream(const char *line, size_t payload, size_t *len)
{
	char head[64];
	int h = snprintf(head, sizeof(head), "%s %zu\r\n", line, payload);
	size_t one = (size_t)h + payload + 2;
	char *s = malloc(one * NMSGS);

	if (!s)
		exit(1);
	for (size_t i = 0; i < NMSGS; i++) {
		char *m = s + i * one;
		memcpy(m, head, (size_t)h);
		memset(m + h, 'a' + (int)(i % 26), payload);
		memcpy(m + h + payload, "\r\n", 2);
	}
	*len = one * NMSGS;
	return s;
}

/* Parses @s/@len in reads of @chunk bytes (0: whole). Returns frames seen. */
static uint64_t parse_pass(struct proto_parser *p, const char *s, size_t len, size_t chunk)
{
	uint64_t frames = 0, bytes = 0;

	for (size_t pos = 0; pos < len;) {
		size_t n = chunk && chunk < len - pos ? chunk : len - pos;
		for (size_t off = 0; off < n;) {
			struct proto_frame f;
			size_t used;
			int r = proto_parse(p, s + pos + off, n - off, &used, &f);
			if (r < 0) {
				fprintf(stderr, "parse error %d\n", r);
				exit(1);
			}
			off += used;
			if (r == 0)
				break;
			frames++;
			bytes += f.payload.len;
		}
		pos += n;
	}
	sink += bytes;
	return frames;
}

static double bench_parse(int side, size_t payload, size_t chunk)
{
	size_t len;
	char *s = build_stream(sides[side].line, payload, &len);
	struct proto_parser p;
	uint64_t frames = 0, t0, t;

	proto_parser_init(&p, sides[side].side, PROTO_DEFAULT_MAX_PAYLOAD);
	parse_pass(&p, s, len, chunk); /* warm up */
	t0 = clock_now_ns();
	do {
		frames += parse_pass(&p, s, len, chunk);
		t = clock_now_ns();
	} while (t - t0 < RUN_NS);
	proto_parser_fini(&p);
	free(s);
	if (frames % NMSGS != 0) {
		fprintf(stderr, "lost frames: %llu\n", (unsigned long long)frames);
		exit(1);
	}
	return (double)(t - t0) / (double)frames;
}

static double bench_encode(void)
{
	struct proto_span subject = proto_span_str("foo.bar.baz");
	struct proto_span sid = proto_span_str("12");
	struct proto_span reply = proto_span_str(NULL);
	char buf[128];
	uint64_t n = 0, total = 0, t0, t;

	t0 = clock_now_ns();
	do {
		for (uint32_t i = 0; i < NMSGS; i++) {
			total += proto_encode_msg_head(buf, sizeof(buf), subject, sid, reply,
			                               16 + (i & 1023));
			sink += (uint8_t)buf[4];
		}
		n += NMSGS;
		t = clock_now_ns();
	} while (t - t0 < RUN_NS);
	sink += total;
	return (double)(t - t0) / (double)n;
}

static void row(const char *what, double ns)
{
	printf("%-40s %9.1f %9.2f\n", what, ns, 1e3 / ns);
}

int main(void)
{
	printf("%-40s %9s %9s\n", "operation", "ns/msg", "Mmsg/s");
	row("parse PUB 16 B, one input", bench_parse(0, 16, 0));
	row("parse PUB 16 B, 16 KiB reads", bench_parse(0, 16, READ_SIZE));
	row("parse PUB 1 KiB, one input", bench_parse(0, 1024, 0));
	row("parse PUB 1 KiB, 16 KiB reads", bench_parse(0, 1024, READ_SIZE));
	row("parse MSG 16 B (client), one input", bench_parse(1, 16, 0));
	row("parse RMSG 16 B (route), one input", bench_parse(2, 16, 0));
	row("parse RMSG 1 KiB (route), 16 KiB reads", bench_parse(2, 1024, READ_SIZE));
	row("encode MSG head", bench_encode());
	return 0;
}
