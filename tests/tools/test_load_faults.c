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

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	cr_assert(cJSON_IsNumber(v), "no number %s", key);
	return v->valuedouble;
}

Test(load_faults, pubsub_reports_exactly_the_injected_faults_per_subscriber)
{
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++) {
		const struct fault_case *fc = &fault_cases[i];
		struct fake_server *srv;
		uint16_t port;
		cr_assert_eq(fake_server_start(&srv, &fc->f, &port), 0);
		char url[64];
		snprintf(url, sizeof(url), "nats://127.0.0.1:%u", port);
		const char *args[20] = {"pubsub", "--url",   url,      "--pubs", "1",
		                        "--subs", "2",       "--msgs", fc->msgs, "--size",
		                        "32",     "--drain", DRAIN,    NULL};
		if (fc->rate) {
			args[13] = "--rate";
			args[14] = fc->rate;
			args[15] = NULL;
		}
		struct load_exec x;
		cr_assert_eq(load_exec_run(&x, args), 0);
		struct fake_counts c;
		fake_server_stop(srv, &c);
		cr_assert(x.json, "%s: no JSON; stderr: %s", fc->name, x.err);
		double msgs = atof(fc->msgs);
		cr_assert_eq(load_exec_num(&x, NULL, "sent"), msgs, "%s", fc->name);
		cr_assert_eq(c.routed, (uint64_t)msgs, "%s: the fake routed %lu", fc->name,
		             (unsigned long)c.routed);
		cr_assert_eq(load_exec_num(&x, NULL, "lost"), (double)c.dropped, "%s", fc->name);
		cr_assert_eq(load_exec_num(&x, NULL, "duplicated"), (double)c.duplicated, "%s",
		             fc->name);
		cr_assert_eq(load_exec_num(&x, NULL, "out_of_order"), (double)c.reordered, "%s",
		             fc->name);
		cr_assert_eq(load_exec_num(&x, NULL, "delivered"), 2 * msgs - (double)c.dropped,
		             "%s", fc->name);
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
		cr_assert_eq(num(a, "received"), msgs - (double)c.dropped + (double)c.duplicated,
		             "%s", fc->name);
		cr_assert_eq(num(b, "lost") + num(b, "duplicated") + num(b, "out_of_order"), 0,
		             "%s", fc->name);
		cr_assert_eq(num(b, "delivered"), msgs, "%s", fc->name);
		bool faulty = c.dropped || c.duplicated;
		cr_assert_eq(x.status, faulty ? 4 : 0, "%s: exit %d, stderr: %s", fc->name,
		             x.status, x.err);
		if (i > 0)
			cr_assert(c.dropped + c.duplicated + c.reordered > 0,
			          "%s: nothing injected", fc->name);
		load_exec_fini(&x);
	}
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
};

Test(load_cli, help_and_bad_flags_have_their_exit_status)
{
	for (size_t i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
		const struct usage_case *u = &usage_cases[i];
		struct load_exec x;
		cr_assert_eq(load_exec_run(&x, u->args), 0);
		cr_assert_eq(x.status, u->status, "case %zu: exit %d", i, x.status);
		const char *where = u->status ? x.err : x.out;
		cr_assert(strstr(where, u->text), "case %zu: '%s' not in: %s", i, u->text, where);
		load_exec_fini(&x);
	}
}
