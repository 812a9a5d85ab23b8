/* Reading a configuration tree: types, positions, maps, arrays and the
 * conversions to C values. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/conf_int.h"

void conf_free(struct conf_value *root)
{
	if (!root)
		return;
	/* Only a root may be freed: it sits inside its tree. */
	if (!(root->flags & CONF_F_ROOT))
		return;
	conf_tree_free(
	    (struct conf_tree *)(void *)((char *)root - offsetof(struct conf_tree, root)));
}

enum conf_type conf_type(const struct conf_value *v)
{
	return (enum conf_type)v->type;
}

const char *conf_type_name(enum conf_type type)
{
	switch (type) {
	case CONF_MAP:
		return "map";
	case CONF_ARRAY:
		return "array";
	case CONF_STRING:
		return "string";
	case CONF_INT:
		return "integer";
	case CONF_FLOAT:
		return "float";
	case CONF_BOOL:
		return "boolean";
	case CONF_DATETIME:
		return "date";
	}
	return "?";
}

struct conf_pos conf_pos(const struct conf_value *v)
{
	return (struct conf_pos){.file = v->file, .line = v->line, .col = v->col};
}

const char *conf_raw(const struct conf_value *v, size_t *len)
{
	if (len)
		*len = v->raw_len;
	return v->raw;
}

const char *conf_var_name(const struct conf_value *v)
{
	return v->var;
}

bool conf_used(const struct conf_value *v)
{
	return v->flags & CONF_F_USED;
}

size_t conf_map_len(const struct conf_value *map)
{
	return map && map->type == CONF_MAP ? map->u.map.len : 0;
}

const struct conf_entry *conf_map_first(const struct conf_value *map)
{
	return map && map->type == CONF_MAP ? map->u.map.first : NULL;
}

const struct conf_entry *conf_entry_next(const struct conf_entry *e)
{
	return e->next;
}

const char *conf_entry_key(const struct conf_entry *e)
{
	return e->key;
}

struct conf_pos conf_entry_pos(const struct conf_entry *e)
{
	return (struct conf_pos){.file = e->file, .line = e->line, .col = e->col};
}

const struct conf_value *conf_entry_value(const struct conf_entry *e)
{
	return e->value;
}

bool conf_entry_shadowed(const struct conf_entry *e)
{
	return e->shadowed;
}

bool conf_key_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		if (conf_lower(*a) != conf_lower(*b))
			return false;
		if (!*a)
			return true;
	}
}

/* The last entry of @map whose key is @key in any ASCII case: the one a
 * repeated key leaves in force. O(entries): maps are small, and a caller
 * that reads every key walks them once instead. */
const struct conf_entry *conf_map_find(const struct conf_value *map, const char *key)
{
	const struct conf_entry *found = NULL;
	size_t len = strlen(key);
	for (const struct conf_entry *e = conf_map_first(map); e; e = e->next)
		if (e->key_len == len && conf_key_eq(e->key, key))
			found = e;
	return found;
}

const struct conf_value *conf_map_get(const struct conf_value *map, const char *key)
{
	const struct conf_entry *e = conf_map_find(map, key);
	return e ? e->value : NULL;
}

size_t conf_array_len(const struct conf_value *array)
{
	return array && array->type == CONF_ARRAY ? array->u.arr.len : 0;
}

const struct conf_value *conf_array_get(const struct conf_value *array, size_t i)
{
	return i < conf_array_len(array) ? array->u.arr.items[i] : NULL;
}

int conf_as_bool(const struct conf_value *v, bool *out)
{
	if (!v || v->type != CONF_BOOL)
		return -EINVAL;
	*out = v->u.b;
	return 0;
}

int conf_as_int(const struct conf_value *v, int64_t *out)
{
	if (!v || v->type != CONF_INT)
		return -EINVAL;
	*out = v->u.i;
	return 0;
}

int conf_as_size(const struct conf_value *v, uint64_t *out)
{
	if (!v || v->type != CONF_INT)
		return -EINVAL;
	if (v->u.i < 0)
		return -ERANGE;
	*out = (uint64_t)v->u.i;
	return 0;
}

int conf_as_float(const struct conf_value *v, double *out)
{
	if (!v)
		return -EINVAL;
	if (v->type == CONF_FLOAT)
		*out = v->u.f;
	else if (v->type == CONF_INT)
		*out = (double)v->u.i;
	else
		return -EINVAL;
	return 0;
}

int conf_as_string(const struct conf_value *v, const char **out, size_t *len)
{
	if (!v || v->type != CONF_STRING)
		return -EINVAL;
	*out = v->u.str.s;
	if (len)
		*len = v->u.str.len;
	return 0;
}

int conf_as_duration_ns(const struct conf_value *v, int64_t *out)
{
	if (!v || v->type != CONF_STRING)
		return -EINVAL;
	return conf_parse_duration_ns(v->u.str.s, v->u.str.len, out);
}
