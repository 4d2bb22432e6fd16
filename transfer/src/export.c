/* Export: images from registries, with what travels with them (.sig/.att/.sbom tags and OCI
 * referrers), into a bundle. Manifests are kept byte for byte; blobs stream into the bundle
 * with their digests checked on the way. */
#include "transfer_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD_MAX (8u << 20) /* the record's JSON text in index.json */

struct xmeta { /* a manifest or index fetched */
    char digest[AIRLOCK_DIGEST_SIZE];
    char *data;
    size_t len;
};

struct xblob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    int meta; /* a config, or a small layer of a signature, attestation or SBOM */
    int omitted; /* a delta export: a layer the destination has (eo->have), not carried */
    int carry;   /* a layer of an attachment (airlock_delta_carries): never omitted */
    const char *from; /* and a repository there that holds it (the inventory's), or NULL */
    struct airlock_registry *r;
    char *repo;
};

struct xentry { /* a new index.json entry */
    char *ref;
    char *kind;
    char *media_type;
    char digest[AIRLOCK_DIGEST_SIZE];
    size_t size;
    int image;
};

struct xrec { /* an image taken for an item */
    const struct airlock_export_item *item;
    char *name, *tag, *media_type;
    char digest[AIRLOCK_DIGEST_SIZE];
    size_t blob_from, blob_to; /* the blobs it brought first: blobs[blob_from..blob_to) */
};

struct xahead { /* a manifest GET (or a referrers API answer) done ahead of the walk */
    char key[AIRLOCK_DIGEST_SIZE];
    int rc; /* 0 or AIRLOCK_ENOTFOUND; other failures are not kept (the walk asks again) */
    struct airlock_buf body;
    char *mt;
    char digest[AIRLOCK_DIGEST_SIZE];
};

struct exporter {
    const struct airlock_registry_opts *ro;
    const struct airlock_export_opts *eo;
    struct airlock_registry **regs;
    size_t n_regs;
    struct xmeta *meta; /* the manifests and indexes that go into the bundle */
    size_t n_meta;
    struct core_dmap meta_at; /* digest -> index+1 in meta */
    struct xblob *blobs;
    size_t n_blobs;
    struct core_dmap blob_at; /* digest -> index+1 in blobs */
    /* the one manifest graph (core/src/graph.c): every manifest read once, its kind from its
     * content; read through the registry and repository named here */
    struct airlock_graph *g;
    struct airlock_registry *cur_r;
    const char *cur_repo;
    struct xmeta *fetched; /* what the graph read, until a walk takes it into meta */
    size_t n_fetched;
    struct core_dmap fetched_at;
    struct xentry *ents;
    size_t n_ents;
    struct core_dmap ent_at; /* sha256 of an entry's name -> index+1 in ents */
    struct airlock_writer *w;
    struct airlock_split_writer *sw; /* --split: parts written straight away instead */
    char **warnings;
    size_t n_warnings;
    struct xrec *recs; /* per item taken: what the record and the plan say */
    size_t n_recs;
    struct xahead *ahead; /* requests done ahead, in parallel across the items */
    size_t n_ahead;
    struct core_dmap ahead_at; /* key (see ahead_key) -> index+1 in ahead */
};

static void warn(struct exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct exporter *x, const char *fmt, ...)
{
    char **w = realloc(x->warnings, (x->n_warnings + 1) * sizeof(*w));
    if (!w)
        return;
    x->warnings = w;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&w[x->n_warnings], fmt, ap) >= 0)
        x->n_warnings++;
    va_end(ap);
}

/* 1 if an entry of this kind for digest was taken along */
static int has_attachment(const struct exporter *x, const char *digest, const char *kind);

/* The key of a request: what ('M' manifest, 'R' referrers API), host, repository, ref. */
static void ahead_key(char key[AIRLOCK_DIGEST_SIZE], char what, const struct airlock_registry *r,
                      const char *repo, const char *ref)
{
    char buf[1600];
    snprintf(buf, sizeof(buf), "%c\n%s\n%s\n%s", what, r->host, repo, ref);
    airlock_sha256_digest(key, buf, strlen(buf), NULL);
}

static const struct xahead *ahead_of(const struct exporter *x, char what,
                                     const struct airlock_registry *r, const char *repo,
                                     const char *ref)
{
    if (!x->n_ahead)
        return NULL;
    char key[AIRLOCK_DIGEST_SIZE];
    ahead_key(key, what, r, repo, ref);
    size_t *at = core_dmap_get(&x->ahead_at, key);
    return at ? &x->ahead[*at - 1] : NULL;
}

/* airlock_registry_manifest_get, answered from what was fetched ahead when it was */
static int xmanifest_get(struct exporter *x, struct airlock_registry *r, const char *repo,
                         const char *ref, struct airlock_buf *out, char **mt,
                         char digest[AIRLOCK_DIGEST_SIZE], struct airlock_error **err)
{
    const struct xahead *a = ahead_of(x, 'M', r, repo, ref);
    if (!a)
        return airlock_registry_manifest_get(r, repo, ref, out, mt, digest, err);
    if (a->rc)
        return a->rc;
    size_t max = out->max ? out->max : AIRLOCK_MAX_MANIFEST;
    *out = (struct airlock_buf)AIRLOCK_BUF_INIT(max);
    if (airlock_buf_append(out, a->body.data ? a->body.data : "", a->body.len) ||
        (mt && a->mt && !(*mt = strdup(a->mt)))) {
        airlock_buf_release(out);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (mt && !a->mt)
        *mt = NULL;
    memcpy(digest, a->digest, AIRLOCK_DIGEST_SIZE);
    return 0;
}

static int xreferrers_get(struct exporter *x, struct airlock_registry *r, const char *repo,
                          const char *digest, struct airlock_buf *out, struct airlock_error **err)
{
    const struct xahead *a = ahead_of(x, 'R', r, repo, digest);
    if (!a)
        return registry_referrers_get(r, repo, digest, out, err);
    if (a->rc)
        return a->rc;
    *out = (struct airlock_buf)AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    if (airlock_buf_append(out, a->body.data ? a->body.data : "", a->body.len))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

static int get_registry(struct exporter *x, const char *host, struct airlock_registry **out,
                        struct airlock_error **err)
{
    for (size_t i = 0; i < x->n_regs; i++)
        if (!strcmp(x->regs[i]->host, host)) {
            *out = x->regs[i];
            return 0;
        }
    struct airlock_registry **n = realloc(x->regs, (x->n_regs + 1) * sizeof(*n));
    if (!n)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    x->regs = n;
    int rc = airlock_registry_new(&n[x->n_regs], host, x->ro, err);
    if (rc)
        return rc;
    *out = n[x->n_regs++];
    return 0;
}

static int have_meta(struct exporter *x, const char *digest)
{
    return core_dmap_get(&x->meta_at, digest) != NULL;
}

static int keep_meta(struct exporter *x, const char *digest, struct airlock_buf *raw)
{
    if (have_meta(x, digest)) {
        airlock_buf_release(raw);
        return 0;
    }
    struct xmeta *m = realloc(x->meta, (x->n_meta + 1) * sizeof(*m));
    if (!m)
        return -1;
    x->meta = m;
    if (core_dmap_put(&x->meta_at, digest, x->n_meta + 1))
        return -1;
    memcpy(m[x->n_meta].digest, digest, AIRLOCK_DIGEST_SIZE);
    m[x->n_meta].data = airlock_buf_detach(raw, &m[x->n_meta].len);
    x->n_meta++;
    return 0;
}

#define META_LAYER_MAX (4u << 20) /* as in split sets: small attachment layers travel in every part */

static int want_blob(struct exporter *x, struct airlock_registry *r, const char *repo,
                     const struct airlock_descriptor *d, int meta)
{
    size_t *at = core_dmap_get(&x->blob_at, d->digest);
    if (at) {
        x->blobs[*at - 1].meta |= meta;
        return 0;
    }
    struct xblob *b = realloc(x->blobs, (x->n_blobs + 1) * sizeof(*b));
    if (!b)
        return -1;
    x->blobs = b;
    if (core_dmap_put(&x->blob_at, d->digest, x->n_blobs + 1))
        return -1;
    b += x->n_blobs;
    memcpy(b->digest, d->digest, AIRLOCK_DIGEST_SIZE);
    b->size = d->size;
    b->meta = meta;
    b->omitted = 0;
    b->carry = 0;
    b->from = NULL;
    b->r = r;
    b->repo = strdup(repo);
    x->n_blobs++;
    return b->repo ? 0 : -1;
}

static int platform_matches(const struct airlock_descriptor *c, const char *want)
{
    char have[200];
    snprintf(have, sizeof(have), "%s/%s%s%s", c->platform_os ? c->platform_os : "",
             c->platform_arch ? c->platform_arch : "", c->platform_variant ? "/" : "",
             c->platform_variant ? c->platform_variant : "");
    if (!strcmp(have, want))
        return 1;
    /* "linux/arm64" matches "linux/arm64/v8" */
    size_t n = strlen(want);
    return !strncmp(have, want, n) && have[n] == '/';
}

static const struct xmeta *meta_of(const struct exporter *x, const char *digest)
{
    size_t *at = core_dmap_get(&x->meta_at, digest);
    return at ? &x->meta[*at - 1] : NULL;
}

/* 1 if the parsed manifest m is a manifest whose subject is subject */
static int refers_to(const struct airlock_oci *m, const char *subject)
{
    return m->kind == AIRLOCK_OCI_MANIFEST && m->subject && !strcmp(m->subject->digest, subject);
}

/* Keeps a manifest read by tag (digest checked by the client) for the graph, which then
 * does not read it again. -1: no memory. */
static int remember(struct exporter *x, const char *digest, const char *data, size_t len)
{
    if (core_dmap_get(&x->fetched_at, digest))
        return 0;
    struct xmeta *f = realloc(x->fetched, (x->n_fetched + 1) * sizeof(*f));
    if (!f)
        return -1;
    x->fetched = f;
    f += x->n_fetched;
    if (!(f->data = malloc(len ? len : 1)))
        return -1;
    if (core_dmap_put(&x->fetched_at, digest, x->n_fetched + 1)) {
        free(f->data);
        return -1;
    }
    memcpy(f->data, data, len);
    f->len = len;
    memcpy(f->digest, digest, AIRLOCK_DIGEST_SIZE);
    x->n_fetched++;
    return 0;
}

/* The graph's reader: a manifest by digest from the registry and repository being walked,
 * kept (checked against its digest) until a walk takes it. */
static int graph_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                      struct airlock_error **err)
{
    struct exporter *x = ctx;
    out->max = max;
    size_t *at = core_dmap_get(&x->fetched_at, digest);
    if (at) {
        const struct xmeta *f = &x->fetched[*at - 1];
        return airlock_buf_append(out, f->data, f->len)
                   ? airlock_error_set(err, AIRLOCK_EOS, "out of memory")
                   : 0;
    }
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    char dg[AIRLOCK_DIGEST_SIZE];
    char *mt = NULL;
    int rc = xmanifest_get(x, x->cur_r, x->cur_repo, digest, &raw, &mt, dg, err);
    free(mt);
    if (rc == AIRLOCK_ENOTFOUND)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s@%s' is missing in the registry",
                               x->cur_r->host, x->cur_repo, digest);
    else if (!rc && strcmp(dg, digest))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s@%s': the registry served %s",
                               x->cur_r->host, x->cur_repo, digest, dg);
    else if (!rc && raw.len > max)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "'%s/%s@%s': larger than %zu bytes", x->cur_r->host,
                               x->cur_repo, digest, max);
    if (!rc && airlock_buf_append(out, raw.data, raw.len))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (!rc && remember(x, digest, raw.data, raw.len))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    airlock_buf_release(&raw);
    return rc;
}

struct take_ctx {
    struct exporter *x;
    struct airlock_registry *r;
    const char *repo;
    int attachment;
};

/* A node of the walk: a manifest or index goes into the bundle as read, a manifest's config
 * and layers are fetched (small layers of attachments travel as metadata) */
static int take_node(void *ctx, size_t node, struct airlock_error **err)
{
    struct take_ctx *t = ctx;
    struct exporter *x = t->x;
    const struct airlock_graph_node *n = airlock_graph_node(x->g, node);
    if (n->kind == AIRLOCK_NODE_BAD)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s", t->repo,
                                 n->why ? n->why : n->digest);
    if (have_meta(x, n->digest))
        return 0;
    size_t *at = core_dmap_get(&x->fetched_at, n->digest);
    if (!at)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': manifest '%s' was not read",
                                 t->repo, n->digest);
    struct xmeta *f = &x->fetched[*at - 1];
    struct airlock_buf raw = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    if (airlock_buf_append(&raw, f->data, f->len) || keep_meta(x, n->digest, &raw)) {
        airlock_buf_release(&raw);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    const struct airlock_oci *m = n->doc;
    int bad = 0;
    if (m->kind == AIRLOCK_OCI_MANIFEST) {
        int carry = t->attachment || airlock_delta_carries(m);
        bad = want_blob(x, t->r, t->repo, &m->config, 1);
        for (size_t i = 0; i < m->n_layers && !bad; i++) {
            bad = !m->layers[i].has_urls &&
                  want_blob(x, t->r, t->repo, &m->layers[i],
                            t->attachment && m->layers[i].size <= META_LAYER_MAX);
            size_t *lat = bad || m->layers[i].has_urls
                             ? NULL
                             : core_dmap_get(&x->blob_at, m->layers[i].digest);
            if (lat)
                x->blobs[*lat - 1].carry |= carry;
        }
    }
    return bad ? airlock_error_set(err, AIRLOCK_EOS, "out of memory") : 0;
}

/* Takes the manifest or index d of repo and everything below it, read once through the
 * shared graph. With need_subject (a referrer): 1 and nothing taken when it is no manifest
 * whose subject is need_subject. */
static int walk(struct exporter *x, struct airlock_registry *r, const char *repo,
                const struct airlock_descriptor *d, int attachment, const char *need_subject,
                struct airlock_error **err)
{
    int rc = 0;
    if (!x->g && (rc = airlock_graph_new(&x->g, graph_read, x, 0, err)))
        return rc;
    size_t node;
    x->cur_r = r;
    x->cur_repo = repo;
    if ((rc = airlock_graph_add(x->g, d, &node, err)))
        return rc;
    const struct airlock_graph_node *n = airlock_graph_node(x->g, node);
    if (n->kind != AIRLOCK_NODE_BAD && need_subject &&
        (n->kind != AIRLOCK_NODE_MANIFEST || !refers_to(n->doc, need_subject)))
        return 1;
    struct take_ctx t = {x, r, repo, attachment};
    return airlock_graph_postorder(x->g, node, take_node, &t, err);
}

/* The entry named ref, or NULL: one hashed lookup, however many images the bundle gets. */
static const struct xentry *entry_named(const struct exporter *x, const char *ref)
{
    char key[AIRLOCK_DIGEST_SIZE];
    if (airlock_sha256_digest(key, ref, strlen(ref), NULL))
        return NULL;
    size_t *at = core_dmap_get(&x->ent_at, key);
    return at && !strcmp(x->ents[*at - 1].ref, ref) ? &x->ents[*at - 1] : NULL;
}

static int add_entry(struct exporter *x, const char *ref, const char *kind, const char *mt,
                     const char *digest, size_t size, int image)
{
    if (entry_named(x, ref))
        return 0;
    char key[AIRLOCK_DIGEST_SIZE];
    struct xentry *e = realloc(x->ents, (x->n_ents + 1) * sizeof(*e));
    if (!e)
        return -1;
    x->ents = e;
    if (airlock_sha256_digest(key, ref, strlen(ref), NULL) ||
        core_dmap_put(&x->ent_at, key, x->n_ents + 1))
        return -1;
    e += x->n_ents++;
    e->ref = strdup(ref);
    e->kind = kind ? strdup(kind) : NULL;
    e->media_type = strdup(mt ? mt : AIRLOCK_MT_OCI_MANIFEST);
    memcpy(e->digest, digest, AIRLOCK_DIGEST_SIZE);
    e->size = size;
    e->image = image;
    return 0;
}

#define MAX_REFERRERS 1024 /* of one subject, carried */

/* The referrers index of digest as cosign 3 reads it: the referrers API when the source serves
 * it, else the fallback tag sha256-<hex>. 0 with its bytes and what names it, AIRLOCK_ENOTFOUND
 * when there is none, or an error. */
static int referrers_index(struct exporter *x, struct airlock_registry *r, const char *repo,
                           const char *digest,
                           struct airlock_buf *idx, char *what, size_t what_len,
                           struct airlock_error **err)
{
    int rc = xreferrers_get(x, r, repo, digest, idx, err);
    if (rc != AIRLOCK_ENOTFOUND) {
        snprintf(what, what_len, "'%s/v2/%s/referrers/%s'", r->host, repo, digest);
        return rc;
    }
    char tag[100], dg[AIRLOCK_DIGEST_SIZE];
    char *mt = NULL;
    snprintf(tag, sizeof(tag), "sha256-%s", airlock_digest_hex(digest));
    snprintf(what, what_len, "'%s/%s:%s'", r->host, repo, tag);
    rc = xmanifest_get(x, r, repo, tag, idx, &mt, dg, NULL);
    free(mt);
    if (rc && rc != AIRLOCK_ENOTFOUND)
        return airlock_error_set(err, AIRLOCK_EOS, "%s: cannot be read", what);
    return rc;
}

/* The referrers of digest (signatures, attestations, SBOMs, sigstore bundles), each carried
 * with its blobs and listed in index.json under the fallback tag's name REPO:sha256-<hex> as an
 * OCI index of their descriptors (artifactType and annotations from the manifests), which is
 * how the bundle side finds them. A listed manifest whose subject is not digest stays behind
 * (warned: a registry's index is not trusted to say what belongs to the image). */
static int referrers(struct exporter *x, struct airlock_registry *r, const char *repo,
                     const char *repo_full, const char *digest, struct airlock_error **err)
{
    struct airlock_buf idx = AIRLOCK_BUF_INIT(0), keep = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    struct airlock_oci *ix = NULL;
    cJSON *index = NULL, *list = NULL;
    char what[700], ref[800], dg[AIRLOCK_DIGEST_SIZE];
    char *text = NULL;
    int rc = referrers_index(x, r, repo, digest, &idx, what, sizeof(what), err);
    if (rc == AIRLOCK_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    /* a tag that holds something else (GitLab answers it with the subject) lists nothing */
    if (airlock_oci_parse(&ix, idx.data, idx.len, what, NULL) || ix->kind != AIRLOCK_OCI_INDEX)
        goto out;
    if (!(index = cJSON_CreateObject()) || !cJSON_AddNumberToObject(index, "schemaVersion", 2) ||
        !cJSON_AddStringToObject(index, "mediaType", AIRLOCK_MT_OCI_INDEX) ||
        !(list = cJSON_AddArrayToObject(index, "manifests"))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ix->n_layers && !rc; i++) {
        const struct airlock_descriptor *d = &ix->layers[i];
        if (i == MAX_REFERRERS) {
            warn(x, "%s lists more than %d referrers: the rest are left behind", what,
                 MAX_REFERRERS);
            break;
        }
        if (!airlock_media_type_is_manifest(d->media_type)) {
            warn(x, "%s lists '%s' of type '%s', which is no referrer manifest: left behind",
                 what, d->digest, d->media_type ? d->media_type : "(none)");
            continue;
        }
        rc = walk(x, r, repo, d, 1, digest, err);
        if (rc == 1) {
            warn(x, "%s lists '%s', whose subject is not '%s': left behind", what, d->digest,
                 digest);
            rc = 0;
            continue;
        }
        const struct xmeta *m = rc ? NULL : meta_of(x, d->digest);
        cJSON *desc = m ? transfer_referrer_descriptor(m->data, m->len, d->digest, d->media_type)
                        : NULL;
        if (!rc && (!desc || !cJSON_AddItemToArray(list, desc))) {
            cJSON_Delete(desc);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    if (rc || !cJSON_GetArraySize(list))
        goto out;
    if (!(text = cJSON_PrintUnformatted(index))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (strlen(text) > AIRLOCK_MAX_MANIFEST) { /* the bundle side would not read it */
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: the referrers' descriptors come to more than %u bytes", what,
                               (unsigned)AIRLOCK_MAX_MANIFEST);
        goto out;
    }
    snprintf(ref, sizeof(ref), "%s:sha256-%s", repo_full, airlock_digest_hex(digest));
    if ((rc = airlock_sha256_digest(dg, text, strlen(text), err)))
        goto out;
    if (airlock_buf_append(&keep, text, strlen(text)) || keep_meta(x, dg, &keep) ||
        add_entry(x, ref, NULL, AIRLOCK_MT_OCI_INDEX, dg, strlen(text), 0))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
out:
    airlock_buf_release(&keep);
    free(text);
    cJSON_Delete(index);
    airlock_oci_free(ix);
    airlock_buf_release(&idx);
    return rc;
}

/* .sig, .att and .sbom tags, and the referrers of digest (API or tag schema). */
static int attachments(struct exporter *x, struct airlock_registry *r, const char *repo,
                       const char *repo_full, const char *digest, struct airlock_error **err)
{
    static const char *suffix[] = {".sig", ".att", ".sbom"};
    static const char *kinds[] = {AIRLOCK_KIND_SIGS, AIRLOCK_KIND_ATTS,
                                  "dev.cosignproject.cosign/sboms"};
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        char tag[100];
        snprintf(tag, sizeof(tag), "sha256-%s%s", airlock_digest_hex(digest), suffix[k]);
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        char dg[AIRLOCK_DIGEST_SIZE];
        char *mt = NULL;
        rc = xmanifest_get(x, r, repo, tag, &raw, &mt, dg, NULL);
        if (rc == AIRLOCK_ENOTFOUND) {
            rc = 0;
            free(mt);
            continue;
        }
        if (rc) { /* a registry that cannot answer for attachments: report it */
            free(mt);
            airlock_buf_release(&raw);
            return airlock_error_set(err, AIRLOCK_EOS, "'%s/%s:%s': cannot be read", r->host,
                                     repo, tag);
        }
        struct airlock_descriptor d = {0};
        memcpy(d.digest, dg, sizeof(dg));
        d.size = raw.len;
        d.media_type = mt ? mt : (char *)AIRLOCK_MT_OCI_MANIFEST;
        int lost = remember(x, dg, raw.data, raw.len);
        airlock_buf_release(&raw);
        if (lost) {
            free(mt);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        char ref[700];
        snprintf(ref, sizeof(ref), "%s:%s", repo_full, tag);
        rc = walk(x, r, repo, &d, 1, NULL, err);
        if (!rc && add_entry(x, ref, kinds[k], d.media_type, dg, (size_t)d.size, 0))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        free(mt);
    }
    return rc ? rc : referrers(x, r, repo, repo_full, digest, err);
}

/* 1 if the referrers of digest (API or fallback tag) list a sigstore bundle */
static int signed_by_bundle(struct exporter *x, struct airlock_registry *r, const char *repo,
                            const char *digest)
{
    struct airlock_buf idx = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *ix = NULL;
    char what[700];
    int found = 0;
    if (!referrers_index(x, r, repo, digest, &idx, what, sizeof(what), NULL) &&
        !airlock_oci_parse(&ix, idx.data, idx.len, what, NULL) && ix->kind == AIRLOCK_OCI_INDEX)
        for (size_t i = 0; i < ix->n_layers && !found; i++)
            found = ix->layers[i].artifact_type &&
                    !strncmp(ix->layers[i].artifact_type, AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX,
                             strlen(AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX));
    airlock_oci_free(ix);
    airlock_buf_release(&idx);
    return found;
}

/* 1 if a referrers entry taken along for digest lists a sigstore bundle */
static int has_bundle_referrer(const struct exporter *x, const char *digest)
{
    char tag[100];
    snprintf(tag, sizeof(tag), ":sha256-%s", airlock_digest_hex(digest));
    for (size_t i = 0; i < x->n_ents; i++) {
        size_t rl = strlen(x->ents[i].ref), tl = strlen(tag);
        const struct xmeta *m = meta_of(x, x->ents[i].digest);
        struct airlock_oci *ix = NULL;
        int found = 0;
        if (x->ents[i].kind || rl < tl || strcmp(x->ents[i].ref + rl - tl, tag) || !m ||
            airlock_oci_parse(&ix, m->data, m->len, x->ents[i].ref, NULL))
            continue;
        for (size_t k = 0; ix->kind == AIRLOCK_OCI_INDEX && k < ix->n_layers && !found; k++)
            found = ix->layers[k].artifact_type &&
                    !strncmp(ix->layers[k].artifact_type, AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX,
                             strlen(AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX));
        airlock_oci_free(ix);
        if (found)
            return 1;
    }
    return 0;
}

/* 1 if every platform manifest of the index m is one of the platforms listed (attestation
 * manifests, platform unknown/unknown, travel with them) */
static int all_listed(const struct airlock_oci *m, const char *const *platforms, size_t n)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const struct airlock_descriptor *c = &m->layers[i];
        int ok = c->platform_os && !strcmp(c->platform_os, "unknown");
        for (size_t k = 0; k < n && !ok; k++)
            ok = platform_matches(c, platforms[k]);
        if (!ok)
            return 0;
    }
    return 1;
}

static int export_one(struct exporter *x, const struct airlock_export_item *it,
                      struct airlock_error **err)
{
    const char *refstr = it->ref;
    struct airlock_ref ref;
    int rc = airlock_ref_parse(&ref, refstr, err);
    if (rc)
        return rc;
    struct airlock_registry *r = NULL;
    char *name = it->name ? strdup(it->name) : airlock_ref_format(&ref),
         *repo_full = airlock_ref_repository(&ref);
    const char *platform = x->eo ? x->eo->platform : NULL;
    size_t blob_from = x->n_blobs;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    char dg[AIRLOCK_DIGEST_SIZE];
    char *mt = NULL;
    struct airlock_oci *m = NULL;
    struct airlock_descriptor d = {0};
    if (!name || !repo_full) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = get_registry(x, ref.domain, &r, err)))
        goto out;
    rc = xmanifest_get(x, r, ref.path, ref.digest ? ref.digest : ref.tag, &raw, &mt, dg, err);
    if (rc == AIRLOCK_ENOTFOUND)
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND, "'%s' is not in the registry", refstr);
    if (rc || (rc = airlock_oci_parse(&m, raw.data, raw.len, refstr, err)))
        goto out;
    if (remember(x, dg, raw.data, raw.len)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (ref.tag && ref.digest) { /* pinned: taken by digest; the tag is only compared */
        struct airlock_buf traw = AIRLOCK_BUF_INIT(0);
        char tdg[AIRLOCK_DIGEST_SIZE];
        int trc = xmanifest_get(x, r, ref.path, ref.tag, &traw, NULL, tdg, NULL);
        if (trc == AIRLOCK_ENOTFOUND)
            warn(x, "'%s': tag '%s' is no longer in the registry: exported by digest %s",
                 refstr, ref.tag, ref.digest);
        else if (!trc && strcmp(tdg, ref.digest))
            warn(x, "'%s': tag '%s' now points to %s, not %s: exported by digest %s", refstr,
                 ref.tag, tdg, ref.digest, ref.digest);
        airlock_buf_release(&traw);
    }
    if (it->n_platforms > 1 && m->kind == AIRLOCK_OCI_INDEX) {
        if (!all_listed(m, it->platforms, it->n_platforms)) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "'%s' has platforms besides the %zu listed: keeping some of an "
                                   "index would change its digest and void its signatures (list "
                                   "one platform, or all of them)",
                                   refstr, it->n_platforms);
            goto out;
        }
    } else if (it->n_platforms == 1)
        platform = it->platforms[0];
    memcpy(d.digest, dg, sizeof(dg));
    d.size = raw.len;
    d.media_type = mt ? mt
                      : (char *)(m->kind == AIRLOCK_OCI_INDEX ? AIRLOCK_MT_OCI_INDEX
                                                                : AIRLOCK_MT_OCI_MANIFEST);
    if (platform && !(it->n_platforms > 1) && m->kind == AIRLOCK_OCI_INDEX) {
        const struct airlock_descriptor *pick = NULL;
        for (size_t i = 0; i < m->n_layers && !pick; i++)
            if (platform_matches(&m->layers[i], platform))
                pick = &m->layers[i];
        if (!pick) {
            rc = airlock_error_set(err, AIRLOCK_ENOTFOUND, "'%s' has no platform '%s'", refstr,
                                   platform);
            goto out;
        }
        memcpy(d.digest, pick->digest, AIRLOCK_DIGEST_SIZE);
        d.size = pick->size;
        d.media_type = pick->media_type ? pick->media_type : (char *)AIRLOCK_MT_OCI_MANIFEST;
    }
    if ((rc = walk(x, r, ref.path, &d, 0, NULL, err)))
        goto out;
    if (add_entry(x, name, airlock_media_type_is_index(d.media_type) ? AIRLOCK_KIND_INDEX
                                                                      : AIRLOCK_KIND_IMAGE,
                  d.media_type, d.digest, (size_t)d.size, 1)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (it->no_attachments)
        goto record;
    rc = attachments(x, r, ref.path, repo_full, d.digest, err);
    if (!rc && strcmp(d.digest, dg) && !has_attachment(x, d.digest, AIRLOCK_KIND_SIGS) &&
        !has_bundle_referrer(x, d.digest)) {
        /* one platform of a signed index: the index's signature (a .sig, or a sigstore bundle
         * referrer) does not cover it */
        char tag[100], idg[AIRLOCK_DIGEST_SIZE];
        struct airlock_buf sraw = AIRLOCK_BUF_INIT(0);
        snprintf(tag, sizeof(tag), "sha256-%s.sig", airlock_digest_hex(dg));
        if (!xmanifest_get(x, r, ref.path, tag, &sraw, NULL, idg, NULL) ||
            signed_by_bundle(x, r, ref.path, dg))
            warn(x, "'%s' is signed as an index (%s), but its %s manifest %s has no signature "
                    "of its own: the bundle holds it unsigned, so verify --key will refuse it "
                    "(export without --platform, sign the bundle, or sign with cosign sign "
                    "--recursive)",
                 refstr, dg, platform, d.digest);
        airlock_buf_release(&sraw);
    }
    /* signatures of the platform manifests (cosign sign --recursive) */
    if (!rc && airlock_media_type_is_index(d.media_type) && m->kind == AIRLOCK_OCI_INDEX)
        for (size_t i = 0; i < m->n_layers && !rc; i++)
            rc = attachments(x, r, ref.path, repo_full, m->layers[i].digest, err);
record:
    if (!rc) {
        struct xrec *nr = realloc(x->recs, (x->n_recs + 1) * sizeof(*nr));
        if (!nr) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        x->recs = nr;
        nr += x->n_recs++;
        memset(nr, 0, sizeof(*nr));
        nr->item = it;
        nr->name = strdup(name);
        nr->tag = ref.tag ? strdup(ref.tag) : NULL;
        nr->media_type = strdup(d.media_type);
        memcpy(nr->digest, d.digest, AIRLOCK_DIGEST_SIZE);
        nr->blob_from = blob_from;
        nr->blob_to = x->n_blobs;
        if (!nr->name || !nr->media_type || (ref.tag && !nr->tag))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
out:
    if (rc)
        airlock_error_wrap(err, "export '%s'", refstr);
    airlock_oci_free(m);
    airlock_buf_release(&raw);
    free(mt);
    free(name);
    free(repo_full);
    airlock_ref_release(&ref);
    return rc;
}


/* ---- requests ahead, in parallel across the items ------------------------------------------- */
/* What each item's walk will ask first is asked for every item at once over a bounded pool
 * (twice --parallel, at most 64): the reference, its tag when pinned, an index's platform
 * manifests, and for each of these the .sig/.att/.sbom tags and the referrers (API, else the
 * fallback tag). The walk then runs in order as before, reading these answers instead of
 * waiting for one round trip at a time; anything not asked ahead, or that failed, it asks
 * itself (and reports). */

struct ahead_list {
    struct xahead *v;
    size_t n;
};

struct ahead_job {
    const struct airlock_export_item *items;
    struct airlock_registry **regs; /* per item, or NULL */
    struct ahead_list *lists;       /* per item: only its worker writes it */
    size_t n;
};

/* Keeps one answer in l (rc 0 or AIRLOCK_ENOTFOUND; body taken). -1: not kept. */
static int ahead_keep(struct ahead_list *l, char what, const struct airlock_registry *r,
                      const char *repo, const char *ref, int rc, struct airlock_buf *body,
                      char **mt, const char *digest)
{
    if (rc && rc != AIRLOCK_ENOTFOUND)
        return -1;
    struct xahead *v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return -1;
    l->v = v;
    v += l->n++;
    memset(v, 0, sizeof(*v));
    ahead_key(v->key, what, r, repo, ref);
    v->rc = rc;
    if (!rc) {
        v->body = *body;
        *body = (struct airlock_buf)AIRLOCK_BUF_INIT(0);
        v->mt = mt ? *mt : NULL;
        if (mt)
            *mt = NULL;
        if (digest)
            memcpy(v->digest, digest, AIRLOCK_DIGEST_SIZE);
    }
    return 0;
}

static void ahead_manifest(struct ahead_list *l, struct airlock_registry *r, const char *repo,
                           const char *ref, struct airlock_buf *keep_body, char *keep_dg)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    char dg[AIRLOCK_DIGEST_SIZE] = "";
    char *mt = NULL;
    int rc = airlock_registry_manifest_get(r, repo, ref, &raw, &mt, dg, NULL);
    if (!rc && keep_body && airlock_buf_append(keep_body, raw.data ? raw.data : "", raw.len))
        rc = -1; /* not kept, and no digest: the item is not looked into further */
    if (!rc && keep_dg)
        memcpy(keep_dg, dg, AIRLOCK_DIGEST_SIZE);
    ahead_keep(l, 'M', r, repo, ref, rc, &raw, &mt, dg);
    airlock_buf_release(&raw);
    free(mt);
}

static void ahead_attachments(struct ahead_list *l, struct airlock_registry *r, const char *repo,
                              const char *digest)
{
    static const char *suffix[] = {".sig", ".att", ".sbom", ""};
    struct airlock_buf idx = AIRLOCK_BUF_INIT(0);
    int rc = registry_referrers_get(r, repo, digest, &idx, NULL);
    ahead_keep(l, 'R', r, repo, digest, rc, &idx, NULL, NULL);
    airlock_buf_release(&idx);
    for (int k = 0; k < 4; k++) {
        if (!*suffix[k] && rc != AIRLOCK_ENOTFOUND) /* the fallback tag only without the API */
            continue;
        char tag[100];
        snprintf(tag, sizeof(tag), "sha256-%s%s", airlock_digest_hex(digest), suffix[k]);
        ahead_manifest(l, r, repo, tag, NULL, NULL);
    }
}

static void ahead_item(struct ahead_job *j, size_t i)
{
    const struct airlock_export_item *it = &j->items[i];
    struct airlock_registry *r = j->regs[i];
    struct ahead_list *l = &j->lists[i];
    struct airlock_ref ref;
    if (!r || airlock_ref_parse(&ref, it->ref, NULL))
        return;
    struct airlock_buf body = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    char dg[AIRLOCK_DIGEST_SIZE] = "";
    struct airlock_oci *m = NULL;
    ahead_manifest(l, r, ref.path, ref.digest ? ref.digest : ref.tag, &body, dg);
    if (ref.tag && ref.digest)
        ahead_manifest(l, r, ref.path, ref.tag, NULL, NULL);
    if (*dg && !airlock_oci_parse(&m, body.data, body.len, it->ref, NULL)) {
        if (!it->no_attachments)
            ahead_attachments(l, r, ref.path, dg);
        for (size_t k = 0; m->kind == AIRLOCK_OCI_INDEX && k < m->n_layers && k < 64; k++) {
            ahead_manifest(l, r, ref.path, m->layers[k].digest, NULL, NULL);
            if (!it->no_attachments)
                ahead_attachments(l, r, ref.path, m->layers[k].digest);
        }
    }
    airlock_oci_free(m);
    airlock_buf_release(&body);
    airlock_ref_release(&ref);
}

static int ahead_one(void *ctx, size_t i, struct airlock_error **err)
{
    (void)err; /* an answer that cannot be had is asked again by the walk */
    ahead_item(ctx, i);
    return 0;
}

/* Asks ahead for every item; the answers land in x->ahead. Only memory can fail here. */
static int ask_ahead(struct exporter *x, const struct airlock_export_item *items, size_t n,
                     struct airlock_error **err)
{
    if (n < 2)
        return 0;
    struct ahead_job j;
    memset(&j, 0, sizeof(j));
    j.items = items;
    j.n = n;
    int rc = 0;
    if (!(j.regs = calloc(n, sizeof(*j.regs))) || !(j.lists = calloc(n, sizeof(*j.lists)))) {
        free(j.regs);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (size_t i = 0; i < n; i++) { /* the clients, made here, in order */
        struct airlock_ref ref;
        if (airlock_ref_parse(&ref, items[i].ref, NULL))
            continue; /* the walk reports it */
        struct airlock_error *e = NULL;
        if (get_registry(x, ref.domain, &j.regs[i], &e))
            j.regs[i] = NULL;
        airlock_error_free(e);
        airlock_ref_release(&ref);
    }
    transfer_pool_run(n, transfer_pool_threads(x->ro), ahead_one, &j, NULL);
    for (size_t i = 0; i < n; i++) {
        struct ahead_list *l = &j.lists[i];
        for (size_t k = 0; k < l->n; k++) {
            struct xahead *a = &l->v[k];
            struct xahead *v = NULL;
            if (!rc && !core_dmap_get(&x->ahead_at, a->key) &&
                (v = realloc(x->ahead, (x->n_ahead + 1) * sizeof(*v))) &&
                !core_dmap_put(&x->ahead_at, a->key, x->n_ahead + 1)) {
                x->ahead = v;
                x->ahead[x->n_ahead++] = *a;
                continue;
            }
            if (v)
                x->ahead = v;
            airlock_buf_release(&a->body);
            free(a->mt);
        }
        free(l->v);
    }
    free(j.lists);
    free(j.regs);
    return rc;
}

/* ---- fetching the blobs --------------------------------------------------------------------- */

/* The blobs to fetch, each with its slot in the bundle; workers take them in turn. */
struct fetch_job {
    struct exporter *x;
    struct xblob **todo;
    struct airlock_writer_slot **slots; /* NULL: one at a time, in order (.tar.zst) */
    struct airlock_split_sink **splits; /* --split */
    size_t n;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock; /* progress events and the first error */
    struct airlock_error *first_err;
};

/* The writer's sink, telling the progress display how far a download is. */
struct counting_sink {
    struct fetch_job *j;
    const struct xblob *b;
    struct airlock_writer_slot *slot;  /* a reserved place in the bundle, */
    struct airlock_split_sink *split;  /* or in a split set; neither: the writer, in order */
    uint64_t pos, told;
};

static void tell(struct counting_sink *c)
{
    const struct airlock_registry_opts *ro = c->j->x->ro;
    if (!ro || !ro->progress)
        return;
    struct airlock_progress ev = {"download", c->b->digest, c->pos, c->b->size};
    pthread_mutex_lock(&c->j->lock);
    ro->progress(ro->progress_ctx, &ev);
    pthread_mutex_unlock(&c->j->lock);
    c->told = c->pos;
}

static int counting_data(void *ctx, const void *p, size_t n, struct airlock_error **err)
{
    struct counting_sink *c = ctx;
    c->pos += n;
    if (c->pos - c->told >= (1u << 20) && c->pos < c->b->size)
        tell(c);
    return c->split  ? airlock_split_sink_data(c->split, p, n, err)
           : c->slot ? airlock_writer_slot_data(c->slot, p, n, err)
                     : airlock_writer_blob_data(c->j->x->w, p, n, err);
}

static int fetch_one(struct fetch_job *j, size_t i, struct airlock_error **err)
{
    struct xblob *b = j->todo[i];
    struct counting_sink cs = {j, b, j->slots ? j->slots[i] : NULL,
                               j->splits ? j->splits[i] : NULL, 0, 0};
    tell(&cs);
    int rc = cs.slot || cs.split ? 0 : airlock_writer_blob_begin(j->x->w, b->digest, b->size, err);
    if (!rc)
        rc = registry_blob_fetch(b->r, b->repo, b->digest, b->size, counting_data, &cs, err);
    if (!rc)
        rc = cs.split  ? airlock_split_sink_close(cs.split, err)
             : cs.slot ? airlock_writer_slot_close(cs.slot, err)
                       : airlock_writer_blob_end(j->x->w, err);
    if (!rc) {
        cs.pos = b->size;
        tell(&cs);
    }
    return rc;
}

static void *fetch_worker(void *arg)
{
    struct fetch_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->failed))
            break;
        struct airlock_error *e = NULL;
        if (fetch_one(j, i, &e)) {
            if (!e)
                airlock_error_set(&e, AIRLOCK_EOS, "a download failed without saying why");
            pthread_mutex_lock(&j->lock);
            if (!j->first_err)
                j->first_err = e;
            else
                airlock_error_free(e);
            pthread_mutex_unlock(&j->lock);
            atomic_store(&j->failed, 1);
        }
    }
    return NULL;
}

/* Fetches every blob the bundle does not have yet: in parallel into reserved slots for plain
 * tar and directory bundles, in order for a compressed one. */
static int fetch_all(struct exporter *x, uint64_t *fetched, uint64_t *bytes,
                     struct airlock_error **err)
{
    struct fetch_job j;
    memset(&j, 0, sizeof(j));
    j.x = x;
    pthread_mutex_init(&j.lock, NULL);
    int rc = 0;
    j.todo = calloc(x->n_blobs + 1, sizeof(*j.todo));
    if (!j.todo)
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; !rc && i < x->n_blobs; i++)
        if (!x->blobs[i].omitted &&
            (x->sw ? !airlock_split_writer_is_meta(x->sw, x->blobs[i].digest)
                   : !airlock_writer_has(x->w, x->blobs[i].digest)))
            j.todo[j.n++] = &x->blobs[i]; /* (want_blob keeps each digest once) */
    int threads = x->ro && x->ro->parallel > 0 ? x->ro->parallel : 4;
    if (!rc && x->sw) { /* each blob's place in its part (or its pieces'), reserved in order */
        if (!(j.splits = calloc(j.n + 1, sizeof(*j.splits))))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        for (size_t i = 0; !rc && i < j.n; i++)
            rc = airlock_split_writer_sink(x->sw, j.todo[i]->digest, &j.splits[i], err);
    } else if (!rc && j.n > 1 && threads > 1 && airlock_writer_parallel(x->w)) {
        if (!(j.slots = calloc(j.n, sizeof(*j.slots))))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        for (size_t i = 0; !rc && i < j.n; i++)
            rc = airlock_writer_slot_open(x->w, j.todo[i]->digest, j.todo[i]->size, &j.slots[i],
                                          err);
    }
    if (!rc) {
        int parallel = j.slots || j.splits;
        if (!parallel || threads > 64)
            threads = parallel ? 64 : 1;
        if ((size_t)threads > j.n)
            threads = (int)j.n;
        pthread_t tid[64];
        int started = 0;
        for (int i = 1; i < threads; i++)
            if (!pthread_create(&tid[started], NULL, fetch_worker, &j))
                started++;
        fetch_worker(&j);
        for (int i = 0; i < started; i++)
            pthread_join(tid[i], NULL);
        if (j.failed) {
            rc = j.first_err ? j.first_err->code : AIRLOCK_EOS;
            if (err && !*err)
                *err = steal_pointer(&j.first_err);
        }
    }
    for (size_t i = 0; !rc && i < j.n; i++) {
        *bytes += j.todo[i]->size;
        (*fetched)++;
    }
    for (size_t i = 0; j.slots && i < j.n; i++)
        airlock_writer_slot_free(j.slots[i]);
    free(j.slots);
    for (size_t i = 0; j.splits && i < j.n; i++)
        airlock_split_sink_free(j.splits[i]);
    free(j.splits);
    free(j.todo);
    airlock_error_free(j.first_err);
    pthread_mutex_destroy(&j.lock);
    return rc;
}

static int has_attachment(const struct exporter *x, const char *digest, const char *kind)
{
    char tag[100];
    snprintf(tag, sizeof(tag), ":sha256-%s", airlock_digest_hex(digest));
    for (size_t i = 0; i < x->n_ents; i++)
        if (x->ents[i].kind && !strcmp(x->ents[i].kind, kind) && strstr(x->ents[i].ref, tag))
            return 1;
    return 0;
}

static int copy_old(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                    void *read_ctx, struct airlock_error **err)
{
    return airlock_writer_add_blob(ctx, digest, size, read, read_ctx, err);
}

static int want_old(void *ctx, const char *digest, uint64_t size)
{
    (void)size;
    struct airlock_writer *w = ctx;
    return !airlock_writer_has(w, digest);
}

static cJSON *record_json(const struct exporter *x, struct airlock_bundle *old);

/* A delta export's record (layout/src/delta.c): the omitted blobs, sorted. NULL: no memory. */
static char *delta_text(const struct exporter *x)
{
    struct airlock_delta d;
    memset(&d, 0, sizeof(d));
    const char *bdg = NULL, *breg = NULL;
    const char *kind = airlock_inventory_basis(x->eo->have, &bdg, &breg);
    snprintf(d.basis_kind, sizeof(d.basis_kind), "%s", kind);
    snprintf(d.basis_digest, sizeof(d.basis_digest), "%s", bdg);
    d.basis_registry = (char *)breg;
    size_t n_om = 0;
    for (size_t i = 0; i < x->n_blobs; i++)
        n_om += x->blobs[i].omitted != 0;
    /* per omitted blob: the repositories holding it, the first as from, the others as mounts */
    const char **names = calloc(n_om * (AIRLOCK_DELTA_MOUNTS_MAX + 1) + 1, sizeof(*names));
    if (!names || !(d.omitted = calloc(n_om + 1, sizeof(*d.omitted)))) {
        free(names);
        return NULL;
    }
    for (size_t i = 0; i < x->n_blobs; i++)
        if (x->blobs[i].omitted) {
            const char **mine = names + d.n * (AIRLOCK_DELTA_MOUNTS_MAX + 1);
            struct airlock_delta_blob *b = &d.omitted[d.n++];
            memcpy(b->digest, x->blobs[i].digest, AIRLOCK_DIGEST_SIZE);
            b->size = x->blobs[i].size;
            b->from = (char *)x->blobs[i].from;
            size_t nh = airlock_inventory_holders(x->eo->have, b->digest, mine,
                                                  AIRLOCK_DELTA_MOUNTS_MAX + 1);
            if (b->from && nh > 1 && !strcmp(mine[0], b->from)) {
                b->mounts = (char **)(mine + 1);
                b->n_mounts = (nh > AIRLOCK_DELTA_MOUNTS_MAX + 1 ? AIRLOCK_DELTA_MOUNTS_MAX + 1
                                                                 : nh) - 1;
            }
        }
    airlock_delta_sort(&d); /* (want_blob keeps each digest once: nothing to free) */
    char *text = airlock_delta_format(&d);
    free(d.omitted);
    free(names);
    return text;
}

/* index.json: the old bundle's entries that keep their names, then the new ones */
static char *index_text(const struct exporter *x, struct airlock_bundle *old)
{
    cJSON *index = cJSON_CreateObject(), *arr;
    cJSON_AddNumberToObject(index, "schemaVersion", 2);
    cJSON_AddStringToObject(index, "mediaType", AIRLOCK_MT_OCI_INDEX);
    arr = cJSON_AddArrayToObject(index, "manifests");
    if (old) {
        size_t len;
        const char *oi = airlock_bundle_index(old, &len);
        cJSON *oj = core_json_parse(oi, len, NULL);
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(oj, "manifests"))
        {
            const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(it, "annotations"), AIRLOCK_ANN_REF_NAME));
            if (!n || !entry_named(x, n))
                cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
        }
        cJSON_Delete(oj);
    }
    for (size_t i = 0; i < x->n_ents; i++) {
        struct xentry *e = &x->ents[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "mediaType", e->media_type);
        cJSON_AddStringToObject(d, "digest", e->digest);
        cJSON_AddNumberToObject(d, "size", (double)e->size);
        cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
        cJSON_AddStringToObject(ann, AIRLOCK_ANN_REF_NAME, e->ref);
        if (e->image)
            cJSON_AddStringToObject(ann, AIRLOCK_ANN_CONTAINERD_NAME, e->ref);
        if (e->kind)
            cJSON_AddStringToObject(ann, AIRLOCK_ANN_KIND, e->kind);
        cJSON_AddItemToArray(arr, d);
    }
    /* the record: a top-level annotation (others the old bundle had are kept) */
    cJSON *ann = NULL;
    if (old) {
        size_t len;
        const char *oi = airlock_bundle_index(old, &len);
        cJSON *oj = core_json_parse(oi, len, NULL);
        cJSON *oa = cJSON_GetObjectItemCaseSensitive(oj, "annotations");
        if (cJSON_IsObject(oa))
            ann = cJSON_Duplicate(oa, 1);
        cJSON_Delete(oj);
    }
    if (!ann)
        ann = cJSON_CreateObject();
    cJSON *rec = record_json(x, old);
    char *rtext = rec ? cJSON_PrintUnformatted(rec) : NULL;
    cJSON_Delete(rec);
    if (!ann || !rtext || strlen(rtext) > RECORD_MAX) {
        free(rtext);
        cJSON_Delete(ann);
        cJSON_Delete(index);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ann, AIRLOCK_ANN_SET_RECORD);
    cJSON_AddStringToObject(ann, AIRLOCK_ANN_SET_RECORD, rtext);
    free(rtext);
    if (x->eo && x->eo->have) { /* a delta: what it leaves out, on what basis */
        char *dtext = delta_text(x);
        if (!dtext) {
            cJSON_Delete(index);
            cJSON_Delete(ann);
            return NULL;
        }
        cJSON_AddStringToObject(ann, AIRLOCK_ANN_DELTA_RECORD, dtext);
        free(dtext);
    }
    cJSON_AddItemToObject(index, "annotations", ann);
    char *text = cJSON_PrintUnformatted(index);
    cJSON_Delete(index);
    return text;
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

/* The record of this export (and of earlier ones into the same bundle, whose images it does
 * not replace): {"exports": [{"set": {"path", "digest"}, "time", "images": [{"name",
 * "requested", "ref", "tag", "digest", "mediaType", "attachments"}]}]}. NULL: no memory. */
static cJSON *record_json(const struct exporter *x, struct airlock_bundle *old)
{
    cJSON *rec = cJSON_CreateObject(), *exports = cJSON_AddArrayToObject(rec, "exports");
    if (!exports) {
        cJSON_Delete(rec);
        return NULL;
    }
    if (old) {
        size_t len;
        const char *oi = airlock_bundle_index(old, &len);
        cJSON *oj = core_json_parse(oi, len, NULL);
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(oj, "annotations"), AIRLOCK_ANN_SET_RECORD));
        cJSON *orec = text && strlen(text) <= RECORD_MAX ? core_json_parse(text, strlen(text), NULL) : NULL, *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(orec, "exports"))
        {
            cJSON *imgs = cJSON_GetObjectItemCaseSensitive(e, "images");
            if (!cJSON_IsObject(e) || !cJSON_IsArray(imgs))
                continue;
            cJSON *keep = cJSON_Duplicate(e, 1), *kimgs = cJSON_CreateArray(), *im;
            cJSON_ArrayForEach(im, imgs)
            {
                const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(im, "name"));
                int replaced = !n;
                for (size_t k = 0; n && k < x->n_recs && !replaced; k++)
                    replaced = !strcmp(n, x->recs[k].name);
                if (!replaced)
                    cJSON_AddItemToArray(kimgs, cJSON_Duplicate(im, 1));
            }
            if (keep && kimgs && cJSON_GetArraySize(kimgs)) {
                cJSON_ReplaceItemInObjectCaseSensitive(keep, "images", kimgs);
                cJSON_AddItemToArray(exports, keep);
            } else {
                cJSON_Delete(keep);
                cJSON_Delete(kimgs);
            }
        }
        cJSON_Delete(orec);
        cJSON_Delete(oj);
    }
    cJSON *ex = cJSON_CreateObject(), *set = cJSON_AddObjectToObject(ex, "set");
    char *now = utc_now();
    if (x->eo && x->eo->set_path)
        cJSON_AddStringToObject(set, "path", x->eo->set_path);
    if (x->eo && x->eo->set_digest)
        cJSON_AddStringToObject(set, "digest", x->eo->set_digest);
    cJSON_AddStringToObject(ex, "time", now ? now : "");
    free(now);
    cJSON *imgs = cJSON_AddArrayToObject(ex, "images");
    for (size_t i = 0; imgs && i < x->n_recs; i++) {
        const struct xrec *r = &x->recs[i];
        cJSON *im = cJSON_CreateObject();
        cJSON_AddStringToObject(im, "name", r->name);
        cJSON_AddStringToObject(im, "requested",
                                r->item->requested ? r->item->requested : r->item->ref);
        cJSON_AddStringToObject(im, "ref", r->item->ref);
        if (r->tag)
            cJSON_AddStringToObject(im, "tag", r->tag);
        cJSON_AddStringToObject(im, "digest", r->digest);
        cJSON_AddStringToObject(im, "mediaType", r->media_type);
        cJSON_AddBoolToObject(im, "attachments", !r->item->no_attachments);
        cJSON_AddItemToArray(imgs, im);
    }
    cJSON_AddItemToArray(exports, ex);
    return rec;
}

/* Tells the plan: per image what it brings first that the bundle lacks, and the totals. */
static int tell_plan(const struct exporter *x, struct airlock_bundle *old,
                     struct airlock_error **err)
{
    if (!x->eo || !x->eo->plan)
        return 0;
    struct airlock_export_plan p;
    memset(&p, 0, sizeof(p));
    struct airlock_export_plan_image *im = calloc(x->n_recs + 1, sizeof(*im));
    if (!im)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct core_dmap in_old = {0};
    if (old) { /* the digests old's index.json lists */
        size_t len;
        const char *oi = airlock_bundle_index(old, &len);
        cJSON *oj = core_json_parse(oi, len, NULL), *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(oj, "manifests"))
        {
            const char *dg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "digest"));
            if (dg && !airlock_digest_check(dg, NULL))
                core_dmap_put(&in_old, dg, 1);
        }
        cJSON_Delete(oj);
    }
    for (size_t i = 0; i < x->n_recs; i++) {
        const struct xrec *r = &x->recs[i];
        im[i].name = r->name;
        im[i].requested = r->item->requested ? r->item->requested : r->item->ref;
        im[i].digest = r->digest;
        im[i].in_bundle = core_dmap_get(&in_old, r->digest) != NULL;
        for (size_t k = r->blob_from; k < r->blob_to; k++) {
            uint64_t sz;
            if (x->blobs[k].omitted ||
                (old && !airlock_bundle_blob_stat(old, x->blobs[k].digest, &sz)))
                continue;
            im[i].new_bytes += x->blobs[k].size;
            im[i].new_blobs++;
        }
    }
    for (size_t k = 0; k < x->n_blobs; k++) {
        uint64_t sz;
        if (x->blobs[k].omitted)
            continue;
        if (old && !airlock_bundle_blob_stat(old, x->blobs[k].digest, &sz)) {
            p.blobs_reused++;
            p.bytes_reused += x->blobs[k].size;
        } else {
            p.blobs_fetch++;
            p.bytes_fetch += x->blobs[k].size;
        }
    }
    p.images = im;
    p.n = x->n_recs;
    x->eo->plan(x->eo->plan_ctx, &p);
    core_dmap_release(&in_old);
    free(im);
    return 0;
}

int airlock_export(struct airlock_import_result **res, const char *const *refs, size_t n_refs,
                   const char *out, const struct airlock_registry_opts *ro,
                   const struct airlock_export_opts *eo, struct airlock_error **err)
{
    struct airlock_export_item *items = calloc(n_refs + 1, sizeof(*items));
    if (!items)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < n_refs; i++)
        items[i].ref = refs[i];
    int rc = airlock_export_items(res, items, n_refs, out, ro, eo, err);
    free(items);
    return rc;
}

int airlock_export_items(struct airlock_import_result **res,
                         const struct airlock_export_item *items, size_t n_items, const char *out,
                         const struct airlock_registry_opts *ro,
                         const struct airlock_export_opts *eo, struct airlock_error **err)
{
    struct exporter x;
    memset(&x, 0, sizeof(x));
    x.ro = ro;
    x.eo = eo;
    struct airlock_bundle *old = NULL;
    struct airlock_dest_lock *lock = NULL;
    struct airlock_import_result *r = NULL;
    struct airlock_split_result *parts = NULL;
    struct airlock_split_blob *plan = NULL;
    char *text = NULL;
    uint64_t bytes = 0, fetched = 0, recovered = 0, recovered_bytes = 0;
    uint64_t omitted = 0, omitted_bytes = 0;
    uint64_t split = eo ? eo->split_size : 0;
    int rc = 0;
    rc = eo ? airlock_inventory_lock_check(eo->have, items, n_items, err) : 0;
    if (!rc)
        rc = ask_ahead(&x, items, n_items, err);
    if (!rc && eo && eo->have && access(out, F_OK) == 0) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' exists: a delta export (--have, --since) writes a new bundle, "
                               "it does not add to one",
                               out);
        goto out;
    }
    for (size_t i = 0; i < n_items && !rc; i++)
        rc = export_one(&x, &items[i], err);
    if (rc)
        goto out;
    for (size_t i = 0; eo && eo->have && i < x.n_blobs; i++) /* a delta: what is there stays */
        if (!x.blobs[i].meta && !x.blobs[i].carry &&
            airlock_inventory_has(eo->have, x.blobs[i].digest, &x.blobs[i].from)) {
            x.blobs[i].omitted = 1;
            omitted++;
            omitted_bytes += x.blobs[i].size;
        }
    {
        /* a FAT32 stick holds no file of 4 GiB: say so before writing, not at 4 GiB */
        uint64_t total = 0, largest = 0;
        for (size_t i = 0; i < x.n_blobs; i++) {
            if (x.blobs[i].omitted)
                continue;
            total += x.blobs[i].size;
            if (x.blobs[i].size > largest)
                largest = x.blobs[i].size;
        }
        for (size_t i = 0; i < x.n_meta; i++)
            total += x.meta[i].len;
        enum airlock_format f = eo && eo->format != AIRLOCK_FORMAT_AUTO
                                    ? eo->format
                                    : airlock_format_for_path(out);
        char *first = NULL, *why = NULL;
        if (split && asprintf(&first, "%s.001", out) < 0)
            first = NULL;
        why = split ? (first ? airlock_media_warning(first, split) : NULL)
                    : airlock_media_warning(out, f == AIRLOCK_FORMAT_DIR ? largest : total);
        free(first);
        if (why) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "%s", why);
            free(why);
            goto out;
        }
    }
    if (split || (eo && eo->dry_run && access(out, F_OK) != 0)) {
        if ((rc = tell_plan(&x, NULL, err)))
            goto out;
        if (eo && eo->dry_run)
            goto result;
    }
    if (split) { /* straight into parts: planned now, written as the blobs arrive */
        if (!(text = index_text(&x, NULL)) ||
            !(plan = calloc(x.n_meta + x.n_blobs + 1, sizeof(*plan)))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        size_t n = 0;
        for (size_t i = 0; i < x.n_meta; i++, n++) {
            memcpy(plan[n].digest, x.meta[i].digest, AIRLOCK_DIGEST_SIZE);
            plan[n].size = x.meta[i].len;
            plan[n].meta = 1;
        }
        for (size_t i = 0; i < x.n_blobs; i++, n++) {
            if (x.blobs[i].omitted) {
                n--;
                continue;
            }
            memcpy(plan[n].digest, x.blobs[i].digest, AIRLOCK_DIGEST_SIZE);
            plan[n].size = x.blobs[i].size;
            plan[n].meta = x.blobs[i].meta;
        }
        if ((rc = airlock_split_writer_new(&x.sw, out, split, plan, n, text, strlen(text), out,
                                           err)))
            goto out;
        for (size_t i = 0; i < x.n_meta && !rc; i++)
            rc = airlock_split_writer_meta(x.sw, x.meta[i].digest, x.meta[i].data, x.meta[i].len,
                                           err);
        for (size_t i = 0; i < x.n_blobs && !rc; i++) { /* configs, signature payloads: small */
            struct xblob *b = &x.blobs[i];
            if (b->omitted || !airlock_split_writer_is_meta(x.sw, b->digest))
                continue;
            struct airlock_buf data = AIRLOCK_BUF_INIT(0);
            rc = registry_blob_fetch_mem(b->r, b->repo, b->digest, b->size, &data, err);
            if (!rc)
                rc = airlock_split_writer_meta(x.sw, b->digest, data.data, data.len, err);
            airlock_buf_release(&data);
        }
    } else {
        /* one lock from the first read of an existing bundle to the rename over it, so a
         * sign (or another writer) in between is refused instead of lost */
        if ((rc = airlock_dest_lock(&lock, out, err)))
            goto out;
        if (access(out, F_OK) == 0 && (rc = airlock_bundle_open(&old, out, 0, err))) {
            airlock_error_wrap(err, "'%s' exists and is not a bundle airlock can add to", out);
            if (rc != AIRLOCK_EOS) /* as import says it: a refusal to overwrite, not damage */
                rc = AIRLOCK_EEXISTS;
            if (err && *err)
                (*err)->code = rc;
            goto out;
        }
        if ((rc = tell_plan(&x, old, err)))
            goto out;
        if (eo && eo->dry_run)
            goto result;
        if (!(text = index_text(&x, old))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        /* room for all of it, before anything is written: a file bundle is written anew
         * beside the old one (which it replaces), so it needs the old blobs it copies too;
         * an existing directory is added to in place and needs only what it lacks. A blob a
         * delta omits is not written at all. */
        uint64_t need = strlen(text);
        int in_place = old && airlock_format_for_path(out) == AIRLOCK_FORMAT_DIR;
        for (size_t i = 0; i < x.n_meta; i++)
            need += x.meta[i].len;
        for (size_t i = 0; i < x.n_blobs; i++)
            if (!x.blobs[i].omitted &&
                !(in_place && !airlock_bundle_blob_stat(old, x.blobs[i].digest, NULL)))
                need += x.blobs[i].size;
        for (size_t i = 0, n = old && !in_place ? airlock_bundle_blob_count(old) : 0; i < n; i++) {
            uint64_t size = 0;
            const char *d = airlock_bundle_blob_digest(old, i, &size);
            if (d && !core_dmap_get(&x.blob_at, d))
                need += size;
        }
        if ((rc = airlock_space_check(out, need, err)))
            goto out;
        if ((rc = airlock_writer_new_resumable_locked(&x.w, out,
                                                      eo ? eo->format : AIRLOCK_FORMAT_AUTO, err)))
            goto out;
        airlock_writer_partial(x.w, NULL, &recovered, &recovered_bytes);
        for (size_t i = 0; i < x.n_meta && !rc; i++)
            rc = airlock_writer_add_bytes(x.w, x.meta[i].data, x.meta[i].len, x.meta[i].digest,
                                          NULL, err);
        /* the existing bundle's blobs are reused, not fetched again */
        if (!rc && old)
            rc = airlock_bundle_blob_stream(old, want_old, copy_old, x.w, err);
    }
    if (!rc && ro && ro->progress) {
        uint64_t n = 0, total = 0;
        for (size_t i = 0; i < x.n_blobs; i++)
            if (!x.blobs[i].omitted &&
                (x.sw ? !airlock_split_writer_is_meta(x.sw, x.blobs[i].digest)
                      : !airlock_writer_has(x.w, x.blobs[i].digest))) {
                n++;
                total += x.blobs[i].size;
            }
        struct airlock_progress ev = {"plan", NULL, n, total};
        ro->progress(ro->progress_ctx, &ev);
    }
    if (!rc)
        rc = fetch_all(&x, &fetched, &bytes, err);
    if (rc)
        goto out;
    if (x.sw) {
        struct airlock_split_result *sr = NULL;
        if ((rc = airlock_split_writer_commit(x.sw, &sr, err)))
            goto out;
        parts = sr;
    } else if ((rc = airlock_writer_commit(x.w, text, strlen(text), err)))
        goto out;
result:
    r = calloc(1, sizeof(*r));
    if (!r || !(r->refs = calloc(x.n_ents + 1, sizeof(char *))) ||
        !(r->digests = calloc(x.n_ents + 1, sizeof(char *)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < x.n_ents; i++) {
        r->refs[r->n] = strdup(x.ents[i].ref);
        r->digests[r->n] = strdup(x.ents[i].digest);
        r->n++;
    }
    r->blobs_written = fetched;
    r->bytes_written = bytes;
    r->blobs_omitted = omitted;
    r->bytes_omitted = omitted_bytes;
    if (eo && eo->have) {
        const char *bdg = NULL, *breg = NULL;
        airlock_inventory_basis(eo->have, &bdg, &breg);
        snprintf(r->delta_basis, sizeof(r->delta_basis), "%s", bdg);
    }
    if (parts) {
        r->parts = parts->parts;
        r->part_sizes = parts->sizes;
        r->n_parts = parts->n;
        parts->parts = NULL;
        parts->sizes = NULL;
        parts->n = 0;
    }
    if (recovered) {
        char sz[16];
        airlock_format_size(sz, recovered_bytes);
        warn(&x, "took %llu blob%s (%s) over from an interrupted export instead of fetching "
                 "them again",
             (unsigned long long)recovered, recovered == 1 ? "" : "s", sz);
    }
    r->warnings = x.warnings;
    r->n_warnings = x.n_warnings;
    x.warnings = NULL;
    x.n_warnings = 0;
    *res = steal_pointer(&r);
out:
    airlock_split_result_free(parts);
    airlock_split_writer_free(x.sw);
    free(plan);
    if (rc && x.w) {
        uint64_t held = 0;
        const char *partial = airlock_writer_partial(x.w, &held, NULL, NULL);
        if (partial && held)
            airlock_error_wrap(err, "%llu blob%s fetched so far %s kept in '%s'; the same export "
                                    "again continues from there",
                               (unsigned long long)held, held == 1 ? "" : "s",
                               held == 1 ? "is" : "are", partial);
    }
    airlock_import_result_free(r);
    free(text);
    airlock_writer_free(x.w);
    airlock_dest_lock_free(lock);
    airlock_bundle_free(old);
    for (size_t i = 0; i < x.n_regs; i++)
        airlock_registry_free(x.regs[i]);
    free(x.regs);
    for (size_t i = 0; i < x.n_meta; i++)
        free(x.meta[i].data);
    free(x.meta);
    core_dmap_release(&x.meta_at);
    core_dmap_release(&x.blob_at);
    airlock_graph_free(x.g);
    for (size_t i = 0; i < x.n_fetched; i++)
        free(x.fetched[i].data);
    free(x.fetched);
    core_dmap_release(&x.fetched_at);
    for (size_t i = 0; i < x.n_blobs; i++)
        free(x.blobs[i].repo);
    free(x.blobs);
    for (size_t i = 0; i < x.n_ents; i++) {
        free(x.ents[i].ref);
        free(x.ents[i].kind);
        free(x.ents[i].media_type);
    }
    free(x.ents);
    core_dmap_release(&x.ent_at);
    for (size_t i = 0; i < x.n_recs; i++) {
        free(x.recs[i].name);
        free(x.recs[i].tag);
        free(x.recs[i].media_type);
    }
    free(x.recs);
    for (size_t i = 0; i < x.n_ahead; i++) {
        airlock_buf_release(&x.ahead[i].body);
        free(x.ahead[i].mt);
    }
    free(x.ahead);
    core_dmap_release(&x.ahead_at);
    for (size_t i = 0; i < x.n_warnings; i++)
        free(x.warnings[i]);
    free(x.warnings);
    return rc;
}
