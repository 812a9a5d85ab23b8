/* The permission matcher against a brute-force reference: over every
 * subject of a small alphabet (1 to 3 tokens of a, b, *, >), a pattern
 * covers a subscription exactly when every literal subject the subscription
 * matches is matched by the pattern, and two patterns overlap exactly when
 * some literal subject matches both. Then the checks the router makes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router/index/subject.h"
#include "router/perm.h"

/* Every subject of 1..@max tokens over @alpha (n letters). */
static int all_subjects(const char *const *alpha, int n, int max, char out[][16])
{
	int k = 0;
	for (int len = 1; len <= max; len++) {
		int total = 1;
		for (int i = 0; i < len; i++)
			total *= n;
		for (int v = 0; v < total; v++) {
			char buf[16] = "";
			for (int i = 0, x = v; i < len; i++, x /= n) {
				if (i)
					strcat(buf, ".");
				strcat(buf, alpha[x % n]);
			}
			snprintf(out[k++], 16, "%s", buf);
		}
	}
	return k;
}

static bool valid_pattern(const char *s)
{
	return subject_valid_sub(s, strlen(s));
}

Test(perm, covers_and_overlaps_agree_with_brute_force)
{
	static const char *const pats[] = {"a", "b", "*", ">"};
	static const char *const lits[] = {"a", "b", "c"};
	/* literal subjects up to 5 tokens: longer than any pattern, so '>' is
	 * told from '*.*.*' */
	static char P[128][16], L[400][16];
	int np = all_subjects(pats, 4, 3, P), nl = all_subjects(lits, 3, 5, L);
	int checked = 0;
	for (int i = 0; i < np; i++) {
		if (!valid_pattern(P[i]))
			continue;
		for (int j = 0; j < np; j++) {
			if (!valid_pattern(P[j]))
				continue;
			bool every = true, some = false;
			for (int k = 0; k < nl; k++) {
				size_t lk = strlen(L[k]);
				bool in_j = subject_matches(P[j], strlen(P[j]), L[k], lk);
				bool in_i = subject_matches(P[i], strlen(P[i]), L[k], lk);
				if (in_j && !in_i)
					every = false;
				if (in_i && in_j)
					some = true;
			}
			cr_expect_eq(perm_pattern_covers(P[i], strlen(P[i]), P[j], strlen(P[j])),
			             every, "%s covers %s", P[i], P[j]);
			cr_expect_eq(perm_patterns_overlap(P[i], strlen(P[i]), P[j], strlen(P[j])),
			             some, "%s overlaps %s", P[i], P[j]);
			checked++;
		}
	}
	cr_expect_gt(checked, 1000);
}

static struct perm_entry E(const char *s, const char *q) {
	return (struct perm_entry){.subject = (char *)s, .queue = (char *)q};
}

Test(perm, the_checks_follow_nats_server)
{
	struct perm_entry pub_allow[] = {E("foo.>", NULL)}, pub_deny[] = {E("foo.secret", NULL)};
	struct perm_entry sub_allow[] = {E("x.>", NULL), E("jobs.*", "workers")};
	struct perm_entry sub_deny[] = {E("x.secret", NULL), E("x.*", "bad")};
	struct perms p = {
	    .pub = {.set = true, .has_allow = true, .allow = {pub_allow, 1}, .deny = {pub_deny, 1}},
	    .sub = {.set = true, .has_allow = true, .allow = {sub_allow, 2}, .deny = {sub_deny, 2}},
	};
	cr_expect(perm_can_publish(&p, "foo.a", 5));
	cr_expect_not(perm_can_publish(&p, "foo.secret", 10), "deny wins");
	cr_expect_not(perm_can_publish(&p, "bar", 3));
	bool filter;
	cr_expect(perm_can_subscribe(&p, "x.>", 3, NULL, 0, &filter));
	cr_expect(filter, "x.> overlaps the denied x.secret: deliveries are checked");
	cr_expect_not(perm_deliver_ok(&p, "x.secret", 8));
	cr_expect(perm_deliver_ok(&p, "x.open", 6));
	cr_expect_not(perm_can_subscribe(&p, "x.secret", 8, NULL, 0, &filter));
	cr_expect(perm_can_subscribe(&p, "x.a", 3, NULL, 0, &filter) && !filter);
	cr_expect_not(perm_can_subscribe(&p, "x.a", 3, "bad", 3, &filter), "a queue deny");
	cr_expect(perm_can_subscribe(&p, "x.a", 3, "good", 4, &filter));
	cr_expect(perm_can_subscribe(&p, "jobs.a", 6, "workers", 7, &filter));
	cr_expect_not(perm_can_subscribe(&p, "jobs.a", 6, "other", 5, &filter));
	cr_expect_not(perm_can_subscribe(&p, "jobs.a", 6, NULL, 0, &filter));
	cr_expect_not(perm_can_subscribe(&p, ">", 1, NULL, 0, &filter));
	/* unrestricted directions, and a deny-only direction */
	struct perms open = {.sub = {.set = true, .deny = {sub_deny, 1}}};
	cr_expect(perm_can_publish(&open, "anything", 8));
	cr_expect(perm_can_subscribe(&open, "y", 1, NULL, 0, &filter));
	cr_expect_not(perm_can_subscribe(&open, "x.secret", 8, NULL, 0, &filter));
	cr_expect(perm_can_publish(NULL, "a", 1));
	bool ok;
	struct perms *c = perm_copy(&p, &ok);
	cr_assert(ok && c);
	cr_expect_str_eq(c->sub.allow.e[1].queue, "workers");
	perm_free(c);
}
