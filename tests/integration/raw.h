/* Raw NATS protocol client over a plain TCP socket, for byte-exact protocol
 * tests. Every read and write is bounded by a timeout. */
#ifndef TESTS_INTEGRATION_RAW_H
#define TESTS_INTEGRATION_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default bound for data the test expects to arrive. */
#define RAW_WAIT_MS 5000

/* One client socket with a read buffer. Owner: the test thread using it. */
struct raw_conn;

/* One MSG or HMSG frame as received. Owner: caller; raw_msg_fini frees data. */
struct raw_msg {
	bool has_headers; /* HMSG */
	char subject[256];
	char sid[64];
	char reply[256]; /* "" when absent */
	size_t hdr_len;  /* header block length (0 for MSG) */
	size_t len;      /* total length: headers plus body */
	char *data;      /* len bytes plus a NUL; owned */
};

/* Connects to 127.0.0.1:port (non-blocking socket, TCP_NODELAY). Server PINGs
 * met by later reads are answered automatically (see raw_set_auto_pong).
 * Returns 0 and *out (owned; free with raw_close), or -errno. */
int raw_connect(uint16_t port, struct raw_conn **out);

/* Closes the socket gracefully and frees c (NULL is a no-op). */
void raw_close(struct raw_conn *c);

/* Closes with SO_LINGER 0, so the peer sees a reset, and frees c. */
void raw_abort(struct raw_conn *c);

/* Half-closes: shutdown(SHUT_WR). Returns 0 or -errno. */
int raw_shutdown_write(struct raw_conn *c);

/* Turns the automatic answer to server PINGs on (default) or off. When on, a
 * "PING\r\n" found where a read starts is answered with PONG and skipped,
 * unless the read expects exactly that PING. */
void raw_set_auto_pong(struct raw_conn *c, bool on);

/* Sends len bytes of buf (borrowed) within RAW_WAIT_MS. Returns 0 or -errno. */
int raw_send(struct raw_conn *c, const void *buf, size_t len);

/* Sends the NUL-terminated string s. Returns 0 or -errno. */
int raw_send_str(struct raw_conn *c, const char *s);

/* Sends a formatted string (at most 64 KiB). Returns 0 or -errno. */
int raw_sendf(struct raw_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads until needle appears, consuming through its end; copies what was
 * consumed (NUL-terminated, truncated to cap) into out (may be NULL).
 * Returns the number of bytes consumed, or -ETIMEDOUT, -ECONNRESET (EOF), -errno. */
ssize_t raw_read_until(struct raw_conn *c, const char *needle, char *out, size_t cap,
                       int timeout_ms);

/* Reads one line ending in "\n" (an "\r" before it is dropped) into line
 * (NUL-terminated, truncated to cap). Returns the line length or -errno. */
ssize_t raw_read_line(struct raw_conn *c, char *line, size_t cap, int timeout_ms);

/* Expects the next len bytes to equal bytes (borrowed). Returns 0, -EBADMSG
 * on a difference, -ETIMEDOUT, -ECONNRESET on EOF; raw_why tells what came. */
int raw_expect(struct raw_conn *c, const void *bytes, size_t len, int timeout_ms);

/* raw_expect of the string s within RAW_WAIT_MS. */
int raw_expect_str(struct raw_conn *c, const char *s);

/* Expects the server to close the connection with no further bytes (a reset
 * counts as a close). Returns 0, -EBADMSG when bytes came, -ETIMEDOUT. */
int raw_expect_eof(struct raw_conn *c, int timeout_ms);

/* Reads one MSG or HMSG frame into m (caller storage; release with
 * raw_msg_fini). Returns 0, -EBADMSG when something else came, or -errno. */
int raw_read_msg(struct raw_conn *c, struct raw_msg *m, int timeout_ms);

/* Frees m's data (m itself is caller storage). */
void raw_msg_fini(struct raw_msg *m);

/* Reads the INFO line into info (NUL-terminated, without "INFO " and the line
 * end; may be NULL), sends "CONNECT <connect_json>\r\nPING\r\n" and waits for
 * PONG, skipping +OK. Returns 0 or -errno; raw_why tells what came instead. */
int raw_handshake(struct raw_conn *c, const char *connect_json, char *info, size_t info_cap);

/* The socket, for tests that need socket options. Borrowed. */
int raw_fd(const struct raw_conn *c);

/* Describes the last failed read or write of c (printable, escaped). Borrowed. */
const char *raw_why(const struct raw_conn *c);

#endif
