/* The configuration file and flags: values, comments, quotes, nats-server's
 * simple syntax, admission sections, and errors that name the line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/admission.h"
#include "router/config.h"

static char path[64];

/* Writes @text to a temporary file and loads it into @c. */
static int load(struct config *c, const char *text)
{
	snprintf(path, sizeof path, "/tmp/ringbus-cfg-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_init(c);
	int ret = config_load_file(c, path);
	unlink(path);
	return ret;
}

Test(config, values_sizes_and_durations_are_parsed)
{
	struct config c;
	cr_assert_eq(load(&c, "port = 4333\nmax_payload = 2M\nping_interval = 1500ms\n"
	                      "auth_timeout = 3\nmax_pending = 128K\nworkers = 3\n"),
	             0);
	cr_assert_eq(c.port, 4333);
	cr_assert_eq(c.max_payload, 2u << 20);
	cr_assert_eq(c.ping_interval_ms, 1500u);
	cr_assert_eq(c.auth_timeout_ms, 3000u);
	cr_assert_eq(c.max_pending, 128u << 10);
	cr_assert_eq(c.workers, 3);
	config_fini(&c);
}

Test(config, nats_server_style_lines_work)
{
	struct config c;
	cr_assert_eq(load(&c, "listen: \"127.0.0.2:4444\"\nping_interval: \"1s\"\nping_max: 3\n"),
	             0);
	cr_assert_str_eq(c.host, "127.0.0.2");
	cr_assert_eq(c.port, 4444);
	cr_assert_eq(c.ping_interval_ms, 1000u);
	cr_assert_eq(c.ping_max, 3u);
	config_fini(&c);
}

Test(config, inline_comments_end_values_but_quotes_keep_them)
{
	struct config c;
	cr_assert_eq(load(&c, "port = 4555   # the client port\npass = \"a #b\"\nuser = u\n"), 0);
	cr_assert_eq(c.port, 4555);
	cr_assert_str_eq(c.pass, "a #b");
	config_fini(&c);
}

Test(config, users_section_collects_every_user)
{
	struct config c;
	cr_assert_eq(load(&c, "[users]\nalice = one\nbob = $2b$04$abcdefghijklmnopqrstuv\n"), 0);
	cr_assert_eq(c.nusers, 2);
	cr_assert_str_eq(c.users[0], "alice");
	cr_assert_str_eq(c.users[1], "one");
	cr_assert_str_eq(c.users[2], "bob");
	config_fini(&c);
}

Test(config, unknown_settings_and_bad_values_are_errors)
{
	static const char *const bad[] = {
	    "prot = 1\n",
	    "port = 70000\n",
	    "port = -1\n",
	    "max_payload = 1T\n",
	    "ping_interval = x\n",
	    "pin = maybe\n",
	    "[weird]\nport = 1\n",
	    "workers = 0\n",
	    "[admission]\nshard = drop-old\n",
	    "[admission]\nsubscriber = sometimes\n",
	    "[policy x]\nsubjects = a..b\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct config c;
		cr_expect_neq(load(&c, bad[i]), 0, "accepted: %s", bad[i]);
		config_fini(&c);
	}
}

Test(config, admission_policies_pick_the_most_specific_pattern)
{
	struct config c;
	cr_assert_eq(load(&c, "[admission]\nsubscriber = drop-new\n"
	                      "[policy wide]\nsubjects = orders.>\nsubscriber = defer\n"
	                      "[policy eu]\nsubjects = orders.eu.>\nsubscriber = drop-old\n"
	                      "[policy star]\nsubjects = orders.*.x\nsubscriber = disconnect\n"),
	             0);
	struct admission *a = NULL;
	cr_assert_eq(admission_new(c.adm, NULL, &a), 0);
	static const struct {
		const char *subject;
		const char *policy;
	} rows[] = {
	    {"orders.eu.x", "eu"},   {"orders.eu.y.z", "eu"}, {"orders.us.x", "star"},
	    {"orders.us.y", "wide"}, {"orders.a", "wide"},    {"payments.x", "default"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct adm_policy *p =
		    admission_lookup(a, rows[i].subject, strlen(rows[i].subject));
		cr_expect_str_eq(p->name, rows[i].policy, "%s", rows[i].subject);
	}
	/* inherited from the [admission] defaults where a policy is silent */
	cr_assert_eq(admission_lookup(a, "payments.x", 10)->sub, ADM_DROP_NEW);
	cr_assert_eq(admission_lookup(a, "orders.a", 8)->sub_low,
	             admission_lookup(a, "orders.a", 8)->sub_high / 2);
	admission_free(a);
	config_fini(&c);
}

Test(config, a_policy_without_subjects_is_refused)
{
	struct config c;
	cr_assert_eq(load(&c, "[policy lonely]\nsubscriber = defer\n"), 0);
	struct admission *a = NULL;
	cr_assert_neq(admission_new(c.adm, NULL, &a), 0);
	config_fini(&c);
}

Test(config, command_line_overrides_the_file)
{
	snprintf(path, sizeof path, "/tmp/ringbus-cfg-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	const char *text = "port = 5000\nworkers = 2\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct config c;
	config_init(&c);
	char *argv[] = {"ringbus", "-p", "6000", "-c", path, "--sub-policy", "drop-old", NULL};
	cr_assert_eq(config_parse_args(&c, 7, argv), 0);
	unlink(path);
	cr_assert_eq(c.port, 6000);
	cr_assert_eq(c.workers, 2);
	struct admission *a = NULL;
	cr_assert_eq(admission_new(c.adm, NULL, &a), 0);
	cr_assert_eq(a->policies[0].sub, ADM_DROP_OLD);
	admission_free(a);
	config_fini(&c);
}

/* Problems handed to a report function instead of stderr (what a reload
 * does, to put them in the log). */
static char reported[8][256];
static int nreported;

static void collect(const char *problem)
{
	if (nreported < 8)
		snprintf(reported[nreported++], sizeof reported[0], "%s", problem);
}

Test(config, problems_go_to_the_report_function_with_their_position)
{
	char file[] = "/tmp/ringbus-cfg-XXXXXX";
	int fd = mkstemp(file);
	cr_assert(fd >= 0);
	const char *text = "port = 4333\nbogus = 1\n[policy p]\nsubscriber = sometimes\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct config c;
	config_init(&c);
	c.report = collect;
	nreported = 0;
	cr_assert_neq(config_load_file(&c, file), 0);
	cr_assert_eq(nreported, 2, "%d problems reported", nreported);
	char want[128];
	snprintf(want, sizeof want, "%s:2: unknown setting 'bogus'", file);
	cr_assert_str_eq(reported[0], want);
	snprintf(want, sizeof want, "%s:4: [policy p] subscriber: ", file);
	cr_assert(strncmp(reported[1], want, strlen(want)) == 0, "%s", reported[1]);
	unlink(file);
	cr_assert_neq(config_load_file(&c, file), 0);
	cr_assert(strstr(reported[2], "cannot open configuration file"), "%s", reported[2]);
	config_fini(&c);

	config_init(&c);
	cr_assert_eq(adm_config_set(c.adm, "policy p", "subjects", "p.>", want, sizeof want), 0);
	cr_assert_eq(adm_config_set(c.adm, "policy p", "subscriber_high", "1M", want, sizeof want),
	             0);
	cr_assert_eq(adm_config_set(c.adm, "policy p", "subscriber_low", "2M", want, sizeof want),
	             0);
	struct admission *a = NULL;
	nreported = 0;
	cr_assert_neq(admission_new(c.adm, collect, &a), 0);
	cr_assert_eq(nreported, 1);
	cr_assert_str_eq(reported[0],
	                 "admission: policy p: subscriber_low must be below subscriber_high");
	config_fini(&c);
}
