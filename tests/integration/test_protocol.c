/* Byte-exact NATS protocol tests over raw sockets: handshake, delivery
 * frames, parsing leniency (case, tabs, bare LF, split frames) and SUB/UNSUB
 * bookkeeping. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"

TestSuite(protocol, .init = itest_setup, .fini = itest_teardown, .timeout = 60);

/* A quiet raw client that has sent subs (protocol lines) and seen them applied
 * (PING/PONG). Owned by the caller. */
static struct raw_conn *subscriber(const char *connect_json, const char *subs)
{
	struct raw_conn *c = itest_raw(connect_json);
	ITEST_SEND(c, subs);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	return c;
}

/* Reads the INFO line of a fresh connection and parses its JSON. */
static cJSON *read_info(struct raw_conn *c)
{
	char line[8192];
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	cr_assert(strncmp(line, "INFO ", 5) == 0, "first line is not INFO: %s", line);
	cJSON *info = cJSON_Parse(line + 5);
	cr_assert_not_null(info, "INFO is not JSON: %s", line + 5);
	return info;
}

Test(protocol, info_line_has_the_fields_clients_read)
{
	struct raw_conn *c = itest_raw_open();
	cJSON *info = read_info(c);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(info, "server_id");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(info, "version");
	const cJSON *proto = cJSON_GetObjectItemCaseSensitive(info, "proto");
	const cJSON *headers = cJSON_GetObjectItemCaseSensitive(info, "headers");
	const cJSON *max_payload = cJSON_GetObjectItemCaseSensitive(info, "max_payload");
	const cJSON *client_id = cJSON_GetObjectItemCaseSensitive(info, "client_id");
	cr_assert(cJSON_IsString(id) && id->valuestring[0] != '\0', "server_id");
	cr_assert(cJSON_IsString(version) && version->valuestring[0] != '\0', "version");
	cr_assert(cJSON_IsNumber(proto) && proto->valuedouble == 1.0, "proto must be 1");
	cr_assert(cJSON_IsTrue(headers), "headers must be true");
	cr_assert(cJSON_IsNumber(max_payload) && max_payload->valuedouble == 1048576.0,
	          "max_payload must be 1 MiB");
	cr_assert(cJSON_IsNumber(client_id) && client_id->valuedouble >= 1.0, "client_id");

	struct raw_conn *d = itest_raw_open();
	cJSON *info2 = read_info(d);
	const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(info2, "server_id");
	const cJSON *client_id2 = cJSON_GetObjectItemCaseSensitive(info2, "client_id");
	cr_assert(cJSON_IsString(id2) && strcmp(id->valuestring, id2->valuestring) == 0,
	          "one server, one server_id");
	cr_assert(cJSON_IsNumber(client_id2) && client_id2->valuedouble != client_id->valuedouble,
	          "each connection has its own client_id");
	cJSON_Delete(info);
	cJSON_Delete(info2);
	raw_close(c);
	raw_close(d);
}

Test(protocol, verbose_connect_is_acknowledged_and_ping_answered)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "CONNECT {\"verbose\":true}\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "PING\r\nPING\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\nPONG\r\nPONG\r\n");
	raw_close(c);
}

Test(protocol, verbose_acknowledges_sub_pub_and_unsub)
{
	struct raw_conn *c = itest_raw("{\"verbose\":true,\"pedantic\":false}");
	ITEST_SEND(c, "SUB v.1 1\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_SEND(c, "PUB v.1 5\r\nhello\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_EXPECT(c, "MSG v.1 1 5\r\nhello\r\n");
	ITEST_SEND(c, "UNSUB 1\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(protocol, pub_is_delivered_as_msg)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET, "SUB foo 1\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET);
	ITEST_SEND(pub, "PUB foo 5\r\nhello\r\n");
	ITEST_EXPECT(sub, "MSG foo 1 5\r\nhello\r\n");
	ITEST_SEND(pub, "PUB foo 0\r\n\r\n");
	ITEST_EXPECT(sub, "MSG foo 1 0\r\n\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, pub_with_reply_is_delivered_with_reply)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET, "SUB foo 1\r\nSUB foo qq 2\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET);
	ITEST_SEND(pub, "PUB foo bar.baz 5\r\nhello\r\n");
	struct raw_msg m[2];
	for (int i = 0; i < 2; i++) {
		ITEST_RAW_OK(sub, raw_read_msg(sub, &m[i], RAW_WAIT_MS));
		cr_assert_str_eq(m[i].subject, "foo");
		cr_assert_str_eq(m[i].reply, "bar.baz");
		cr_assert_str_eq(m[i].data, "hello");
	}
	cr_assert(strcmp(m[0].sid, m[1].sid) != 0, "plain and queue subscription each get one");
	raw_msg_fini(&m[0]);
	raw_msg_fini(&m[1]);
	ITEST_SEND(sub, "UNSUB 2\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	ITEST_SEND(pub, "PUB foo r 2\r\nhi\r\n");
	ITEST_EXPECT(sub, "MSG foo 1 r 2\r\nhi\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, hpub_is_delivered_as_hmsg)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET_HEADERS, "SUB foo 1\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET_HEADERS);
	ITEST_SEND(pub, "HPUB foo rep 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n");
	ITEST_EXPECT(sub, "HMSG foo 1 rep 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n");
	ITEST_SEND(pub, "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n");
	ITEST_EXPECT(sub, "HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, headers_are_stripped_for_a_subscriber_without_header_support)
{
	struct raw_conn *plain =
	    subscriber("{\"verbose\":false,\"pedantic\":false,\"headers\":false}", "SUB foo 7\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET_HEADERS);
	ITEST_SEND(pub, "HPUB foo rep 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n");
	ITEST_EXPECT(plain, "MSG foo 7 rep 5\r\nhello\r\n");
	ITEST_SEND(pub, "HPUB foo 18 18\r\nNATS/1.0\r\nA: b\r\n\r\n\r\n");
	ITEST_EXPECT(plain, "MSG foo 7 0\r\n\r\n");
	raw_close(plain);
	raw_close(pub);
}

/* A subscriber's MSG heads follow what each delivery is: ringbus copies the
 * head it wrote last for the same subscription, subject and size, so a
 * head that outlived its subscription, subject, size or header choice
 * would show here. */
Test(protocol, msg_heads_follow_subscription_subject_size_and_headers)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET_HEADERS, "SUB hc.* 1\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET_HEADERS);
	ITEST_SEND(pub, "PUB hc.a 2\r\nab\r\nPUB hc.a 2\r\ncd\r\nPUB hc.b 2\r\nef\r\n"
	                "PUB hc.b 3\r\nghi\r\nPUB hc.b r 3\r\njkl\r\nPUB hc.b 3\r\nmno\r\n"
	                "HPUB hc.b 12 15\r\nNATS/1.0\r\n\r\npqr\r\nPUB hc.b 3\r\nstu\r\n");
	ITEST_EXPECT(sub, "MSG hc.a 1 2\r\nab\r\nMSG hc.a 1 2\r\ncd\r\nMSG hc.b 1 2\r\nef\r\n"
	                  "MSG hc.b 1 3\r\nghi\r\nMSG hc.b 1 r 3\r\njkl\r\nMSG hc.b 1 3\r\nmno\r\n"
	                  "HMSG hc.b 1 12 15\r\nNATS/1.0\r\n\r\npqr\r\nMSG hc.b 1 3\r\nstu\r\n");
	/* the sid goes and comes back for another subscription, then another sid */
	ITEST_SEND(sub, "UNSUB 1\r\nSUB hc.b 1\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	ITEST_SEND(pub, "PUB hc.b 3\r\nvwx\r\n");
	ITEST_EXPECT(sub, "MSG hc.b 1 3\r\nvwx\r\n");
	ITEST_SEND(sub, "UNSUB 1\r\nSUB hc.b 9\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	ITEST_SEND(pub, "PUB hc.b 3\r\nyz0\r\n");
	ITEST_EXPECT(sub, "MSG hc.b 9 3\r\nyz0\r\n");
	/* without headers: an HPUB's body, then a PUB of the same body size */
	struct raw_conn *plain = subscriber(
	    "{\"verbose\":false,\"pedantic\":false,\"headers\":false}", "SUB hc.b 7\r\n");
	ITEST_SEND(pub, "HPUB hc.b 12 15\r\nNATS/1.0\r\n\r\n123\r\nPUB hc.b 3\r\n456\r\n"
	                "HPUB hc.b 12 14\r\nNATS/1.0\r\n\r\n78\r\n");
	ITEST_EXPECT(plain, "MSG hc.b 7 3\r\n123\r\nMSG hc.b 7 3\r\n456\r\nMSG hc.b 7 2\r\n78\r\n");
	raw_close(plain);
	raw_close(sub);
	raw_close(pub);
}

/* Two subscriptions of one connection take each message in turn, and heads
 * of 64 bytes (the longest ringbus keeps) and 65 bytes come out whole. */
Test(protocol, msg_heads_of_two_subscriptions_and_long_subjects)
{
	char subj[64], line[256], want[256];
	memset(subj, 'l', sizeof subj);
	struct raw_conn *sub = subscriber(ITEST_QUIET, "SUB hd.> 1\r\nSUB hd.x 2\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET);
	for (int i = 0; i < 3; i++) {
		ITEST_SEND(pub, "PUB hd.x 1\r\nx\r\n");
		struct raw_msg m[2];
		for (int k = 0; k < 2; k++)
			ITEST_RAW_OK(sub, raw_read_msg(sub, &m[k], RAW_WAIT_MS));
		cr_assert_str_eq(m[0].subject, "hd.x");
		cr_assert_str_eq(m[1].subject, "hd.x");
		cr_assert(strcmp(m[0].sid, m[1].sid) != 0, "each subscription once: %s", m[0].sid);
		raw_msg_fini(&m[0]);
		raw_msg_fini(&m[1]);
	}
	/* "MSG hd.<n> 1 1\r\n": 64 bytes with n = 51, 65 with n = 52 */
	for (int n = 50; n <= 53; n++) {
		snprintf(line, sizeof line, "PUB hd.%.*s 1\r\na\r\nPUB hd.%.*s 1\r\nb\r\n", n, subj,
		         n, subj);
		ITEST_SEND(pub, line);
		snprintf(want, sizeof want, "MSG hd.%.*s 1 1\r\na\r\nMSG hd.%.*s 1 1\r\nb\r\n", n,
		         subj, n, subj);
		ITEST_EXPECT(sub, want);
	}
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, operation_names_are_case_insensitive)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "connect {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n"
	              "PiNg\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "Sub ci 1\r\nsub ci 2\r\nping\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "unsub 2\r\npub ci 2\r\nhi\r\n");
	ITEST_EXPECT(c, "MSG ci 1 2\r\nhi\r\n");
	ITEST_SEND(c, "hPuB ci 12 14\r\nNATS/1.0\r\n\r\nho\r\n");
	ITEST_EXPECT(c, "HMSG ci 1 12 14\r\nNATS/1.0\r\n\r\nho\r\n");
	ITEST_SEND(c, "UnSuB 1\r\nPUB ci 1\r\nx\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(protocol, tabs_and_runs_of_blanks_separate_fields)
{
	struct raw_conn *c = subscriber(ITEST_QUIET, "SUB\ttab\t\t1\r\nSUB  tab \t q  2\r\n");
	ITEST_SEND(c, "UNSUB\t2\r\nPUB\ttab\t \treply\t5\r\nhello\r\n");
	ITEST_EXPECT(c, "MSG tab 1 reply 5\r\nhello\r\n");
	raw_close(c);
}

Test(protocol, bare_newline_ends_a_control_line)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\nPING\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "SUB lf 1\nPUB lf 5\nhello\r\nPUB lf r 2\nhi\r\n");
	ITEST_EXPECT(c, "MSG lf 1 5\r\nhello\r\n");
	ITEST_EXPECT(c, "MSG lf 1 r 2\r\nhi\r\n");
	raw_close(c);
}

/* A publisher stream and what a subscriber of sp.a with sid 1 must receive. */
static const char split_stream[] = "PUB sp.a 5\r\nhello\r\n"
                                   "HPUB sp.a r 12 17\r\nNATS/1.0\r\n\r\nworld\r\n"
                                   "PUB sp.a 0\r\n\r\n"
                                   "PING\r\n";
static const char split_frames[] = "MSG sp.a 1 5\r\nhello\r\n"
                                   "HMSG sp.a 1 r 12 17\r\nNATS/1.0\r\n\r\nworld\r\n"
                                   "MSG sp.a 1 0\r\n\r\n";

Test(protocol, a_stream_sent_one_byte_at_a_time_gives_the_same_frames)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET_HEADERS, "SUB sp.a 1\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET_HEADERS);
	for (size_t i = 0; i < sizeof split_stream - 1; i++) {
		ITEST_RAW_OK(pub, raw_send(pub, split_stream + i, 1));
		usleep(300);
	}
	ITEST_EXPECT(pub, "PONG\r\n");
	ITEST_EXPECT(sub, split_frames);
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, a_stream_split_at_any_offset_gives_the_same_frames)
{
	struct raw_conn *sub = subscriber(ITEST_QUIET_HEADERS, "SUB sp.a 1\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET_HEADERS);
	size_t len = sizeof split_stream - 1;
	for (size_t cut = 1; cut < len; cut++) {
		ITEST_RAW_OK(pub, raw_send(pub, split_stream, cut));
		usleep(1000);
		ITEST_RAW_OK(pub, raw_send(pub, split_stream + cut, len - cut));
		ITEST_EXPECT(pub, "PONG\r\n");
		cr_assert_eq(raw_expect_str(sub, split_frames), 0, "cut at %zu: %s", cut,
		             raw_why(sub));
	}
	raw_close(sub);
	raw_close(pub);
}

Test(protocol, a_duplicate_sid_is_ignored)
{
	struct raw_conn *c =
	    subscriber(ITEST_QUIET, "SUB dup.a 1\r\nSUB dup.a 1\r\nSUB dup.b 1\r\n");
	/* The repeated SUB on dup.a adds no second delivery; dup.b never subscribed. */
	ITEST_SEND(c, "PUB dup.b 1\r\nb\r\nPUB dup.a 1\r\n1\r\nPUB dup.a 1\r\n2\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG dup.a 1 1\r\n1\r\n");
	ITEST_EXPECT(c, "MSG dup.a 1 1\r\n2\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	/* Unsubscribing sid 1 removes dup.a: a later subscription sees what follows. */
	ITEST_SEND(c, "UNSUB 1\r\nPUB dup.a 1\r\n3\r\nSUB dup.a 2\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "PUB dup.a 1\r\n4\r\n");
	ITEST_EXPECT(c, "MSG dup.a 2 1\r\n4\r\n");
	raw_close(c);
}

Test(protocol, unsub_of_an_unknown_sid_is_accepted)
{
	struct raw_conn *c = itest_raw("{\"verbose\":true,\"pedantic\":false}");
	ITEST_SEND(c, "UNSUB 99\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_SEND(c, "UNSUB 98 5\r\nPING\r\n");
	ITEST_EXPECT(c, "+OK\r\nPONG\r\n");
	raw_close(c);
}

Test(protocol, unsub_with_max_delivers_exactly_max)
{
	struct raw_conn *c = subscriber(ITEST_QUIET, "SUB um 2\r\nUNSUB 2 2\r\n");
	ITEST_SEND(c, "PUB um 1\r\n1\r\nPUB um 1\r\n2\r\nPUB um 1\r\n3\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG um 2 1\r\n1\r\n");
	ITEST_EXPECT(c, "MSG um 2 1\r\n2\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	/* Per-subject order: a third delivery to sid 2 would come before this one. */
	ITEST_SEND(c, "SUB um 3\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "PUB um 1\r\n4\r\n");
	ITEST_EXPECT(c, "MSG um 3 1\r\n4\r\n");
	/* A max already reached by earlier deliveries removes the subscription. */
	ITEST_SEND(c, "UNSUB 3 1\r\nPUB um 1\r\n5\r\nSUB um 4\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "PUB um 1\r\n6\r\n");
	ITEST_EXPECT(c, "MSG um 4 1\r\n6\r\n");
	raw_close(c);
}

Test(protocol, own_messages_published_before_an_unsub_are_delivered)
{
	/* One write: the UNSUB comes after the two PUBs, so both are delivered
	 * (found by the fault tests: the UNSUB used to overtake them). */
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "SUB x 1\r\nPUB x 1\r\n1\r\nPUB x 1\r\n2\r\nUNSUB 1\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG x 1 1\r\n1\r\nMSG x 1 1\r\n2\r\nPONG\r\n");
	/* the sid is free again at once, and the old subscription is gone */
	ITEST_SEND(c, "SUB y 1\r\nPUB x 1\r\n3\r\nPUB y 1\r\n4\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG y 1 1\r\n4\r\nPONG\r\n");
	raw_close(c);
}

#define PIPE_ROUNDS 4000

Test(protocol, a_long_pipelined_run_of_subscription_changes_keeps_its_order)
{
	/* One write of thousands of SUB/PUB/UNSUB: more than a server lets one
	 * connection queue before it stops reading it for a while (ringbus
	 * parses the rest later), so what follows must still apply in order. */
	size_t cap = PIPE_ROUNDS * 128, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < PIPE_ROUNDS; i++) {
		len +=
		    (size_t)snprintf(buf + len, cap - len, "SUB s.%d %d\r\nPUB s.%d %d\r\n%d\r\n",
		                     i, i, i, snprintf(NULL, 0, "%d", i), i);
		if (i % 50 == 0) /* a wildcard goes to every shard */
			len += (size_t)snprintf(buf + len, cap - len,
			                        "SUB w.%d.* w%d\r\nPUB w.%d.x 1\r\nw\r\n", i, i, i);
		if (i % 5 == 4) /* gone before its second message */
			len += (size_t)snprintf(buf + len, cap - len,
			                        "UNSUB %d\r\nPUB s.%d 4\r\ngone\r\n", i, i);
	}
	len += (size_t)snprintf(buf + len, cap - len, "PING\r\n");
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	cr_assert_eq(raw_send(c, buf, len), 0, "%s", raw_why(c));
	free(buf);
	/* Order is kept per subject (each gets one message here), not across
	 * subjects: ringbus routes subjects on different shards. */
	static unsigned char seen[PIPE_ROUNDS][2];
	memset(seen, 0, sizeof seen);
	for (int n = 0; n < PIPE_ROUNDS + (PIPE_ROUNDS + 49) / 50; n++) {
		struct raw_msg m;
		char want[32];
		int i = -1, wild = 0;
		cr_assert_eq(raw_read_msg(c, &m, RAW_WAIT_MS), 0, "message %d: %s", n, raw_why(c));
		if (sscanf(m.subject, "s.%d", &i) == 1) {
			snprintf(want, sizeof want, "%d", i);
			cr_assert(strcmp(m.sid, want) == 0 && strcmp(m.data, want) == 0,
			          "MSG %s %s %s: not the message of round %d", m.subject, m.sid,
			          m.data, i);
		} else if (sscanf(m.subject, "w.%d.x", &i) == 1) {
			wild = 1;
			snprintf(want, sizeof want, "w%d", i);
			cr_assert(strcmp(m.sid, want) == 0 && i % 50 == 0, "MSG %s %s: unexpected",
			          m.subject, m.sid);
		}
		cr_assert(i >= 0 && i < PIPE_ROUNDS && !seen[i][wild], "MSG %s %s %s: %s",
		          m.subject, m.sid, m.data,
		          i >= 0 && i < PIPE_ROUNDS ? "twice" : "unexpected");
		seen[i][wild] = 1;
		raw_msg_fini(&m);
	}
	/* nothing more: in particular no message published after its UNSUB */
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(protocol, no_responders_status_goes_to_the_reply_subscription)
{
	struct raw_conn *c = subscriber("{\"verbose\":false,\"pedantic\":false,\"headers\":true,"
	                                "\"no_responders\":true}",
	                                "SUB _INBOX.nr 1\r\n");
	ITEST_SEND(c, "PUB nobody.home _INBOX.nr 2\r\nhi\r\n");
	ITEST_EXPECT(c, "HMSG _INBOX.nr 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
	/* Without a reply subject there is nobody to tell. */
	ITEST_SEND(c, "PUB nobody.home 2\r\nhi\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(protocol, no_responders_status_needs_the_client_to_ask)
{
	struct raw_conn *c = subscriber(ITEST_QUIET_HEADERS, "SUB _INBOX.nr 1\r\n");
	ITEST_SEND(c, "PUB nobody.home _INBOX.nr 2\r\nhi\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	/* Per-subject order on the inbox: a status would precede this reply. */
	ITEST_SEND(c, "PUB _INBOX.nr 2\r\nok\r\n");
	ITEST_EXPECT(c, "MSG _INBOX.nr 1 2\r\nok\r\n");
	raw_close(c);
}
