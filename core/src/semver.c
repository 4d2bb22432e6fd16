/* Semantic versions of image tags and the ranges that pick them (node-semver's grammar, the
 * one regsync, Renovate and Helm use): no C library for it is packaged in Debian, so this is
 * a small one. Tags may start with 'v'; 1 or 2 parts are filled with 0 ("1.29" is 1.29.0). */
#include "airlock/core.h"
#include "core_int.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define SEMVER_MAX_TEXT 256
#define REGEX_MAX_LEN 256
#define REGEX_MAX_REPS 16 /* a tag is at most 128 characters; a range as long */

enum { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

/* Reads up to three dot-separated numbers at *s (x, X or * for a wildcard: *wild gets how many
 * parts are fixed, 0-3), then -pre and +build. 0, or -1 when it is not such a version. */
static int read_version(const char **s, struct airlock_semver *v, int *fixed, int allow_wild)
{
    const char *p = *s;
    memset(v, 0, sizeof(*v));
    if (*p == 'v' || *p == 'V')
        p++;
    int n = 0, wild = 0;
    for (; n < 3; n++) {
        if (n && *p != '.')
            break;
        if (n)
            p++;
        if (allow_wild && (*p == 'x' || *p == 'X' || *p == '*')) {
            wild = 1;
            p++;
            continue;
        }
        if (!isdigit((unsigned char)*p) || wild)
            return -1;
        if (*p == '0' && isdigit((unsigned char)p[1]))
            return -1; /* no leading zeros */
        unsigned long long x = 0;
        while (isdigit((unsigned char)*p)) {
            if (x > 999999999ull)
                return -1;
            x = x * 10 + (unsigned)(*p++ - '0');
        }
        v->v[n] = x;
        if (!wild && fixed)
            *fixed = n + 1;
    }
    if (*p == '-') {
        const char *q = ++p;
        while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
            p++;
        size_t len = (size_t)(p - q);
        if (!len || len >= sizeof(v->pre))
            return -1;
        memcpy(v->pre, q, len);
        v->pre[len] = '\0';
        if (v->pre[0] == '.' || v->pre[len - 1] == '.' || strstr(v->pre, ".."))
            return -1; /* an empty identifier */
    }
    if (*p == '+') {
        p++;
        const char *q = p;
        while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
            p++;
        if (p == q)
            return -1;
    }
    *s = p;
    return 0;
}

int airlock_semver_parse(struct airlock_semver *out, const char *tag)
{
    if (!tag || strlen(tag) > SEMVER_MAX_TEXT)
        return -1;
    const char *p = tag;
    int fixed = 0;
    if (read_version(&p, out, &fixed, 0) || *p)
        return -1;
    return 0;
}

static int cmp_pre(const char *a, const char *b)
{
    if (!*a || !*b)
        return !*a && !*b ? 0 : !*a ? 1 : -1; /* a release is above its pre-releases */
    while (*a || *b) {
        if (!*a || !*b)
            return *a ? 1 : -1; /* more identifiers: higher */
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        int na = strspn(a, "0123456789") == la, nb = strspn(b, "0123456789") == lb;
        int c;
        if (na && nb)
            c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
        else if (na != nb)
            c = na ? -1 : 1; /* numeric identifiers are lower */
        else {
            c = strncmp(a, b, la < lb ? la : lb);
            if (!c && la != lb)
                c = la < lb ? -1 : 1;
        }
        if (c)
            return c < 0 ? -1 : 1;
        a += la + (a[la] == '.');
        b += lb + (b[lb] == '.');
    }
    return 0;
}

int airlock_semver_cmp(const struct airlock_semver *a, const struct airlock_semver *b)
{
    for (int i = 0; i < 3; i++)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    return cmp_pre(a->pre, b->pre);
}

static int add_cmp(struct airlock_semver_range *r, int op, const struct airlock_semver *v)
{
    struct airlock_semver_set *s = &r->sets[r->n_sets - 1];
    if (s->n >= AIRLOCK_SEMVER_MAX_CMP)
        return -1;
    s->cmp[s->n].op = op;
    s->cmp[s->n].v = *v;
    s->n++;
    return 0;
}

/* The version after v's fixed parts: 1.29 (2 fixed) -> 1.30.0, 1 -> 2.0.0 */
static void bump(struct airlock_semver *v, int fixed)
{
    if (fixed < 1 || fixed > 3)
        return;
    int at = fixed - 1;
    v->v[at]++;
    for (int i = at + 1; i < 3; i++)
        v->v[i] = 0;
    v->pre[0] = '\0';
}

static int one_comparator(struct airlock_semver_range *r, const char **s)
{
    const char *p = *s;
    int op = OP_EQ, tilde = 0, caret = 0;
    if (*p == '~')
        tilde = 1, p++;
    else if (*p == '^')
        caret = 1, p++;
    else if (*p == '>' && p[1] == '=')
        op = OP_GE, p += 2;
    else if (*p == '<' && p[1] == '=')
        op = OP_LE, p += 2;
    else if (*p == '>')
        op = OP_GT, p++;
    else if (*p == '<')
        op = OP_LT, p++;
    else if (*p == '=')
        p++;
    if (tilde && *p == '>') /* ~> as in Ruby */
        p++;
    while (*p == ' ')
        p++;
    struct airlock_semver v, hi;
    int fixed = 0;
    memset(&hi, 0, sizeof(hi));
    if (read_version(&p, &v, &fixed, 1))
        return -1;
    if (*p && *p != ' ' && *p != '|')
        return -1;
    *s = p;
    if (fixed < 3 && v.pre[0])
        return -1; /* "1.2-rc1" names no pre-release of a patch */
    if (tilde || caret) {
        if (!fixed)
            return 0; /* ~x: anything */
        hi = v;
        if (tilde)
            bump(&hi, fixed >= 2 ? 2 : 1);
        else { /* ^: the first non-zero part stays */
            int keep = v.v[0] ? 1 : (v.v[1] || fixed < 3) ? (fixed >= 2 ? 2 : 1) : 3;
            bump(&hi, keep);
        }
        return add_cmp(r, OP_GE, &v) || add_cmp(r, OP_LT, &hi);
    }
    if (fixed == 3)
        return add_cmp(r, op, &v);
    if (!fixed) /* "x", "*", ">=x": anything ("<x": nothing) */
        return op == OP_LT || op == OP_GT ? add_cmp(r, OP_LT, &v) : 0;
    hi = v;
    bump(&hi, fixed);
    switch (op) {
    case OP_EQ:
        return add_cmp(r, OP_GE, &v) || add_cmp(r, OP_LT, &hi);
    case OP_GE:
        return add_cmp(r, OP_GE, &v);
    case OP_LT:
        return add_cmp(r, OP_LT, &v);
    case OP_GT: /* >1.29: 1.30.0 and up */
        return add_cmp(r, OP_GE, &hi);
    default: /* <=1.29: below 1.30.0 */
        return add_cmp(r, OP_LT, &hi);
    }
}

int airlock_semver_range_parse(struct airlock_semver_range *out, const char *text,
                               struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    if (!text || strlen(text) > SEMVER_MAX_TEXT)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "semver range longer than %d characters",
                                 SEMVER_MAX_TEXT);
    const char *p = text;
    out->n_sets = 1;
    int any = 0;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (p[0] == '|' && p[1] == '|') {
            if (!any)
                goto bad;
            if (out->n_sets == AIRLOCK_SEMVER_MAX_SETS)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "semver range '%s': more than %d alternatives", text,
                                         AIRLOCK_SEMVER_MAX_SETS);
            out->sets[out->n_sets++].n = 0;
            p += 2;
            any = 0;
            continue;
        }
        if (one_comparator(out, &p))
            goto bad;
        any = 1;
    }
    if (!any)
        goto bad;
    return 0;
bad:
    return airlock_error_set(err, AIRLOCK_EUSAGE,
                             "bad semver range '%s' (want e.g. '>=1.29 <1.30', '~1.29', "
                             "'^1.2', '1.29.x', joined with '||')",
                             text);
}

static int cmp_ok(int op, int c)
{
    switch (op) {
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    default:
        return c == 0;
    }
}

int airlock_semver_range_match(const struct airlock_semver_range *r,
                               const struct airlock_semver *v)
{
    for (size_t i = 0; i < r->n_sets; i++) {
        const struct airlock_semver_set *s = &r->sets[i];
        int ok = 1, pre_named = !v->pre[0];
        for (size_t k = 0; k < s->n && ok; k++) {
            ok = cmp_ok(s->cmp[k].op, airlock_semver_cmp(v, &s->cmp[k].v));
            /* a pre-release only where a comparator names one of the same version */
            const struct airlock_semver *c = &s->cmp[k].v;
            if (c->pre[0] && c->v[0] == v->v[0] && c->v[1] == v->v[1] && c->v[2] == v->v[2])
                pre_named = 1;
        }
        if (ok && pre_named)
            return 1;
    }
    return 0;
}

/* ---- tag filters ------------------------------------------------------------------------- */

/* 1 for the tags cosign and the referrers fallback use (sha256-<hex>[.suffix]) */
static int attachment_tag(const char *t)
{
    return !strncmp(t, "sha256-", 7) && strspn(t + 7, "0123456789abcdef") == 64 &&
           (!t[71] || t[71] == '.');
}

struct keep {
    const char *tag;
    struct airlock_semver v;
    size_t at;
};

static int by_version(const void *a, const void *b)
{
    const struct keep *x = a, *y = b;
    int c = airlock_semver_cmp(&x->v, &y->v);
    return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

static int compile_all(regex_t *re, const char *const *pat, size_t n, const char *what,
                       size_t *done, struct airlock_error **err)
{
    for (*done = 0; *done < n; (*done)++) {
        /* glibc's regcomp and regexec have no time bound: a pattern with many nested
         * repetitions takes exponential time (found by fuzz_imageset); a tag filter needs few */
        size_t reps = 0, len = strlen(pat[*done]);
        for (const char *c = pat[*done]; *c; c++)
            reps += *c == '*' || *c == '+' || *c == '?' || *c == '{';
        if (len > REGEX_MAX_LEN || reps > REGEX_MAX_REPS)
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "%s regex '%.300s' is longer than %d characters or has more "
                                     "than %d repetitions (* + ? {})",
                                     what, pat[*done], REGEX_MAX_LEN, REGEX_MAX_REPS);
        int rc = regcomp(&re[*done], pat[*done], REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[200];
            regerror(rc, NULL, msg, sizeof(msg));
            return airlock_error_set(err, AIRLOCK_EUSAGE, "bad %s regex '%s': %s", what,
                                     pat[*done], msg);
        }
    }
    return 0;
}

static int any_match(const regex_t *re, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!regexec(&re[i], s, 0, NULL, 0))
            return 1;
    return 0;
}

int airlock_tags_filter(char ***out, size_t *n_out, int *by_semver, const char *const *tags,
                        size_t n, const struct airlock_tag_filter *f, struct airlock_error **err)
{
    struct airlock_semver_range range;
    regex_t *allow = NULL, *deny = NULL;
    size_t n_allow = 0, n_deny = 0, k = 0, from = 0;
    struct keep *keep = NULL;
    char **res = NULL;
    int rc = 0, semver = 1;
    *out = NULL;
    *n_out = 0;
    if (by_semver)
        *by_semver = 0;
    if (f->semver && (rc = airlock_semver_range_parse(&range, f->semver, err)))
        return rc;
    if ((f->n_allow && !(allow = calloc(f->n_allow, sizeof(*allow)))) ||
        (f->n_deny && !(deny = calloc(f->n_deny, sizeof(*deny)))) ||
        !(keep = calloc(n + 1, sizeof(*keep)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = compile_all(allow, f->allow, f->n_allow, "allow", &n_allow, err)) ||
        (rc = compile_all(deny, f->deny, f->n_deny, "deny", &n_deny, err)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct airlock_semver v;
        memset(&v, 0, sizeof(v));
        int is_v = !airlock_semver_parse(&v, tags[i]);
        if (attachment_tag(tags[i]) || (f->semver && (!is_v || !airlock_semver_range_match(&range, &v))) ||
            (n_allow && !any_match(allow, n_allow, tags[i])) ||
            any_match(deny, n_deny, tags[i]))
            continue;
        if (!is_v)
            semver = 0;
        keep[k].tag = tags[i];
        if (is_v)
            keep[k].v = v;
        keep[k].at = i;
        k++;
    }
    if (semver && k) /* ascending by version; otherwise in the registry's order */
        qsort(keep, k, sizeof(*keep), by_version);
    from = f->latest && f->latest < k ? k - f->latest : 0;
    if (!(res = calloc(k - from + 1, sizeof(*res)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = from; i < k; i++)
        if (!(res[i - from] = strdup(keep[i].tag))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    if (by_semver)
        *by_semver = semver && k;
    *out = steal_pointer(&res);
    *n_out = k - from;
out:
    for (size_t i = 0; res && res[i]; i++)
        free(res[i]);
    free(res);
    for (size_t i = 0; i < n_allow; i++)
        regfree(&allow[i]);
    for (size_t i = 0; i < n_deny; i++)
        regfree(&deny[i]);
    free(allow);
    free(deny);
    free(keep);
    return rc;
}
