/* permessage-deflate through zlib (RFC 7692): raw deflate, no context
 * takeover on either side, the 00 00 ff ff tail stripped when compressing
 * and given back when inflating. The compressor is public; the inflater is
 * driven by the frame decoder (ws_int.h). */
#define ZLIB_CONST
#include <zlib.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io/ws/ws.h"
#include "io/ws/ws_int.h"

#define WS_WINDOW_BITS (-15) /* raw deflate, 32 KiB window */
#define WS_MEM_LEVEL   8

static const uint8_t ws_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* zlib counts in uInt: larger buffers go in slices of this size. */
static uInt clamp_uint(size_t n)
{
	return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

int ws_deflate_init(struct ws_deflate *d, int level)
{
	z_stream *z;

	d->z = NULL;
	if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
		return -EINVAL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	if (deflateInit2(z, level, Z_DEFLATED, WS_WINDOW_BITS, WS_MEM_LEVEL, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		free(z);
		return -ENOMEM;
	}
	d->z = z;
	return 0;
}

void ws_deflate_fini(struct ws_deflate *d)
{
	if (!d->z)
		return;
	deflateEnd(d->z);
	free(d->z);
	d->z = NULL;
}

size_t ws_deflate_bound(size_t len)
{
	/* zlib's compressBound() (default memory level) less nothing for the
	 * missing zlib header, plus the sync flush's empty stored block. */
	return len + (len >> 12) + (len >> 14) + (len >> 25) + 13 + 16;
}

/* Feeds @buf/@len to the compressor. Returns 0, -ENOBUFS or -EIO. */
static int deflate_feed(z_stream *z, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		uInt n = clamp_uint(len);

		z->next_in = buf;
		z->avail_in = n;
		while (z->avail_in > 0) {
			if (z->avail_out == 0)
				return -ENOBUFS;
			int rc = deflate(z, Z_NO_FLUSH);
			if (rc == Z_BUF_ERROR)
				return -ENOBUFS;
			if (rc != Z_OK)
				return -EIO;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

int ws_deflate_message(struct ws_deflate *d, const struct iovec *iov, int iovcnt, uint8_t *dst,
                       size_t cap, size_t *out_len)
{
	z_stream *z = d->z;
	uInt room = clamp_uint(cap);
	int rc = 0;

	*out_len = 0;
	z->next_out = dst;
	z->avail_out = room;
	for (int i = 0; i < iovcnt && rc == 0; i++)
		rc = deflate_feed(z, iov[i].iov_base, iov[i].iov_len);
	if (rc == 0) {
		/* A sync flush that leaves room has written everything. */
		int zr = z->avail_out ? deflate(z, Z_SYNC_FLUSH) : Z_BUF_ERROR;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			rc = -EIO;
		else if (z->avail_out == 0)
			rc = -ENOBUFS;
	}
	if (rc == 0) {
		size_t n = room - z->avail_out;
		if (n < sizeof(ws_tail) || memcmp(dst + n - sizeof(ws_tail), ws_tail, 4) != 0)
			rc = -EIO;
		else
			*out_len = n - sizeof(ws_tail);
	}
	deflateReset(z); /* no context takeover: the next message starts afresh */
	return rc;
}

int ws_inflate_new(struct z_stream_s **out)
{
	z_stream *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (!z)
		return -ENOMEM;
	if (inflateInit2(z, WS_WINDOW_BITS) != Z_OK) {
		free(z);
		return -ENOMEM;
	}
	*out = z;
	return 0;
}

void ws_inflate_free(struct z_stream_s *z)
{
	if (!z)
		return;
	inflateEnd(z);
	free(z);
}

void ws_inflate_reset(struct z_stream_s *z)
{
	inflateReset(z);
}

int ws_inflate_step(struct z_stream_s *z, const uint8_t *in, size_t len, size_t *consumed,
                    uint8_t *out, size_t cap, size_t *produced)
{
	uInt n_in = clamp_uint(len), n_out = clamp_uint(cap);
	int rc;

	z->next_in = in;
	z->avail_in = n_in;
	z->next_out = out;
	z->avail_out = n_out;
	rc = inflate(z, Z_SYNC_FLUSH);
	*consumed = n_in - z->avail_in;
	*produced = n_out - z->avail_out;
	switch (rc) {
	case Z_OK:
	case Z_BUF_ERROR: /* no progress possible: nothing to do */
		return 0;
	case Z_STREAM_END:
		return 1;
	case Z_MEM_ERROR:
		return WS_ERR_NOMEM;
	default:
		return WS_ERR_DEFLATE;
	}
}

bool ws_inflate_at_boundary(const struct z_stream_s *z)
{
	/* zlib: data_type has 128 when inflate() stopped before a block header. */
	return (z->data_type & 128) != 0;
}
