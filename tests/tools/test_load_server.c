/* ringbus-load and ringbus-load-blocking against a real server (nats-server
 * or ringbus, chosen by the integration harness): exact counts in the JSON
 * report, auth errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

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

/* Runs @bin with @args (its --url is added) and checks the counts. */
static void run_exact_bin(const char *bin, const char *const *args, double sent, double delivered,
                          bool ordered)
{
	const char *argv[40];
	size_t n = 0;
	for (; args[n]; n++)
		argv[n] = args[n];
	argv[n++] = "--url";
	argv[n++] = srv.url;
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
