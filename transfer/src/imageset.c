/* Image sets: which tags of which repositories an export takes (airlock tags, export --set),
 * the set file (YAML through yaml.c, or JSON) and the record of what was resolved. */
#include "transfer_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int airlock_tags_select(char ***out, size_t *n, int *by_semver, struct airlock_registry *r,
                        const char *repo, size_t page, const struct airlock_tag_filter *f,
                        struct airlock_error **err)
{
    char **all = NULL;
    size_t n_all = 0;
    *out = NULL;
    *n = 0;
    int rc = airlock_registry_tags_list(r, repo, page, &all, &n_all, err);
    if (rc)
        return rc;
    rc = airlock_tags_filter(out, n, by_semver, (const char *const *)all, n_all, f, err);
    for (size_t i = 0; i < n_all; i++)
        free(all[i]);
    free(all);
    if (rc)
        return airlock_error_wrap(err, "'%s/%s'", r->host, repo);
    int filtered = f->semver || f->n_allow || f->n_deny || f->latest;
    if (!*n && filtered) {
        free(*out);
        *out = NULL;
        char what[300] = "";
        snprintf(what, sizeof(what), "%s%s%s%s%s%s", f->semver ? "semver '" : "",
                 f->semver ? f->semver : "", f->semver ? "'" : "",
                 f->n_allow ? (f->semver ? ", allow '" : "allow '") : "",
                 f->n_allow ? f->allow[0] : "", f->n_allow ? "'" : "");
        return airlock_error_set(err, AIRLOCK_ENOTFOUND,
                                 "no tag of '%s/%s' (%zu listed) passes the filters%s%s", r->host,
                                 repo, n_all, *what ? ": " : "", what);
    }
    return 0;
}

/* ---- the set file --------------------------------------------------------------------------- */

#define SET_MAX_FILE (4u << 20)
#define SET_MAX_REPOS 1000
#define SET_MAX_IMAGES 20000
#define SET_MAX_LIST 1000
#define SET_API "airlock.dev/v1"

struct pctx {
    const char *path;
    struct airlock_error **err;
};

static int bad(struct pctx *p, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct pctx *p, const char *where, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return airlock_error_set(p->err, AIRLOCK_EUSAGE, "'%s': %s%s%s", p->path, where ? where : "",
                             where ? ": " : "", msg);
}

/* Every member of o is one of names (NULL-terminated). */
static int known_keys(struct pctx *p, const cJSON *o, const char *where, const char *const *names)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int ok = 0;
        for (size_t i = 0; names[i] && !ok; i++)
            ok = !strcmp(it->string, names[i]);
        if (!ok)
            return bad(p, where, "unknown member '%.100s'", it->string);
    }
    return 0;
}

static int get_string(struct pctx *p, const cJSON *o, const char *key, const char *where,
                      int required, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return required ? bad(p, where, "'%s' is missing", key) : 0;
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 1024)
        return bad(p, where, "'%s' is not a string of 1 to 1024 characters", key);
    if (!(*out = strdup(v->valuestring)))
        return airlock_error_set(p->err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* A string or a list of strings. */
static int get_list(struct pctx *p, const cJSON *o, const char *key, const char *where,
                    char ***out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    size_t count = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return bad(p, where, "'%s' is not a string or a list of strings", key);
    if (count > SET_MAX_LIST)
        return bad(p, where, "'%s' lists more than %d", key, SET_MAX_LIST);
    char **l = calloc(count + 1, sizeof(*l));
    if (!l)
        return airlock_error_set(p->err, AIRLOCK_EOS, "out of memory");
    *out = l;
    if (cJSON_IsString(v)) {
        if (!*v->valuestring || strlen(v->valuestring) > 1024 || !(l[0] = strdup(v->valuestring)))
            return bad(p, where, "'%s' is an empty or overlong string", key);
        *n = 1;
        return 0;
    }
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 1024)
            return bad(p, where, "'%s' item %zu is not a string of 1 to 1024 characters", key,
                       *n + 1);
        if (!(l[*n] = strdup(it->valuestring)))
            return airlock_error_set(p->err, AIRLOCK_EOS, "out of memory");
        (*n)++;
    }
    return 0;
}

static int get_bool(struct pctx *p, const cJSON *o, const char *key, const char *where, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return bad(p, where, "'%s' is not true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

static int check_platforms(struct pctx *p, char **pl, size_t n, const char *where)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = pl[i], *sl = strchr(s, '/');
        if (!sl || sl == s || !sl[1] || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789/") != strlen(s))
            return bad(p, where, "platform '%s' is not os/arch[/variant]", s);
    }
    return 0;
}

static int parse_repo(struct pctx *p, const cJSON *o, const char *host, size_t ri,
                      struct airlock_set_repo *r)
{
    static const char *const keys[] = {"name",  "tags",  "digests", "semver", "allow", "deny",
                                       "latest", "platforms", "attachments", NULL};
    char where[600];
    snprintf(where, sizeof(where), "registry '%.200s' repository %zu", host, ri + 1);
    r->attachments = 1;
    if (!cJSON_IsObject(o))
        return bad(p, where, "not a mapping");
    int rc = get_string(p, o, "name", where, 1, &r->name);
    if (rc)
        return rc;
    snprintf(where, sizeof(where), "repository '%.200s/%.200s'", host, r->name);
    if ((rc = known_keys(p, o, where, keys)) ||
        (rc = get_list(p, o, "tags", where, &r->tags, &r->n_tags)) ||
        (rc = get_list(p, o, "digests", where, &r->digests, &r->n_digests)) ||
        (rc = get_string(p, o, "semver", where, 0, &r->semver)) ||
        (rc = get_list(p, o, "allow", where, &r->allow, &r->n_allow)) ||
        (rc = get_list(p, o, "deny", where, &r->deny, &r->n_deny)) ||
        (rc = get_list(p, o, "platforms", where, &r->platforms, &r->n_platforms)) ||
        (rc = get_bool(p, o, "attachments", where, &r->attachments)) ||
        (rc = check_platforms(p, r->platforms, r->n_platforms, where)))
        return rc;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "latest");
    if (l && (!cJSON_IsNumber(l) || l->valuedouble < 1 || l->valuedouble > 100000 ||
              l->valuedouble != (double)(size_t)l->valuedouble))
        return bad(p, where, "'latest' is not a whole number from 1 to 100000");
    r->latest = l ? (size_t)l->valuedouble : 0;
    if (!r->n_tags && !r->n_digests && !r->semver && !r->n_allow && !r->latest)
        return bad(p, where, "names no tags, digests, semver, allow or latest (to take every "
                             "tag, say allow: '.*')");
    /* checked now, so a typo fails before any request */
    for (size_t i = 0; i < r->n_digests; i++)
        if (airlock_digest_check(r->digests[i], NULL))
            return bad(p, where, "'%.100s' is not a sha256 digest", r->digests[i]);
    struct airlock_tag_filter f = {r->semver, (const char *const *)r->allow, r->n_allow,
                                   (const char *const *)r->deny, r->n_deny, 0};
    char **none = NULL;
    size_t n_none = 0;
    struct airlock_error *e = NULL;
    if (airlock_tags_filter(&none, &n_none, NULL, NULL, 0, &f, &e)) {
        rc = bad(p, where, "%s", e ? e->msg : "bad filter");
        airlock_error_free(e);
        return rc;
    }
    free_list(none);
    char ref[1200];
    snprintf(ref, sizeof(ref), "%s/%s", host, r->name);
    struct airlock_ref pr;
    if (strchr(r->name, ':') || strchr(r->name, '@') || airlock_ref_parse(&pr, ref, NULL))
        return bad(p, where, "not a repository name");
    int same = !strcmp(pr.path, r->name);
    airlock_ref_release(&pr);
    if (!same)
        return bad(p, where, "not a repository name in normal form");
    for (size_t i = 0; i < r->n_tags; i++) {
        snprintf(ref, sizeof(ref), "%s/%s:%s", host, r->name, r->tags[i]);
        if (strchr(r->tags[i], ':') || strchr(r->tags[i], '@') || airlock_ref_parse(&pr, ref, NULL))
            return bad(p, where, "'%.100s' is not a tag", r->tags[i]);
        airlock_ref_release(&pr);
    }
    return 0;
}

static int parse_image(struct pctx *p, const cJSON *o, size_t i, int lock,
                       struct airlock_set_image *im)
{
    static const char *const keys[] = {"ref", "name", "platforms", "attachments", NULL};
    char where[300];
    snprintf(where, sizeof(where), "image %zu", i + 1);
    im->attachments = 1;
    int rc = 0;
    if (cJSON_IsString(o)) {
        if (!(im->ref = strdup(o->valuestring)))
            return airlock_error_set(p->err, AIRLOCK_EOS, "out of memory");
    } else if (!cJSON_IsObject(o))
        return bad(p, where, "not a reference or a mapping");
    else if ((rc = known_keys(p, o, where, keys)) ||
             (rc = get_string(p, o, "ref", where, 1, &im->ref)) ||
             (rc = get_string(p, o, "name", where, 0, &im->name)) ||
             (rc = get_list(p, o, "platforms", where, &im->platforms, &im->n_platforms)) ||
             (rc = get_bool(p, o, "attachments", where, &im->attachments)) ||
             (rc = check_platforms(p, im->platforms, im->n_platforms, where)))
        return rc;
    struct airlock_ref pr;
    if (airlock_ref_parse(&pr, im->ref, NULL))
        return bad(p, where, "'%.300s' is not an image reference", im->ref);
    int pinned = pr.digest != NULL;
    airlock_ref_release(&pr);
    if (im->name && (airlock_ref_parse(&pr, im->name, NULL) || (airlock_ref_release(&pr), 0)))
        return bad(p, where, "name '%.300s' is not an image reference", im->name);
    if (lock && !pinned)
        return bad(p, where, "'%.300s' has no digest: a lock pins every image", im->ref);
    return 0;
}

int airlock_image_set_parse(struct airlock_image_set **out, const char *text, size_t len,
                            const char *path, struct airlock_error **err)
{
    static const char *const keys[] = {"apiVersion", "kind", "registries", "images",
                                       "lockedFrom", NULL};
    struct pctx p = {path, err};
    cJSON *doc = NULL;
    int rc = 0;
    char *api = NULL, *kind = NULL;
    const cJSON *regs = NULL, *imgs = NULL, *reg = NULL, *img = NULL;
    size_t n_repos = 0, n_imgs = 0, ri = 0, lead = 0;
    struct airlock_image_set *s = NULL;
    *out = NULL;
    if (len > SET_MAX_FILE)
        return bad(&p, NULL, "larger than %u bytes", SET_MAX_FILE);
    while (lead < len && (text[lead] == ' ' || text[lead] == '\n' || text[lead] == '\t' ||
                          text[lead] == '\r'))
        lead++;
    if (lead < len && text[lead] == '{') {
        if ((rc = airlock_json_check(text, len, path, err)))
            return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': not a JSON set file", path);
        if (!(doc = core_json_parse(text, len, NULL)))
            return bad(&p, NULL, "not JSON");
        if (core_json_has_duplicate_keys(doc)) {
            cJSON_Delete(doc);
            return bad(&p, NULL, "a JSON member is given twice (or nested too deeply)");
        }
    } else if ((rc = transfer_yaml_parse(&doc, text, len, path, err)))
        return rc;
    if (!(s = calloc(1, sizeof(*s)))) {
        cJSON_Delete(doc);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!(s->path = strdup(path)) || airlock_sha256_digest(s->digest, text, len, NULL)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(doc)) {
        rc = bad(&p, NULL, "not a mapping with 'registries' and 'images'");
        goto out;
    }
    if ((rc = known_keys(&p, doc, NULL, keys)))
        goto out;
    if ((rc = get_string(&p, doc, "apiVersion", NULL, 0, &api)) ||
        (rc = get_string(&p, doc, "kind", NULL, 0, &kind)))
        goto kinds;
    if (api && strcmp(api, SET_API))
        rc = bad(&p, NULL, "apiVersion '%s' is not '%s'", api, SET_API);
    else if (kind && strcmp(kind, "ImageSet") && strcmp(kind, "ImageSetLock"))
        rc = bad(&p, NULL, "kind '%s' is not ImageSet or ImageSetLock", kind);
    s->lock = kind && !strcmp(kind, "ImageSetLock");
kinds:
    free(api);
    free(kind);
    if (rc)
        goto out;
    regs = cJSON_GetObjectItemCaseSensitive(doc, "registries");
    imgs = cJSON_GetObjectItemCaseSensitive(doc, "images");
    if ((regs && !cJSON_IsArray(regs)) || (imgs && !cJSON_IsArray(imgs))) {
        rc = bad(&p, NULL, "'registries' and 'images' are lists");
        goto out;
    }
    if (s->lock && regs && cJSON_GetArraySize(regs)) {
        rc = bad(&p, NULL, "a lock lists images only, no registries");
        goto out;
    }
    cJSON_ArrayForEach(reg, regs)
    {
        const cJSON *repos = cJSON_GetObjectItemCaseSensitive(reg, "repositories");
        n_repos += cJSON_IsArray(repos) ? (size_t)cJSON_GetArraySize(repos) : 0;
    }
    n_imgs = imgs ? (size_t)cJSON_GetArraySize(imgs) : 0;
    if (n_repos > SET_MAX_REPOS || n_imgs > SET_MAX_IMAGES) {
        rc = bad(&p, NULL, "more than %d repositories or %d images", SET_MAX_REPOS,
                 SET_MAX_IMAGES);
        goto out;
    }
    if (!(s->repos = calloc(n_repos + 1, sizeof(*s->repos))) ||
        !(s->images = calloc(n_imgs + 1, sizeof(*s->images)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(reg, regs)
    {
        static const char *const rkeys[] = {"host", "repositories", NULL};
        char *host = NULL;
        char where[300];
        snprintf(where, sizeof(where), "registry %zu", ++ri);
        if (!cJSON_IsObject(reg)) {
            rc = bad(&p, where, "not a mapping with 'host' and 'repositories'");
            goto out;
        }
        if ((rc = known_keys(&p, reg, where, rkeys)) ||
            (rc = get_string(&p, reg, "host", where, 1, &host)))
            goto out;
        /* a host as references read it: a dot, a port, or localhost (else "team/app" would
         * silently mean docker.io/team/app) */
        if ((!strchr(host, '.') && !strchr(host, ':') && strcmp(host, "localhost")) ||
            strchr(host, '/') || strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") !=
                                     strlen(host)) {
            rc = bad(&p, where, "'%.200s' is not a registry host (a name with a dot or a port, "
                                "or localhost)", host);
            free(host);
            goto out;
        }
        const cJSON *repos = cJSON_GetObjectItemCaseSensitive(reg, "repositories"), *ro;
        if (!cJSON_IsArray(repos) || !cJSON_GetArraySize(repos)) {
            rc = bad(&p, where, "'repositories' is not a list of at least one");
            free(host);
            goto out;
        }
        size_t k = 0;
        cJSON_ArrayForEach(ro, repos)
        {
            struct airlock_set_repo *r = &s->repos[s->n_repos++];
            if (!(r->registry = strdup(host)))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            if (rc || (rc = parse_repo(&p, ro, host, k++, r)))
                break;
        }
        free(host);
        if (rc)
            goto out;
    }
    if (!n_repos && !n_imgs && !cJSON_GetArraySize(regs)) {
        rc = bad(&p, NULL, "names no repository and no image");
        goto out;
    }
    cJSON_ArrayForEach(img, imgs)
    {
        rc = parse_image(&p, img, s->n_images, s->lock, &s->images[s->n_images]);
        s->n_images++; /* freed with the others, also when it failed */
        if (rc)
            goto out;
    }
    *out = steal_pointer(&s);
out:
    airlock_image_set_free(s);
    cJSON_Delete(doc);
    return rc;
}

int airlock_image_set_load(struct airlock_image_set **out, const char *path,
                           struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = transfer_read_file(path, SET_MAX_FILE, 0, AIRLOCK_EUSAGE, &text, &len, err);
    if (rc)
        return rc;
    rc = airlock_image_set_parse(out, text, len, path, err);
    free(text);
    return rc;
}

void airlock_image_set_free(struct airlock_image_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_repos; i++) {
        struct airlock_set_repo *r = &s->repos[i];
        free(r->registry);
        free(r->name);
        free(r->semver);
        free_list(r->tags);
        free_list(r->digests);
        free_list(r->allow);
        free_list(r->deny);
        free_list(r->platforms);
    }
    for (size_t i = 0; i < s->n_images; i++) {
        free(s->images[i].ref);
        free(s->images[i].name);
        free_list(s->images[i].platforms);
    }
    free(s->repos);
    free(s->images);
    free(s->path);
    free(s);
}

/* ---- resolution ------------------------------------------------------------------------------ */

struct airlock_set_items {
    struct airlock_export_item *items;
    size_t n, cap;
    char **strs; /* what the items point to */
    size_t n_strs, cap_strs;
    struct core_dmap seen; /* sha256 of the normalized reference -> 1 */
};

static char *keep_str(struct airlock_set_items *it, char *s)
{
    if (!s)
        return NULL;
    if (it->n_strs == it->cap_strs) {
        size_t nc = it->cap_strs ? it->cap_strs * 2 : 64;
        char **n = realloc(it->strs, nc * sizeof(*n));
        if (!n) {
            free(s);
            return NULL;
        }
        it->strs = n;
        it->cap_strs = nc;
    }
    it->strs[it->n_strs++] = s;
    return s;
}

/* Adds ref (once: the same image named twice is taken once). -1: no memory. */
static int add_item(struct airlock_set_items *it, char *ref, const char *name,
                    char *const *platforms, size_t n_platforms, int attachments, char *requested)
{
    char h[AIRLOCK_DIGEST_SIZE];
    if (!keep_str(it, ref) || (requested && !keep_str(it, requested)))
        return -1;
    struct airlock_ref pr;
    char *norm = NULL;
    if (!airlock_ref_parse(&pr, ref, NULL)) {
        norm = airlock_ref_format(&pr);
        airlock_ref_release(&pr);
    }
    airlock_sha256_digest(h, norm ? norm : ref, strlen(norm ? norm : ref), NULL);
    free(norm);
    if (core_dmap_get(&it->seen, h))
        return 0;
    if (core_dmap_put(&it->seen, h, 1))
        return -1;
    if (it->n == it->cap) {
        size_t nc = it->cap ? it->cap * 2 : 64;
        struct airlock_export_item *n = realloc(it->items, nc * sizeof(*n));
        if (!n)
            return -1;
        it->items = n;
        it->cap = nc;
    }
    struct airlock_export_item *e = &it->items[it->n++];
    memset(e, 0, sizeof(*e));
    e->ref = ref;
    e->name = name;
    e->platforms = (const char *const *)platforms;
    e->n_platforms = n_platforms;
    e->no_attachments = !attachments;
    e->requested = requested;
    return 0;
}

/* "host/repo semver '>=1.29 <1.30' allow '^v1' deny '-rc' latest 3" */
static char *rule_text(const struct airlock_set_repo *r)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "%s/%s", r->registry, r->name);
    if (r->semver && n > 0 && (size_t)n < sizeof(buf))
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " semver '%s'", r->semver);
    for (size_t i = 0; i < r->n_allow && n > 0 && (size_t)n < sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " allow '%s'", r->allow[i]);
    for (size_t i = 0; i < r->n_deny && n > 0 && (size_t)n < sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " deny '%s'", r->deny[i]);
    if (r->latest && n > 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, " latest %zu", r->latest);
    return strdup(buf);
}

/* "host/repo" sep "tag or digest", malloc'd */
static char *fmt(const char *host, const char *repo, char sep, const char *what)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s%c%s", host, repo, sep, what) < 0)
        return NULL;
    return s;
}

int airlock_image_set_resolve(struct airlock_set_items **out, const struct airlock_image_set *s,
                              const struct airlock_registry_opts *ro, struct airlock_error **err)
{
    struct airlock_set_items *it = calloc(1, sizeof(*it));
    struct airlock_registry *reg = NULL;
    int rc = 0;
    *out = NULL;
    if (!it)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < s->n_repos && !rc; i++) {
        const struct airlock_set_repo *r = &s->repos[i];
        int oom = 0;
        if (r->semver || r->n_allow || r->latest) {
            if (!reg || strcmp(reg->host, r->registry)) {
                airlock_registry_free(reg);
                reg = NULL;
                if ((rc = airlock_registry_new(&reg, r->registry, ro, err)))
                    break;
            }
            struct airlock_tag_filter f = {r->semver, (const char *const *)r->allow, r->n_allow,
                                           (const char *const *)r->deny, r->n_deny, r->latest};
            char **tags = NULL;
            size_t n = 0;
            if ((rc = airlock_tags_select(&tags, &n, NULL, reg, r->name, 0, &f, err))) {
                airlock_error_wrap(err, "set '%s'", s->path);
                break;
            }
            for (size_t k = 0; k < n && !oom; k++)
                oom = add_item(it, fmt(r->registry, r->name, ':', tags[k]), NULL,
                               r->platforms, r->n_platforms, r->attachments, rule_text(r));
            for (size_t k = 0; k < n; k++)
                free(tags[k]);
            free(tags);
        }
        for (size_t k = 0; k < r->n_tags && !oom; k++)
            oom = add_item(it, fmt(r->registry, r->name, ':', r->tags[k]), NULL,
                           r->platforms, r->n_platforms, r->attachments, NULL);
        for (size_t k = 0; k < r->n_digests && !oom; k++)
            oom = add_item(it, fmt(r->registry, r->name, '@', r->digests[k]), NULL,
                           r->platforms, r->n_platforms, r->attachments, NULL);
        if (oom)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (size_t i = 0; i < s->n_images && !rc; i++) {
        const struct airlock_set_image *im = &s->images[i];
        if (add_item(it, strdup(im->ref), im->name, im->platforms, im->n_platforms,
                     im->attachments, NULL))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    airlock_registry_free(reg);
    if (rc) {
        airlock_set_items_free(it);
        return rc;
    }
    *out = it;
    return 0;
}

const struct airlock_export_item *airlock_set_items_list(const struct airlock_set_items *it,
                                                         size_t *n)
{
    *n = it->n;
    return it->items;
}

void airlock_set_items_free(struct airlock_set_items *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->n_strs; i++)
        free(it->strs[i]);
    free(it->strs);
    free(it->items);
    core_dmap_release(&it->seen);
    free(it);
}

/* ---- the lock ------------------------------------------------------------------------------ */

int airlock_set_record_lock(char **out, struct airlock_bundle *b, struct airlock_error **err)
{
    size_t len;
    const char *index = airlock_bundle_index(b, &len);
    cJSON *ij = core_json_parse(index, len, NULL), *e, *im;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ij, "annotations"), AIRLOCK_ANN_SET_RECORD));
    cJSON *rec = text ? core_json_parse(text, strlen(text), NULL) : NULL;
    cJSON *lock = NULL, *images = NULL, *from = NULL, *sets = NULL;
    struct core_dmap held = {0}; /* "name digest" the bundle lists as an entry */
    int rc = 0;
    *out = NULL;
    if (!rec || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rec, "exports"))) {
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND,
                               "'%s' holds no record of an export (made by import, or by an "
                               "airlock without image sets)",
                               airlock_bundle_path(b));
        goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ij, "manifests"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e, "annotations"), AIRLOCK_ANN_REF_NAME));
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "digest"));
        char key[AIRLOCK_DIGEST_SIZE], *kv = NULL;
        if (n && d && asprintf(&kv, "%s %s", n, d) >= 0) {
            airlock_sha256_digest(key, kv, strlen(kv), NULL);
            core_dmap_put(&held, key, 1);
        }
        free(kv);
    }
    if (!(lock = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(lock, "apiVersion", SET_API) ||
        !cJSON_AddStringToObject(lock, "kind", "ImageSetLock") ||
        !(images = cJSON_AddArrayToObject(lock, "images")) || !(from = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(from, "bundle", airlock_bundle_path(b)) ||
        !(sets = cJSON_AddArrayToObject(from, "exports"))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "exports"))
    {
        cJSON *se = cJSON_CreateObject();
        cJSON *set = cJSON_GetObjectItemCaseSensitive(e, "set");
        if (cJSON_IsObject(set))
            cJSON_AddItemToObject(se, "set", cJSON_Duplicate(set, 1));
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "time"));
        if (t)
            cJSON_AddStringToObject(se, "time", t);
        cJSON_AddItemToArray(sets, se);
        cJSON_ArrayForEach(im, cJSON_GetObjectItemCaseSensitive(e, "images"))
        {
            const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(im, "name"));
            const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(im, "digest"));
            const char *t2 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(im, "tag"));
            const char *rq =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(im, "requested"));
            char key[AIRLOCK_DIGEST_SIZE], *kv = NULL, *ref = NULL;
            struct airlock_ref pr;
            if (!n || !d || airlock_digest_check(d, NULL) || asprintf(&kv, "%s %s", n, d) < 0)
                continue;
            airlock_sha256_digest(key, kv, strlen(kv), NULL);
            free(kv);
            if (!core_dmap_get(&held, key)) /* no longer in the bundle under that name */
                continue;
            if (airlock_ref_parse(&pr, n, NULL))
                continue;
            char *repo = airlock_ref_repository(&pr);
            const char *tag = pr.tag ? pr.tag : t2;
            if (repo && asprintf(&ref, "%s%s%s@%s", repo, tag ? ":" : "", tag ? tag : "", d) < 0)
                ref = NULL;
            free(repo);
            airlock_ref_release(&pr);
            if (!ref) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
            cJSON *li = cJSON_CreateObject();
            cJSON_AddStringToObject(li, "ref", ref);
            cJSON_AddStringToObject(li, "name", n);
            cJSON *a = cJSON_GetObjectItemCaseSensitive(im, "attachments");
            cJSON_AddBoolToObject(li, "attachments", !cJSON_IsFalse(a));
            (void)rq;
            cJSON_AddItemToArray(images, li);
            free(ref);
        }
    }
    cJSON_AddItemToObject(lock, "lockedFrom", from);
    from = NULL;
    if (!(*out = cJSON_Print(lock)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
out:
    cJSON_Delete(from);
    cJSON_Delete(lock);
    cJSON_Delete(rec);
    cJSON_Delete(ij);
    core_dmap_release(&held);
    return rc;
}
