/* ringbus-load against a fault-injecting fake server: the loss, duplicate
 * and reorder counts it reports are exactly the faults injected; errors are
 * reported clearly with the documented exit status. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/tools/fake_server.h"
#include "tests/tools/load_exec.h"
#include "tests/json_member.h"

/* How long ringbus-load waits at the end for messages still on their way
 * (and for any progress while sending) before it counts what did not come as
 * lost. A run with drops always waits all of it, so it is a few seconds, not
 * the tool's default: enough for a busy machine, where a fraction of a second
 * was not (late messages were counted as lost). */
#define DRAIN "2s"

struct fault_case {
	const char *name;
	struct fake_faults f;
	const char *rate; /* NULL: closed loop */
	const char *msgs;
};

static const struct fault_case fault_cases[] = {
    {"nothing", {0}, NULL, "20000"},
    {"drops", {.drop_every = 97, .drop_at = 13}, NULL, "20000"},
    {"duplicates", {.dup_every = 101, .dup_at = 7}, NULL, "20000"},
    {"reorders", {.swap_every = 89, .swap_at = 5}, NULL, "20000"},
    {"all three",
     {.drop_every = 97,
      .drop_at = 13,
      .dup_every = 101,
      .dup_at = 7,
      .swap_every = 89,
      .swap_at = 5},
     NULL,
     "20000"},
    {"all three, open loop",
     {.drop_every = 53, .drop_at = 1, .dup_every = 61, .dup_at = 2, .swap_every = 47, .swap_at = 3},
     "20k",
     "6000"},
    {"a dropped tail", {.drop_every = 1000, .drop_at = 999}, NULL, "3000"},
};

static const cJSON *receivers(const struct load_exec *x, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(x->json, key);
	cr_assert(cJSON_IsArray(a), "no %s array in the report", key);
	return a;
}

/* Runs @bin (ringbus-load pubsub or ringbus-load-blocking) against a fake
 * server injecting @fc's faults and checks that the counts reported are the
 * faults injected, per subscriber. @extra: more arguments (NULL-terminated).
 * @order_fails: out-of-order deliveries alone make the exit status 4. */
static void check_fault_case(const char *bin, const char *const *lead, const struct fault_case *fc,
                             const char *const *extra, bool order_fails)
{
	struct fake_server *srv;
	uint16_t port;
	cr_assert_eq(fake_server_start(&srv, &fc->f, &port), 0);
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
	const char *args[40];
	size_t n = 0;
	for (; lead[n]; n++)
		args[n] = lead[n];
	const char *common[] = {"--url",  url,      "--pubs", "1",       "--subs", "2", "--msgs",
	                        fc->msgs, "--size", "32",     "--drain", DRAIN,    NULL};
	for (size_t i = 0; common[i]; i++)
		args[n++] = common[i];
	if (fc->rate) {
		args[n++] = "--rate";
		args[n++] = fc->rate;
	}
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	struct load_exec x;
	cr_assert_eq(load_exec_run_bin(&x, bin, args), 0);
	struct fake_counts c;
	fake_server_stop(srv, &c);
	cr_assert(x.json, "%s: no JSON; stderr: %s", fc->name, x.err);
	double msgs = atof(fc->msgs);
	cr_assert_eq(load_exec_num(&x, NULL, "sent"), msgs, "%s", fc->name);
	cr_assert_eq(c.routed, (uint64_t)msgs, "%s: the fake routed %lu", fc->name,
	             (unsigned long)c.routed);
	cr_assert_eq(load_exec_num(&x, NULL, "lost"), (double)c.dropped, "%s", fc->name);
	cr_assert_eq(load_exec_num(&x, NULL, "duplicated"), (double)c.duplicated, "%s", fc->name);
	cr_assert_eq(load_exec_num(&x, NULL, "out_of_order"), (double)c.reordered, "%s", fc->name);
	cr_assert_eq(load_exec_num(&x, NULL, "delivered"), 2 * msgs - (double)c.dropped, "%s",
	             fc->name);
	/* One subscriber took every fault, the other none. */
	const cJSON *subs = receivers(&x, "subscribers");
	cr_assert_eq(cJSON_GetArraySize(subs), 2);
	const cJSON *a = cJSON_GetArrayItem(subs, 0), *b = cJSON_GetArrayItem(subs, 1);
	if (num(a, "delivered") > num(b, "delivered") ||
	    (num(a, "delivered") == num(b, "delivered") &&
	     num(a, "duplicated") + num(a, "out_of_order") <
	         num(b, "duplicated") + num(b, "out_of_order"))) {
		const cJSON *t = a;
		a = b;
		b = t;
	}
	cr_assert_eq(num(a, "lost"), (double)c.dropped, "%s", fc->name);
	cr_assert_eq(num(a, "duplicated"), (double)c.duplicated, "%s", fc->name);
	cr_assert_eq(num(a, "out_of_order"), (double)c.reordered, "%s", fc->name);
	cr_assert_eq(num(a, "received"), msgs - (double)c.dropped + (double)c.duplicated, "%s",
	             fc->name);
	cr_assert_eq(num(b, "lost") + num(b, "duplicated") + num(b, "out_of_order"), 0, "%s",
	             fc->name);
	cr_assert_eq(num(b, "delivered"), msgs, "%s", fc->name);
	bool faulty = c.dropped || c.duplicated || (order_fails && c.reordered);
	cr_assert_eq(x.status, faulty ? 4 : 0, "%s: exit %d, stderr: %s", fc->name, x.status,
	             x.err);
	if (fc->f.drop_every || fc->f.dup_every || fc->f.swap_every)
		cr_assert(c.dropped + c.duplicated + c.reordered > 0, "%s: nothing injected",
		          fc->name);
	load_exec_fini(&x);
}

static const char *const pubsub_lead[] = {"pubsub", NULL};
static const char *const no_lead[] = {NULL};

Test(load_faults, pubsub_reports_exactly_the_injected_faults_per_subscriber)
{
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++)
		check_fault_case(RINGBUS_LOAD_BIN, pubsub_lead, &fault_cases[i], NULL, false);
}

Test(load_faults, blocking_client_reports_exactly_the_injected_faults_and_fails_on_any)
{
	static const char *const no_window[] = {"--window", "0", NULL};
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++) {
		check_fault_case(RINGBUS_LOAD_BLOCKING_BIN, no_lead, &fault_cases[i], NULL, true);
		if (!fault_cases[i].rate)
			check_fault_case(RINGBUS_LOAD_BLOCKING_BIN, no_lead, &fault_cases[i],
			                 no_window, true);
	}
}

/* The fake swaps consecutive messages of the first subscriber. A publisher
 * cycling over 4 subjects puts consecutive messages on different subjects:
 * only an order check per publisher across subjects sees the swaps. */
Test(load_faults, wildcard_subscribers_see_order_broken_across_subjects)
{
	static const struct fault_case swaps = {
	    "swaps across subjects", {.swap_every = 89, .swap_at = 5}, NULL, "20000"};
	static const char *const wildcard[] = {"--subjects", "4", "--sub-subject", "load.>", NULL};
	check_fault_case(RINGBUS_LOAD_BIN, pubsub_lead, &swaps, wildcard, false);
	check_fault_case(RINGBUS_LOAD_BLOCKING_BIN, no_lead, &swaps, wildcard, true);
}

Test(load_faults, blocking_client_counts_a_closed_subscriber_as_lost)
{
	struct fake_faults f = {.close_after = 500};
	struct fake_server *srv;
	uint16_t port;
	cr_assert_eq(fake_server_start(&srv, &f, &port), 0);
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
	const char *args[] = {"--url",  url,  "--subs",  "2",   "--msgs", "5000",
	                      "--size", "32", "--drain", DRAIN, NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run_bin(&x, RINGBUS_LOAD_BLOCKING_BIN, args), 0);
	fake_server_stop(srv, NULL);
	cr_assert(x.json, "no JSON; stderr: %s", x.err);
	cr_assert_eq(x.status, 4, "exit %d, stderr: %s", x.status, x.err);
	cr_assert(strstr(x.err, "closed the connection"), "stderr: %s", x.err);
	cr_assert_eq(load_exec_num(&x, NULL, "closed_by_server"), 1);
	const cJSON *subs = receivers(&x, "subscribers");
	double closed = 0, lost = 0;
	for (int i = 0; i < cJSON_GetArraySize(subs); i++) {
		const cJSON *s = cJSON_GetArrayItem(subs, i);
		bool c = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "closed_by_server"));
		closed += c;
		if (c) {
			cr_assert_leq(num(s, "delivered"), 500);
			cr_assert_eq(num(s, "lost"), 5000 - num(s, "delivered"));
		} else {
			cr_assert_eq(num(s, "delivered"), 5000);
		}
		lost += num(s, "lost");
	}
	cr_assert_eq(closed, 1);
	cr_assert_eq(load_exec_num(&x, NULL, "lost"), lost);
	cr_assert_geq(lost, 4500);
	load_exec_fini(&x);
}

Test(load_faults, reqrep_counts_lost_duplicated_and_reordered_replies)
{
	struct fake_faults f = {.drop_every = 41,
	                        .drop_at = 3,
	                        .dup_every = 43,
	                        .dup_at = 4,
	                        .swap_every = 37,
	                        .swap_at = 6};
	struct fake_server *srv;
	uint16_t port;
	cr_assert_eq(fake_server_start(&srv, &f, &port), 0);
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
	const char *args[] = {"reqrep", "--url", url,      "--clients", "1",       "--rate", "10k",
	                      "--msgs", "3000",  "--size", "24",        "--drain", DRAIN,    NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run(&x, args), 0);
	struct fake_counts c;
	fake_server_stop(srv, &c);
	cr_assert(x.json, "no JSON; stderr: %s", x.err);
	cr_assert_eq(c.routed, 3000);
	cr_assert(c.dropped && c.duplicated && c.reordered);
	cr_assert_eq(load_exec_num(&x, NULL, "sent"), 3000);
	cr_assert_eq(load_exec_num(&x, NULL, "lost"), (double)c.dropped);
	cr_assert_eq(load_exec_num(&x, NULL, "duplicated"), (double)c.duplicated);
	cr_assert_eq(load_exec_num(&x, NULL, "out_of_order"), (double)c.reordered);
	cr_assert_eq(load_exec_num(&x, NULL, "delivered"), 3000 - (double)c.dropped);
	cr_assert_eq(x.status, 4);
	load_exec_fini(&x);
}

Test(load_errors, a_server_closing_the_connection_fails_the_run)
{
	struct fake_faults f = {.close_after = 500};
	struct fake_server *srv;
	uint16_t port;
	cr_assert_eq(fake_server_start(&srv, &f, &port), 0);
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
	const char *args[] = {"pubsub", "--url", url, "--msgs", "100000", NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run(&x, args), 0);
	fake_server_stop(srv, NULL);
	cr_assert_eq(x.status, 1, "exit %d", x.status);
	cr_assert(strstr(x.err, "closed the connection"), "stderr: %s", x.err);
	cr_assert(x.json && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x.json, "error")));
	load_exec_fini(&x);
}

Test(load_errors, no_server_listening_is_a_clear_error)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd); /* bound, never listened: nothing accepts on this port now */
	char url[64];
	snprintf(url, sizeof(url), "nats://127.0.0.1:%u", ntohs(a.sin_port));
	const char *args[] = {"pubsub", "--url", url, "--msgs", "10", NULL};
	struct load_exec x;
	cr_assert_eq(load_exec_run(&x, args), 0);
	cr_assert_eq(x.status, 1);
	cr_assert(strstr(x.err, "cannot connect") && strstr(x.err, "refused"), "stderr: %s", x.err);
	load_exec_fini(&x);
}

struct usage_case {
	const char *args[6];
	int status;
	const char *text; /* expected in stdout (status 0) or stderr */
};

static const struct usage_case usage_cases[] = {
    {{"pubsub", "--help"}, 0, "usage: ringbus-load pubsub"},
    {{"reqrep", "--help"}, 0, "usage: ringbus-load reqrep"},
    {{"pub", "--help"}, 0, "usage: ringbus-load pub "},
    {{"sub", "--help"}, 0, "usage: ringbus-load sub "},
    {{"--help"}, 0, "usage: ringbus-load <command>"},
    {{"pubsub", "--size", "8"}, 2, "invalid value for --size"},
    {{"pubsub", "--rate", "fast"}, 2, "invalid value for --rate"},
    {{"pubsub", "--url", "http://x"}, 2, "invalid value for --url"},
    {{"pub", "--queue", "g"}, 2, "does not apply"},
    {{"pubsub", "--bogus"}, 2, "unknown option"},
    {{"frobnicate"}, 2, "unknown command"},
    {{"pubsub", "--sub-subject", "other.>"}, 2, "matches none"},
    {{"pub", "--sub-subject", "load.>"}, 2, "does not apply"},
};

static const struct usage_case blocking_usage_cases[] = {
    {{"--help"}, 0, "usage: ringbus-load-blocking"},
    {{"--window", "-1"}, 2, "invalid value for --window"},
    {{"--threads", "2"}, 2, "does not apply"},
    {{"--sub-subject", "load.>.x"}, 2, "invalid value for --sub-subject"},
    {{"--sub-subject", "other.*"}, 2, "matches none"},
    {{"--pub-subject-per-pub", "--pubs", "2", "--subjects", "3"}, 2, "leave out --subjects"},
    {{"--bogus"}, 2, "unknown option"},
};

static void check_usage(const char *bin, const struct usage_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct usage_case *u = &cases[i];
		struct load_exec x;
		cr_assert_eq(load_exec_run_bin(&x, bin, u->args), 0);
		cr_assert_eq(x.status, u->status, "case %zu: exit %d", i, x.status);
		const char *where = u->status ? x.err : x.out;
		cr_assert(strstr(where, u->text), "case %zu: '%s' not in: %s", i, u->text, where);
		load_exec_fini(&x);
	}
}

Test(load_cli, help_and_bad_flags_have_their_exit_status)
{
	check_usage(RINGBUS_LOAD_BIN, usage_cases, sizeof(usage_cases) / sizeof(usage_cases[0]));
	check_usage(RINGBUS_LOAD_BLOCKING_BIN, blocking_usage_cases,
	            sizeof(blocking_usage_cases) / sizeof(blocking_usage_cases[0]));
}
