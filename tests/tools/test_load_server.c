/* ringbus-load and ringbus-load-blocking against a real server (nats-server
 * or ringbus, chosen by the integration harness): exact counts in the JSON
 * report, auth errors, subscribers on another node of a cluster of two
 * (--sub-url), and ringbus-load-blocking over the WebSocket listener (ws://). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/tools/load_exec.h"

static struct harness_server srv;

static void start_plain(void)
{
	cr_assert_eq(harness_server_start(&srv, NULL), 0, "server did not start");
}

static void stop(void)
{
	char why[256];
	cr_assert_eq(harness_server_stop(&srv, why, sizeof(why)), 0, "server stop: %s", why);
}

/* Runs @bin with @args and --url @url and checks the counts. */
static void run_exact_url(const char *bin, const char *url, const char *const *args, double sent,
                          double delivered, bool ordered)
{
	const char *argv[40];
	size_t n = 0;
	for (; args[n]; n++)
		argv[n] = args[n];
	argv[n++] = "--url";
	argv[n++] = url;
	argv[n] = NULL;
	struct load_exec x;
	cr_assert_eq(load_exec_run_bin(&x, bin, argv), 0);
	cr_assert(x.json, "%s %s: no JSON; stderr: %s", args[0], args[1], x.err);
	cr_assert(x.status == 0 || x.status == 3, "%s: exit %d; stderr: %s", args[0], x.status,
	          x.err);
	if (sent >= 0)
		cr_assert_eq(load_exec_num(&x, NULL, "sent"), sent);
	else
		sent = load_exec_num(&x, NULL, "sent");
	cr_assert(sent > 0);
	double want = delivered >= 0 ? delivered : sent * -delivered;
	cr_assert_eq(load_exec_num(&x, NULL, "delivered"), want, "%s: delivered %.0f, want %.0f",
	             args[0], load_exec_num(&x, NULL, "delivered"), want);
	cr_assert_eq(load_exec_num(&x, NULL, "expected"), want);
	cr_assert_eq(load_exec_num(&x, NULL, "lost"), 0);
	cr_assert_eq(load_exec_num(&x, NULL, "duplicated"), 0);
	if (ordered) /* replies from several responders may pass each other */
		cr_assert_eq(load_exec_num(&x, NULL, "out_of_order"), 0);
	cr_assert(load_exec_num(&x, "latency_us", "p50") > 0);
	cr_assert(load_exec_num(&x, "latency_us", "max") >= load_exec_num(&x, "latency_us", "p99"));
	load_exec_fini(&x);
}

/* The same with the server's NATS URL. */
static void run_exact_bin(const char *bin, const char *const *args, double sent, double delivered,
                          bool ordered)
{
	run_exact_url(bin, srv.url, args, sent, delivered, ordered);
}

static void run_exact(const char *const *args, double sent, double delivered, bool ordered)
{
	run_exact_bin(RINGBUS_LOAD_BIN, args, sent, delivered, ordered);
}

TestSuite(load_server, .init = start_plain, .fini = stop);

Test(load_server, fan_out_delivers_every_message_to_every_subscriber)
{
	const char *args[] = {"pubsub", "--pubs", "2",         "--subs", "3",
	                      "--msgs", "40000",  "--threads", "2",      NULL};
	run_exact(args, 40000, 120000, true);
}

Test(load_server, queue_group_delivers_each_message_once)
{
	const char *args[] = {"pubsub",  "--pubs",  "1",      "--subs", "3",
	                      "--queue", "workers", "--msgs", "30000",  NULL};
	run_exact(args, 30000, 30000, true);
}

Test(load_server, many_subjects_spread_over_publishers_and_subscribers)
{
	const char *args[] = {"pubsub", "--pubs", "3",     "--subs", "2",  "--subjects",
	                      "7",      "--msgs", "21000", "--size", "16", NULL};
	run_exact(args, 21000, 21000, true);
}

Test(load_server, open_loop_run_by_duration_counts_exactly)
{
	const char *args[] = {"pubsub", "--pubs",     "2",  "--subs", "2",  "--rate",
	                      "10k",    "--duration", "1s", "--size", "32", NULL};
	run_exact(args, -1, -2, true);
}

Test(load_server, request_reply_answers_every_request)
{
	const char *args[] = {"reqrep",     "--clients", "2", "--responders", "2", "--msgs", "4000",
	                      "--inflight", "4",         NULL};
	run_exact(args, 4000, 4000, false);
}

Test(load_server, many_connections_from_few_threads)
{
	const char *args[] = {"pubsub", "--pubs", "200",   "--subs",    "200", "--subjects",
	                      "200",    "--msgs", "20000", "--threads", "2",   NULL};
	run_exact(args, 20000, 20000, true);
}

/* The order NATS promises: per publisher, across subjects. */
Test(load_server, wildcard_subscribers_get_every_message_in_publish_order)
{
	const char *args[] = {
	    "pubsub",        "--pubs", "1",      "--subs", "2",      "--subjects", "16",
	    "--sub-subject", "load.>", "--msgs", "100000", "--size", "32",         NULL};
	run_exact(args, 100000, 200000, true);
}

Test(load_server, blocking_client_order_across_16_subjects_without_a_window)
{
	const char *args[] = {"--pubs",        "1",      "--subs", "2",      "--subjects", "16",
	                      "--sub-subject", "load.>", "--msgs", "100000", "--size",     "32",
	                      "--window",      "0",      NULL};
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, args, 100000, 200000, true);
}

Test(load_server, blocking_client_full_fan_out_of_four_publishers_loses_nothing)
{
	const char *args[] = {
	    "--pubs",        "4",        "--subs", "4",      "--pub-subject-per-pub",
	    "--sub-subject", "load.>",   "--msgs", "100000", "--size",
	    "128",           "--window", "0",      NULL};
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, args, 100000, 400000, true);
}

Test(load_server, blocking_client_subscribers_share_the_subjects)
{
	const char *args[] = {"--pubs", "2",     "--subs", "3",  "--subjects", "5",
	                      "--msgs", "10000", "--size", "24", NULL};
	/* each publisher cycles over the 5 subjects; each subject has one subscriber */
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, args, 10000, 10000, true);
}

Test(load_server, blocking_client_queue_group_delivers_each_message_once)
{
	const char *args[] = {"--pubs",  "1",      "--subs", "3", "--queue",
	                      "workers", "--msgs", "30000",  NULL};
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, args, 30000, 30000, true);
}

static void start_auth(void)
{
	static const char *const args[] = {"--user", "alice", "--pass", "wonder", NULL};
	struct harness_opts opts = {.args = args};
	cr_assert_eq(harness_server_start(&srv, &opts), 0, "server did not start");
}

Test(load_auth, refused_credentials_are_a_clear_error, .init = start_auth, .fini = stop)
{
	char bad[96], good[96];
	snprintf(bad, sizeof(bad), "nats://alice:wrong@127.0.0.1:%u", srv.port);
	snprintf(good, sizeof(good), "nats://alice:wonder@127.0.0.1:%u", srv.port);
	const char *args_bad[] = {"pubsub", "--url", bad, "--msgs", "100", NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run(&x, args_bad), 0);
	cr_assert_eq(x.status, 1, "exit %d", x.status);
	cr_assert(strstr(x.err, "refused authorization"), "stderr: %s", x.err);
	cr_assert(!strstr(x.err, "wrong"), "the password leaked: %s", x.err);
	load_exec_fini(&x);
	const char *args_good[] = {"pubsub", "--url", good, "--msgs", "100", NULL};
	cr_assert_eq(load_exec_run(&x, args_good), 0);
	cr_assert_eq(x.status, 0, "exit %d: %s", x.status, x.err);
	cr_assert_eq(load_exec_num(&x, NULL, "delivered"), 100);
	load_exec_fini(&x);
}

/* ---- a cluster of two: publishers on srv, subscribers on node2 ---- */

static struct harness_server node2;

static void start_pair(void)
{
	int c1 = harness_free_port(), c2 = harness_free_port();
	cr_assert(c1 > 0 && c2 > 0);
	char l1[48], l2[48];
	snprintf(l1, sizeof(l1), "nats://127.0.0.1:%d", c1);
	snprintf(l2, sizeof(l2), "nats://127.0.0.1:%d", c2);
	const char *const a1[] = {"--cluster", l1, "--cluster_name", "loadtest", NULL};
	const char *const a2[] = {"--cluster",      l2,         "--routes", l1,
	                          "--cluster_name", "loadtest", NULL};
	struct harness_opts o1 = {.args = a1}, o2 = {.args = a2};
	cr_assert_eq(harness_server_start(&srv, &o1), 0, "node 1 did not start");
	cr_assert_eq(harness_server_start(&node2, &o2), 0, "node 2 did not start");
}

static void stop_pair(void)
{
	char why[256];
	cr_assert_eq(harness_server_stop(&node2, why, sizeof(why)), 0, "node 2 stop: %s", why);
	stop();
}

TestSuite(load_cluster, .init = start_pair, .fini = stop_pair);

/* Interest crosses the route before the first counted message: none lost. */
Test(load_cluster, subscribers_on_another_node_get_every_message)
{
	const char *args[] = {"pubsub", "--subs", "2",         "--msgs",  "50000",
	                      "--size", "16",     "--sub-url", node2.url, NULL};
	run_exact(args, 50000, 100000, true);
	const char *blocking[] = {"--subs",   "2", "--msgs",    "50000",   "--size", "16",
	                          "--window", "0", "--sub-url", node2.url, NULL};
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, blocking, 50000, 100000, true);
}

Test(load_cluster, subscribers_spread_over_a_list_of_nodes)
{
	char both[100];
	snprintf(both, sizeof(both), "%s,%s", srv.url, node2.url);
	const char *args[] = {"pubsub", "--subs", "3",         "--subjects", "4",
	                      "--msgs", "40000",  "--sub-url", both,         NULL};
	run_exact(args, 40000, 40000, true);
	const char *blocking[] = {"--subs",        "3",      "--subjects", "4",  "--msgs", "40000",
	                          "--sub-subject", "load.>", "--sub-url",  both, NULL};
	run_exact_bin(RINGBUS_LOAD_BLOCKING_BIN, blocking, 40000, 120000, true);
	struct load_exec x;
	const char *json[] = {"pubsub", "--url", srv.url, "--sub-url", both, "--msgs", "100", NULL};
	cr_assert_eq(load_exec_run(&x, json), 0);
	cr_assert_eq(x.status, 0, "exit %d: %s", x.status, x.err);
	cr_assert(load_exec_num(&x, NULL, "interest_wait_s") >= 0);
	cJSON *urls = cJSON_GetObjectItem(x.json, "sub_urls");
	cr_assert(cJSON_IsArray(urls) && cJSON_GetArraySize(urls) == 2);
	load_exec_fini(&x);
}

/* ---- ringbus-load-blocking over WebSocket (ws://) ---- */

static char ws_url[48];

static void start_ws(void)
{
	int p = harness_free_port();
	cr_assert_gt(p, 0);
	static char conf[128];
	snprintf(conf, sizeof(conf), "websocket { listen: \"127.0.0.1:%d\", no_tls: true }\n", p);
	snprintf(ws_url, sizeof(ws_url), "ws://127.0.0.1:%d", p);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start(&srv, &o), 0, "server did not start");
	/* the WebSocket listener may open after the NATS port */
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)p),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (!rc)
			return;
		usleep(10000);
	}
	cr_assert_fail("nothing listens on %s", ws_url);
}

TestSuite(load_ws, .init = start_ws, .fini = stop);

/* Every message through the upgrade, masked client frames and the server's
 * frames, in order: the issue 22 points, closed loop and without a window. */
Test(load_ws, one_to_one_16_bytes_loses_nothing)
{
	const char *args[] = {"--pubs", "1",      "--subs", "1", "--msgs",
	                      "100000", "--size", "16",     NULL};
	run_exact_url(RINGBUS_LOAD_BLOCKING_BIN, ws_url, args, 100000, 100000, true);
}

Test(load_ws, one_to_one_1_kib_without_a_window_loses_nothing)
{
	const char *args[] = {"--pubs", "1",    "--subs",   "1", "--msgs", "100000",
	                      "--size", "1024", "--window", "0", NULL};
	run_exact_url(RINGBUS_LOAD_BLOCKING_BIN, ws_url, args, 100000, 100000, true);
}

/* Frames larger than 64 KiB from the server (--size 100k): 64-bit lengths,
 * frames split over many reads. */
Test(load_ws, fan_out_of_large_messages_loses_nothing)
{
	const char *args[] = {"--pubs", "2",    "--subs",   "3", "--msgs", "3000",
	                      "--size", "100k", "--window", "0", NULL};
	run_exact_url(RINGBUS_LOAD_BLOCKING_BIN, ws_url, args, 3000, 9000, true);
}

/* ws:// at the NATS port: no 101, a clear error, exit 1. */
Test(load_ws, upgrade_refused_is_a_clear_error)
{
	char url[64];
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u", srv.port);
	const char *argv[] = {"--msgs", "100", "--url", url, NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run_bin(&x, RINGBUS_LOAD_BLOCKING_BIN, argv), 0);
	cr_assert_eq(x.status, 1, "exit %d; stderr: %s", x.status, x.err);
	cr_assert(strstr(x.err, "WebSocket upgrade"), "stderr: %s", x.err);
	load_exec_fini(&x);
}
