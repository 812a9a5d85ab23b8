/* The header every ringbus-load payload starts with: stream id and sequence
 * number, the intended send time and (from 24 bytes) the actual send time. */
#ifndef TOOLS_LOAD_PAYLOAD_H
#define TOOLS_LOAD_PAYLOAD_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Word 0 packs a 24-bit stream id (one publisher x subject, or one
 * requester) above a 40-bit sequence number; word 1 is the intended send time
 * and word 2 the time the message was written, both CLOCK_MONOTONIC ns. All
 * little-endian. 16 bytes hold words 0 and 1; 24 hold all three. */
#define PAYLOAD_MIN        16u
#define PAYLOAD_STAMPED    24u
#define PAYLOAD_SEQ_BITS   40
#define PAYLOAD_SEQ_MASK   ((UINT64_C(1) << PAYLOAD_SEQ_BITS) - 1)
#define PAYLOAD_MAX_STREAM 0xffffffu

struct payload_hdr {
	uint32_t stream;
	uint64_t seq;
	uint64_t intended_ns;
	uint64_t stamp_ns; /* == intended_ns when the payload has no stamp */
	bool stamped;
};

/* Writes the header into @dst, which has @size >= PAYLOAD_MIN bytes. */
static inline void payload_write(char *dst, uint32_t size, uint32_t stream, uint64_t seq,
                                 uint64_t intended_ns, uint64_t stamp_ns)
{
	uint64_t w[3] = {htole64(((uint64_t)stream << PAYLOAD_SEQ_BITS) | (seq & PAYLOAD_SEQ_MASK)),
	                 htole64(intended_ns), htole64(stamp_ns)};
	memcpy(dst, w, size >= PAYLOAD_STAMPED ? 24 : 16);
}

/* Reads the header of a @len-byte payload. False when it is too short. */
static inline bool payload_read(const char *src, uint32_t len, struct payload_hdr *out)
{
	if (len < PAYLOAD_MIN)
		return false;
	uint64_t w[3];
	memcpy(w, src, len >= PAYLOAD_STAMPED ? 24 : 16);
	uint64_t w0 = le64toh(w[0]);
	out->stream = (uint32_t)(w0 >> PAYLOAD_SEQ_BITS);
	out->seq = w0 & PAYLOAD_SEQ_MASK;
	out->intended_ns = le64toh(w[1]);
	out->stamped = len >= PAYLOAD_STAMPED;
	out->stamp_ns = out->stamped ? le64toh(w[2]) : out->intended_ns;
	return true;
}

#endif /* TOOLS_LOAD_PAYLOAD_H */
