/* Credentials files: parsing, and the signed CONNECT fields of a leaf
 * (see router/creds.h). */
#include "router/creds.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "router/nkey.h"

/* Whether the line @s (@n bytes, no newline) frames a block: three dashes
 * or more, anything, and three dashes that end it (credsRe's
 * "[-]{3,}.*[-]{3,}" before the line's end). */
static bool creds_dash_line(const char *s, size_t n)
{
	if (n < 6 || memcmp(s + n - 3, "---", 3))
		return false;
	for (size_t i = 0; i + 3 <= n - 3; i++)
		if (!memcmp(s + i, "---", 3))
			return true;
	return false;
}

/* Whether @s (@n bytes) is a JWT or a seed: credsRe's "[\w\-.=]+". */
static bool creds_token_line(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '=';
		if (!ok)
			return false;
	}
	return true;
}

/* The line at @*p (up to @end): its start and length without "\r\n";
 * @*p moves past it. False at the end. */
static bool creds_line(const char **p, const char *end, const char **s, size_t *n)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *e = nl ? nl : end;
	*s = *p;
	*n = (size_t)(e - *p);
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	*p = nl ? nl + 1 : end;
	return true;
}

/* The first two framed tokens of @text into @tok/@tlen; their count. */
static int creds_blocks(const char *text, size_t len, const char *tok[2], size_t tlen[2])
{
	const char *p = text, *end = text + len, *s[3];
	size_t n[3];
	int found = 0, have = 0;
	/* a window of three lines: dashes, token, dashes */
	while (found < 2 && creds_line(&p, end, &s[have], &n[have])) {
		have++;
		if (have < 3)
			continue;
		if (creds_dash_line(s[0], n[0]) && creds_token_line(s[1], n[1]) &&
		    creds_dash_line(s[2], n[2])) {
			tok[found] = s[1];
			tlen[found++] = n[1];
			have = 0;
			continue;
		}
		s[0] = s[1], n[0] = n[1];
		s[1] = s[2], n[1] = n[2];
		have = 2;
	}
	return found;
}

int creds_parse(const char *text, size_t len, struct creds *cr, char *err, size_t errcap)
{
	const char *tok[2];
	size_t tlen[2];
	memset(cr, 0, sizeof(*cr));
	if (creds_blocks(text, len, tok, tlen) < 2) {
		snprintf(err, errcap, "no user JWT and seed, each between lines of dashes");
		return -EINVAL;
	}
	if (!nkey_user_seed(tok[1], tlen[1], cr->seed)) {
		snprintf(err, errcap, "the seed is not a user seed (SU...)");
		return -EINVAL;
	}
	/* not strndup: @text need not end with a NUL */
	cr->jwt = malloc(tlen[0] + 1);
	if (cr->jwt) {
		memcpy(cr->jwt, tok[0], tlen[0]);
		cr->jwt[tlen[0]] = 0;
	} else {
		creds_wipe(cr);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The whole file @path into a malloc'd buffer; -errno. */
static int creds_read(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	char *buf = NULL;
	int ret = fstat(fd, &st) ? -errno : 0;
	if (!ret && (!S_ISREG(st.st_mode) || st.st_size > CREDS_FILE_MAX))
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	if (!ret && !(buf = malloc((size_t)st.st_size + 1)))
		ret = -ENOMEM;
	size_t n = 0;
	while (!ret && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shorter than it was: what was read */
		n += (size_t)r;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

int creds_load(const char *path, struct creds *cr, char *err, size_t errcap)
{
	char *text = NULL;
	size_t len = 0;
	memset(cr, 0, sizeof(*cr));
	int ret = creds_read(path, &text, &len);
	if (ret) {
		snprintf(err, errcap, "%s", strerror(-ret));
		return ret;
	}
	ret = creds_parse(text, len, cr, err, errcap);
	OPENSSL_cleanse(text, len); /* the seed's text is in it */
	free(text);
	return ret;
}

void creds_wipe(struct creds *cr)
{
	free(cr->jwt);
	cr->jwt = NULL;
	OPENSSL_cleanse(cr->seed, sizeof(cr->seed));
}

char *creds_connect_fields(const char *path, const char *info, size_t len, char *err, size_t errcap)
{
	struct creds cr;
	if (creds_load(path, &cr, err, errcap))
		return NULL;
	/* a hub without a nonce: nats-server signs the empty one */
	cJSON *j = cJSON_ParseWithLength(info, len);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "nonce");
	const char *nonce = cJSON_IsString(n) ? n->valuestring : "";
	char sig[NKEY_SIG_LEN + 1];
	bool ok = nkey_sign(cr.seed, nonce, strlen(nonce), sig);
	cJSON_Delete(j);
	size_t cap = strlen(cr.jwt) + sizeof(sig) + 32;
	char *out = ok ? malloc(cap) : NULL;
	if (out) /* the JWT's characters need no JSON escapes (creds_token_line) */
		snprintf(out, cap, ",\"jwt\":\"%s\",\"sig\":\"%s\"", cr.jwt, sig);
	else
		snprintf(err, errcap, ok ? "out of memory" : "could not sign the nonce");
	creds_wipe(&cr);
	return out;
}

void creds_check(const char *path)
{
	struct creds cr;
	char why[256];
	int ret = creds_load(path, &cr, why, sizeof(why));
	if (ret == -EINVAL)
		log_error("LeafNode Remote Credentials file \"%s\" malformed: %s", path, why);
	else if (ret)
		log_error("Error reading LeafNode Remote Credentials file \"%s\": %s", path, why);
	creds_wipe(&cr);
}
