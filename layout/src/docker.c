/* docker-save and skopeo docker-archive tars (manifest.json + configs + layer tars) as an
 * import source. Layers are kept byte for byte: an uncompressed layer's digest is its diff_id,
 * so a bundle made from a docker-save archive keeps the image's layer digests. */
#include "layout_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define KEEP_TOTAL_MAX (512ull << 20)
#define MAX_LINK_HOPS 8

struct dentry {
    char *name;
    enum arch_type type;
    uint64_t size;
    uint64_t seq;
    char *link;
    char *data; /* small JSON entries */
};

struct dimage {
    struct airlock_descriptor desc; /* the generated manifest */
    char **tags;
    size_t n_tags;
};

struct dblob { /* a layer: which entry holds it */
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    const struct dentry *entry;
};

struct docker_src {
    char *path;
    struct dentry *e;
    size_t n, cap;
    uint64_t seq, kept;
    struct dimage *images;
    size_t n_images;
    struct dblob *layers;
    size_t n_layers;
    /* generated manifests and configs, by digest */
    char **meta_digest;
    char **meta_data;
    size_t *meta_len;
    size_t n_meta;
};

static int on_entry(void *ctx, const struct arch_entry *ae, struct arch_reader *r,
                    struct airlock_error **err)
{
    struct docker_src *d = ctx;
    d->seq++;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct dentry *n = realloc(d->e, cap * sizeof(*n));
        if (!n)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        d->e = n;
        d->cap = cap;
    }
    struct dentry *e = &d->e[d->n];
    memset(e, 0, sizeof(*e));
    e->name = strdup(ae->name);
    e->type = ae->type;
    e->size = ae->size;
    e->seq = d->seq;
    e->link = core_strdup0(ae->link);
    if (!e->name || (ae->link && !e->link))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    d->n++;
    if (ae->type == ARCH_OTHER)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': entry '%.200s': device or special file refused", d->path,
                                 ae->raw_name);
    int is_manifest = !strcmp(ae->name, "manifest.json");
    size_t max = is_manifest ? AIRLOCK_MAX_INDEX_JSON : AIRLOCK_MAX_MANIFEST;
    if (ae->type != ARCH_REG || ae->size == 0 || ae->size > max)
        return 0;
    struct airlock_buf b = AIRLOCK_BUF_INIT(max);
    char chunk[65536];
    uint64_t left = ae->size;
    while (left) {
        size_t got;
        int rc = arch_read(r, chunk, sizeof(chunk), &got, err);
        if (rc) {
            airlock_buf_release(&b);
            return rc;
        }
        if (b.len == 0 && got && chunk[0] != '{' && chunk[0] != '[') {
            airlock_buf_release(&b);
            return 0; /* not JSON: a layer, VERSION, ... */
        }
        airlock_buf_append(&b, chunk, got);
        left -= got;
    }
    d->kept += b.len;
    if (d->kept > KEEP_TOTAL_MAX) {
        airlock_buf_release(&b);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': too much JSON metadata", d->path);
    }
    e->data = airlock_buf_detach(&b, NULL);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const struct dentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static const struct dentry *lookup(const struct docker_src *d, const char *name)
{
    /* entries are sorted by name, then seq: take the last of equal names */
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(d->e[mid].name, name) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || strcmp(d->e[lo - 1].name, name))
        return NULL;
    return &d->e[lo - 1];
}

/* Resolves a name through symbolic and hard links that stay inside the archive. */
static int resolve(const struct dentry **out, const struct docker_src *d, const char *name,
                   struct airlock_error **err)
{
    _cleanup_free_ char *cur = NULL;
    if (arch_name_normalize(&cur, name, d->path, err))
        return AIRLOCK_EINTEGRITY;
    for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
        const struct dentry *e = lookup(d, cur);
        if (!e)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry '%.200s' is missing",
                                     d->path, cur);
        if (e->type == ARCH_REG) {
            *out = e;
            return 0;
        }
        if (e->type != ARCH_SYMLINK && e->type != ARCH_HARDLINK)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': entry '%.200s' is not a regular file", d->path, cur);
        char *joined = NULL;
        if (e->type == ARCH_SYMLINK && e->link[0] != '/') {
            /* relative to the link's directory */
            const char *slash = strrchr(cur, '/');
            int dl = slash ? (int)(slash - cur) : 0;
            if (asprintf(&joined, "%.*s%s%s", dl, cur, dl ? "/" : "", e->link) < 0)
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        } else if (e->type == ARCH_HARDLINK)
            joined = strdup(e->link);
        else
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': entry '%.200s': link to '%.200s' leaves the archive",
                                     d->path, cur, e->link);
        if (!joined)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        /* collapse "dir/../x" inside the archive; anything escaping the root is refused */
        char *norm = malloc(strlen(joined) + 1);
        size_t len = 0;
        int bad = !norm;
        for (char *save = NULL, *tok = strtok_r(joined, "/", &save); tok && !bad;
             tok = strtok_r(NULL, "/", &save)) {
            if (!strcmp(tok, "."))
                continue;
            if (!strcmp(tok, "..")) {
                if (!len) {
                    bad = 2;
                    break;
                }
                while (len && norm[len - 1] != '/')
                    len--;
                if (len)
                    len--;
                continue;
            }
            if (len)
                norm[len++] = '/';
            memcpy(norm + len, tok, strlen(tok));
            len += strlen(tok);
        }
        free(joined);
        if (bad) {
            free(norm);
            return bad == 2 ? airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                                "'%s': entry '%.200s': link leaves the archive",
                                                d->path, cur)
                            : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        norm[len] = '\0';
        free(cur);
        cur = norm;
    }
    return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry '%.200s': too many links",
                             d->path, name);
}

static int add_meta(struct docker_src *d, const char *digest, char *data, size_t len)
{
    for (size_t i = 0; i < d->n_meta; i++)
        if (!strcmp(d->meta_digest[i], digest)) {
            free(data);
            return 0;
        }
    char **a = realloc(d->meta_digest, (d->n_meta + 1) * sizeof(*a));
    if (a)
        d->meta_digest = a;
    char **b = realloc(d->meta_data, (d->n_meta + 1) * sizeof(*b));
    if (b)
        d->meta_data = b;
    size_t *c = realloc(d->meta_len, (d->n_meta + 1) * sizeof(*c));
    if (c)
        d->meta_len = c;
    if (!a || !b || !c || !(d->meta_digest[d->n_meta] = strdup(digest))) {
        free(data);
        return -1;
    }
    d->meta_data[d->n_meta] = data;
    d->meta_len[d->n_meta] = len;
    d->n_meta++;
    return 0;
}

static int add_layer(struct docker_src *d, const char *digest, uint64_t size,
                     const struct dentry *e)
{
    struct dblob *l = realloc(d->layers, (d->n_layers + 1) * sizeof(*l));
    if (!l)
        return -1;
    d->layers = l;
    memcpy(l[d->n_layers].digest, digest, AIRLOCK_DIGEST_SIZE);
    l[d->n_layers].size = size;
    l[d->n_layers].entry = e;
    d->n_layers++;
    return 0;
}

static int build_image(struct docker_src *d, const cJSON *item, size_t k, struct airlock_error **err)
{
    char what[64];
    snprintf(what, sizeof(what), "manifest.json entry %zu", k + 1);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(item, "Config");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(item, "Layers");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "RepoTags");
    if (!cJSON_IsString(cfg) || !cJSON_IsArray(layers))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s: no Config or Layers", d->path,
                                 what);
    const struct dentry *ce;
    int rc = resolve(&ce, d, cfg->valuestring, err);
    if (rc)
        return rc;
    if (!ce->data)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': config '%.200s' is not JSON",
                                 d->path, cfg->valuestring);
    char cdigest[AIRLOCK_DIGEST_SIZE];
    if ((rc = airlock_sha256_digest(cdigest, ce->data, (size_t)ce->size, err)))
        return rc;
    cJSON *config = core_json_parse(ce->data, (size_t)ce->size, NULL);
    if (!config || airlock_json_check(ce->data, (size_t)ce->size, "config", NULL)) {
        cJSON_Delete(config);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': config '%.200s': invalid JSON",
                                 d->path, cfg->valuestring);
    }
    const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
    const cJSON *diff_ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    int nl = cJSON_GetArraySize(layers);
    if (!cJSON_IsArray(diff_ids) || cJSON_GetArraySize(diff_ids) != nl) {
        cJSON_Delete(config);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': config '%.200s': diff_ids do not match the %d layers",
                                 d->path, cfg->valuestring, nl);
    }
    struct airlock_buf m = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    int over = airlock_buf_printf(&m,
                       "{\"schemaVersion\":2,\"mediaType\":\"" AIRLOCK_MT_OCI_MANIFEST "\","
                       "\"config\":{\"mediaType\":\"" AIRLOCK_MT_OCI_CONFIG "\",\"digest\":\"%s\","
                       "\"size\":%llu},\"layers\":[",
                       cdigest, (unsigned long long)ce->size);
    for (int i = 0; i < nl && !rc; i++) {
        const cJSON *ln = cJSON_GetArrayItem(layers, i);
        const cJSON *did = cJSON_GetArrayItem(diff_ids, i);
        const struct dentry *le;
        if (!cJSON_IsString(ln) || !cJSON_IsString(did)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s: layer %d malformed",
                                   d->path, what, i + 1);
            break;
        }
        if ((rc = airlock_digest_check(did->valuestring, err)) ||
            (rc = resolve(&le, d, ln->valuestring, err)))
            break;
        over |= airlock_buf_printf(&m, "%s{\"mediaType\":\"" AIRLOCK_MT_OCI_LAYER
                                       "\",\"digest\":\"%s\",\"size\":%llu}",
                                   i ? "," : "", did->valuestring, (unsigned long long)le->size);
        if (add_layer(d, did->valuestring, le->size, le))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!rc && (over || airlock_buf_append(&m, "]}", 2)))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s: manifest too large", d->path,
                               what);
    struct dimage *im = NULL;
    if (!rc) {
        im = &d->images[d->n_images];
        memset(im, 0, sizeof(*im));
        im->desc.media_type = strdup(AIRLOCK_MT_OCI_MANIFEST);
        im->desc.size = m.len;
        const char *os = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "os"));
        const char *arch =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "architecture"));
        const char *var = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "variant"));
        im->desc.platform_os = core_strdup0(os);
        im->desc.platform_arch = core_strdup0(arch);
        im->desc.platform_variant = core_strdup0(var);
        rc = airlock_sha256_digest(im->desc.digest, m.data, m.len, err);
    }
    int ntags = cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
    if (!rc && ntags) {
        im->tags = calloc((size_t)ntags, sizeof(char *));
        for (int i = 0; im->tags && i < ntags; i++) {
            const char *t = cJSON_GetStringValue(cJSON_GetArrayItem(tags, i));
            if (t && (im->tags[im->n_tags] = strdup(t)))
                im->n_tags++;
        }
    }
    if (!rc) {
        char *cdata = malloc((size_t)ce->size);
        if (cdata)
            memcpy(cdata, ce->data, (size_t)ce->size);
        if (!cdata || add_meta(d, cdigest, cdata, (size_t)ce->size))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!rc) {
        size_t len;
        char *mdata = airlock_buf_detach(&m, &len);
        if (add_meta(d, im->desc.digest, mdata, len))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else
            d->n_images++;
    }
    if (rc && im) {
        airlock_descriptor_release(&im->desc);
        for (size_t i = 0; i < im->n_tags; i++)
            free(im->tags[i]);
        free(im->tags);
    }
    airlock_buf_release(&m);
    cJSON_Delete(config);
    return rc;
}

int docker_src_open(struct docker_src **out, const char *path, struct airlock_error **err)
{
    struct docker_src *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    cJSON *man = NULL;
    const struct dentry *me = NULL;
    char what[300];
    int n = 0;
    int rc = arch_walk(path, 0, on_entry, d, NULL, err);
    if (rc)
        goto out;
    qsort(d->e, d->n, sizeof(*d->e), cmp_name);
    me = lookup(d, "manifest.json");
    if (!me || me->type != ARCH_REG || !me->data) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "'%s': no usable manifest.json: not a docker-save archive", path);
        goto out;
    }
    snprintf(what, sizeof(what), "'%s': manifest.json", path);
    if ((rc = airlock_json_check(me->data, (size_t)me->size, what, err)))
        goto out;
    man = core_json_parse(me->data, (size_t)me->size, NULL);
    if (!cJSON_IsArray(man)) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': manifest.json is not a JSON array",
                               path);
        goto out;
    }
    n = cJSON_GetArraySize(man);
    d->images = calloc((size_t)(n ? n : 1), sizeof(*d->images));
    if (!d->images) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (int i = 0; i < n && !rc; i++)
        rc = build_image(d, cJSON_GetArrayItem(man, i), (size_t)i, err);
out:
    cJSON_Delete(man);
    if (rc) {
        docker_src_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void docker_src_free(struct docker_src *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].name);
        free(d->e[i].link);
        free(d->e[i].data);
    }
    free(d->e);
    for (size_t i = 0; i < d->n_images; i++) {
        airlock_descriptor_release(&d->images[i].desc);
        for (size_t k = 0; k < d->images[i].n_tags; k++)
            free(d->images[i].tags[k]);
        free(d->images[i].tags);
    }
    free(d->images);
    free(d->layers);
    for (size_t i = 0; i < d->n_meta; i++) {
        free(d->meta_digest[i]);
        free(d->meta_data[i]);
    }
    free(d->meta_digest);
    free(d->meta_data);
    free(d->meta_len);
    free(d->path);
    free(d);
}

size_t docker_src_image_count(const struct docker_src *d) { return d->n_images; }

const struct airlock_descriptor *docker_src_image(const struct docker_src *d, size_t i,
                                                  const char *const **tags, size_t *n_tags)
{
    *tags = (const char *const *)d->images[i].tags;
    *n_tags = d->images[i].n_tags;
    return &d->images[i].desc;
}

int docker_src_blob_read(struct docker_src *d, const char *digest, struct airlock_buf *out,
                         struct airlock_error **err)
{
    for (size_t i = 0; i < d->n_meta; i++)
        if (!strcmp(d->meta_digest[i], digest)) {
            struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
            if (airlock_buf_append(&b, d->meta_data[i], d->meta_len[i]))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            *out = b;
            return 0;
        }
    return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is not in the archive",
                             d->path, digest);
}

struct dstream {
    struct docker_src *d;
    airlock_blob_want_fn want;
    airlock_blob_take_fn take;
    void *ctx;
    uint64_t seq;
};

static int cmp_layer_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct dblob *)a)->entry->seq, y = ((const struct dblob *)b)->entry->seq;
    return (x > y) - (x < y);
}

static int stream_entry(void *vctx, const struct arch_entry *ae, struct arch_reader *r,
                        struct airlock_error **err)
{
    struct dstream *s = vctx;
    s->seq++;
    if (ae->type != ARCH_REG || !s->d->n_layers)
        return 0;
    /* layers are sorted by the ordinal of the entry that holds them */
    size_t lo = 0, hi = s->d->n_layers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->d->layers[mid].entry->seq < s->seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->d->n_layers && s->d->layers[i].entry->seq == s->seq; i++) {
        const struct dblob *l = &s->d->layers[i];
        if (!s->want(s->ctx, l->digest, l->size))
            continue;
        int rc = s->take(s->ctx, l->digest, l->size, arch_read, r, err);
        if (rc)
            airlock_error_wrap(err, "'%s': layer '%.200s'", s->d->path, ae->raw_name);
        return rc;
    }
    return 0;
}

int docker_src_blob_stream(struct docker_src *d, airlock_blob_want_fn want,
                           airlock_blob_take_fn take, void *ctx, struct airlock_error **err)
{
    struct dstream s = {d, want, take, ctx, 0};
    if (d->n_layers)
        qsort(d->layers, d->n_layers, sizeof(*d->layers), cmp_layer_seq);
    return arch_walk(d->path, 0, stream_entry, &s, NULL, err);
}
