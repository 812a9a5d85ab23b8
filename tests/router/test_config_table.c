/* The table of settings itself: every row complete, no key or flag twice
 * (across the admission table and the unsupported flags too), and every
 * flag and top-level key of nats-server 2.9.10 either supported or refused
 * with advice. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router/admission.h"
#include "router/conf/table.h"

static char problems[16][256];
static int nproblems;

static void collect(const char *problem)
{
	if (nproblems < 16)
		snprintf(problems[nproblems], sizeof(problems[0]), "%s", problem);
	nproblems++;
}

Test(config_table, every_row_has_a_key_or_flag_help_and_a_reader)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	nproblems = 0;
	int bad = config_table_check(rows, n, collect);
	cr_assert_eq(bad, 0, "%d problems, the first: %s", bad, problems[0]);
	for (size_t i = 0; i < n; i++) {
		cr_expect(rows[i].key || rows[i].flags || rows[i].rb_flags || rows[i].off_flags,
		          "row %zu", i);
		cr_expect(rows[i].help && rows[i].help[0], "row %zu has no help", i);
	}
}

Test(config_table, duplicates_and_incomplete_rows_are_detected)
{
	static const struct config_row rows[] = {
	    {.key = "port",
	     .block = CONFIG_B_TOP,
	     .flags = "p",
	     .arg = "N",
	     .type = CONFIG_T_INT,
	     .help = "a"},
	    {.key = "PORT", .block = CONFIG_B_TOP, .type = CONFIG_T_INT, .help = "same key"},
	    {.key = "other",
	     .aliases = "port_alias",
	     .block = CONFIG_B_TLS,
	     .flags = "p",
	     .arg = "N",
	     .type = CONFIG_T_INT,
	     .help = "same flag"},
	    {.key = "x",
	     .aliases = "port_alias",
	     .block = CONFIG_B_TLS,
	     .type = CONFIG_T_INT,
	     .help = "same alias in one block"},
	    {.key = "port",
	     .block = CONFIG_B_TLS,
	     .type = CONFIG_T_INT,
	     .help = "the same key in another block is fine"},
	    {.type = CONFIG_T_BOOL, .help = "neither key nor flag"},
	    {.key = "nohelp", .block = CONFIG_B_TOP, .type = CONFIG_T_BOOL},
	    {.key = "custom", .block = CONFIG_B_TOP, .type = CONFIG_T_CUSTOM, .help = "no reader"},
	    {.flags = "q", .type = CONFIG_T_INT, .help = "a value without an argument name"},
	    {.flags = "b", .arg = "X", .type = CONFIG_T_BOOL, .help = "a bool with an argument"},
	};
	nproblems = 0;
	int bad = config_table_check(rows, RB_ARRAY_LEN(rows), collect);
	cr_expect_eq(bad, 8, "%d problems", bad);
	const char *want[] = {"key \"port\" is declared twice",
	                      "flag \"p\" is declared twice",
	                      "key \"port_alias\" is declared twice",
	                      "neither a key nor a flag",
	                      "no help text",
	                      "custom without a reader",
	                      "names no argument",
	                      "a boolean that takes an argument"};
	for (size_t i = 0; i < RB_ARRAY_LEN(want); i++) {
		bool found = false;
		for (int j = 0; j < nproblems && j < 16; j++)
			found |= strstr(problems[j], want[i]) != NULL;
		cr_expect(found, "no problem says \"%s\"", want[i]);
	}
}

/* Each word of @list to @fn. */
static void each_word(const char *list, void (*fn)(const char *word, void *arg), void *arg)
{
	char word[64];
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (n)
			fn(word, arg);
		p += n + (p[n] == ' ');
	}
}

static void no_other_table(const char *flag, void *arg)
{
	(void)arg;
	cr_expect_null(adm_row_by_flag(flag), "-%s is in both tables", flag);
	cr_expect_null(config_unsupported_flag(flag), "-%s is supported and unsupported", flag);
}

Test(config_table, a_flag_is_in_one_table_only)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	for (size_t i = 0; i < n; i++) {
		each_word(rows[i].flags, no_other_table, NULL);
		each_word(rows[i].rb_flags, no_other_table, NULL);
		each_word(rows[i].off_flags, no_other_table, NULL);
	}
	const struct adm_row *adm = adm_rows(&n);
	for (size_t i = 0; i < n; i++) {
		bool off;
		if (!adm[i].flag)
			continue;
		cr_expect_null(config_row_by_flag(adm[i].flag, &off), "--%s", adm[i].flag);
		cr_expect_null(config_unsupported_flag(adm[i].flag), "--%s", adm[i].flag);
		for (size_t j = i + 1; j < n; j++)
			cr_expect(!adm[j].flag || strcmp(adm[i].flag, adm[j].flag), "--%s twice",
			          adm[i].flag);
	}
}

/* nats-server 2.9.10's flags: `nats-server -X=zz` for each name of its
 * source's ConfigureOptions answers anything but "flag provided but not
 * defined". */
static const char nats_flags[] =
    "h help port p addr a net n name server_name client_advertise D debug V trace VV DV DVV "
    "T logtime user pass auth m http_port ms https_port c config t sl signal P pid "
    "ports_file_dir l log log_size_limit max_traced_msg_len s syslog r remote_syslog version "
    "v profile routes cluster cluster_listen cluster_advertise no_advertise connect_retries "
    "cluster_name help_tls tls tlsverify tlscert tlskey tlscacert js jetstream sd store_dir";

static void flag_is_known(const char *flag, void *arg)
{
	(void)arg;
	bool off;
	cr_expect(config_row_by_flag(flag, &off) || config_unsupported_flag(flag),
	          "nats-server's -%s is neither supported nor refused with advice", flag);
}

Test(config_table, every_nats_server_flag_is_supported_or_refused_with_advice)
{
	each_word(nats_flags, flag_is_known, NULL);
}

/* nats-server 2.9.10's top-level keys (processConfigFileLine). */
static const char nats_keys[] =
    "listen client_advertise port server_name host net debug trace trace_verbose logtime "
    "mappings maps disable_sublist_cache no_sublist_cache accounts authorization http https "
    "http_port monitor_port https_port http_base_path cluster gateway leaf leafnodes "
    "store_dir storedir jetstream logfile log_file logfile_size_limit log_size_limit syslog "
    "remote_syslog pidfile pid_file ports_file_dir prof_port max_control_line max_payload "
    "max_pending max_connections max_conn max_traced_msg_len max_subscriptions max_subs "
    "max_sub_tokens max_subscription_tokens ping_interval ping_max tls ocsp allow_non_tls "
    "write_deadline lame_duck_duration lame_duck_grace_period operator operators roots root "
    "root_operators root_operator resolver account_resolver accounts_resolver resolver_tls "
    "resolver_preload resolver_pinned_accounts no_auth_user system_account system "
    "no_system_account no_system no_sys_acc no_header_support trusted trusted_keys "
    "connect_error_reports reconnect_error_reports websocket ws mqtt server_tags "
    "default_js_domain";

static void key_is_known(const char *key, void *arg)
{
	(void)arg;
	cr_expect(config_row_by_key(CONFIG_B_TOP, key) || config_unsupported_key(CONFIG_B_TOP, key),
	          "nats-server's key %s is neither supported nor refused with advice", key);
}

Test(config_table, every_nats_server_top_level_key_is_supported_or_refused_with_advice)
{
	each_word(nats_keys, key_is_known, NULL);
	/* keys are looked up ignoring case, as nats-server does */
	cr_expect_not_null(config_row_by_key(CONFIG_B_TOP, "Max_Payload"));
	cr_expect_not_null(config_unsupported_key(CONFIG_B_TOP, "JetStream"));
}

Test(config_table, lookups_find_aliases_and_off_flags)
{
	bool off = true;
	cr_expect_str_eq(config_row_by_key(CONFIG_B_TOP, "max_conn")->key, "max_connections");
	cr_expect_str_eq(config_row_by_key(CONFIG_B_TOP, "monitor_port")->key, "http_port");
	cr_expect_str_eq(config_row_by_key(CONFIG_B_AUTH, "username")->key, "user");
	cr_expect_null(config_row_by_key(CONFIG_B_TOP, "user"), "user belongs in authorization");
	cr_expect_str_eq(config_row_by_flag("addr", &off)->key, "host");
	cr_expect(!off);
	cr_expect_str_eq(config_row_by_flag("no-pin", &off)->key, "pin");
	cr_expect(off);
	cr_expect_null(config_row_by_flag("bogus", &off));
}
