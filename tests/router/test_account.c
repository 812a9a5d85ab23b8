/* Accounts (router/account.h): the table a configuration gives (prefixes
 * that are single tokens and never repeat, imports turned into rules of
 * the right account), the subjects the rules map to, and the replies of
 * service imports (one answer each, forgotten when their time is up). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router/account.h"
#include "router/conf/config.h"
#include "router/index/subject.h"

static struct config_import imp(bool service, const char *acc, const char *subj, const char *to,
                                const char *prefix)
{
	return (struct config_import){.service = service,
	                              .account = (char *)acc,
	                              .subject = (char *)subj,
	                              .to = (char *)to,
	                              .prefix = (char *)prefix};
}

/* A: exports; B imports news.> with a prefix and help.> as ask.>; C
 * imports news.sports as sports. */
static struct acc_table *table(void)
{
	static struct config_import bi[2], ci[1];
	static struct config_account acc[4];
	bi[0] = imp(false, "A", "news.>", NULL, "fromA");
	bi[1] = imp(true, "A", "help.>", "ask.>", NULL);
	ci[0] = imp(false, "A", "news.sports", "sports", NULL);
	acc[0] = (struct config_account){.name = "A"};
	acc[1] = (struct config_account){.name = "B", .imports = bi, .nimports = 2};
	acc[2] = (struct config_account){.name = "C", .imports = ci, .nimports = 1};
	acc[3] = (struct config_account){.name = "SYS"};
	struct config c = {.accounts = acc, .naccounts = 4, .system_account = "SYS"};
	struct acc_table *t = acc_table_new(&c, NULL);
	cr_assert_not_null(t);
	return t;
}

static void map_eq(const struct acc_rule *r, const char *subj, const char *want)
{
	char out[256];
	size_t n = acc_rule_map(r, subj, strlen(subj), out, sizeof(out));
	out[n] = 0;
	cr_expect_str_eq(out, want, "%s maps to %s, want %s", subj, out, want);
}

Test(account, the_table_names_every_account_and_turns_imports_into_rules)
{
	struct acc_table *t = table();
	cr_expect(acc_on(t));
	cr_expect_eq(t->n, 5);
	cr_expect_eq(acc_find(t, "$G"), ACC_GLOBAL);
	cr_expect_eq(acc_find(t, "B"), 2);
	cr_expect_eq(acc_find(t, "nope"), -1);
	cr_expect_eq(t->system, 4);
	/* A's publishes feed B's and C's stream imports; B's requests go to A */
	const struct account *a = &t->acc[1], *b = &t->acc[2], *c = &t->acc[3];
	cr_assert_eq(a->nrules, 2);
	cr_expect_eq(a->rules[0].target, 2);
	cr_expect_not(a->rules[0].service);
	cr_expect_eq(a->rules[1].target, 3);
	cr_assert_eq(b->nrules, 1);
	cr_expect(b->rules[0].service);
	cr_expect_eq(b->rules[0].target, 1);
	cr_expect_str_eq(b->rules[0].match, "ask.>");
	cr_expect_eq(c->nrules, 0);
	map_eq(&a->rules[0], "news.tech", "fromA.news.tech");
	map_eq(&a->rules[1], "news.sports", "sports");
	map_eq(&b->rules[0], "ask.q", "help.q");
	map_eq(&b->rules[0], "ask.a.b.c", "help.a.b.c");
	acc_table_free(t);
}

Test(account, prefixes_are_one_token_each_and_never_repeat)
{
	static struct config_account acc[ACC_MAX - 1];
	static char names[ACC_MAX - 1][8];
	for (int i = 0; i < ACC_MAX - 1; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		acc[i] = (struct config_account){.name = names[i]};
	}
	struct config c = {.accounts = acc, .naccounts = ACC_MAX - 1};
	struct acc_table *t = acc_table_new(&c, NULL);
	cr_assert_not_null(t);
	for (int i = 0; i < t->n; i++) {
		const char *p = t->acc[i].prefix;
		cr_assert_eq(strlen(p), ACC_PREFIX_LEN);
		cr_assert_eq(p[ACC_PREFIX_LEN - 1], '.');
		/* a literal token: no wildcard, no separator inside */
		cr_assert(subject_valid_pub(p, ACC_PREFIX_LEN - 1), "prefix %d: %s", i, p);
		cr_assert_null(memchr(p, '.', ACC_PREFIX_LEN - 1));
		if (i)
			cr_assert_neq(strcmp(p, t->acc[i - 1].prefix), 0);
	}
	/* every pair distinct: the prefixes are the index in base 64 */
	cr_expect_str_neq(t->acc[1].prefix, t->acc[65].prefix);
	acc_table_free(t);
	c.naccounts = ACC_MAX; /* one too many with $G */
	struct config_account more[ACC_MAX];
	for (int i = 0; i < ACC_MAX; i++)
		more[i] = (struct config_account){.name = "x"};
	c.accounts = more;
	cr_expect_null(acc_table_new(&c, NULL));
}

Test(account, without_accounts_nothing_is_prefixed)
{
	struct config c = {0};
	struct acc_table *t = acc_table_new(&c, NULL);
	cr_assert_not_null(t);
	cr_expect_not(acc_on(t));
	cr_expect_eq(t->n, 1);
	cr_expect_eq(t->system, -1);
	acc_table_free(t);
}

Test(account, wildcards_map_in_order)
{
	struct acc_rule r = {.match = "in.*.x.>", .map = "out.>.y.*"};
	/* the first wildcard of map takes what the first of match caught */
	map_eq(&r, "in.a.x.b.c", "out.a.y.b.c");
	struct acc_rule dollar = {.match = "in.*.*", .map = "out.$2.$1"};
	map_eq(&dollar, "in.a.b", "out.b.a");
	struct acc_rule lit = {.match = "a.b", .map = "c"};
	map_eq(&lit, "a.b", "c");
	char small[4];
	cr_expect_eq(acc_rule_map(&r, "in.abc.x.def", 12, small, sizeof(small)), 0,
	             "too long for the buffer");
}

Test(account, a_reply_is_answered_once_and_only_by_its_subject)
{
	struct acc_replies r;
	cr_assert_eq(acc_replies_init(&r, 1000), 0);
	char s1[ACC_REPLY_LEN], s2[ACC_REPLY_LEN], out[64];
	cr_assert(acc_reply_add(&r, 2, "_INBOX.b.1", 10, 0, s1));
	cr_assert(acc_reply_add(&r, 3, "_INBOX.c.1", 10, 0, s2));
	cr_expect_neq(memcmp(s1, s2, ACC_REPLY_LEN), 0);
	cr_expect_eq(memcmp(s1, "_R_.", 4), 0);
	cr_expect(subject_valid_pub(s1, ACC_REPLY_LEN));
	uint16_t acc;
	size_t len;
	cr_assert(acc_reply_take(&r, s2, ACC_REPLY_LEN, 1, &acc, out, sizeof(out), &len));
	cr_expect_eq(acc, 3);
	cr_expect_eq(len, 10);
	cr_expect_eq(memcmp(out, "_INBOX.c.1", 10), 0);
	cr_expect_not(acc_reply_take(&r, s2, ACC_REPLY_LEN, 2, &acc, out, sizeof(out), &len),
	              "a second answer is not carried");
	char forged[ACC_REPLY_LEN];
	memcpy(forged, s1, ACC_REPLY_LEN);
	forged[5] = forged[5] == 'A' ? 'B' : 'A';
	cr_expect_not(acc_reply_take(&r, forged, ACC_REPLY_LEN, 2, &acc, out, sizeof(out), &len));
	cr_expect_not(acc_reply_take(&r, "_R_.short", 9, 2, &acc, out, sizeof(out), &len));
	cr_expect_eq(r.n, 1);
	/* s1's time is up at 1000 ns */
	cr_expect_not(acc_reply_take(&r, s1, ACC_REPLY_LEN, 1000, &acc, out, sizeof(out), &len));
	cr_expect_eq(r.n, 0);
	cr_expect_eq(r.expired, 1);
	acc_replies_fini(&r);
}

Test(account, many_replies_in_flight_are_each_found)
{
	struct acc_replies r;
	cr_assert_eq(acc_replies_init(&r, 1000000), 0);
	enum { N = 5000 };
	static char subj[N][ACC_REPLY_LEN];
	char reply[32], out[32];
	for (int i = 0; i < N; i++) {
		int n = snprintf(reply, sizeof(reply), "_INBOX.%d", i);
		cr_assert(acc_reply_add(&r, (uint16_t)(i % 7), reply, (size_t)n, 0, subj[i]));
	}
	/* answered in another order than asked */
	for (int k = 0; k < N; k++) {
		int i = (k * 7919) % N;
		uint16_t acc;
		size_t len;
		cr_assert(
		    acc_reply_take(&r, subj[i], ACC_REPLY_LEN, 1, &acc, out, sizeof(out), &len));
		int n = snprintf(reply, sizeof(reply), "_INBOX.%d", i);
		cr_assert_eq(len, (size_t)n);
		cr_assert_eq(memcmp(out, reply, len), 0);
		cr_assert_eq(acc, i % 7);
	}
	cr_expect_eq(r.n, 0);
	acc_replies_fini(&r); /* ASan: nothing left */
}

/* A reload's table: every account keeps its number (its token in the
 * index), a removed one keeps its slot marked gone, a new one comes after;
 * the rules are the new configuration's. */
Test(account, a_reload_keeps_every_accounts_number)
{
	struct acc_table *t0 = table(); /* $G A B C SYS */
	static struct config_import ci[1];
	ci[0] = imp(false, "A", "other.>", NULL, NULL);
	struct config_account acc[3] = {
	    {.name = "SYS"}, {.name = "NEW"}, {.name = "C", .imports = ci, .nimports = 1}};
	acc[0].name = "SYS";
	struct config_account with_a[4] = {acc[0], acc[1], acc[2], {.name = "A"}};
	struct config c = {.accounts = with_a, .naccounts = 4, .system_account = "NEW"};
	struct acc_table *t1 = acc_table_new(&c, t0);
	cr_assert_not_null(t1);
	cr_expect_eq(t1->n, 6);
	for (int i = 0; i < t0->n; i++) {
		cr_expect_str_eq(t1->acc[i].name, t0->acc[i].name, "account %d renamed", i);
		cr_expect_str_eq(t1->acc[i].prefix, t0->acc[i].prefix, "token of %d changed", i);
	}
	cr_expect_eq(acc_find(t1, "NEW"), 5);
	cr_expect_eq(t1->system, 5);
	cr_expect(t1->acc[2].gone, "B was removed");
	cr_expect_not(t1->acc[1].gone);
	cr_expect_not(t1->acc[3].gone);
	/* the new rules: A's stream goes to C only now */
	cr_assert_eq(t1->acc[1].nrules, 1);
	cr_expect_eq(t1->acc[1].rules[0].target, 3);
	cr_expect_str_eq(t1->acc[1].rules[0].match, "other.>");
	cr_expect_eq(t1->acc[2].nrules, 0);
	acc_table_free(t0);
	acc_table_free(t1);
}
