/* containers/image signature policies (policy.json): a strict reader and an offline
 * evaluator for the docker transport (see airlock/policy.h). */
#include "airlock/policy.h"
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- references as containers/image's reference.ParseNormalizedNamed reads them ---------- */

/* Parses s, normalized; a name-only reference keeps tag and digest NULL (airlock_ref_parse
 * defaults the tag, containers/image does not). 0 or -1. */
static int ref_parse(struct airlock_ref *out, const char *s)
{
    if (!s)
        return -1;
    /* containers/image's reference takes a first component as the host only when it holds
     * '.' or ':' or is localhost; an uppercase one is then an invalid repository name */
    const char *sl = strchr(s, '/');
    size_t dl = sl ? (size_t)(sl - s) : 0;
    if (sl && !memchr(s, '.', dl) && !memchr(s, ':', dl) &&
        !(dl == 9 && !strncmp(s, "localhost", 9)))
        for (size_t i = 0; i < dl; i++)
            if (isupper((unsigned char)s[i]))
                return -1;
    if (airlock_ref_parse(out, s, NULL))
        return -1;
    const char *at = strchr(s, '@');
    size_t nl = at ? (size_t)(at - s) : strlen(s);
    size_t last = 0;
    for (size_t i = 0; i < nl; i++)
        if (s[i] == '/')
            last = i;
    if (!at && !memchr(s + last, ':', nl - last)) {
        free(out->tag);
        out->tag = NULL;
    }
    return 0;
}

static int name_only(const struct airlock_ref *r) { return !r->tag && !r->digest; }

static int same_name(const struct airlock_ref *a, const struct airlock_ref *b)
{
    return !strcmp(a->domain, b->domain) && !strcmp(a->path, b->path);
}

static int same_opt(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* reference.Named.String() equality */
static int same_string(const struct airlock_ref *a, const struct airlock_ref *b)
{
    return same_name(a, b) && same_opt(a->tag, b->tag) && same_opt(a->digest, b->digest);
}

static int match_repo_digest_or_exact(const struct airlock_ref *in, const struct airlock_ref *sig)
{
    if (name_only(sig))
        return 0;
    if (in->tag) /* with a tag (and maybe a digest): exactly */
        return same_string(in, sig);
    if (in->digest) /* by digest: the digest itself is checked against the manifest */
        return same_name(in, sig);
    return 0;
}

/* ---- remapIdentity prefixes ---------------------------------------------------------------- */

static int is_alnum(char c) { return isalnum((unsigned char)c) != 0; }

/* domain-name-component ('.' domain-name-component)*, or [IPv6], then optional ':' digits */
static int valid_domain(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '[') {
        i = 1;
        while (i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':'))
            i++;
        if (i == 1 || i >= n || s[i] != ']')
            return 0;
        i++;
    } else {
        for (;;) {
            size_t st = i;
            while (i < n && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == st || s[st] == '-' || s[i - 1] == '-')
                return 0;
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i < n && s[i] == ':') {
        size_t st = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == st)
            return 0;
    }
    return i == n;
}

int airlock_policy_prefix_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (valid_domain(s, n))
        return 1;
    const char *slash = strchr(s, '/');
    if (!slash || !valid_domain(s, (size_t)(slash - s)))
        return 0;
    for (const char *p = slash + 1;;) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (!core_ref_valid_component(p, l))
            return 0;
        if (!e)
            return 1;
        p = e + 1;
    }
}

static int prefix_matches(const char *name, const char *prefix)
{
    size_t n = strlen(name), p = strlen(prefix);
    if (n < p)
        return 0;
    if (n == p)
        return !strcmp(name, prefix);
    return !strncmp(name, prefix, p) && name[p] == '/';
}

/* The remapped reference of in as a string (malloc'd), or NULL: not canonical, or memory. */
static char *remap_ref(const char *prefix, const char *signed_prefix, const struct airlock_ref *in)
{
    char *name = airlock_ref_repository(in), *full = airlock_ref_format(in), *res = NULL;
    char *canon = NULL;
    struct airlock_ref r;
    memset(&r, 0, sizeof(r));
    if (!name || !full)
        goto out;
    if (!prefix_matches(name, prefix)) {
        res = steal_pointer(&full);
        goto out;
    }
    /* the first occurrence of prefix is at the start, as name starts with it */
    if (asprintf(&res, "%s%s", signed_prefix, full + strlen(prefix)) < 0) {
        res = NULL;
        goto out;
    }
    /* reference.ParseNamed: the result must already be in canonical form */
    if (ref_parse(&r, res)) {
        free(res);
        res = NULL;
        goto out;
    }
    canon = airlock_ref_format(&r);
    if (!canon || strcmp(canon, res)) {
        free(res);
        res = NULL;
    }
out:
    free(canon);
    airlock_ref_release(&r);
    free(name);
    free(full);
    return res;
}

int airlock_policy_remap(char **out, const char *prefix, const char *signed_prefix,
                         const char *image, struct airlock_error **err)
{
    struct airlock_ref in;
    if (ref_parse(&in, image))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s' is not an image reference",
                                 image ? image : "");
    char *r = remap_ref(prefix ? prefix : "", signed_prefix ? signed_prefix : "", &in);
    airlock_ref_release(&in);
    if (!r)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "rewriting '%s' from '%s' to '%s' gives no canonical reference",
                                 image, prefix ? prefix : "", signed_prefix ? signed_prefix : "");
    *out = r;
    return 0;
}

int airlock_signed_identity_match(const struct airlock_signed_identity *id, const char *image,
                                  const char *signed_ref)
{
    struct airlock_ref in, sig, fixed;
    int ok = 0;
    memset(&fixed, 0, sizeof(fixed));
    if (!id || ref_parse(&sig, signed_ref))
        return 0;
    switch (id->type) {
    case AIRLOCK_IDENTITY_EXACT_REFERENCE:
    case AIRLOCK_IDENTITY_EXACT_REPOSITORY:
        if (!ref_parse(&fixed, id->ref)) {
            if (id->type == AIRLOCK_IDENTITY_EXACT_REPOSITORY)
                ok = same_name(&fixed, &sig);
            else
                ok = !name_only(&fixed) && !name_only(&sig) && same_string(&fixed, &sig);
            airlock_ref_release(&fixed);
        }
        airlock_ref_release(&sig);
        return ok;
    default:
        break;
    }
    if (ref_parse(&in, image)) {
        airlock_ref_release(&sig);
        return 0;
    }
    switch (id->type) {
    case AIRLOCK_IDENTITY_MATCH_EXACT:
        ok = !name_only(&in) && !name_only(&sig) && same_string(&in, &sig);
        break;
    case AIRLOCK_IDENTITY_MATCH_REPOSITORY:
        ok = same_name(&in, &sig);
        break;
    case AIRLOCK_IDENTITY_REMAP: {
        char *r = remap_ref(id->prefix ? id->prefix : "",
                            id->signed_prefix ? id->signed_prefix : "", &in);
        if (r && !ref_parse(&fixed, r)) {
            ok = match_repo_digest_or_exact(&fixed, &sig);
            airlock_ref_release(&fixed);
        }
        free(r);
        break;
    }
    case AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT:
    default:
        ok = match_repo_digest_or_exact(&in, &sig);
        break;
    }
    airlock_ref_release(&in);
    airlock_ref_release(&sig);
    return ok;
}

/* ---- the policy model ---------------------------------------------------------------------- */

enum req_type {
    REQ_ACCEPT = 0,
    REQ_REJECT,
    REQ_SIGNED_BY,
    REQ_SIGNED_BASE_LAYER,
    REQ_SIGSTORE,
};

struct ident {
    enum airlock_identity_type type;
    char *ref, *prefix, *signed_prefix;
};

struct req {
    enum req_type type;
    char *label;
    struct ident id;
    struct airlock_pubkey **keys;
    size_t n_keys;
    char *unusable; /* why it cannot be checked here (keyless, GPG, a key that did not load) */
};

struct reqs {
    struct req *v;
    size_t n;
};

struct scope {
    char *name;
    struct reqs r;
};

struct transport {
    char *name;
    struct scope *scopes;
    size_t n;
};

struct airlock_policy {
    char *what;
    struct reqs def;
    struct transport *tr;
    size_t n_tr;
};

static void reqs_release(struct reqs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct req *q = &r->v[i];
        free(q->label);
        free(q->id.ref);
        free(q->id.prefix);
        free(q->id.signed_prefix);
        for (size_t k = 0; k < q->n_keys; k++)
            airlock_pubkey_free(q->keys[k]);
        free(q->keys);
        free(q->unusable);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

void airlock_policy_free(struct airlock_policy *p)
{
    if (!p)
        return;
    reqs_release(&p->def);
    for (size_t t = 0; t < p->n_tr; t++) {
        for (size_t s = 0; s < p->tr[t].n; s++) {
            free(p->tr[t].scopes[s].name);
            reqs_release(&p->tr[t].scopes[s].r);
        }
        free(p->tr[t].scopes);
        free(p->tr[t].name);
    }
    free(p->tr);
    free(p->what);
    free(p);
}

/* ---- the strict reader --------------------------------------------------------------------- */

#define PATH_MAX_LEN 400

struct pctx {
    const char *what;
    struct airlock_error **err;
};

static int perr(struct pctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct pctx *c, const char *path, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return airlock_error_set(c->err, AIRLOCK_EUSAGE, "policy '%s': %s%s%s", c->what, path,
                             *path ? ": " : "", msg);
}

static void subpath(char out[PATH_MAX_LEN], const char *base, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void subpath(char out[PATH_MAX_LEN], const char *base, const char *fmt, ...)
{
    char tail[PATH_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    snprintf(out, PATH_MAX_LEN, "%s%s", base, tail);
}

/* o must be an object whose members are all in allowed (NULL-terminated), none twice, and
 * every one of required (NULL-terminated, may be NULL) present. */
static int members(struct pctx *c, const char *path, const cJSON *o, const char *const *allowed,
                   const char *const *required)
{
    if (!cJSON_IsObject(o))
        return perr(c, path, "must be a JSON object");
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int known = 0;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = !strcmp(it->string, allowed[i]);
        if (!known)
            return perr(c, path, "unknown member '%.100s'", it->string);
        for (const cJSON *jt = it->next; jt; jt = jt->next)
            if (!strcmp(jt->string, it->string))
                return perr(c, path, "member '%s' given twice", it->string);
    }
    for (size_t i = 0; required && required[i]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(o, required[i]))
            return perr(c, path, "member '%s' missing", required[i]);
    return 0;
}

/* *out: the string member key of o, or NULL when absent. */
static int get_str(struct pctx *c, const char *path, const cJSON *o, const char *key,
                   const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return perr(c, path, "'%s' must be a string", key);
    *out = v->valuestring;
    return 0;
}

/* An array of strings (present: non-empty unless allow_empty). *out NULL when absent. */
static int get_str_array(struct pctx *c, const char *path, const cJSON *o, const char *key,
                         const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsArray(v))
        return perr(c, path, "'%s' must be an array of strings", key);
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return perr(c, path, "'%s' must be an array of strings", key);
    }
    if (!v->child)
        return perr(c, path, "'%s' contains no entries", key);
    *out = v;
    return 0;
}

/* Go's []byte in JSON: standard base64 */
static int get_b64(struct pctx *c, const char *path, const char *key, const char *s,
                   unsigned char **out, size_t *len)
{
    if (airlock_b64_decode(out, len, s, strlen(s), NULL))
        return perr(c, path, "'%s' is not valid base64", key);
    return 0;
}

static const char *ident_name(enum airlock_identity_type t)
{
    switch (t) {
    case AIRLOCK_IDENTITY_MATCH_EXACT:
        return "matchExact";
    case AIRLOCK_IDENTITY_MATCH_REPOSITORY:
        return "matchRepository";
    case AIRLOCK_IDENTITY_EXACT_REFERENCE:
        return "exactReference";
    case AIRLOCK_IDENTITY_EXACT_REPOSITORY:
        return "exactRepository";
    case AIRLOCK_IDENTITY_REMAP:
        return "remapIdentity";
    default:
        return "matchRepoDigestOrExact";
    }
}

static int parse_identity(struct pctx *c, const char *path, const cJSON *o, struct ident *id)
{
    static const char *const only_type[] = {"type", NULL};
    static const char *const exref[] = {"type", "dockerReference", NULL};
    static const char *const exrepo[] = {"type", "dockerRepository", NULL};
    static const char *const remap[] = {"type", "prefix", "signedPrefix", NULL};
    const char *type = NULL, *v = NULL, *w = NULL;
    if (!cJSON_IsObject(o))
        return perr(c, path, "must be a JSON object");
    if (get_str(c, path, o, "type", &type))
        return AIRLOCK_EUSAGE;
    if (!type)
        type = "";
    memset(id, 0, sizeof(*id));
    if (!strcmp(type, "matchRepoDigestOrExact") || !strcmp(type, "matchExact") ||
        !strcmp(type, "matchRepository")) {
        id->type = !strcmp(type, "matchExact")        ? AIRLOCK_IDENTITY_MATCH_EXACT
                   : !strcmp(type, "matchRepository") ? AIRLOCK_IDENTITY_MATCH_REPOSITORY
                                                      : AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT;
        return members(c, path, o, only_type, only_type);
    }
    if (!strcmp(type, "exactReference") || !strcmp(type, "exactRepository")) {
        int is_ref = !strcmp(type, "exactReference");
        const char *key = is_ref ? "dockerReference" : "dockerRepository";
        if (members(c, path, o, is_ref ? exref : exrepo, is_ref ? exref : exrepo) ||
            get_str(c, path, o, key, &v))
            return AIRLOCK_EUSAGE;
        struct airlock_ref r;
        if (ref_parse(&r, v))
            return perr(c, path, "invalid format of %s '%.300s'", key, v);
        int nameonly = name_only(&r);
        airlock_ref_release(&r);
        if (is_ref && nameonly)
            return perr(c, path, "dockerReference '%.300s' contains neither a tag nor digest", v);
        id->type = is_ref ? AIRLOCK_IDENTITY_EXACT_REFERENCE : AIRLOCK_IDENTITY_EXACT_REPOSITORY;
        if (!(id->ref = strdup(v)))
            return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    if (!strcmp(type, "remapIdentity")) {
        if (members(c, path, o, remap, remap) || get_str(c, path, o, "prefix", &v) ||
            get_str(c, path, o, "signedPrefix", &w))
            return AIRLOCK_EUSAGE;
        if (!airlock_policy_prefix_valid(v))
            return perr(c, path, "prefix '%.300s' is not valid", v);
        if (!airlock_policy_prefix_valid(w))
            return perr(c, path, "signedPrefix '%.300s' is not valid", w);
        id->type = AIRLOCK_IDENTITY_REMAP;
        if (!(id->prefix = strdup(v)) || !(id->signed_prefix = strdup(w)))
            return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    return perr(c, path, "unknown policy reference match type '%.100s'", type);
}

static char *ident_label(const struct ident *id)
{
    char *s = NULL;
    int n;
    if (id->type == AIRLOCK_IDENTITY_REMAP)
        n = asprintf(&s, "remapIdentity %s -> %s", id->prefix, id->signed_prefix);
    else if (id->ref)
        n = asprintf(&s, "%s %s", ident_name(id->type), id->ref);
    else
        n = asprintf(&s, "%s", ident_name(id->type));
    return n < 0 ? NULL : s;
}

/* A whole small regular file (key files). */
static int read_small(char **out, size_t *len, const char *path, size_t max, char *why,
                      size_t whylen)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        snprintf(why, whylen, !S_ISREG(st.st_mode) ? "not a regular file" : "larger than %zu bytes",
                 max);
        return -1;
    }
    char *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (b && got < (size_t)st.st_size) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!b || got != (size_t)st.st_size) {
        snprintf(why, whylen, "%s", b ? "short read" : "out of memory");
        free(b);
        return -1;
    }
    b[got] = '\0';
    *out = b;
    *len = got;
    return 0;
}

/* Adds a key to q; on failure records why q cannot be used (the first reason). */
static int add_key(struct req *q, const char *pem, size_t len, const char *what)
{
    struct airlock_pubkey *k = NULL;
    struct airlock_error *e = NULL;
    if (airlock_pubkey_parse(&k, pem, len, what, &e)) {
        if (!q->unusable && asprintf(&q->unusable, "public key %s: %s", what,
                                     e ? e->msg : "unusable") < 0)
            q->unusable = NULL;
        airlock_error_free(e);
        return 0;
    }
    struct airlock_pubkey **v = realloc(q->keys, (q->n_keys + 1) * sizeof(*v));
    if (!v) {
        airlock_pubkey_free(k);
        return -1;
    }
    q->keys = v;
    v[q->n_keys++] = k;
    return 0;
}

static int add_key_file(struct req *q, const char *path)
{
    char *pem = NULL, why[200];
    size_t len = 0;
    if (read_small(&pem, &len, path, AIRLOCK_MAX_POLICY_KEY, why, sizeof(why))) {
        if (!q->unusable && asprintf(&q->unusable, "public key file '%s': %s", path, why) < 0)
            q->unusable = NULL;
        return 0;
    }
    int rc = add_key(q, pem, len, path);
    free(pem);
    return rc;
}

static int set_unusable(struct req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_unusable(struct req *q, const char *fmt, ...)
{
    if (q->unusable)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&q->unusable, fmt, ap);
    va_end(ap);
    if (n < 0) {
        q->unusable = NULL;
        return -1;
    }
    return 0;
}

static int parse_signed_identity_member(struct pctx *c, const char *path, const cJSON *o,
                                        struct ident *id)
{
    const cJSON *si = cJSON_GetObjectItemCaseSensitive(o, "signedIdentity");
    char sub[PATH_MAX_LEN];
    memset(id, 0, sizeof(*id));
    if (!si)
        return 0; /* matchRepoDigestOrExact */
    subpath(sub, path, ".signedIdentity");
    return parse_identity(c, sub, si, id);
}

/* fulcio and pki objects: checked for shape only (their certificates are not checked here) */
static int parse_cert_object(struct pctx *c, const char *path, const cJSON *o, const char *key,
                             const char *const *allowed, const char *const *b64)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    char sub[PATH_MAX_LEN];
    subpath(sub, path, ".%s", key);
    if (members(c, sub, v, allowed, NULL))
        return AIRLOCK_EUSAGE;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return perr(c, sub, "'%s' must be a string", it->string);
        for (size_t i = 0; b64[i]; i++) {
            unsigned char *d = NULL;
            size_t l;
            if (!strcmp(it->string, b64[i])) {
                if (get_b64(c, sub, it->string, it->valuestring, &d, &l))
                    return AIRLOCK_EUSAGE;
                free(d);
            }
        }
    }
    return 0;
}

static int parse_sigstore(struct pctx *c, const char *path, const cJSON *o, struct req *q)
{
    static const char *const allowed[] = {
        "type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "rekorPublicKeyPath",
        "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas", "pki",
        "signedIdentity", NULL};
    static const char *const fulcio[] = {"caPath", "caData", "oidcIssuer", "subjectEmail", NULL};
    static const char *const fulcio_b64[] = {"caData", NULL};
    static const char *const pki[] = {"caRootsPath", "caRootsData", "caIntermediatesPath",
                                      "caIntermediatesData", "subjectEmail", "subjectHostname",
                                      NULL};
    static const char *const pki_b64[] = {"caRootsData", "caIntermediatesData", NULL};
    const char *key_path = NULL, *key_data = NULL, *rk_path = NULL, *rk_data = NULL;
    const cJSON *key_paths = NULL, *key_datas = NULL, *rk_paths = NULL, *rk_datas = NULL, *it;
    if (members(c, path, o, allowed, NULL) || get_str(c, path, o, "keyPath", &key_path) ||
        get_str(c, path, o, "keyData", &key_data) ||
        get_str_array(c, path, o, "keyPaths", &key_paths) ||
        get_str_array(c, path, o, "keyDatas", &key_datas) ||
        get_str(c, path, o, "rekorPublicKeyPath", &rk_path) ||
        get_str(c, path, o, "rekorPublicKeyData", &rk_data) ||
        get_str_array(c, path, o, "rekorPublicKeyPaths", &rk_paths) ||
        get_str_array(c, path, o, "rekorPublicKeyDatas", &rk_datas))
        return AIRLOCK_EUSAGE;
    int has_fulcio = cJSON_GetObjectItemCaseSensitive(o, "fulcio") != NULL;
    int has_pki = cJSON_GetObjectItemCaseSensitive(o, "pki") != NULL;
    if ((has_fulcio && parse_cert_object(c, path, o, "fulcio", fulcio, fulcio_b64)) ||
        (has_pki && parse_cert_object(c, path, o, "pki", pki, pki_b64)))
        return AIRLOCK_EUSAGE;
    int sources = (key_path && *key_path) + !!key_paths + !!key_data + !!key_datas + has_fulcio +
                  has_pki;
    if (sources != 1)
        return perr(c, path, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and "
                             "pki must be specified");
    int rekor = (rk_path && *rk_path) + !!rk_paths + !!rk_data + !!rk_datas;
    if (rekor > 1)
        return perr(c, path, "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, "
                             "rekorPublicKeyData and rekorPublicKeyDatas can be used");
    if (has_fulcio && !rekor)
        return perr(c, path, "one of rekorPublicKeyPath, rekorPublicKeyPaths, "
                             "rekorPublicKeyData and rekorPublicKeyDatas must be specified if "
                             "fulcio is used");
    if (has_pki && rekor)
        return perr(c, path, "rekorPublicKey* members are not supported for pki");
    /* base64 members are parse errors when malformed, as Go's []byte decoding makes them */
    unsigned char *d = NULL;
    size_t dl = 0;
    if (rk_data && get_b64(c, path, "rekorPublicKeyData", rk_data, &d, &dl))
        return AIRLOCK_EUSAGE;
    free(d);
    d = NULL;
    cJSON_ArrayForEach(it, rk_datas)
    {
        if (get_b64(c, path, "rekorPublicKeyDatas", it->valuestring, &d, &dl))
            return AIRLOCK_EUSAGE;
        free(d);
        d = NULL;
    }
    if (parse_signed_identity_member(c, path, o, &q->id))
        return AIRLOCK_EUSAGE;
    /* the keys, and what airlock cannot check offline */
    struct airlock_buf lab = AIRLOCK_BUF_INIT(4096);
    char *il = ident_label(&q->id);
    int rc = 0;
    if (key_path) {
        rc |= airlock_buf_printf(&lab, "keyPath %s", key_path);
        rc |= add_key_file(q, key_path);
    } else if (key_paths) {
        rc |= airlock_buf_printf(&lab, "keyPaths");
        cJSON_ArrayForEach(it, key_paths)
        {
            rc |= airlock_buf_printf(&lab, " %s", it->valuestring);
            rc |= add_key_file(q, it->valuestring);
        }
    } else if (key_data || key_datas) {
        rc |= airlock_buf_printf(&lab, "%s", key_data ? "keyData" : "keyDatas");
        const cJSON *one = key_data ? cJSON_GetObjectItemCaseSensitive(o, "keyData") : NULL;
        int idx = 0;
        for (it = one ? one : key_datas->child; it && !rc; it = one ? NULL : it->next, idx++) {
            char what[64];
            snprintf(what, sizeof(what), key_data ? "keyData" : "keyDatas[%d]", idx);
            if (get_b64(c, path, key_data ? "keyData" : "keyDatas", it->valuestring, &d, &dl)) {
                free(il);
                airlock_buf_release(&lab);
                return AIRLOCK_EUSAGE;
            }
            rc |= add_key(q, (const char *)d, dl, what);
            free(d);
            d = NULL;
        }
    } else if (has_fulcio) {
        rc |= airlock_buf_printf(&lab, "fulcio");
        rc |= set_unusable(q, "fulcio: certificates and a Rekor log are not checkable by "
                              "airlock offline");
    } else {
        rc |= airlock_buf_printf(&lab, "pki");
        rc |= set_unusable(q, "pki: certificate chains are not checkable by airlock offline");
    }
    if (rekor && !has_fulcio)
        rc |= set_unusable(q, "%s: a Rekor SET is not checkable by airlock offline",
                           rk_path ? "rekorPublicKeyPath"
                           : rk_paths ? "rekorPublicKeyPaths"
                           : rk_data ? "rekorPublicKeyData"
                                     : "rekorPublicKeyDatas");
    rc |= airlock_buf_printf(&lab, ", %s", il ? il : "?");
    free(il);
    if (!rc && asprintf(&q->label, "sigstoreSigned (%s)", lab.data) < 0)
        rc = -1;
    if (rc) {
        q->label = NULL;
        airlock_buf_release(&lab);
        return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
    }
    airlock_buf_release(&lab);
    return 0;
}

static int parse_signed_by(struct pctx *c, const char *path, const cJSON *o, struct req *q)
{
    static const char *const allowed[] = {"type",    "keyType", "keyPath",       "keyPaths",
                                          "keyData", "signedIdentity", NULL};
    const char *kt = NULL, *kp = NULL, *kd = NULL;
    const cJSON *kps = NULL;
    if (members(c, path, o, allowed, NULL) || get_str(c, path, o, "keyType", &kt) ||
        get_str(c, path, o, "keyPath", &kp) || get_str(c, path, o, "keyData", &kd))
        return AIRLOCK_EUSAGE;
    kps = cJSON_GetObjectItemCaseSensitive(o, "keyPaths");
    if (kps) {
        const cJSON *it;
        if (!cJSON_IsArray(kps))
            return perr(c, path, "'keyPaths' must be an array of strings");
        cJSON_ArrayForEach(it, kps)
        {
            if (!cJSON_IsString(it))
                return perr(c, path, "'keyPaths' must be an array of strings");
        }
    }
    if (!kt || (strcmp(kt, "GPGKeys") && strcmp(kt, "signedByGPGKeys") &&
                strcmp(kt, "X509Certificates") && strcmp(kt, "signedByX509CAs")))
        return perr(c, path, "unrecognized keyType value '%.100s'", kt ? kt : "");
    if (!!kp + !!kps + !!kd != 1)
        return perr(c, path, "exactly one of keyPath, keyPaths and keyData must be specified");
    if (kd) {
        unsigned char *d = NULL;
        size_t l;
        if (get_b64(c, path, "keyData", kd, &d, &l))
            return AIRLOCK_EUSAGE;
        free(d);
    }
    if (parse_signed_identity_member(c, path, o, &q->id))
        return AIRLOCK_EUSAGE;
    char *il = ident_label(&q->id);
    int n = asprintf(&q->label, "signedBy (%s, %s)", kt, il ? il : "?");
    free(il);
    if (n < 0 || set_unusable(q, "not checkable by airlock (GPG)")) {
        q->label = NULL;
        return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
}

static int parse_req(struct pctx *c, const char *path, const cJSON *o, struct req *q)
{
    static const char *const only_type[] = {"type", NULL};
    static const char *const base_layer[] = {"type", "baseLayerIdentity", NULL};
    const char *type = NULL;
    memset(q, 0, sizeof(*q));
    if (!cJSON_IsObject(o))
        return perr(c, path, "must be a JSON object");
    if (get_str(c, path, o, "type", &type))
        return AIRLOCK_EUSAGE;
    if (!type)
        type = "";
    if (!strcmp(type, "insecureAcceptAnything") || !strcmp(type, "reject")) {
        q->type = type[0] == 'i' ? REQ_ACCEPT : REQ_REJECT;
        if (members(c, path, o, only_type, only_type))
            return AIRLOCK_EUSAGE;
        if (!(q->label = strdup(type)))
            return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    if (!strcmp(type, "signedBy")) {
        q->type = REQ_SIGNED_BY;
        return parse_signed_by(c, path, o, q);
    }
    if (!strcmp(type, "signedBaseLayer")) {
        char sub[PATH_MAX_LEN];
        q->type = REQ_SIGNED_BASE_LAYER;
        subpath(sub, path, ".baseLayerIdentity");
        if (members(c, path, o, base_layer, base_layer) ||
            parse_identity(c, sub, cJSON_GetObjectItemCaseSensitive(o, "baseLayerIdentity"),
                           &q->id))
            return AIRLOCK_EUSAGE;
        if (!(q->label = strdup("signedBaseLayer")) ||
            set_unusable(q, "signedBaseLayer is not implemented (by containers/image either)"))
            return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    if (!strcmp(type, "sigstoreSigned")) {
        q->type = REQ_SIGSTORE;
        return parse_sigstore(c, path, o, q);
    }
    return perr(c, path, "unknown policy requirement type '%.100s'", type);
}

static int parse_reqs(struct pctx *c, const char *path, const cJSON *a, struct reqs *r)
{
    memset(r, 0, sizeof(*r));
    if (!cJSON_IsArray(a))
        return perr(c, path, "must be an array of requirements");
    size_t n = (size_t)cJSON_GetArraySize(a);
    if (!n)
        return perr(c, path, "list of verification policy requirements must not be empty");
    if (!(r->v = calloc(n, sizeof(*r->v))))
        return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char sub[PATH_MAX_LEN];
        subpath(sub, path, "[%zu]", r->n);
        int rc = parse_req(c, sub, it, &r->v[r->n]);
        r->n++; /* released whatever it got */
        if (rc)
            return rc;
    }
    return 0;
}

static int scope_cmp(const void *a, const void *b)
{
    return strcmp(((const struct scope *)a)->name, ((const struct scope *)b)->name);
}

static int parse_transports(struct pctx *c, const cJSON *t, struct airlock_policy *p)
{
    if (!cJSON_IsObject(t))
        return perr(c, "transports", "must be a JSON object");
    size_t n = (size_t)cJSON_GetArraySize(t);
    if (!(p->tr = calloc(n + 1, sizeof(*p->tr))))
        return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
    const cJSON *tt;
    cJSON_ArrayForEach(tt, t)
    {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof(path), "transports.%.100s", tt->string);
        for (const cJSON *jt = tt->next; jt; jt = jt->next)
            if (!strcmp(jt->string, tt->string))
                return perr(c, "transports", "member '%.100s' given twice", tt->string);
        if (!cJSON_IsObject(tt))
            return perr(c, path, "must be a JSON object of scopes");
        struct transport *tr = &p->tr[p->n_tr++];
        size_t m = (size_t)cJSON_GetArraySize(tt);
        if (!(tr->name = strdup(tt->string)) || !(tr->scopes = calloc(m + 1, sizeof(*tr->scopes))))
            return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
        const cJSON *s;
        cJSON_ArrayForEach(s, tt)
        {
            char sub[PATH_MAX_LEN + 210];
            snprintf(sub, sizeof(sub), "%s[\"%.200s\"]", path, s->string);
            for (const cJSON *jt = s->next; jt; jt = jt->next)
                if (!strcmp(jt->string, s->string))
                    return perr(c, path, "scope '%.200s' given twice", s->string);
            struct scope *sc = &tr->scopes[tr->n++];
            if (!(sc->name = strdup(s->string)))
                return airlock_error_set(c->err, AIRLOCK_EOS, "out of memory");
            int rc = parse_reqs(c, sub, s, &sc->r);
            if (rc)
                return rc;
        }
        /* looked up by name for every image: sorted, found by bisection */
        qsort(tr->scopes, tr->n, sizeof(*tr->scopes), scope_cmp);
    }
    return 0;
}

int airlock_policy_parse(struct airlock_policy **out, const char *json, size_t len,
                         const char *what, struct airlock_error **err)
{
    static const char *const top[] = {"default", "transports", NULL};
    struct pctx c = {what ? what : "policy.json", err};
    if (len > AIRLOCK_MAX_POLICY)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "policy '%s': larger than %u bytes",
                                 c.what, AIRLOCK_MAX_POLICY);
    if (airlock_json_check(json, len, "policy", NULL))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "policy '%s': not a JSON object (or nested deeper than %d, or "
                                 "holding a NUL byte)",
                                 c.what, AIRLOCK_MAX_JSON_DEPTH);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= json && at <= json + len ? (size_t)(at - json) : 0;
        return airlock_error_set(err, AIRLOCK_EUSAGE, "policy '%s': invalid JSON near byte %zu",
                                 c.what, off);
    }
    while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    struct airlock_policy *p = calloc(1, sizeof(*p));
    int rc = 0;
    if (!p || !(p->what = strdup(c.what)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    else if (end != json + len)
        rc = perr(&c, "", "unexpected data after the JSON object");
    else if (!cJSON_IsObject(root))
        rc = perr(&c, "", "must be a JSON object");
    else if (!(rc = members(&c, "", root, top, NULL))) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "default");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "transports");
        if (!d)
            rc = perr(&c, "", "default policy is missing");
        else if (!(rc = parse_reqs(&c, "default", d, &p->def)) && t)
            rc = parse_transports(&c, t, p);
    }
    cJSON_Delete(root);
    if (rc) {
        airlock_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int airlock_policy_load(struct airlock_policy **out, const char *path,
                        struct airlock_error **err)
{
    char *data = NULL, why[200];
    size_t len = 0;
    if (read_small(&data, &len, path, AIRLOCK_MAX_POLICY, why, sizeof(why)))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "policy '%s': %s", path, why);
    int rc = airlock_policy_parse(out, data, len, path, err);
    free(data);
    return rc;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

static const struct transport *transport(const struct airlock_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_tr; i++)
        if (!strcmp(p->tr[i].name, name))
            return &p->tr[i];
    return NULL;
}

/* The scope named by the n bytes at name (scopes sorted by strcmp). */
static const struct scope *scope_named(const struct transport *t, const char *name, size_t n)
{
    size_t lo = 0, hi = t ? t->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = t->scopes[mid].name;
        int c = strncmp(s, name, n);
        if (!c && s[n])
            c = 1; /* longer than the key: after it */
        if (!c)
            return &t->scopes[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct scope *pick_scope(const struct airlock_policy *p, const struct airlock_ref *r)
{
    const struct transport *t = transport(p, "docker");
    const struct scope *s = NULL;
    char *name = t ? airlock_ref_repository(r) : NULL, *ident = NULL;
    if (!name)
        return NULL;
    if (asprintf(&ident, "%s%s%s", name, r->tag ? ":" : "@", r->tag ? r->tag : r->digest) >= 0) {
        s = scope_named(t, ident, strlen(ident));
        free(ident);
    }
    /* the repository, then each parent namespace, down to host[:port] */
    size_t n = strlen(name);
    while (!s) {
        s = scope_named(t, name, n);
        const char *slash = memrchr(name, '/', n);
        if (s || !slash)
            break;
        n = (size_t)(slash - name);
    }
    /* wildcards of the host, its port dropped: *.example.com, *.com */
    const char *colon = memchr(name, ':', n);
    if (colon)
        n = (size_t)(colon - name);
    for (const char *dot = memchr(name, '.', n); !s && dot;
         dot = memchr(dot + 1, '.', n - (size_t)(dot + 1 - name))) {
        char *w = NULL;
        if (asprintf(&w, "*%.*s", (int)(n - (size_t)(dot - name)), dot) >= 0) {
            s = scope_named(t, w, strlen(w));
            free(w);
        }
    }
    if (!s)
        s = scope_named(t, "", 0);
    free(name);
    return s;
}

const char *airlock_policy_scope(const struct airlock_policy *p, const char *ref)
{
    struct airlock_ref r;
    if (!p || ref_parse(&r, ref))
        return NULL;
    const struct scope *s = name_only(&r) || (r.tag && r.digest) ? NULL : pick_scope(p, &r);
    airlock_ref_release(&r);
    return s ? s->name : NULL;
}

void airlock_policy_result_release(struct airlock_policy_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_checks; i++) {
        free(r->checks[i].requirement);
        free(r->checks[i].reason);
    }
    free(r->checks);
    free(r->scope);
    memset(r, 0, sizeof(*r));
}

struct eval {
    const char *ref, *digest;
    airlock_policy_sigs_fn sigs;
    void *ctx;
    const struct airlock_policy_sig *v;
    size_t n;
    int fetched;
};

/* One signature: NULL when accepted, else why not (malloc'd); *accepted_id the identity. */
static char *check_sig(const struct req *q, const struct eval *ev,
                       const struct airlock_policy_sig *s, char **accepted_id)
{
    char *why = NULL;
    struct airlock_error *e = NULL;
    if (!s->signature)
        return strdup("missing " AIRLOCK_ANN_SIGNATURE " annotation");
    if (!s->payload)
        return strdup("its payload cannot be read (missing, damaged or over 64 KiB)");
    size_t k;
    for (k = 0; k < q->n_keys; k++)
        if (!airlock_pubkey_verify(q->keys[k], s->payload, s->payload_len, s->signature, NULL))
            break;
    if (k == q->n_keys)
        return strdup("cryptographic signature verification failed with every key");
    struct airlock_sig_payload p;
    if (airlock_sig_payload_parse(&p, s->payload, s->payload_len, 1, &e)) {
        if (asprintf(&why, "invalid signature payload: %s", e ? e->msg : "unreadable") < 0)
            why = NULL;
        airlock_error_free(e);
        return why ? why : strdup("invalid signature payload");
    }
    struct airlock_signed_identity id = {q->id.type, q->id.ref, q->id.prefix, q->id.signed_prefix};
    if (strcmp(p.digest, ev->digest)) {
        if (asprintf(&why, "signature for digest %s does not match", p.digest) < 0)
            why = NULL;
    } else if (!airlock_signed_identity_match(&id, ev->ref, p.identity)) {
        if (asprintf(&why, "signature for identity '%s' is not accepted", p.identity) < 0)
            why = NULL;
    } else {
        *accepted_id = steal_pointer(&p.identity);
        airlock_sig_payload_release(&p);
        return NULL;
    }
    airlock_sig_payload_release(&p);
    return why ? why : strdup("signature not accepted");
}

static int eval_sigstore(struct airlock_policy_check *out, const struct req *q, struct eval *ev,
                         struct airlock_error **err)
{
    if (q->unusable) {
        out->reason = strdup(q->unusable);
        return out->reason ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!ev->fetched) {
        int rc = ev->sigs ? ev->sigs(ev->ctx, ev->digest, &ev->v, &ev->n, err) : 0;
        if (rc)
            return rc;
        ev->fetched = 1;
    }
    if (!ev->n) {
        out->reason = strdup("A signature was required, but no signature exists");
        return out->reason ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    struct airlock_buf why = AIRLOCK_BUF_INIT(16384);
    int rc = 0;
    for (size_t i = 0; i < ev->n && !out->ok; i++) {
        char *id = NULL, *r = check_sig(q, ev, &ev->v[i], &id);
        if (!r) {
            out->ok = 1;
            if (asprintf(&out->reason, "signature %zu verified, identity '%s' accepted", i + 1,
                         id) < 0)
                out->reason = NULL;
        } else if (why.len < 8000)
            rc |= airlock_buf_printf(&why, "%s%s", why.len ? "; " : "", r);
        free(id);
        free(r);
    }
    if (!out->ok) {
        if (ev->n > 1)
            rc |= asprintf(&out->reason, "none of the %zu signatures were accepted: %s", ev->n,
                           why.data ? why.data : "") < 0;
        else
            out->reason = airlock_buf_detach(&why, NULL);
    }
    airlock_buf_release(&why);
    if (rc || !out->reason)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

int airlock_policy_evaluate(struct airlock_policy_result *out, const struct airlock_policy *p,
                            const char *ref, const char *digest, airlock_policy_sigs_fn sigs,
                            void *ctx, struct airlock_error **err)
{
    struct airlock_ref r;
    struct airlock_policy_result res;
    memset(&res, 0, sizeof(res));
    if (ref_parse(&r, ref))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "policy check: '%s' is not an image reference", ref ? ref : "");
    if (name_only(&r) || (r.tag && r.digest)) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "policy check: '%s' needs a tag or a digest (not both)", ref);
    }
    if (airlock_digest_check(digest, err)) {
        airlock_ref_release(&r);
        return AIRLOCK_EUSAGE;
    }
    const struct scope *s = pick_scope(p, &r);
    airlock_ref_release(&r);
    const struct reqs *rq = s ? &s->r : &p->def;
    int rc = 0;
    if (s ? asprintf(&res.scope, "docker:%s", *s->name ? s->name : "\"\"") < 0
          : !(res.scope = strdup("default")))
        res.scope = NULL;
    res.checks = calloc(rq->n + 1, sizeof(*res.checks));
    if (!res.scope || !res.checks)
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct eval ev = {ref, digest, sigs, ctx, NULL, 0, 0};
    res.ok = 1;
    for (size_t i = 0; !rc && i < rq->n; i++) {
        const struct req *q = &rq->v[i];
        struct airlock_policy_check *c = &res.checks[res.n_checks++];
        if (!(c->requirement = strdup(q->label))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        switch (q->type) {
        case REQ_ACCEPT:
            c->ok = 1;
            c->reason = strdup("accepted without checking (insecureAcceptAnything)");
            break;
        case REQ_REJECT:
            c->reason = strdup("rejected by policy (reject)");
            break;
        case REQ_SIGSTORE:
            rc = eval_sigstore(c, q, &ev, err);
            break;
        default:
            c->reason = strdup(q->unusable ? q->unusable : "not checkable by airlock");
            break;
        }
        if (!rc && !c->reason)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        res.ok &= c->ok;
    }
    if (rc) {
        airlock_policy_result_release(&res);
        return rc;
    }
    *out = res;
    return 0;
}
