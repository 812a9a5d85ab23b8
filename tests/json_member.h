/* Reading the members of cJSON objects in tests: num(), str() and
 * boolean() assert (Criterion) that the member is there with its type, so
 * a missing or mistyped field fails with its name. Shared by the suites
 * that check JSON documents (monitoring, $SYS figures, the load tool's
 * report). */
#ifndef TESTS_JSON_MEMBER_H
#define TESTS_JSON_MEMBER_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdbool.h>

static inline const cJSON *member(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static inline double num(const cJSON *o, const char *key)
{
	const cJSON *v = member(o, key);
	cr_assert(cJSON_IsNumber(v), "member %s missing or not a number", key);
	return v->valuedouble;
}

static inline const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = member(o, key);
	cr_assert(cJSON_IsString(v), "member %s missing or not a string", key);
	return v->valuestring;
}

static inline bool boolean(const cJSON *o, const char *key)
{
	const cJSON *v = member(o, key);
	cr_assert(cJSON_IsBool(v), "member %s missing or not a boolean", key);
	return cJSON_IsTrue(v);
}

#endif /* TESTS_JSON_MEMBER_H */
