/* Image references, normalized as Docker's distribution/reference does. */
#include "airlock/core.h"
#include "core_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* path-component := [a-z0-9]+ ((?:[._]|__|-+) [a-z0-9]+)* */
int core_ref_valid_component(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alnum_lower(s[0]))
        return 0;
    while (i < n) {
        while (i < n && is_alnum_lower(s[i]))
            i++;
        if (i == n)
            return 1;
        size_t sep = i;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return 0;
        if (i == sep || i == n || !is_alnum_lower(s[i]))
            return 0;
    }
    return 1;
}

int core_ref_valid_path(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 255)
        return 0;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (!core_ref_valid_component(s, l))
            return 0;
        if (!e)
            return 1;
        s = e + 1;
    }
}

/* domain := component ('.' component)* (':' port)?, component := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static int valid_domain(const char *s, size_t n)
{
    size_t host = n;
    const char *colon = memchr(s, ':', n);
    if (colon) {
        host = (size_t)(colon - s);
        size_t pl = n - host - 1;
        if (pl == 0 || pl > 5)
            return 0;
        for (size_t i = host + 1; i < n; i++)
            if (!isdigit((unsigned char)s[i]))
                return 0;
    }
    if (host == 0)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= host; i++) {
        if (i == host || s[i] == '.') {
            size_t len = i - start;
            if (len == 0 || s[start] == '-' || s[i - 1] == '-')
                return 0;
            start = i + 1;
        } else if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    }
    return 1;
}

static int valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return 0;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return 0;
    return 1;
}

void airlock_ref_release(struct airlock_ref *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

int airlock_ref_parse(struct airlock_ref *out, const char *s, struct airlock_error **err)
{
    struct airlock_ref r = {0};
    _cleanup_free_ char *name = NULL;
    if (!s || !*s)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "empty image reference");
    if (strlen(s) > 512)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "image reference '%.60s...': too long", s);
    name = strdup(s);
    if (!name)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        if (airlock_digest_check(at + 1, NULL))
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "image reference '%s': invalid digest (want sha256:<64 hex>)",
                                     s);
        r.digest = strdup(at + 1);
    }
    char *slash = strrchr(name, '/');
    char *colon = strrchr(slash ? slash : name, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1)) {
            airlock_ref_release(&r);
            return airlock_error_set(err, AIRLOCK_EUSAGE, "image reference '%s': invalid tag", s);
        }
        r.tag = strdup(colon + 1);
    }
    /* Split off the domain the way Docker does. */
    char *first = strchr(name, '/');
    const char *rest = name;
    if (first) {
        size_t dl = (size_t)(first - name);
        int looks_domain = memchr(name, '.', dl) || memchr(name, ':', dl) ||
                           (dl == 9 && !strncmp(name, "localhost", 9));
        for (size_t i = 0; i < dl && !looks_domain; i++)
            if (isupper((unsigned char)name[i]))
                looks_domain = 1;
        if (looks_domain) {
            if (!valid_domain(name, dl)) {
                airlock_ref_release(&r);
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "image reference '%s': invalid registry host", s);
            }
            r.domain = strndup(name, dl);
            rest = first + 1;
        }
    }
    if (!r.domain)
        r.domain = strdup("docker.io");
    else if (!strcmp(r.domain, "index.docker.io")) {
        free(r.domain);
        r.domain = strdup("docker.io");
    }
    if (!r.domain) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    /* Validate path components. */
    const char *p = rest;
    if (!*p) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EUSAGE, "image reference '%s': no repository", s);
    }
    while (1) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!core_ref_valid_component(p, n)) {
            int upper = 0;
            for (size_t i = 0; i < n; i++)
                upper |= isupper((unsigned char)p[i]) != 0;
            airlock_ref_release(&r);
            return airlock_error_set(err, AIRLOCK_EUSAGE, "image reference '%s': %s", s,
                                     upper ? "repository name must be lowercase"
                                           : "invalid repository name");
        }
        if (!e)
            break;
        p = e + 1;
    }
    if (!strcmp(r.domain, "docker.io") && !strchr(rest, '/')) {
        if (asprintf(&r.path, "library/%s", rest) < 0)
            r.path = NULL;
    } else
        r.path = strdup(rest);
    if (!r.path) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (strlen(r.domain) + 1 + strlen(r.path) > 255) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "image reference '%s': repository name longer than 255", s);
    }
    if (strlen(rest) == 64 && !at && !colon && strspn(rest, "0123456789abcdef") == 64) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "image reference '%s': a 64-hex name is an image ID, not a "
                                 "reference",
                                 s);
    }
    if (!r.tag && !r.digest)
        r.tag = strdup("latest");
    if ((r.digest && !r.digest[0]) || (!r.tag && !r.digest)) {
        airlock_ref_release(&r);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    *out = r;
    return 0;
}

char *airlock_ref_format(const struct airlock_ref *r)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
        return NULL;
    return s;
}

char *airlock_ref_repository(const struct airlock_ref *r)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", r->domain, r->path) < 0)
        return NULL;
    return s;
}

/* The rename for repository repo, or NULL. */
static const char *renamed(const char *repo, const char *const *map, size_t n_map)
{
    const char *hit = NULL;
    for (size_t i = 0; i < n_map && !hit; i++) {
        const char *eq = strchr(map[i], '=');
        char *ms = eq ? strndup(map[i], (size_t)(eq - map[i])) : NULL;
        struct airlock_ref mr;
        if (ms && !airlock_ref_parse(&mr, ms, NULL)) {
            char *mrepo = airlock_ref_repository(&mr);
            if (mrepo && !strcmp(mrepo, repo))
                hit = eq + 1;
            free(mrepo);
            airlock_ref_release(&mr);
        }
        free(ms);
    }
    return hit;
}

int airlock_ref_destination(struct airlock_ref *out, const char *src, const char *dest,
                            const char *const *map, size_t n_map, struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    const char *slash = dest ? strchr(dest, '/') : NULL;
    size_t hl = slash ? (size_t)(slash - dest) : (dest ? strlen(dest) : 0);
    if (!hl)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "destination '%s': no registry host",
                                 dest ? dest : "");
    struct airlock_ref r;
    int rc = airlock_ref_parse(&r, src, err);
    if (rc)
        return rc;
    char *repo = airlock_ref_repository(&r), *prefix = NULL, *full = NULL;
    if (slash && slash[1]) {
        prefix = strdup(slash + 1);
        while (prefix && *prefix && prefix[strlen(prefix) - 1] == '/')
            prefix[strlen(prefix) - 1] = '\0';
    }
    const char *mapped = repo ? renamed(repo, map, n_map) : NULL;
    int n = -1;
    if (repo && (!slash || !slash[1] || prefix)) {
        if (mapped)
            n = asprintf(&full, "%.*s/%s", (int)hl, dest, mapped);
        else if (prefix && *prefix)
            n = asprintf(&full, "%.*s/%s/%s", (int)hl, dest, prefix, r.path);
        else
            n = asprintf(&full, "%.*s/%s", (int)hl, dest, r.path);
    }
    if (n < 0)
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    else {
        struct airlock_ref d;
        rc = airlock_ref_parse(&d, full, err);
        if (!rc && strncmp(d.domain, dest, hl) &&
            !(hl == 15 && !strncmp(dest, "index.docker.io", 15))) {
            /* a bare host ("registry") reads as a Docker Hub path when parsed back: keep it
             * as the host, the path checked on its own */
            char *path = NULL;
            airlock_ref_release(&d);
            if (asprintf(&path, "host.invalid%s", full + hl) < 0)
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            else if (!(rc = airlock_ref_parse(&d, path, err))) {
                free(d.domain);
                if (!(d.domain = strndup(dest, hl))) {
                    airlock_ref_release(&d);
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                }
            }
            free(path);
        }
        if (!rc) {
            free(d.tag);
            free(d.digest);
            d.tag = r.tag ? strdup(r.tag) : NULL;
            d.digest = r.digest ? strdup(r.digest) : NULL;
            if ((r.tag && !d.tag) || (r.digest && !d.digest)) {
                airlock_ref_release(&d);
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            } else
                *out = d;
        }
    }
    free(full);
    free(prefix);
    free(repo);
    airlock_ref_release(&r);
    return rc;
}
