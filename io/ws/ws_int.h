/* Private to io/ws: the inflater that the frame decoder drives, kept in
 * ws_deflate.c with the rest of zlib. */
#ifndef IO_WS_WS_INT_H
#define IO_WS_WS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/ws/ws.h"

/* Allocates a raw inflater (windowBits -15) into *@out. Returns 0 or -ENOMEM. */
int ws_inflate_new(struct z_stream_s **out);

/* Frees @z (NULL is a no-op). */
void ws_inflate_free(struct z_stream_s *z);

/* Forgets the finished message (no context takeover); keeps the window. */
void ws_inflate_reset(struct z_stream_s *z);

/* Inflates @in/@len into @out/@cap. Sets *@consumed and *@produced. Returns
 * 0, 1 when the deflate stream ended (a block with BFINAL), WS_ERR_DEFLATE or
 * WS_ERR_NOMEM. Input left over was not taken because @out filled (or the
 * stream ended). */
int ws_inflate_step(struct z_stream_s *z, const uint8_t *in, size_t len, size_t *consumed,
                    uint8_t *out, size_t cap, size_t *produced);

/* True when @z stands between two deflate blocks (where a message that ends
 * with the 00 00 ff ff tail must leave it). */
bool ws_inflate_at_boundary(const struct z_stream_s *z);

#endif /* IO_WS_WS_INT_H */
