/* Where configuration text comes from: files, includes, environment values;
 * the entry points; errors with their positions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf_int.h"

/* Reads the file at @path whole into *@buf (malloc, caller frees). Returns
 * 0 or -errno: -EISDIR for a directory, -E2BIG past CONF_MAX_FILE_BYTES. */
static int read_file(const char *path, char **buf, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = 0;
	char *data = NULL;
	size_t n = 0, cap = 0;
	if (fstat(fd, st) < 0) {
		ret = -errno;
		goto close_fd;
	}
	if (S_ISDIR(st->st_mode)) {
		ret = -EISDIR;
		goto close_fd;
	}
	for (;;) {
		if (n == cap) {
			/* Room for one byte past the limit, to see it passed. */
			size_t more = cap ? cap * 2 : 4096;
			if (cap > CONF_MAX_FILE_BYTES) {
				ret = -E2BIG;
				goto free_data;
			}
			if (more > (size_t)CONF_MAX_FILE_BYTES + 1)
				more = (size_t)CONF_MAX_FILE_BYTES + 1;
			char *bigger = realloc(data, more);
			if (!bigger) {
				ret = -ENOMEM;
				goto free_data;
			}
			data = bigger;
			cap = more;
		}
		ssize_t got = read(fd, data + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			goto free_data;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > CONF_MAX_FILE_BYTES) {
			ret = -E2BIG;
			goto free_data;
		}
	}
	*buf = data;
	*len = n;
	goto close_fd;
free_data:
	free(data);
close_fd:
	close(fd);
	return ret;
}

/* The directory of @path, as Go's filepath.Dir gives it, in the tree. */
static const char *dir_of(struct conf_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ".";
	if (slash == path)
		return "/";
	return conf_strndup(ctx, path, (size_t)(slash - path));
}

/* @path joined to @dir as nats-server joins them (Go filepath.Join): an
 * absolute @path is still under @dir. In the tree. */
static char *join(struct conf_ctx *ctx, const char *dir, const char *path, size_t len)
{
	while (len && *path == '/')
		path++, len--;
	if (!strcmp(dir, "."))
		return conf_strndup(ctx, path, len);
	size_t dlen = strlen(dir);
	bool slash = dlen && dir[dlen - 1] == '/';
	char *p = conf_alloc(ctx, dlen + len + 2);
	if (p)
		snprintf(p, dlen + len + 2, "%s%s%.*s", dir, slash ? "" : "/", (int)len, path);
	return p;
}

static const char *errno_text(int code)
{
	return code == -E2BIG ? "larger than the limit of 4 MiB" : strerror(-code);
}

/* `include path` in @s, inside @map at nesting @level: parses the file and
 * appends its entries to @map in order, as if written there. */
static int conf_include(struct conf_src *s, const struct conf_token *path, struct conf_value *map,
                        unsigned level)
{
	struct conf_ctx *ctx = s->ctx;
	if (s->is_env || (ctx->flags & CONF_NO_INCLUDE))
		return conf_fail(s, path->line, path->col, -EPERM, "include is not allowed here");
	if (!path->len || memchr(path->text, 0, path->len))
		return conf_fail(s, path->line, path->col, -EINVAL, "invalid include path");
	if (s->nest >= CONF_MAX_INCLUDE_DEPTH)
		return conf_fail(s, path->line, path->col, -ELOOP,
		                 "includes nested deeper than %d levels", CONF_MAX_INCLUDE_DEPTH);
	char *full = join(ctx, s->dir, path->text, path->len);
	if (!full)
		return conf_fail_alloc(s);
	char *buf;
	size_t len;
	struct stat st;
	int ret = read_file(full, &buf, &len, &st);
	if (ret) {
		bool same = !strcmp(full, path->text); /* else say where it was looked for */
		return conf_fail(s, path->line, path->col, ret,
		                 "cannot read include file '%s'%s%s%s: %s", path->text,
		                 same ? "" : " (", same ? "" : full, same ? "" : ")",
		                 errno_text(ret));
	}
	for (const struct conf_src *p = s; p; p = p->parent) {
		if (p->has_id && p->dev == st.st_dev && p->ino == st.st_ino) {
			free(buf);
			return conf_fail(s, path->line, path->col, -ELOOP,
			                 "include cycle: '%s' is already being read", full);
		}
	}
	struct conf_src sub = {
	    .ctx = ctx,
	    .parent = s,
	    .from_line = path->line,
	    .from_col = path->col,
	    .name = full,
	    .dir = dir_of(ctx, full),
	    .dev = st.st_dev,
	    .ino = st.st_ino,
	    .has_id = true,
	    .nest = s->nest + 1,
	    .base_level = level,
	};
	conf_lex_init(&sub.lx, buf, len);
	struct conf_value *root = conf_value_new(ctx, CONF_MAP, full, 1, 1);
	if (!sub.dir || !root)
		ret = conf_fail_alloc(s);
	else
		ret = conf_parse_src(&sub, root);
	free(buf);
	for (struct conf_entry *e = ret ? NULL : root->u.map.first, *next; e; e = next) {
		next = e->next;
		conf_map_add(map, e);
		if (conf_map_complete(ctx, map, e))
			return conf_fail_alloc(s);
	}
	return ret;
}

/* $NAME from the environment: its text parsed as the value of a key, as
 * nats-server does (`77` is an integer, `"a b"` a string, `a b` an error).
 * *@out is NULL when NAME is not set. Returns 0 or -errno. */
static int conf_env_lookup(struct conf_src *s, const struct conf_token *ref,
                           struct conf_value **out)
{
	struct conf_ctx *ctx = s->ctx;
	*out = NULL;
	if ((ctx->flags & CONF_NO_ENV) || memchr(ref->text, 0, ref->len))
		return 0;
	const char *val = getenv(ref->text);
	if (!val)
		return 0;
	if (s->nest >= CONF_MAX_INCLUDE_DEPTH)
		return conf_fail(s, ref->line, ref->col, -ELOOP,
		                 "variables from the environment nested deeper than %d levels",
		                 CONF_MAX_INCLUDE_DEPTH);
	size_t vlen = strlen(val);
	if (vlen > CONF_MAX_FILE_BYTES - 3)
		return conf_fail(s, ref->line, ref->col, -E2BIG,
		                 "the environment variable %s is larger than 4 MiB", ref->text);
	char *text = malloc(vlen + 3);
	char *name = conf_alloc(ctx, ref->len + 32);
	if (!text || !name) {
		free(text);
		ctx->alloc_err = name ? -ENOMEM : ctx->alloc_err;
		return conf_fail_alloc(s);
	}
	memcpy(text, "pk=", 3);
	memcpy(text + 3, val, vlen);
	snprintf(name, ref->len + 32, "environment variable %s", ref->text);
	struct conf_src sub = {
	    .ctx = ctx,
	    .parent = s,
	    .from_line = ref->line,
	    .from_col = ref->col,
	    .name = name,
	    .dir = ".",
	    .is_env = true,
	    .nest = s->nest + 1,
	};
	conf_lex_init(&sub.lx, text, vlen + 3);
	struct conf_value *root = conf_value_new(ctx, CONF_MAP, name, 1, 1);
	int ret = root ? conf_parse_src(&sub, root) : conf_fail_alloc(s);
	free(text);
	if (ret)
		return ret;
	struct conf_entry *e = conf_index_find(&ctx->exact, root, "pk", 2);
	*out = e ? e->value : NULL;
	return 0;
}

/* Parses @len bytes of @text as @s into the tree's root; then frees what
 * only the parse needed. */
static int run(struct conf_ctx *ctx, struct conf_src *s, const char *text, size_t len)
{
	struct conf_value *root = &ctx->tree->root;
	root->file = s->name;
	root->line = root->col = 1;
	conf_lex_init(&s->lx, text, len);
	int ret = s->dir ? conf_parse_src(s, root) : conf_fail_alloc(s);
	conf_index_fini(&ctx->exact);
	conf_index_fini(&ctx->fold);
	free(ctx->scratch);
	ctx->scratch = NULL;
	return ret;
}

/* An error about a whole file or text: "name: what". */
static int whole_error(struct conf_error *err, const char *name, int code, const char *what)
{
	if (err) {
		err->code = code;
		snprintf(err->file, sizeof(err->file), "%s", name);
		snprintf(err->text, sizeof(err->text), "%s: %s", name, what);
	}
	return code;
}

static int finish(struct conf_ctx *ctx, int ret, struct conf_value **out)
{
	if (ret) {
		conf_tree_free(ctx->tree);
		return ret;
	}
	*out = &ctx->tree->root;
	return 0;
}

int conf_parse_file(const char *path, unsigned flags, struct conf_value **out,
                    struct conf_error *err)
{
	struct conf_ctx ctx = {.flags = flags,
	                       .err = err,
	                       .fold.fold = true,
	                       .include = conf_include,
	                       .env_lookup = conf_env_lookup};
	char *buf;
	size_t len;
	struct stat st;
	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	int ret = read_file(path, &buf, &len, &st);
	if (ret)
		return whole_error(err, path, ret, errno_text(ret));
	ctx.tree = conf_tree_new();
	if (!ctx.tree) {
		free(buf);
		return whole_error(err, path, -ENOMEM, "out of memory");
	}
	const char *name = conf_strndup(&ctx, path, strlen(path));
	struct conf_src s = {
	    .ctx = &ctx,
	    .name = name ? name : path,
	    .dir = name ? dir_of(&ctx, name) : NULL,
	    .dev = st.st_dev,
	    .ino = st.st_ino,
	    .has_id = true,
	};
	ret = run(&ctx, &s, buf, len);
	free(buf);
	return finish(&ctx, ret, out);
}

int conf_parse_string(const char *text, size_t len, const char *name, unsigned flags,
                      struct conf_value **out, struct conf_error *err)
{
	struct conf_ctx ctx = {.flags = flags,
	                       .err = err,
	                       .fold.fold = true,
	                       .include = conf_include,
	                       .env_lookup = conf_env_lookup};
	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!name)
		name = "<string>";
	if (len > CONF_MAX_FILE_BYTES)
		return whole_error(err, name, -E2BIG, errno_text(-E2BIG));
	ctx.tree = conf_tree_new();
	if (!ctx.tree)
		return whole_error(err, name, -ENOMEM, "out of memory");
	const char *copy = conf_strndup(&ctx, name, strlen(name));
	struct conf_src s = {
	    .ctx = &ctx,
	    .name = copy ? copy : name,
	    .dir = copy ? dir_of(&ctx, copy) : NULL,
	};
	return finish(&ctx, run(&ctx, &s, text, len), out);
}
