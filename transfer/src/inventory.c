/* Inventories: what a registry (or some of its repositories) already holds, carried out of the
 * air gap so that an export leaves out what is there (export --have), and the same taken from
 * an earlier drop's lock file (export --since).
 *
 * The file is one line:
 *
 *   {"digest":"sha256:<sha256 of BODY>","inventory":BODY}
 *
 * BODY: {"mediaType":"application/vnd.airlock.inventory.v1+json","registry":HOST,
 *        "prefix":PATH,"created":TIME,"repositories":[NAME...],"manifests":[DIGEST...],
 *        "blobs":[[DIGEST,REPO,REPO...]...]}
 * repositories sorted; manifests and blobs sorted by digest without repeats (the reader
 * refuses anything else); each REPO is the index of a repository that holds the blob (to
 * mount it from), every one that does, ascending (an inventory with one REPO per blob, as
 * airlock wrote before, reads the same). The digest covers BODY's exact bytes, so a truncated or edited file is refused before
 * it is read: the outside can tell the inventory is whole. It is a checksum, not a signature:
 * an inventory only ever makes an export leave blobs out, and push then asks the destination
 * for each of them before anything moves.
 *
 * Cost: one catalog listing (paginated), one tags listing per repository (paginated), one
 * manifest GET per tag and per child manifest not seen before (the one manifest graph, each
 * digest read once across all repositories); linear in tags and distinct manifests. */
#include "transfer_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define INV_MEDIA_TYPE "application/vnd.airlock.inventory.v1+json"
#define INV_FILE_MAX (256u << 20)
#define INV_MAX_ITEMS 4000000
#define INV_MAX_REPOS 100000
#define LOCK_FILE_MAX (4u << 20) /* as a set file (imageset.c) */
#define CATALOG_PAGE_MAX (8u << 20)
#define CATALOG_MAX_PAGES 10000
#define INV_HEAD "{\"digest\":\""
#define INV_MID "\",\"inventory\":"

struct inv_blob { /* one (blob, repository holding it) pair: a blob has one per holder */
    char digest[AIRLOCK_DIGEST_SIZE];
    size_t repo; /* index into repos, or SIZE_MAX */
};

struct airlock_inventory {
    char kind[16]; /* "inventory", or "lock" (from_lock) */
    char digest[AIRLOCK_DIGEST_SIZE];
    char *registry, *prefix;
    char **repos;
    size_t n_repos;
    char (*manifests)[AIRLOCK_DIGEST_SIZE];
    size_t n_manifests;
    struct inv_blob *blobs; /* sorted by digest, then repo: a blob's holders are adjacent */
    size_t n_blobs, cap_blobs;
    size_t n_distinct;      /* distinct digests among them */
    char *source;      /* from_lock: the lock file's path */
    char **lock_repos; /* and its images' repositories, "host/path", sorted (repeats kept) */
    size_t n_lock_repos;
};

void airlock_inventory_free(struct airlock_inventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->n_repos; i++)
        free(inv->repos[i]);
    free(inv->repos);
    free(inv->manifests);
    free(inv->blobs);
    free(inv->registry);
    free(inv->prefix);
    for (size_t i = 0; i < inv->n_lock_repos; i++)
        free(inv->lock_repos[i]);
    free(inv->lock_repos);
    free(inv->source);
    free(inv);
}

static int cmp_blob(const void *a, const void *b)
{
    return strcmp(((const struct inv_blob *)a)->digest, ((const struct inv_blob *)b)->digest);
}

static int cmp_pair(const void *a, const void *b)
{
    const struct inv_blob *x = a, *y = b;
    int c = strcmp(x->digest, y->digest);
    return c ? c : (x->repo > y->repo) - (x->repo < y->repo);
}

/* The first pair of digest's holders, or NULL */
static const struct inv_blob *first_pair(const struct airlock_inventory *inv, const char *digest)
{
    struct inv_blob key;
    if (!inv || !inv->n_blobs || strlen(digest) >= AIRLOCK_DIGEST_SIZE)
        return NULL;
    memset(&key, 0, sizeof(key));
    memcpy(key.digest, digest, strlen(digest) + 1);
    const struct inv_blob *b = bsearch(&key, inv->blobs, inv->n_blobs, sizeof(key), cmp_blob);
    while (b && b > inv->blobs && !strcmp(b[-1].digest, digest))
        b--;
    return b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_digest(const void *a, const void *b) { return strcmp(a, b); }

int airlock_inventory_has(const struct airlock_inventory *inv, const char *digest,
                          const char **from)
{
    const struct inv_blob *b = first_pair(inv, digest);
    if (from)
        *from = b && b->repo < inv->n_repos ? inv->repos[b->repo] : NULL;
    return b != NULL;
}

size_t airlock_inventory_holders(const struct airlock_inventory *inv, const char *digest,
                                 const char **names, size_t max)
{
    const struct inv_blob *b = first_pair(inv, digest);
    size_t n = 0;
    for (; b && b < inv->blobs + inv->n_blobs && !strcmp(b->digest, digest); b++) {
        if (b->repo >= inv->n_repos)
            continue;
        if (n < max)
            names[n] = inv->repos[b->repo];
        n++;
    }
    return n;
}

const char *airlock_inventory_basis(const struct airlock_inventory *inv, const char **digest,
                                    const char **registry)
{
    *digest = inv->digest;
    *registry = inv->registry;
    return inv->kind;
}

size_t airlock_inventory_blob_count(const struct airlock_inventory *inv) { return inv->n_distinct; }

int airlock_inventory_lock_check(const struct airlock_inventory *inv,
                                 const struct airlock_export_item *items, size_t n,
                                 struct airlock_error **err)
{
    if (!inv || strcmp(inv->kind, "lock") || !n)
        return 0;
    char *first = NULL;
    int rc = 0, hit = 0;
    for (size_t i = 0; i < n && !hit && !rc; i++) {
        struct airlock_ref ref = {0};
        char *key = NULL;
        if (airlock_ref_parse(&ref, items[i].ref, NULL))
            continue; /* the export's walk names it */
        if (asprintf(&key, "%s/%s", ref.domain, ref.path) < 0)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else if (inv->n_lock_repos &&
                 bsearch(&key, inv->lock_repos, inv->n_lock_repos, sizeof(key), cmp_str))
            hit = 1;
        if (!rc && !first)
            first = steal_pointer(&key);
        free(key);
        airlock_ref_release(&ref);
    }
    if (!rc && !hit)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "--since lock '%s' was made for other images: none of its %zu "
                               "images is in a repository this export takes (the lock has "
                               "'%s', the export '%s'); give the lock of the last drop of these "
                               "images (airlock inspect --lock LAST-DROP)",
                               inv->source ? inv->source : "", inv->n_lock_repos,
                               inv->n_lock_repos ? inv->lock_repos[0] : "nothing",
                               first ? first : "");
    free(first);
    return rc;
}

static int add_blob(struct airlock_inventory *inv, const char *digest, size_t repo)
{
    if (inv->n_blobs == inv->cap_blobs) {
        size_t cap = inv->cap_blobs ? inv->cap_blobs * 2 : 256;
        struct inv_blob *n = realloc(inv->blobs, cap * sizeof(*n));
        if (!n)
            return -1;
        inv->blobs = n;
        inv->cap_blobs = cap;
    }
    memcpy(inv->blobs[inv->n_blobs].digest, digest, AIRLOCK_DIGEST_SIZE);
    inv->blobs[inv->n_blobs++].repo = repo;
    return 0;
}

/* Sorted by digest then repository, each pair once; counts the distinct digests. */
static void blobs_unique(struct airlock_inventory *inv)
{
    if (inv->n_blobs > 1)
        qsort(inv->blobs, inv->n_blobs, sizeof(*inv->blobs), cmp_pair);
    size_t k = 0;
    inv->n_distinct = 0;
    for (size_t i = 0; i < inv->n_blobs; i++) {
        if (k && !cmp_pair(&inv->blobs[k - 1], &inv->blobs[i]))
            continue;
        if (!k || strcmp(inv->blobs[k - 1].digest, inv->blobs[i].digest))
            inv->n_distinct++;
        inv->blobs[k++] = inv->blobs[i];
    }
    inv->n_blobs = k;
}

/* ---- reading a registry ------------------------------------------------------------------- */

/* The repositories of the catalog, following its pagination (?n=, Link rel="next" on the
 * registry's own origin only), at most INV_MAX_REPOS, sorted and each once. */
static int catalog_list(struct airlock_registry *r, size_t page, char ***out, size_t *n_out,
                        struct airlock_error **err)
{
    static const struct registry_list_spec spec = {
        "repositories",    "repository",     "repositories",   "repository name",
        "registry:catalog:*", CATALOG_PAGE_MAX, CATALOG_MAX_PAGES, INV_MAX_REPOS,
        core_ref_valid_path};
    char what[400], *url = NULL;
    snprintf(what, sizeof(what), "list the catalog of '%s'", r->host);
    if ((page ? asprintf(&url, "%s/v2/_catalog?n=%zu", r->base, page)
              : asprintf(&url, "%s/v2/_catalog", r->base)) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = registry_list_pages(out, n_out, r, NULL, url, &spec, what, err);
    free(url);
    char *full = NULL; /* what to do instead: the catalog is often for administrators only */
    if (rc == AIRLOCK_EAUTH && err && *err &&
        asprintf(&full, "%s; listing the catalog needs the scope registry:catalog:*, which token "
                        "servers often give administrators only: name the repositories with "
                        "--repo or --set", (*err)->msg) >= 0) {
        free((*err)->msg);
        (*err)->msg = full;
    }
    if (!rc && *n_out > 1)
        qsort(*out, *n_out, sizeof(**out), cmp_str);
    return rc;
}

struct take {
    struct airlock_registry *r;
    const char *repo;
    char last[AIRLOCK_DIGEST_SIZE]; /* the manifest just fetched by tag, kept for the graph */
    struct airlock_buf last_raw;
};

/* The graph's reader: the manifest just read by tag, else by digest from the repository */
static int take_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                     struct airlock_error **err)
{
    struct take *t = ctx;
    out->max = max;
    if (!strcmp(digest, t->last))
        return airlock_buf_append(out, t->last_raw.data, t->last_raw.len)
                   ? airlock_error_set(err, AIRLOCK_EINTEGRITY, "manifest '%s' is too large",
                                       digest)
                   : 0;
    char dg[AIRLOCK_DIGEST_SIZE], *mt = NULL;
    int rc = airlock_registry_manifest_get(t->r, t->repo, digest, out, &mt, dg, err);
    free(mt);
    if (!rc && strcmp(dg, digest))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s@%s': the registry served %s",
                               t->r->host, t->repo, digest, dg);
    return rc;
}

/* Records the graph nodes from first on: manifests and indexes. */
static int take_nodes(struct core_dmap *mans, const struct airlock_graph *g, size_t first)
{
    size_t n = airlock_graph_count(g);
    for (size_t i = first; i < n; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, i);
        if (nd->kind == AIRLOCK_NODE_MANIFEST || nd->kind == AIRLOCK_NODE_INDEX) {
            if (!core_dmap_get(mans, nd->digest) && core_dmap_put(mans, nd->digest, 1))
                return -1;
        }
    }
    return 0;
}

/* Records every blob (config, layer) under node root as held by repository repo: also the
 * blobs another repository's manifests reached first, so that each holder is listed. seen:
 * the nodes of this repository walked already. */
static int take_blobs(struct airlock_inventory *inv, struct core_dmap *seen,
                      const struct airlock_graph *g, size_t root, size_t repo)
{
    size_t *stack = NULL, n = 0, cap = 0;
    int rc = 0;
    for (size_t at = root;; at = stack[--n]) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, at);
        if (!core_dmap_get(seen, nd->digest)) {
            if (core_dmap_put(seen, nd->digest, 1) ||
                (nd->kind == AIRLOCK_NODE_BLOB && !nd->has_urls && add_blob(inv, nd->digest, repo))) {
                rc = -1;
                break;
            }
            if (n + nd->n_kids > cap) {
                size_t c = (n + nd->n_kids) * 2 + 16;
                size_t *s = realloc(stack, c * sizeof(*s));
                if (!s) {
                    rc = -1;
                    break;
                }
                stack = s;
                cap = c;
            }
            for (size_t k = 0; k < nd->n_kids; k++)
                stack[n++] = nd->kids[k];
        }
        if (!n)
            break;
    }
    free(stack);
    return rc;
}

static char *utc_now(void)
{
    char buf[40];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

static int json_str(struct airlock_buf *b, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    int rc = !t || airlock_buf_append(b, t, strlen(t));
    free(t);
    cJSON_Delete(j);
    return rc ? -1 : 0;
}

/* The file's text for inv (manifests from mans): BODY and its digest. */
static int inventory_text(struct airlock_buf *out, struct airlock_inventory *inv,
                          const struct core_dmap *mans, struct airlock_error **err)
{
    struct airlock_buf body = AIRLOCK_BUF_INIT(INV_FILE_MAX);
    char *now = utc_now();
    size_t nm = 0;
    int bad = !now;
    if (!bad && mans->n && !(inv->manifests = malloc(mans->n * sizeof(*inv->manifests))))
        bad = 1;
    for (size_t i = 0; !bad && i < mans->cap; i++)
        if (mans->slots[i].key[0])
            memcpy(inv->manifests[nm++], mans->slots[i].key, AIRLOCK_DIGEST_SIZE);
    inv->n_manifests = nm;
    if (nm > 1)
        qsort(inv->manifests, nm, sizeof(*inv->manifests), cmp_digest);
    blobs_unique(inv);
    bad = bad || airlock_buf_printf(&body, "{\"mediaType\":\"%s\",\"registry\":", INV_MEDIA_TYPE) ||
          json_str(&body, inv->registry) || airlock_buf_printf(&body, ",\"prefix\":") ||
          json_str(&body, inv->prefix ? inv->prefix : "") ||
          airlock_buf_printf(&body, ",\"created\":\"%s\",\"repositories\":[", now);
    for (size_t i = 0; !bad && i < inv->n_repos; i++)
        bad = (i && airlock_buf_append(&body, ",", 1)) || json_str(&body, inv->repos[i]);
    bad = bad || airlock_buf_printf(&body, "],\"manifests\":[");
    for (size_t i = 0; !bad && i < nm; i++)
        bad = airlock_buf_printf(&body, "%s\"%s\"", i ? "," : "", inv->manifests[i]);
    bad = bad || airlock_buf_printf(&body, "],\"blobs\":[");
    for (size_t i = 0; !bad && i < inv->n_blobs; i++) { /* [digest, holder, holder...] */
        int same = i && !strcmp(inv->blobs[i - 1].digest, inv->blobs[i].digest);
        bad = (!same && airlock_buf_printf(&body, "%s[\"%s\"", i ? "]," : "",
                                           inv->blobs[i].digest)) ||
              airlock_buf_printf(&body, ",%zu", inv->blobs[i].repo);
    }
    bad = bad || (inv->n_blobs && airlock_buf_printf(&body, "]"));
    bad = bad || airlock_buf_printf(&body, "]}");
    free(now);
    if (!bad && (bad = airlock_sha256_digest(inv->digest, body.data, body.len, err) != 0)) {
        airlock_buf_release(&body);
        return AIRLOCK_EOS;
    }
    out->max = INV_FILE_MAX + 200;
    bad = bad || airlock_buf_printf(out, INV_HEAD "%s" INV_MID, inv->digest) ||
          airlock_buf_append(out, body.data, body.len) || airlock_buf_append(out, "}\n", 2);
    airlock_buf_release(&body);
    return bad ? airlock_error_set(err, AIRLOCK_EOS, "out of memory (or an inventory past %u "
                                                     "bytes)",
                                   INV_FILE_MAX)
               : 0;
}

int airlock_inventory_take(struct airlock_inventory_result **res, const char *where,
                           const struct airlock_inventory_opts *opts,
                           const struct airlock_registry_opts *ro, struct airlock_error **err)
{
    struct airlock_inventory *inv = calloc(1, sizeof(*inv));
    struct airlock_inventory_result *out = calloc(1, sizeof(*out));
    struct airlock_registry *r = NULL;
    struct airlock_graph *g = NULL;
    struct core_dmap mans = {0};
    struct take t;
    memset(&t, 0, sizeof(t));
    t.last_raw.max = AIRLOCK_MAX_MANIFEST;
    char **listed = NULL;
    size_t n_listed = 0, pl = 0;
    struct airlock_buf text = AIRLOCK_BUF_INIT(0);
    int rc = 0;
    const char *slash = strchr(where, '/');
    if (!inv || !out) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    snprintf(inv->kind, sizeof(inv->kind), "inventory");
    inv->registry = slash ? strndup(where, (size_t)(slash - where)) : strdup(where);
    inv->prefix = slash && slash[1] ? strdup(slash + 1) : NULL;
    if (!inv->registry || (slash && slash[1] && !inv->prefix)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (!*inv->registry || (inv->prefix && inv->prefix[strlen(inv->prefix) - 1] == '/')) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s' is not REGISTRY[/PREFIX]", where);
        goto out;
    }
    if ((rc = airlock_registry_new(&r, inv->registry, ro, err)))
        goto out;
    if (opts && opts->n_repos) { /* the repositories named, under the prefix */
        if (!(listed = calloc(opts->n_repos + 1, sizeof(*listed)))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < opts->n_repos && !rc; i++) {
            if (inv->prefix && !opts->full_paths
                    ? asprintf(&listed[n_listed], "%s/%s", inv->prefix, opts->repos[i]) < 0
                            : !(listed[n_listed] = strdup(opts->repos[i])))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            else
                n_listed++;
        }
        if (rc)
            goto out;
        qsort(listed, n_listed, sizeof(*listed), cmp_str);
    } else if ((rc = catalog_list(r, opts ? opts->page : 0, &listed, &n_listed, err))) {
        goto out;
    }
    if (!(inv->repos = calloc(n_listed + 1, sizeof(*inv->repos)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    pl = inv->prefix ? strlen(inv->prefix) : 0;
    for (size_t i = 0; i < n_listed; i++) {
        if (inv->n_repos && !strcmp(inv->repos[inv->n_repos - 1], listed[i]))
            continue;
        if (pl && !(opts && opts->n_repos && opts->full_paths) &&
            (strncmp(listed[i], inv->prefix, pl) ||
                   (listed[i][pl] != '/' && listed[i][pl] != '\0')))
            continue;
        inv->repos[inv->n_repos++] = steal_pointer(&listed[i]);
    }
    if ((rc = airlock_graph_new(&g, take_read, &t, 0, err)))
        goto out;
    t.r = r;
    for (size_t k = 0; k < inv->n_repos && !rc; k++) {
        char **tags = NULL;
        size_t n_tags = 0;
        struct core_dmap seen = {0};
        t.repo = inv->repos[k];
        rc = airlock_registry_tags_list(r, t.repo, opts ? opts->page : 0, &tags, &n_tags, err);
        /* emptied since listed, or a set's repository not pushed yet: nothing held there */
        if (rc == AIRLOCK_ENOTFOUND && !(opts && opts->n_repos && !opts->full_paths)) {
            airlock_error_free(err ? steal_pointer(err) : NULL);
            rc = 0;
        }
        out->tags += n_tags;
        for (size_t i = 0; i < n_tags && !rc; i++) {
            char *mt = NULL;
            airlock_buf_release(&t.last_raw); /* manifest_get fills a buffer of its own */
            t.last_raw.max = AIRLOCK_MAX_MANIFEST;
            t.last[0] = '\0';
            rc = airlock_registry_manifest_get(r, t.repo, tags[i], &t.last_raw, &mt, t.last, err);
            if (rc == AIRLOCK_ENOTFOUND) { /* deleted between the listing and now */
                airlock_error_free(err ? steal_pointer(err) : NULL);
                rc = 0;
                free(mt);
                continue;
            }
            struct airlock_descriptor d;
            memset(&d, 0, sizeof(d));
            memcpy(d.digest, t.last, AIRLOCK_DIGEST_SIZE);
            d.size = t.last_raw.len;
            d.media_type = mt;
            size_t first = airlock_graph_count(g), node;
            if (!rc)
                rc = airlock_graph_add(g, &d, &node, err);
            if (!rc && (take_nodes(&mans, g, first) || take_blobs(inv, &seen, g, node, k)))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            free(mt);
        }
        core_dmap_release(&seen);
        for (size_t i = 0; i < n_tags; i++)
            free(tags[i]);
        free(tags);
        if (rc)
            airlock_error_wrap(err, "inventory of '%s/%s'", r->host, t.repo);
    }
    if (rc)
        goto out;
    if ((rc = inventory_text(&text, inv, &mans, err)))
        goto out;
    out->text = airlock_buf_detach(&text, &out->len);
    memcpy(out->digest, inv->digest, AIRLOCK_DIGEST_SIZE);
    out->repositories = inv->n_repos;
    out->manifests = inv->n_manifests;
    out->blobs = inv->n_distinct;
    *res = steal_pointer(&out);
out:
    airlock_buf_release(&text);
    for (size_t i = 0; i < n_listed; i++)
        free(listed[i]);
    free(listed);
    airlock_buf_release(&t.last_raw);
    airlock_graph_free(g);
    core_dmap_release(&mans);
    airlock_registry_free(r);
    airlock_inventory_free(inv);
    airlock_inventory_result_free(out);
    return rc;
}

void airlock_inventory_result_free(struct airlock_inventory_result *r)
{
    if (!r)
        return;
    free(r->text);
    free(r);
}

/* ---- reading an inventory file ------------------------------------------------------------ */

static int bad_inv(struct airlock_error **err, const char *path, const char *why)
{
    return airlock_error_set(err, AIRLOCK_EINTEGRITY, "inventory '%s': %s", path, why);
}

int airlock_inventory_parse(struct airlock_inventory **out, const char *text, size_t len,
                            const char *path, struct airlock_error **err)
{
    size_t hl = strlen(INV_HEAD), ml = strlen(INV_MID);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len < hl + AIRLOCK_DIGEST_LEN + ml + 2 || memcmp(text, INV_HEAD, hl) ||
        memcmp(text + hl + AIRLOCK_DIGEST_LEN, INV_MID, ml) || text[len - 1] != '}')
        return bad_inv(err, path,
                       "not an airlock inventory (or cut off): it must be one line "
                       "{\"digest\":\"sha256:...\",\"inventory\":{...}} as airlock inventory "
                       "writes it");
    char said[AIRLOCK_DIGEST_SIZE], actual[AIRLOCK_DIGEST_SIZE];
    memcpy(said, text + hl, AIRLOCK_DIGEST_LEN);
    said[AIRLOCK_DIGEST_LEN] = '\0';
    const char *body = text + hl + AIRLOCK_DIGEST_LEN + ml;
    size_t blen = (size_t)(text + len - 1 - body);
    if (airlock_digest_check(said, NULL))
        return bad_inv(err, path, "its digest is not a sha256 digest");
    int rc = airlock_sha256_digest(actual, body, blen, err);
    if (rc)
        return rc;
    if (strcmp(actual, said))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "inventory '%s' is not whole or was edited: its content hashes "
                                 "to '%s', it says '%s'; take it again with airlock inventory",
                                 path, actual, said);
    if ((rc = airlock_json_check(body, blen, path, err)))
        return rc;
    cJSON *j = core_json_parse(body, blen, NULL);
    struct airlock_inventory *inv = calloc(1, sizeof(*inv));
    const cJSON *repos = cJSON_GetObjectItemCaseSensitive(j, "repositories");
    const cJSON *mans = cJSON_GetObjectItemCaseSensitive(j, "manifests");
    const cJSON *blobs = cJSON_GetObjectItemCaseSensitive(j, "blobs"), *it;
    const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "mediaType"));
    const char *reg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "registry"));
    const char *prefix = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "prefix"));
    int nr = cJSON_GetArraySize(repos), nm = cJSON_GetArraySize(mans);
    int nb = cJSON_GetArraySize(blobs);
    if (!inv) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(j) || !mt || strcmp(mt, INV_MEDIA_TYPE) || !reg || !*reg ||
        !cJSON_IsArray(repos) || !cJSON_IsArray(mans) || !cJSON_IsArray(blobs)) {
        rc = bad_inv(err, path, "not an inventory (mediaType, registry, repositories, "
                                "manifests and blobs are needed)");
        goto out;
    }
    if (nr > INV_MAX_REPOS || nm > INV_MAX_ITEMS || nb > INV_MAX_ITEMS) {
        rc = bad_inv(err, path, "too many repositories, manifests or blobs");
        goto out;
    }
    snprintf(inv->kind, sizeof(inv->kind), "inventory");
    memcpy(inv->digest, said, AIRLOCK_DIGEST_SIZE);
    inv->registry = strdup(reg);
    inv->prefix = prefix && *prefix ? strdup(prefix) : NULL;
    inv->repos = calloc((size_t)nr + 1, sizeof(*inv->repos));
    inv->manifests = calloc((size_t)nm + 1, sizeof(*inv->manifests));
    inv->blobs = calloc((size_t)nb + 1, sizeof(*inv->blobs));
    inv->cap_blobs = (size_t)nb + 1;
    if (!inv->registry || (prefix && *prefix && !inv->prefix) || !inv->repos || !inv->manifests ||
        !inv->blobs) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, repos)
    {
        const char *s = cJSON_GetStringValue(it);
        if (!s || !core_ref_valid_path(s) ||
            (inv->n_repos && strcmp(inv->repos[inv->n_repos - 1], s) >= 0)) {
            rc = bad_inv(err, path, "its repositories are not names sorted without repeats");
            goto out;
        }
        if (!(inv->repos[inv->n_repos] = strdup(s))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        inv->n_repos++;
    }
    cJSON_ArrayForEach(it, mans)
    {
        const char *s = cJSON_GetStringValue(it);
        if (!s || airlock_digest_check(s, NULL) ||
            (inv->n_manifests && strcmp(inv->manifests[inv->n_manifests - 1], s) >= 0)) {
            rc = bad_inv(err, path, "its manifests are not digests sorted without repeats");
            goto out;
        }
        memcpy(inv->manifests[inv->n_manifests++], s, AIRLOCK_DIGEST_SIZE);
    }
    cJSON_ArrayForEach(it, blobs)
    {
        const char *s = cJSON_GetStringValue(cJSON_GetArrayItem(it, 0));
        const cJSON *ri;
        int holders = cJSON_GetArraySize(it) - 1;
        double last = -1;
        if (!cJSON_IsArray(it) || holders < 1 || !s || airlock_digest_check(s, NULL) ||
            (inv->n_blobs && strcmp(inv->blobs[inv->n_blobs - 1].digest, s) >= 0) ||
            (size_t)holders > INV_MAX_ITEMS - inv->n_blobs) {
            rc = bad_inv(err, path,
                         "its blobs are not [digest, repository index...] lists sorted by digest "
                         "without repeats");
            goto out;
        }
        if (inv->n_blobs + (size_t)holders > inv->cap_blobs) {
            size_t cap = (inv->n_blobs + (size_t)holders) * 2;
            struct inv_blob *nb2 = realloc(inv->blobs, cap * sizeof(*nb2));
            if (!nb2) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
            inv->blobs = nb2;
            inv->cap_blobs = cap;
        }
        cJSON_ArrayForEach(ri, it)
        {
            if (ri == it->child)
                continue;
            if (!cJSON_IsNumber(ri) || ri->valuedouble <= last ||
                ri->valuedouble >= (double)inv->n_repos ||
                ri->valuedouble != (double)ri->valueint) {
                rc = bad_inv(err, path,
                             "its blobs are not [digest, repository index...] lists sorted by "
                             "digest without repeats, each index a repository's, ascending");
                goto out;
            }
            last = ri->valuedouble;
            memcpy(inv->blobs[inv->n_blobs].digest, s, AIRLOCK_DIGEST_SIZE);
            inv->blobs[inv->n_blobs++].repo = (size_t)ri->valueint;
        }
        inv->n_distinct++;
    }
    *out = steal_pointer(&inv);
out:
    cJSON_Delete(j);
    airlock_inventory_free(inv);
    return rc;
}

int airlock_inventory_load(struct airlock_inventory **out, const char *path,
                           struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = transfer_read_file(path, INV_FILE_MAX + 200, 0, AIRLOCK_EUSAGE, &text, &len, err);
    if (rc)
        return rc;
    rc = airlock_inventory_parse(out, text, len, path, err);
    free(text);
    return rc;
}

/* ---- from a lock file -------------------------------------------------------------------- */

struct lock_read {
    struct airlock_registry *r;
    const char *repo;
};

static int lock_read_fn(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                        struct airlock_error **err)
{
    struct lock_read *l = ctx;
    char dg[AIRLOCK_DIGEST_SIZE], *mt = NULL;
    out->max = max;
    int rc = airlock_registry_manifest_get(l->r, l->repo, digest, out, &mt, dg, err);
    free(mt);
    if (!rc && strcmp(dg, digest))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s@%s': the registry served %s",
                               l->r->host, l->repo, digest, dg);
    return rc;
}

int airlock_inventory_from_lock(struct airlock_inventory **out, const char *lock_path,
                                const struct airlock_registry_opts *ro,
                                struct airlock_error **err)
{
    struct airlock_image_set *s = NULL;
    struct airlock_inventory *inv = NULL;
    struct airlock_graph *g = NULL;
    struct airlock_registry **regs = NULL;
    size_t n_regs = 0;
    struct lock_read l = {NULL, NULL};
    char *text = NULL;
    size_t len = 0;
    int rc = transfer_read_file(lock_path, LOCK_FILE_MAX, 0, AIRLOCK_EUSAGE, &text, &len, err);
    if (rc)
        return airlock_error_wrap(err, "--since '%s': cannot read the lock", lock_path);
    rc = airlock_image_set_parse(&s, text, len, lock_path, err);
    free(text);
    if (rc)
        return airlock_error_wrap(err, "--since '%s' is not a lock file (kind ImageSetLock, as "
                                       "export --lock or inspect --lock writes it)",
                                  lock_path);
    if (!s->lock) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' is no lock file (kind ImageSetLock, as export --lock or "
                               "inspect --lock writes it): --since needs the last drop's lock",
                               lock_path);
        goto out;
    }
    if (!(inv = calloc(1, sizeof(*inv))) || !(regs = calloc(s->n_images + 1, sizeof(*regs)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    snprintf(inv->kind, sizeof(inv->kind), "lock");
    memcpy(inv->digest, s->digest, AIRLOCK_DIGEST_SIZE);
    if (!(inv->source = strdup(lock_path)) ||
        !(inv->lock_repos = calloc(s->n_images + 1, sizeof(*inv->lock_repos)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = airlock_graph_new(&g, lock_read_fn, &l, 0, err)))
        goto out;
    for (size_t i = 0; i < s->n_images && !rc; i++) {
        struct airlock_ref ref = {0};
        if ((rc = airlock_ref_parse(&ref, s->images[i].ref, err)))
            break;
        if (!ref.digest) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "lock '%s': image '%s' has no digest",
                                   lock_path, s->images[i].ref);
            airlock_ref_release(&ref);
            break;
        }
        if (asprintf(&inv->lock_repos[inv->n_lock_repos], "%s/%s", ref.domain, ref.path) < 0) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            airlock_ref_release(&ref);
            break;
        }
        inv->n_lock_repos++;
        struct airlock_registry *r = NULL;
        for (size_t k = 0; k < n_regs && !r; k++)
            if (!strcmp(regs[k]->host, ref.domain))
                r = regs[k];
        if (!r && !(rc = airlock_registry_new(&regs[n_regs], ref.domain, ro, err)))
            r = regs[n_regs++];
        struct airlock_descriptor d;
        memset(&d, 0, sizeof(d));
        memcpy(d.digest, ref.digest, AIRLOCK_DIGEST_LEN + 1);
        l.r = r;
        l.repo = ref.path;
        size_t node;
        if (!rc && (rc = airlock_graph_add(g, &d, &node, err)))
            airlock_error_wrap(err, "--since lock '%s': image '%s'", lock_path,
                               s->images[i].ref);
        if (!rc && airlock_graph_node(g, node)->kind == AIRLOCK_NODE_BAD)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "lock '%s': image '%s': %s",
                                   lock_path, s->images[i].ref,
                                   airlock_graph_node(g, node)->why
                                       ? airlock_graph_node(g, node)->why
                                       : "cannot be read");
        airlock_ref_release(&ref);
    }
    for (size_t i = 0, ng = rc ? 0 : airlock_graph_count(g); i < ng && !rc; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, i);
        if (nd->kind == AIRLOCK_NODE_BLOB && !nd->has_urls && add_blob(inv, nd->digest, SIZE_MAX))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (rc)
        goto out;
    blobs_unique(inv);
    if (inv->n_lock_repos > 1)
        qsort(inv->lock_repos, inv->n_lock_repos, sizeof(*inv->lock_repos), cmp_str);
    *out = steal_pointer(&inv);
out:
    airlock_graph_free(g);
    for (size_t i = 0; i < n_regs; i++)
        airlock_registry_free(regs[i]);
    free(regs);
    airlock_inventory_free(inv);
    airlock_image_set_free(s);
    return rc;
}
