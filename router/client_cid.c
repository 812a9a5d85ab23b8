/* Connection ids: one counter for clients, WebSocket clients, routes and
 * leaf connections (INFO's client_id, /connz), in a file of its own so
 * that whoever writes an INFO before the connection exists (the TLS
 * services' info callbacks) can take one without calling into client.c. */
#include <stdatomic.h>

#include "router/client.h"

static atomic_uint_fast64_t client_next_cid = 1;

uint64_t client_new_cid(void)
{
	return atomic_fetch_add(&client_next_cid, 1);
}
