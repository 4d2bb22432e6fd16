/* Push: a bundle into a registry, images and signatures together, then verified there. */
#include "transfer_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct pentry {                  /* one index.json entry of the bundle */
    const struct airlock_sig_image *trust; /* what verification made of it (ref, digest, role) */
    char *repo;                  /* destination repository path */
    char *tag;                   /* destination tag, or NULL */
    char **manifests;            /* child-first: digests of manifests/indexes to PUT */
    char **mtypes;
    size_t n_manifests;
    int fresh; /* a blob of its repository was missing before this push: its manifests are PUT
                * without asking first whether they are there (a PUT is right either way) */
};

struct pblob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    char *repo;
    int pending; /* a .tar.zst's blob waiting for its turn in the stream */
    int absent;  /* not in its repository when this push began */
};

struct pusher {
    struct airlock_bundle *b;
    struct airlock_registry *r;
    const struct airlock_push_opts *po;
    const struct airlock_registry_opts *ro;
    char *host;
    struct pentry *pe;
    size_t n_pe;
    struct pblob *blobs;
    size_t n_blobs, cap_blobs;
    struct core_dmap seen; /* "repo digest" pairs already planned (key: digest hash of both) */
    struct core_dmap where; /* digest -> index+1 of a blob known to be in some repository */
    struct core_dmap missing; /* repositories a blob was missing from (key: digest of the name) */
    atomic_size_t next;
    size_t phase_end; /* workers take blobs up to here */
    int streamed;     /* a .tar.zst: no random access, uploads happen in push_streamed */
    pthread_mutex_t lock;
    struct airlock_error *first_err;
    atomic_int failed;
    atomic_uint_fast64_t uploaded, skipped, mounted, bytes;
    const struct airlock_sig_report *pre; /* what verification admitted, and its graph */
    char **api_repo; /* repositories asked whether they serve the referrers API */
    int *api_has;
    size_t n_api;
};

void airlock_push_result_free(struct airlock_push_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->refs[i]);
        free(r->digests[i]);
    }
    free(r->refs);
    free(r->digests);
    free(r->verified);
    free(r);
}

/* DEST "host[/prefix]": the host (the repositories come from dest_of) */
static int split_dest(struct pusher *p, const char *dest, struct airlock_error **err)
{
    const char *slash = strchr(dest, '/');
    p->host = slash ? strndup(dest, (size_t)(slash - dest)) : strdup(dest);
    if (!p->host || !*p->host)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "destination '%s': no registry host", dest);
    return 0;
}

/* Where an entry goes: the one mapping (airlock_ref_destination), --map SRC=DST, else
 * PREFIX/path. */
static int dest_of(struct pusher *p, struct pentry *pe, const char *dest,
                   struct airlock_error **err)
{
    struct airlock_ref d;
    if (!pe->trust->ref)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "bundle entry '%s' has no reference to push it under",
                                 pe->trust->digest);
    int rc = airlock_ref_destination(&d, pe->trust->ref, dest, p->po->map, p->po->n_map, err);
    if (rc) {
        airlock_error_wrap(err, "bundle entry '%s'", pe->trust->ref);
        return rc;
    }
    int lost = !(pe->repo = strdup(d.path)) || (d.tag && !(pe->tag = strdup(d.tag)));
    airlock_ref_release(&d);
    if (lost)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

static int add_blob(struct pusher *p, const char *repo, const char *digest, uint64_t size,
                    struct airlock_error **err)
{
    struct airlock_buf t = AIRLOCK_BUF_INIT(1u << 20);
    char key[AIRLOCK_DIGEST_SIZE];
    int rc = airlock_buf_printf(&t, "%s@%s", repo, digest);
    if (!rc)
        rc = airlock_sha256_digest(key, t.data, t.len, err);
    airlock_buf_release(&t);
    if (rc)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (core_dmap_get(&p->seen, key))
        return 0;
    if (core_dmap_put(&p->seen, key, 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (p->n_blobs == p->cap_blobs) {
        size_t cap = p->cap_blobs ? p->cap_blobs * 2 : 64;
        struct pblob *n = realloc(p->blobs, cap * sizeof(*n));
        if (!n)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        p->blobs = n;
        p->cap_blobs = cap;
    }
    struct pblob *b = &p->blobs[p->n_blobs++];
    memcpy(b->digest, digest, AIRLOCK_DIGEST_SIZE);
    b->size = size;
    b->pending = 0;
    b->repo = strdup(repo);
    return b->repo ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int add_manifest(struct pentry *pe, const char *digest, const char *mt)
{
    char **m = realloc(pe->manifests, (pe->n_manifests + 1) * sizeof(*m));
    char **t = m ? realloc(pe->mtypes, (pe->n_manifests + 1) * sizeof(*t)) : NULL;
    if (m)
        pe->manifests = m;
    if (!t)
        return -1;
    pe->mtypes = t;
    pe->manifests[pe->n_manifests] = strdup(digest);
    pe->mtypes[pe->n_manifests] = strdup(mt ? mt : AIRLOCK_MT_OCI_MANIFEST);
    pe->n_manifests++;
    return 0;
}

struct plan_walk {
    struct pusher *p;
    struct pentry *pe;
    const struct airlock_graph *g;
};

/* One manifest or index of an entry's plan (reached child-first): it goes up by digest, a
 * manifest's config and layers go up as blobs first. */
static int plan_node(void *ctx, size_t node, struct airlock_error **err)
{
    struct plan_walk *w = ctx;
    const struct airlock_graph_node *nd = airlock_graph_node(w->g, node);
    if (nd->kind == AIRLOCK_NODE_BAD || nd->kind == AIRLOCK_NODE_BLOB)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s", w->pe->trust->ref,
                                 nd->why ? nd->why : "a manifest cannot be read");
    for (size_t k = 0; nd->kind == AIRLOCK_NODE_MANIFEST && k < nd->n_kids; k++) {
        const struct airlock_graph_node *c = airlock_graph_node(w->g, nd->kids[k]);
        int rc = c->has_urls ? 0 : add_blob(w->p, w->pe->repo, c->digest, c->size, err);
        if (rc)
            return rc;
    }
    if (add_manifest(w->pe, nd->digest, nd->media_type))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* What an entry puts up, from what verification admitted: an image its whole graph (each
 * node once, children first), an attachment itself (a referrers index: its referrers too)
 * and never anything below its blobs. */
static int plan_entry(struct pusher *p, struct pentry *pe, const struct airlock_graph *g,
                      struct airlock_error **err)
{
    struct plan_walk w = {p, pe, g};
    const struct airlock_graph_node *nd = airlock_graph_node(g, pe->trust->node);
    if (pe->trust->role == AIRLOCK_ROLE_IMAGE || nd->kind != AIRLOCK_NODE_INDEX)
        return pe->trust->role == AIRLOCK_ROLE_IMAGE
                   ? airlock_graph_postorder((struct airlock_graph *)g, pe->trust->node,
                                             plan_node, &w, err)
                   : plan_node(&w, pe->trust->node, err);
    for (size_t k = 0; k < nd->n_kids; k++) { /* the referrers of a referrers index */
        int rc = plan_node(&w, nd->kids[k], err);
        if (rc)
            return rc;
    }
    return plan_node(&w, pe->trust->node, err);
}

static void progress(struct pusher *p, const char *what, const char *digest, uint64_t done,
                     uint64_t total)
{
    if (!p->ro->progress)
        return;
    struct airlock_progress ev = {what, digest, done, total};
    pthread_mutex_lock(&p->lock);
    p->ro->progress(p->ro->progress_ctx, &ev);
    pthread_mutex_unlock(&p->lock);
}

static void fail_with(struct pusher *p, struct airlock_error *e)
{
    if (!e)
        airlock_error_set(&e, AIRLOCK_EOS, "a blob transfer failed without saying why");
    pthread_mutex_lock(&p->lock);
    if (!p->first_err)
        p->first_err = e;
    else
        airlock_error_free(e);
    p->failed = 1;
    pthread_mutex_unlock(&p->lock);
}

/* A blob's bytes on their way up, telling the progress display how far the upload is: from
 * the bundle's blob reader (which can seek back for a retry), or from a .tar.zst stream
 * (which cannot). */
struct counting_reader {
    struct pusher *p;
    const struct pblob *b;
    struct airlock_blob_reader *rd; /* random access; NULL: the stream below */
    airlock_read_fn read;
    void *ctx;
    uint64_t pos, told;
    /* a stream keeps the chunk being sent (up to --chunk-size) so that a dropped or
     * re-authenticated request can send it again */
    char *keep;
    size_t keep_cap, keep_len;
    uint64_t keep_start; /* blob offset of keep[0] */
};

/* From the kept chunk; past its end, the next chunk is read from the stream first. */
static int stream_read(struct counting_reader *c, void *buf, size_t cap, size_t *got,
                       struct airlock_error **err)
{
    *got = 0;
    if (c->pos == c->keep_start + c->keep_len) { /* the next chunk */
        c->keep_start = c->pos;
        c->keep_len = 0;
        while (c->keep_len < c->keep_cap) {
            size_t n = 0;
            int rc = c->read(c->ctx, c->keep + c->keep_len, c->keep_cap - c->keep_len, &n, err);
            if (rc)
                return rc;
            if (!n)
                break;
            c->keep_len += n;
        }
    }
    size_t at = (size_t)(c->pos - c->keep_start), n = c->keep_len - at;
    if (n > cap)
        n = cap;
    memcpy(buf, c->keep + at, n);
    *got = n;
    return 0;
}

static int counting_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    struct counting_reader *c = ctx;
    int rc = c->rd ? airlock_blob_reader_read(c->rd, buf, cap, got, err)
                   : stream_read(c, buf, cap, got, err);
    c->pos += *got;
    if (!rc && c->pos - c->told >= (1u << 20) && c->pos < c->b->size) {
        c->told = c->pos;
        progress(c->p, "upload", c->b->digest, c->pos, c->b->size);
    }
    return rc;
}

static int counting_seek(void *ctx, uint64_t offset, struct airlock_error **err)
{
    struct counting_reader *c = ctx;
    if (!c->rd && (offset < c->keep_start || offset > c->keep_start + c->keep_len))
        return airlock_error_set(err, AIRLOCK_EOS,
                                 "blob '%s' of '%s': a .tar.zst is read once and this upload had "
                                 "to start over; push again (blobs already there are skipped)",
                                 c->b->digest, airlock_bundle_path(c->p->b));
    c->pos = c->told = offset;
    return c->rd ? airlock_blob_reader_seek(c->rd, offset, err) : 0;
}

/* A small blob into a repository that was already missing one is sent without asking first
 * whether it is there (a fresh repository, a push of many small images: the HEAD was one round
 * trip of three for nothing; if it was there after all, a few KiB went again). Bigger blobs,
 * and every blob of a repository that lacked none so far (a re-push), are asked about. */
#define SMALL_BLOB (64u << 10)

static int repo_key(const char *repo, char key[AIRLOCK_DIGEST_SIZE])
{
    return airlock_sha256_digest(key, repo, strlen(repo), NULL);
}

/* 1 if the blob needs no upload: already there, or mounted from another repository. */
static int blob_present(struct pusher *p, struct pblob *b, struct airlock_error **err)
{
    uint64_t have = 0;
    char key[AIRLOCK_DIGEST_SIZE];
    int keyed = !repo_key(b->repo, key), ask = 1, rc = 0;
    if (keyed && b->size <= SMALL_BLOB) {
        pthread_mutex_lock(&p->lock);
        ask = !core_dmap_get(&p->missing, key);
        pthread_mutex_unlock(&p->lock);
    }
    if (ask && (rc = airlock_registry_blob_exists(p->r, b->repo, b->digest, &have, err)) < 0)
        return rc;
    if (rc == 1) {
        p->skipped++;
        progress(p, "skip", b->digest, b->size, b->size);
        pthread_mutex_lock(&p->lock); /* there: other repositories can mount it from here */
        if (!core_dmap_get(&p->where, b->digest))
            core_dmap_put(&p->where, b->digest, (size_t)(b - p->blobs) + 1);
        pthread_mutex_unlock(&p->lock);
        return 1;
    }
    if (ask) {
        b->absent = 1;
        pthread_mutex_lock(&p->lock);
        if (keyed && !core_dmap_get(&p->missing, key) && core_dmap_put(&p->missing, key, 1) < 0)
            keyed = 0; /* no memory: the next ones ask */
        pthread_mutex_unlock(&p->lock);
    }
    const char *from = NULL;
    pthread_mutex_lock(&p->lock);
    size_t *w = core_dmap_get(&p->where, b->digest);
    if (w)
        from = p->blobs[*w - 1].repo;
    pthread_mutex_unlock(&p->lock);
    if (from && strcmp(from, b->repo)) {
        rc = registry_blob_mount(p->r, b->repo, b->digest, from, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            p->mounted++;
            progress(p, "mount", b->digest, b->size, b->size);
            return 1;
        }
    }
    return 0;
}

/* Uploads a blob from read (seek: to send it again after a failure). */
static int upload_from(struct pusher *p, struct pblob *b, airlock_read_fn read,
                       airlock_seek_fn seek, void *ctx, struct airlock_error **err)
{
    progress(p, "upload", b->digest, 0, b->size);
    int rc = registry_blob_upload(p->r, b->repo, b->digest, b->size, read, seek, ctx, err);
    if (rc)
        return rc;
    p->uploaded++;
    p->bytes += b->size;
    progress(p, "upload", b->digest, b->size, b->size);
    pthread_mutex_lock(&p->lock);
    core_dmap_put(&p->where, b->digest, (size_t)(b - p->blobs) + 1);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* One blob: already there, mountable from another repository, or uploaded from the bundle
 * (a .tar.zst is read in order: its uploads wait for push_streamed). */
static int push_blob(struct pusher *p, struct pblob *b, struct airlock_error **err)
{
    int rc = blob_present(p, b, err);
    if (rc)
        return rc < 0 ? rc : 0;
    if (p->streamed) {
        b->pending = 1;
        return 0;
    }
    struct counting_reader cr = {p, b, NULL, NULL, NULL, 0, 0, NULL, 0, 0, 0};
    if ((rc = airlock_bundle_blob_reader(&cr.rd, p->b, b->digest, err)))
        return rc;
    rc = upload_from(p, b, counting_read, counting_seek, &cr, err);
    airlock_blob_reader_free(cr.rd);
    return rc;
}

static void *worker(void *arg)
{
    struct pusher *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->phase_end || p->failed)
            break;
        struct airlock_error *e = NULL;
        if (push_blob(p, &p->blobs[i], &e))
            fail_with(p, e);
    }
    return NULL;
}

/* ---- a .tar.zst: one pass in order, each missing blob uploaded as it is decompressed ---- */

static struct pblob *pending_of(struct pusher *p, const char *digest)
{
    for (size_t i = 0; i < p->n_blobs; i++)
        if (p->blobs[i].pending && !strcmp(p->blobs[i].digest, digest))
            return &p->blobs[i];
    return NULL;
}

static int stream_want(void *ctx, const char *digest, uint64_t size)
{
    (void)size;
    return pending_of(ctx, digest) != NULL;
}

static int stream_take(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                       void *read_ctx, struct airlock_error **err)
{
    (void)size;
    struct pusher *p = ctx;
    struct pblob *b = pending_of(p, digest);
    if (!b)
        return 0;
    struct counting_reader s = {p, b, NULL, read, read_ctx, 0, 0, NULL, 0, 0, 0};
    uint64_t chunk = p->ro && p->ro->chunk_size ? p->ro->chunk_size : 32ull << 20;
    s.keep_cap = (size_t)(b->size < chunk ? b->size : chunk);
    if (s.keep_cap && !(s.keep = malloc(s.keep_cap)))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = upload_from(p, b, counting_read, counting_seek, &s, err);
    free(s.keep);
    if (!rc)
        b->pending = 0;
    /* the same blob for other repositories: mounted from the one just filled */
    for (size_t i = 0; !rc && i < p->n_blobs; i++) {
        struct pblob *o = &p->blobs[i];
        if (o->pending != 1 || strcmp(o->digest, digest))
            continue;
        o->pending = 0;
        int there = blob_present(p, o, err);
        if (there < 0)
            rc = there;
        else if (!there)
            o->pending = 2; /* not mountable: another pass uploads it */
    }
    return rc;
}

static int push_streamed(struct pusher *p, struct airlock_error **err)
{
    int rc = 0;
    for (int pass = 0; !rc; pass++) {
        int left = 0;
        for (size_t i = 0; i < p->n_blobs; i++)
            if (p->blobs[i].pending) {
                p->blobs[i].pending = 1;
                left = 1;
            }
        if (!left)
            break;
        if (pass > 8)
            return airlock_error_set(err, AIRLOCK_EOS, "'%s': blobs still missing after %d passes",
                                     airlock_bundle_path(p->b), pass);
        rc = airlock_bundle_blob_stream(p->b, stream_want, stream_take, p, err);
        for (size_t i = 0; !rc && i < p->n_blobs; i++)
            if (p->blobs[i].pending == 1)
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is missing",
                                       airlock_bundle_path(p->b), p->blobs[i].digest);
    }
    return rc;
}

static void merge_backoff(int attempt);
static int already_there(struct pusher *p, const char *repo, const char *ref, const char *digest);

/* A manifest by digest. Two pushes of one image at once PUT the same manifest together, and
 * Distribution's storage may then refuse one (DIGEST_INVALID: the other writer's copy of the
 * same bytes was being written): a PUT that failed while the registry holds exactly that
 * manifest has done its job; otherwise it is tried again, a few times. */
static int put_by_digest(struct pusher *p, const char *repo, const char *digest, const char *mt,
                         const void *data, size_t len, int fresh, struct airlock_error **err)
{
    struct airlock_error *e = NULL;
    if (!fresh && already_there(p, repo, digest, digest))
        return 0;
    int rc = airlock_registry_manifest_put(p->r, repo, digest, mt, data, len, &e);
    for (int again = 1; rc && rc != AIRLOCK_EUSAGE && rc != AIRLOCK_EAUTH && again <= 3; again++) {
        struct airlock_buf m = AIRLOCK_BUF_INIT(0);
        char *got_mt = NULL, got[AIRLOCK_DIGEST_SIZE] = "";
        merge_backoff(again);
        if (!airlock_registry_manifest_get(p->r, repo, digest, &m, &got_mt, got, NULL) &&
            !strcmp(got, digest))
            rc = 0;
        airlock_buf_release(&m);
        free(got_mt);
        if (rc) {
            airlock_error_free(e);
            e = NULL;
            rc = airlock_registry_manifest_put(p->r, repo, digest, mt, data, len, &e);
        }
    }
    if (rc && err && !*err)
        *err = steal_pointer(&e);
    airlock_error_free(e);
    return rc;
}

static int push_manifests(struct pusher *p, struct pentry *pe, int with_tag,
                          struct airlock_error **err)
{
    int rc = 0;
    for (size_t i = 0; i < pe->n_manifests && !rc; i++) {
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        if ((rc = airlock_bundle_blob_read(p->b, pe->manifests[i], AIRLOCK_MAX_MANIFEST, &raw, err)))
            break;
        int last = i + 1 == pe->n_manifests;
        /* by digest first; the tag only once everything below it is there */
        rc = put_by_digest(p, pe->repo, pe->manifests[i], pe->mtypes[i], raw.data, raw.len,
                           pe->fresh, err);
        if (!rc && last && pe->tag && with_tag &&
            (pe->fresh || !already_there(p, pe->repo, pe->tag, pe->manifests[i])))
            rc = airlock_registry_manifest_put(p->r, pe->repo, pe->tag, pe->mtypes[i], raw.data,
                                               raw.len, err);
        progress(p, "manifest", pe->manifests[i], 1, 1);
        airlock_buf_release(&raw);
    }
    return rc;
}

static int same_layer(const struct airlock_descriptor *a, const struct airlock_descriptor *b)
{
    const char *sa = airlock_annotation_get(a->annotations, a->n_annotations, AIRLOCK_ANN_SIGNATURE);
    const char *sb = airlock_annotation_get(b->annotations, b->n_annotations, AIRLOCK_ANN_SIGNATURE);
    return !strcmp(a->digest, b->digest) && (sa == sb || (sa && sb && !strcmp(sa, sb)));
}

/* What the registry holds at a .sig tag is merged with ours only when it is a signature
 * manifest itself (an OCI manifest, or the Docker v2 one cosign writes with
 * COSIGN_DOCKER_MEDIA_TYPES=1, of simple-signing layers that carry signatures; its layers are
 * kept byte for byte in the OCI manifest we write): anything else there is not ours to
 * republish, and is left alone. */
static int registry_sig_ok(const struct airlock_oci *m, enum airlock_role role)
{
    int att = role == AIRLOCK_ROLE_ATTESTATION;
    if (m->kind != AIRLOCK_OCI_MANIFEST ||
        (m->media_type && strcmp(m->media_type, AIRLOCK_MT_OCI_MANIFEST) &&
         strcmp(m->media_type, AIRLOCK_MT_DOCKER_MANIFEST)))
        return 0;
    for (size_t i = 0; i < m->n_layers; i++)
        if (!m->layers[i].media_type ||
            strcmp(m->layers[i].media_type,
                   att ? "application/vnd.dsse.envelope.v1+json" : AIRLOCK_MT_SIMPLESIGNING) ||
            (!att && !airlock_annotation_get(m->layers[i].annotations,
                                             m->layers[i].n_annotations, AIRLOCK_ANN_SIGNATURE)))
            return 0;
    return 1;
}

static int put_small_blob(struct pusher *p, const char *repo, const char *data, size_t len,
                          struct airlock_error **err)
{
    char d[AIRLOCK_DIGEST_SIZE];
    int rc = airlock_sha256_digest(d, data, len, err);
    if (rc)
        return rc;
    rc = airlock_registry_blob_exists(p->r, repo, d, NULL, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    struct airlock_mem_reader m = {data, len, 0};
    return registry_blob_upload(p->r, repo, d, len, airlock_mem_read, airlock_mem_seek, &m, err);
}

/* Another push may replace the tag between our GET and our PUT: after a PUT the tag is read
 * again and merged again until it holds everything of ours, this many times at most. */
#define MERGE_TRIES 8

/* Before reading a tag back: the first read-back after our own PUT waits only a moment
 * (5-25 ms: a concurrent writer's PUT in flight lands first); after a conflict the wait grows
 * and is spread, so two writers stop colliding. The check in the registry at the end merges
 * again if ours are gone after all. */
static void merge_backoff(int attempt)
{
    long ms = attempt <= 1 ? 5 + rand() % 20 : 20 + (rand() % 80) * attempt;
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether tag still holds what we merged from (seen: its digest, "" when it was not there)
 * right before our PUT: 0 yes, 1 it moved (another writer landed since our GET: merge again
 * instead of replacing theirs), also when the registry does not say. Distribution has no
 * conditional PUT, so this narrows the window between our GET and our PUT to this one round
 * trip; it cannot close it. */
static int tag_moved(struct pusher *p, const char *repo, const char *tag, const char *seen)
{
    char got[AIRLOCK_DIGEST_SIZE] = "";
    int rc = registry_manifest_head(p->r, repo, tag, "pull,push", got, NULL);
    if (rc == 0)
        return *seen != '\0';
    if (rc != 1)
        return 1;
    if (!*got) { /* no Docker-Content-Digest on HEAD: the digest of what a GET serves */
        struct airlock_buf m = AIRLOCK_BUF_INIT(0);
        char *mt = NULL;
        if (airlock_registry_manifest_get(p->r, repo, tag, &m, &mt, got, NULL))
            *got = '\0';
        airlock_buf_release(&m);
        free(mt);
    }
    return !*got || strcmp(got, seen) != 0;
}

/* A PUT of a merged tag that failed for a reason other than the caller's (credentials, scope):
 * with concurrent writers Distribution may refuse one of two PUTs at once (DIGEST_INVALID, a
 * 5xx): the merge goes round again, reading what is there now; the error is kept for when the
 * tries run out. */
static int merge_put_failed(int rc, struct airlock_error **err, struct airlock_error **last)
{
    if (!rc || rc == AIRLOCK_EUSAGE || rc == AIRLOCK_EAUTH)
        return 0;
    airlock_error_free(*last);
    *last = err ? steal_pointer(err) : NULL;
    return 1;
}

/* Signatures (.sig) and attestations (.att, the same manifest shape with DSSE layers): merged
 * with those already at the tag, never dropping theirs, and read back until every one of ours
 * is there. */
static int push_signature(struct pusher *p, struct pentry *pe, struct airlock_error **err)
{
    struct airlock_buf ours = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *mo = NULL;
    struct airlock_error *last = NULL; /* of a PUT that lost to another writer */
    int rc = airlock_bundle_blob_read(p->b, pe->trust->digest, AIRLOCK_MAX_MANIFEST, &ours, err);
    if (!rc)
        rc = airlock_oci_parse(&mo, ours.data, ours.len, pe->trust->ref, err);
    for (int attempt = 0; !rc; attempt++) {
        struct airlock_buf theirs = AIRLOCK_BUF_INIT(0);
        struct airlock_oci *mt = NULL;
        struct airlock_descriptor *layers = NULL;
        char *man = NULL, *cfg = NULL, *mtype = NULL, dg[AIRLOCK_DIGEST_SIZE];
        size_t ml = 0, cl = 0, n = 0, added = 0;
        if (attempt == MERGE_TRIES) {
            rc = airlock_error_set(err, AIRLOCK_EOS,
                                   "'%s/%s:%s': the signatures there kept being replaced by "
                                   "another writer (%d tries); ours are not all there%s%s",
                                   p->host, pe->repo, pe->tag, MERGE_TRIES,
                                   last ? "; last: " : "", last ? last->msg : "");
            break;
        }
        if (attempt) /* read back what we PUT, once other writers had a moment to land */
            merge_backoff(attempt);
        rc = airlock_registry_manifest_get(p->r, pe->repo, pe->tag, &theirs, &mtype, dg, err);
        if (rc == AIRLOCK_ENOTFOUND) { /* nothing there yet: ours as it is, then read back */
            airlock_error_free(err ? *err : NULL);
            if (err)
                *err = NULL;
            /* right after the GET (nothing in between to widen the window); the PUT by tag
             * stores it by digest too */
            rc = airlock_registry_manifest_put(p->r, pe->repo, pe->tag,
                                               pe->mtypes[pe->n_manifests - 1], ours.data,
                                               ours.len, err);
            if (merge_put_failed(rc, err, &last))
                rc = 0;
            progress(p, "manifest", pe->tag, 1, 1);
            goto next;
        }
        if (rc || (rc = airlock_oci_parse(&mt, theirs.data, theirs.len, "registry signature", err)))
            goto next;
        if (!registry_sig_ok(mt, pe->trust->role)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s/%s:%s' holds something other than a cosign %s "
                                   "manifest; it is left as it is and ours are not pushed",
                                   p->host, pe->repo, pe->tag,
                                   pe->trust->role == AIRLOCK_ROLE_ATTESTATION ? "attestation"
                                                                               : "signature");
            goto next;
        }
        layers = calloc(mt->n_layers + mo->n_layers + 1, sizeof(*layers));
        if (!layers) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto next;
        }
        for (size_t i = 0; i < mt->n_layers; i++)
            layers[n++] = mt->layers[i]; /* shallow copies: mt owns them */
        for (size_t i = 0; i < mo->n_layers; i++) {
            int dup = 0;
            for (size_t k = 0; k < mt->n_layers && !dup; k++)
                dup = same_layer(&mo->layers[i], &mt->layers[k]);
            if (!dup) {
                layers[n++] = mo->layers[i];
                added++;
            }
        }
        if (!added) { /* every signature of ours is there */
            free(layers);
            airlock_oci_free(mt);
            airlock_buf_release(&theirs);
            free(mtype);
            break;
        }
        if (!(rc = airlock_sig_manifest_build(&man, &ml, &cfg, &cl, layers, n, err)) &&
            !(rc = put_small_blob(p, pe->repo, cfg, cl, err)) &&
            !tag_moved(p, pe->repo, pe->tag, dg)) /* else: merge again with what landed */
            rc = airlock_registry_manifest_put(p->r, pe->repo, pe->tag, AIRLOCK_MT_OCI_MANIFEST,
                                               man, ml, err);
        if (merge_put_failed(rc, err, &last))
            rc = 0;
        progress(p, "manifest", pe->tag, 1, 1);
    next:
        free(layers);
        airlock_oci_free(mt);
        airlock_buf_release(&theirs);
        free(man);
        free(cfg);
        free(mtype);
    }
    airlock_error_free(last);
    airlock_oci_free(mo);
    airlock_buf_release(&ours);
    return rc;
}

cJSON *transfer_referrer_descriptor(const char *raw, size_t len, const char *digest,
                                    const char *mt)
{
    cJSON *m = core_json_parse(raw, len, NULL), *d = cJSON_CreateObject(), *ann = NULL;
    const cJSON *it = NULL;
    int ok = cJSON_IsObject(m) && d;
    const char *own = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "mediaType"));
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "artifactType"));
    if (!at) /* distribution-spec 1.1: else the config's media type */
        at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "config"), "mediaType"));
    if (!own)
        own = mt ? mt : AIRLOCK_MT_OCI_MANIFEST;
    ok = ok && cJSON_AddStringToObject(d, "mediaType", own) &&
         cJSON_AddStringToObject(d, "digest", digest) &&
         cJSON_AddNumberToObject(d, "size", (double)len) &&
         (!at || cJSON_AddStringToObject(d, "artifactType", at));
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "annotations"))
    {
        if (!ok || !cJSON_IsString(it) || !it->string)
            continue;
        if (!ann && !(ann = cJSON_AddObjectToObject(d, "annotations")))
            ok = 0;
        else
            ok = cJSON_AddStringToObject(ann, it->string, it->valuestring) != NULL;
    }
    cJSON_Delete(m);
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

/* Whether repo serves the OCI 1.1 referrers API, asked once per repository (a registry may
 * route repositories to different backends, and a front may serve it for some only) with the
 * subject that is about to get referrers: 1 yes, 0 no (the fallback tag), or an error. */
static int referrers_api_keep(struct pusher *p, const char *repo, int has);
static int referrers_api(struct pusher *p, const char *repo, const char *subject,
                         struct airlock_error **err)
{
    pthread_mutex_lock(&p->lock); /* the phases run in parallel */
    for (size_t i = 0; i < p->n_api; i++)
        if (!strcmp(p->api_repo[i], repo)) {
            int has = p->api_has[i];
            pthread_mutex_unlock(&p->lock);
            return has;
        }
    pthread_mutex_unlock(&p->lock);
    struct airlock_buf idx = AIRLOCK_BUF_INIT(0);
    int rc = registry_referrers_get(p->r, repo, subject, &idx, err);
    airlock_buf_release(&idx);
    if (rc && rc != AIRLOCK_ENOTFOUND)
        return rc;
    pthread_mutex_lock(&p->lock);
    int ok = referrers_api_keep(p, repo, rc == 0);
    pthread_mutex_unlock(&p->lock);
    if (ok < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return rc == 0;
}

/* Keeps what repo answered (under p->lock); -1: no memory. */
static int referrers_api_keep(struct pusher *p, const char *repo, int has)
{
    char **nr = realloc(p->api_repo, (p->n_api + 1) * sizeof(*nr));
    if (nr)
        p->api_repo = nr;
    int *nh = nr ? realloc(p->api_has, (p->n_api + 1) * sizeof(*nh)) : NULL;
    if (nh)
        p->api_has = nh;
    if (!nh || !(p->api_repo[p->n_api] = strdup(repo)))
        return -1;
    p->api_has[p->n_api++] = has;
    return 0;
}

/* With the referrers API: each referrer the registry did not confirm with OCI-Subject is
 * looked for in the API's answer, read again (bounded) until every one is listed. */
static int referrers_listed(struct pusher *p, const char *repo, const char *subject,
                            const cJSON *ours, const int *indexed, struct airlock_error **err)
{
    const char *missing = NULL;
    for (int attempt = 0; attempt < MERGE_TRIES; attempt++) {
        struct airlock_buf idx = AIRLOCK_BUF_INIT(0);
        cJSON *j = NULL;
        const cJSON *d = NULL;
        size_t i = 0;
        missing = NULL;
        if (attempt)
            merge_backoff(attempt);
        int rc = registry_referrers_get(p->r, repo, subject, &idx, err);
        if (rc && rc != AIRLOCK_ENOTFOUND)
            return rc;
        j = rc ? NULL : core_json_parse(idx.data, idx.len, NULL);
        cJSON_ArrayForEach(d, ours)
        {
            const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "digest"));
            const cJSON *t = NULL;
            int have = indexed[i++];
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(j, "manifests"))
            {
                const char *got =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "digest"));
                have |= want && got && !strcmp(want, got);
            }
            if (!have && !missing)
                missing = want;
        }
        cJSON_Delete(j);
        airlock_buf_release(&idx);
        if (!missing)
            return 0;
    }
    return airlock_error_set(err, AIRLOCK_EOS,
                             "'%s/%s@%s': the registry serves the referrers API but does not list "
                             "the referrer '%s' pushed for it (%d reads)",
                             p->host, repo, subject, missing ? missing : "?", MERGE_TRIES);
}

/* The referrers of one subject (a referrers index of the bundle: its referrers; a lone
 * referrer: itself), each PUT by digest. Where the repository serves the referrers API that is
 * all, once the registry has indexed them (OCI-Subject, or listed by the API); elsewhere they
 * are merged into the fallback tag sha256-<hex> (an index of their descriptors, each with
 * artifactType and the manifest's annotations): every entry of theirs kept, ours added by
 * digest, read back until ours are all there. */
static int push_referrers(struct pusher *p, struct pentry *pe, struct airlock_error **err)
{
    const struct airlock_graph_node *nd = airlock_graph_node(p->pre->graph, pe->trust->node);
    size_t n_ref = nd->kind == AIRLOCK_NODE_INDEX ? pe->n_manifests - 1 : pe->n_manifests;
    const char *subject = pe->trust->subject;
    char tag[100];
    snprintf(tag, sizeof(tag), "sha256-%s", airlock_digest_hex(subject));
    int api = referrers_api(p, pe->repo, subject, err), rc = api < 0 ? api : 0;
    int *indexed = calloc(n_ref + 1, sizeof(*indexed));
    struct airlock_error *last = NULL; /* of a PUT that lost to another writer */
    cJSON *ours = cJSON_CreateArray();
    if (!rc && (!indexed || !ours))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < n_ref && !rc; i++) {
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        struct airlock_error *e = NULL;
        cJSON *d = NULL;
        if ((rc = airlock_bundle_blob_read(p->b, pe->manifests[i], AIRLOCK_MAX_MANIFEST, &raw,
                                           err)))
            break;
        if (api && !registry_referrer_put(p->r, pe->repo, pe->manifests[i], pe->mtypes[i],
                                          raw.data, raw.len, subject, &indexed[i], &e))
            rc = 0;
        else /* without the API, or a PUT to try again (concurrent writers) */
            rc = put_by_digest(p, pe->repo, pe->manifests[i], pe->mtypes[i], raw.data, raw.len,
                               pe->fresh, err);
        airlock_error_free(e);
        progress(p, "manifest", pe->manifests[i], 1, 1);
        if (!rc && (!(d = transfer_referrer_descriptor(raw.data, raw.len, pe->manifests[i],
                                                       pe->mtypes[i])) ||
                    !cJSON_AddItemToArray(ours, d))) {
            cJSON_Delete(d);
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': referrer '%s' is unreadable",
                                   pe->trust->ref, pe->manifests[i]);
        }
        airlock_buf_release(&raw);
    }
    if (!rc && api)
        rc = referrers_listed(p, pe->repo, subject, ours, indexed, err);
    for (int attempt = 0; !rc && !api; attempt++) {
        struct airlock_buf theirs = AIRLOCK_BUF_INIT(0);
        struct airlock_oci *mt = NULL;
        cJSON *jt = NULL, *tm = NULL;
        const cJSON *d = NULL;
        char *mtype = NULL, *merged = NULL, dg[AIRLOCK_DIGEST_SIZE] = "";
        size_t added = 0;
        if (attempt == MERGE_TRIES) {
            rc = airlock_error_set(err, AIRLOCK_EOS,
                                   "'%s/%s:%s': the referrers index there kept being replaced by "
                                   "another writer (%d tries); ours are not all there%s%s",
                                   p->host, pe->repo, tag, MERGE_TRIES,
                                   last ? "; last: " : "", last ? last->msg : "");
            break;
        }
        if (attempt)
            merge_backoff(attempt);
        rc = airlock_registry_manifest_get(p->r, pe->repo, tag, &theirs, &mtype, dg, err);
        if (rc == AIRLOCK_ENOTFOUND) { /* nothing there yet: an index of ours, then read back */
            airlock_error_free(err ? *err : NULL);
            if (err)
                *err = NULL;
            rc = 0;
            *dg = '\0';
            if (!(jt = cJSON_CreateObject()) ||
                !cJSON_AddNumberToObject(jt, "schemaVersion", 2) ||
                !cJSON_AddStringToObject(jt, "mediaType", AIRLOCK_MT_OCI_INDEX) ||
                !(tm = cJSON_AddArrayToObject(jt, "manifests")))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        } else if (rc)
            goto next;
        else if (airlock_oci_parse(&mt, theirs.data, theirs.len, "registry referrers", NULL) ||
                 mt->kind != AIRLOCK_OCI_INDEX ||
                 !(jt = core_json_parse(theirs.data, theirs.len, NULL)) ||
                 !cJSON_IsArray(tm = cJSON_GetObjectItemCaseSensitive(jt, "manifests"))) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s/%s:%s' holds something other than a referrers index; "
                                   "it is left as it is",
                                   p->host, pe->repo, tag);
            goto next;
        }
        cJSON_ArrayForEach(d, ours)
        {
            const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "digest"));
            int have = 0;
            for (size_t k = 0; want && mt && k < mt->n_layers && !have; k++)
                have = !strcmp(mt->layers[k].digest, want);
            if (!rc && !have) {
                cJSON *copy = cJSON_Duplicate(d, 1);
                if (!copy || !cJSON_AddItemToArray(tm, copy)) {
                    cJSON_Delete(copy);
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                    goto next;
                }
                added++;
            }
        }
        if (rc || !added) /* every referrer of ours is there */
            goto next;
        if (!(merged = cJSON_PrintUnformatted(jt)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else { /* right after the GET: nothing in between to widen the window */
            rc = airlock_registry_manifest_put(p->r, pe->repo, tag,
                                               mt && mt->media_type ? mt->media_type
                                                                    : AIRLOCK_MT_OCI_INDEX,
                                               merged, strlen(merged), err);
        }
        if (merge_put_failed(rc, err, &last))
            rc = 0;
        progress(p, "manifest", tag, 1, 1);
    next:
        free(merged);
        cJSON_Delete(jt);
        airlock_oci_free(mt);
        airlock_buf_release(&theirs);
        free(mtype);
        if (!rc && !added)
            break;
    }
    airlock_error_free(last);
    cJSON_Delete(ours);
    free(indexed);
    return rc;
}

/* ---- verification in the registry --------------------------------------------------------- */

struct reg_read {
    struct airlock_registry *r;
    const char *repo;
};

static int reg_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                    struct airlock_error **err)
{
    struct reg_read *rr = ctx;
    return airlock_registry_blob_get(rr->r, rr->repo, digest, max, out, err);
}

#define MAX_REFERRERS_CHECKED 256

/* The image's referrers as cosign 3 finds them: the referrers API when the registry serves it
 * (200 with an OCI index type), else the sha256-<hex> fallback tag; each sigstore bundle
 * referrer is read back (manifest and bundle, capped) and checked into im. */
static int verify_referrers_there(struct airlock_registry *r, const char *repo,
                                  const char *digest, const struct airlock_sig_check_opts *so,
                                  struct airlock_sig_image *im, struct airlock_error **err)
{
    struct airlock_buf idx = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *ix = NULL;
    struct reg_read rr = {r, repo};
    char d[AIRLOCK_DIGEST_SIZE], tag[100], what[200];
    char *mt = NULL;
    snprintf(tag, sizeof(tag), "sha256-%s", airlock_digest_hex(digest));
    int rc = registry_referrers_get(r, repo, digest, &idx, err);
    if (rc == AIRLOCK_ENOTFOUND) {
        snprintf(what, sizeof(what), "'%s/%s:%s'", r->host, repo, tag);
        rc = airlock_registry_manifest_get(r, repo, tag, &idx, &mt, d, err);
    } else
        snprintf(what, sizeof(what), "'%s/v2/%s/referrers/%s'", r->host, repo, digest);
    free(mt);
    if (rc == AIRLOCK_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    /* a tag that holds something else (GitLab answers it with the subject) lists nothing */
    if (airlock_oci_parse(&ix, idx.data, idx.len, what, NULL) || ix->kind != AIRLOCK_OCI_INDEX)
        goto out;
    for (size_t i = 0, n = 0; i < ix->n_layers; i++) {
        const struct airlock_descriptor *e = &ix->layers[i];
        if (e->artifact_type && strncmp(e->artifact_type, AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX,
                                        strlen(AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX)))
            continue; /* an SBOM, an attestation of another kind: not a signature */
        if (++n > MAX_REFERRERS_CHECKED) {
            airlock_sig_image_fail(im, "%s: more than %d bundle referrers, the rest not checked",
                                   what, MAX_REFERRERS_CHECKED);
            break;
        }
        struct airlock_buf m = AIRLOCK_BUF_INIT(0);
        struct airlock_error *le = NULL;
        char *rmt = NULL;
        if (airlock_registry_manifest_get(r, repo, e->digest, &m, &rmt, d, &le)) {
            airlock_sig_image_fail(im, "referrer '%s' listed by %s: %s", e->digest, what,
                                   le ? le->msg : "not in the registry");
            im->has_signatures |= e->artifact_type != NULL; /* a bundle by its type */
        } else {
            airlock_sig_check_referrer(im, m.data, m.len, e->digest, reg_read, &rr, so);
            if (so->n_attestations || so->list_attestations) /* verify-attestation's */
                airlock_att_check_referrer(im, m.data, m.len, e->digest, reg_read, &rr, so);
        }
        free(rmt);
        airlock_error_free(le);
        airlock_buf_release(&m);
    }
out:
    airlock_oci_free(ix);
    airlock_buf_release(&idx);
    return 0;
}

/* Fetches repo@digest and its .sig tag back and checks them as cosign verify --key does. */
static int verify_there(struct airlock_registry *r, const char *repo, const char *digest,
                        const struct airlock_sig_check_opts *so, struct airlock_sig_image *im,
                        struct airlock_error **err)
{
    struct airlock_buf m = AIRLOCK_BUF_INIT(0);
    char d[AIRLOCK_DIGEST_SIZE], tag[100];
    char *mt = NULL;
    memcpy(im->digest, digest, AIRLOCK_DIGEST_SIZE);
    int rc = airlock_registry_manifest_get(r, repo, digest, &m, &mt, d, err);
    if (rc == AIRLOCK_ENOTFOUND)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s@%s' is not in the registry",
                               r->host, repo, digest);
    airlock_buf_release(&m);
    free(mt);
    mt = NULL;
    if (rc || !so || !so->key)
        return rc;
    snprintf(tag, sizeof(tag), "sha256-%s.sig", airlock_digest_hex(digest));
    rc = airlock_registry_manifest_get(r, repo, tag, &m, &mt, d, err);
    free(mt);
    mt = NULL; /* a get that finds nothing leaves it as it was */
    struct reg_read rr = {r, repo};
    if (!rc)
        airlock_sig_check_manifest(im, m.data, m.len, tag, reg_read, &rr, so);
    airlock_buf_release(&m);
    if (rc && rc != AIRLOCK_ENOTFOUND)
        return rc;
    if (so->n_attestations || so->list_attestations) { /* the legacy .att (cosign 1, 2) */
        snprintf(tag, sizeof(tag), "sha256-%s.att", airlock_digest_hex(digest));
        rc = airlock_registry_manifest_get(r, repo, tag, &m, &mt, d, err);
        free(mt);
        mt = NULL;
        if (!rc)
            airlock_att_check_manifest(im, m.data, m.len, d, reg_read, &rr, so);
        airlock_buf_release(&m);
        if (rc && rc != AIRLOCK_ENOTFOUND)
            return rc;
    }
    /* cosign 3 (and for airlock, both: either is accepted by the consumer) */
    rc = verify_referrers_there(r, repo, digest, so, im, err);
    im->ok = im->n_sigs > 0;
    if (im->ok && so->n_attestations && !airlock_att_judge(im, so))
        im->ok = 0; /* signed there, but a required attestation is not */
    return rc;
}

int airlock_registry_verify(struct airlock_sig_report **out, const char *ref,
                            const struct airlock_registry_opts *ro,
                            const struct airlock_sig_check_opts *so, struct airlock_error **err)
{
    struct airlock_ref pr;
    int rc = airlock_ref_parse(&pr, ref, err);
    if (rc)
        return rc;
    struct airlock_registry *r = NULL;
    struct airlock_sig_report *rep = calloc(1, sizeof(*rep));
    struct airlock_buf m = AIRLOCK_BUF_INIT(0);
    char d[AIRLOCK_DIGEST_SIZE];
    char *mt = NULL;
    if (!rep || !(rep->images = calloc(1, sizeof(*rep->images)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = airlock_registry_new(&r, pr.domain, ro, err)))
        goto out;
    rc = airlock_registry_manifest_get(r, pr.path, pr.digest ? pr.digest : pr.tag, &m, &mt, d, err);
    if (rc == AIRLOCK_ENOTFOUND)
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND, "'%s' is not in the registry", ref);
    if (rc)
        goto out;
    rep->n_images = 1;
    rep->images[0].ref = strdup(ref);
    rc = verify_there(r, pr.path, d, so, &rep->images[0], err);
    if (!rc && !rep->images[0].ok && !rep->images[0].n_failures)
        airlock_sig_image_fail(&rep->images[0], "no signatures found at %s:sha256-%s.sig",
                               pr.path, airlock_digest_hex(d));
    rep->ok = rep->images[0].ok;
out:
    airlock_buf_release(&m);
    free(mt);
    airlock_registry_free(r);
    airlock_ref_release(&pr);
    if (rc) {
        airlock_sig_report_free(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

/* The formats of verified signatures in im (1: a .sig layer, 2: a bundle referrer), those of
 * the bundle's that push carries (listed) when offline */
static int sig_formats(const struct airlock_sig_image *im, int offline)
{
    int f = 0;
    for (size_t k = 0; k < im->n_sigs; k++) {
        const char *fmt = im->sigs[k].format;
        if (!fmt || (offline && im->sigs[k].unlisted))
            continue;
        f |= !strcmp(fmt, AIRLOCK_SIG_FORMAT_SIMPLESIGNING) ? 1
             : !strcmp(fmt, AIRLOCK_SIG_FORMAT_BUNDLE)      ? 2
                                                            : 0;
    }
    return f;
}

/* ---- the manifest-put and verify-there phases, in parallel across images ------------------ */
/* A re-push of many small images where everything is there already is bound by round trips
 * (a sync job does it all the time): the manifests of different images, their attachments,
 * the read-back verification and the final tags are independent of each other, so each of
 * these phases runs over a bounded pool of workers across the entries (twice --parallel,
 * at most 64), and a manifest or tag the registry already holds as ours is compared by HEAD
 * and not PUT again. Order between the phases is kept: images' manifests, then attachments,
 * then verification, then the images' tags. */

typedef int (*pool_fn)(struct pusher *p, size_t i, void *ctx, struct airlock_error **err);

struct pool_call {
    struct pusher *p;
    pool_fn fn;
    void *ctx;
};

static int pool_call(void *ctx, size_t i, struct airlock_error **err)
{
    struct pool_call *c = ctx;
    return c->fn(c->p, i, c->ctx, err);
}

/* fn(p, i, ctx) for every i < n over the pool; the first error (by index) is returned. */
static int pool_run(struct pusher *p, size_t n, pool_fn fn, void *ctx, struct airlock_error **err)
{
    struct pool_call c = {p, fn, ctx};
    return transfer_pool_run(n, transfer_pool_threads(p->ro), pool_call, &c, err);
}

/* 1 when repo already holds ref as the manifest digest (by digest: it is there; a tag: it
 * points there), 0 otherwise, also when the registry does not say (then it is PUT) */
static int already_there(struct pusher *p, const char *repo, const char *ref, const char *digest)
{
    char got[AIRLOCK_DIGEST_SIZE];
    int rc = registry_manifest_head(p->r, repo, ref, "pull,push", got, NULL);
    if (rc != 1)
        return 0;
    if (!strncmp(ref, "sha256:", 7))
        return !*got || !strcmp(got, digest);
    return !strcmp(got, digest);
}

struct phase_ctx {
    size_t *at; /* the entries this phase works on: indexes into p->pe */
    struct airlock_sig_image *ims; /* verify: per entry of at */
    int *checks;
};

static int phase_image_manifests(struct pusher *p, size_t i, void *ctx, struct airlock_error **err)
{
    struct phase_ctx *c = ctx;
    return push_manifests(p, &p->pe[c->at[i]], 0, err);
}

static int phase_attachment(struct pusher *p, size_t i, void *ctx, struct airlock_error **err)
{
    struct phase_ctx *c = ctx;
    struct pentry *pe = &p->pe[c->at[i]];
    if (pe->trust->role == AIRLOCK_ROLE_SIGNATURE ||
        pe->trust->role == AIRLOCK_ROLE_ATTESTATION) /* merged: theirs are kept */
        return push_signature(p, pe, err);
    if (pe->trust->role == AIRLOCK_ROLE_REFERRERS)
        return push_referrers(p, pe, err);
    return push_manifests(p, pe, 1, err); /* .sbom under its tag */
}

static int phase_verify(struct pusher *p, size_t i, void *ctx, struct airlock_error **err)
{
    struct phase_ctx *c = ctx;
    struct pentry *pe = &p->pe[c->at[i]];
    const struct airlock_push_opts *po = p->po;
    int check = po->key && !pe->trust->unsigned_allowed;
    struct airlock_sig_check_opts there = {check ? po->key : NULL, po->identity,
                                           po->annotations, po->n_annotations, 0,
                                           NULL, NULL, 0, po->attestations,
                                           po->n_attestations, 0, 0};
    c->checks[i] = check;
    return verify_there(p->r, pe->repo, pe->trust->digest, &there, &c->ims[i], err);
}

static int phase_tag(struct pusher *p, size_t i, void *ctx, struct airlock_error **err)
{
    struct phase_ctx *c = ctx;
    struct pentry *pe = &p->pe[c->at[i]];
    size_t last = pe->n_manifests - 1;
    if (!pe->fresh && already_there(p, pe->repo, pe->tag, pe->manifests[last]))
        return 0;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    int rc = airlock_bundle_blob_read(p->b, pe->manifests[last], AIRLOCK_MAX_MANIFEST, &raw, err);
    if (!rc)
        rc = airlock_registry_manifest_put(p->r, pe->repo, pe->tag, pe->mtypes[last], raw.data,
                                           raw.len, err);
    airlock_buf_release(&raw);
    return rc;
}

/* ---- push ----------------------------------------------------------------------------------- */

/* --policy: containers/image's check of every image and platform manifest at its reference in
 * dest, the mapping push uses, before anything leaves */
static int push_policy_check(struct airlock_bundle *b, const char *dest,
                             const struct airlock_push_opts *po, struct airlock_error **err)
{
    struct airlock_policy_report *r = NULL;
    struct airlock_policy_check_opts o = {dest, po->map, po->n_map};
    int rc = airlock_bundle_check_policy(&r, b, po->policy, &o, err);
    if (!rc && (rc = airlock_policy_report_error(r, err)))
        airlock_error_wrap(err, "push to '%s' (nothing was pushed)", dest);
    airlock_policy_report_free(r);
    return rc;
}

/* Blobs the bundle does not hold (a delta bundle leaves layers out): checked in the
 * destination before anything moves (transfer_delta_precheck), then dropped from the plan as
 * already there. None: nothing to do. */
static int push_delta(struct pusher *p, struct airlock_error **err)
{
    struct transfer_need *needs = NULL;
    size_t n = 0;
    uint64_t sz;
    for (size_t i = 0; i < p->n_blobs; i++)
        if (airlock_bundle_blob_stat(p->b, p->blobs[i].digest, &sz)) {
            struct transfer_need *nn = realloc(needs, (n + 1) * sizeof(*nn));
            if (!nn) {
                free(needs);
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            needs = nn;
            needs[n++] = (struct transfer_need){p->blobs[i].repo, p->blobs[i].digest,
                                                p->blobs[i].size, 0, NULL};
        }
    if (!n)
        return 0;
    int rc = transfer_delta_precheck(p->r, p->b, p->pre->graph, needs, n, p->ro, err);
    free(needs);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < p->n_blobs; i++) {
        if (airlock_bundle_blob_stat(p->b, p->blobs[i].digest, &sz)) {
            free(p->blobs[i].repo);
            p->skipped++;
            continue;
        }
        p->blobs[k++] = p->blobs[i];
    }
    p->n_blobs = k;
    return 0;
}

int airlock_push(struct airlock_push_result **res, struct airlock_bundle *b, const char *dest,
                 const struct airlock_registry_opts *ro, const struct airlock_push_opts *po,
                 struct airlock_error **err)
{
    struct pusher p;
    memset(&p, 0, sizeof(p));
    p.b = b;
    p.po = po;
    p.ro = ro;
    pthread_mutex_init(&p.lock, NULL);
    struct airlock_push_result *out = NULL;
    struct airlock_sig_report *pre = NULL;
    struct airlock_sig_check_opts so;
    memset(&so, 0, sizeof(so));
    pthread_t tid[64];
    int threads = ro && ro->parallel > 0 ? ro->parallel : 4, started = 0;
    struct phase_ctx pc = {NULL, NULL, NULL};
    size_t *at = NULL, n_at = 0, n_ims = 0;
    int rc = split_dest(&p, dest, err);
    if (rc)
        goto done;
    /* 1: what may go in, judged from content and signatures, before anything leaves */
    so.key = po->key;
    so.identity = po->identity;
    so.annotations = po->annotations;
    so.n_annotations = po->n_annotations;
    so.allow_unsigned = po->allow_unsigned || !po->key;
    so.attestations = po->attestations; /* push --attestation T: verify-attestation's rule */
    so.n_attestations = po->n_attestations;
    if (po->key && !po->identity && !po->identity_any) { /* what a pull at dest checks */
        so.dest = dest;
        so.map = po->map;
        so.n_map = po->n_map;
    }
    if ((rc = airlock_bundle_verify_signatures(&pre, b, &so, err)))
        goto done;
    p.pre = pre;
    if (po->policy && (rc = push_policy_check(b, dest, po, err)))
        goto done;
    for (size_t i = 0; i < pre->n_images && po->key; i++) {
        /* a signature push would not carry cannot be checked in the registry afterwards:
         * refused now, before any manifest, not after the image went up untagged */
        const struct airlock_sig_image *im = &pre->images[i];
        size_t listed = 0;
        for (size_t k = 0; k < im->n_sigs; k++)
            listed += !im->sigs[k].unlisted;
        if (im->role == AIRLOCK_ROLE_IMAGE && im->ok && !im->unsigned_allowed && !listed) {
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "image '%s' (%s): its only verified signatures are referrer "
                                   "manifests that index.json does not list (as cosign save "
                                   "leaves them), and push carries only what it lists; nothing "
                                   "was pushed",
                                   im->ref ? im->ref : "?", im->digest);
            goto done;
        }
    }
    for (size_t i = 0; i < pre->n_images && po->key && so.n_attestations; i++) {
        /* the same for --attestation: what counted in the bundle must go up with the image */
        const struct airlock_sig_image *im = &pre->images[i];
        struct airlock_sig_image carried;
        memset(&carried, 0, sizeof(carried));
        if (im->role != AIRLOCK_ROLE_IMAGE || !im->ok)
            continue;
        if (im->n_atts && !(carried.atts = malloc(im->n_atts * sizeof(*carried.atts)))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < im->n_atts; k++)
            if (!im->atts[k].unlisted)
                carried.atts[carried.n_atts++] = im->atts[k]; /* shallow: judged, not freed */
        if (!airlock_att_judge(&carried, &so))
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "image '%s' (%s): among what push carries, %s (a verified "
                                   "attestation referrer that index.json does not list is not "
                                   "carried); nothing was pushed",
                                   im->ref ? im->ref : "?", im->digest,
                                   carried.att_failure ? carried.att_failure : "an attestation "
                                                                                "is missing");
        free(carried.att_failure);
        free(carried.atts);
        if (rc)
            goto done;
    }
    for (size_t i = 0; i < pre->n_images; i++)
        if (!pre->images[i].ok && pre->images[i].identity_failure) {
            /* signed, but not as the destination's consumers pull it */
            const struct airlock_sig_image *im = &pre->images[i];
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "image '%s' (%s): no verified signature names its "
                                   "destination: %s; nothing was pushed (sign with --to '%s' "
                                   "and the same --map, or push with --identity-check any to "
                                   "accept any identity on purpose)",
                                   im->ref ? im->ref : "?", im->digest, im->identity_failure,
                                   dest);
            goto done;
        }
    for (size_t i = 0; i < pre->n_images; i++)
        if (!pre->images[i].ok && pre->images[i].att_failure) { /* --attestation */
            const struct airlock_sig_image *im = &pre->images[i];
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "image '%s' (%s): %s; nothing was "
                                                            "pushed",
                                   im->ref ? im->ref : "?", im->digest, im->att_failure);
            goto done;
        }
    for (size_t i = 0; i < pre->n_images; i++)
        if (!pre->images[i].ok) {
            const struct airlock_sig_image *im = &pre->images[i];
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "image '%s' (%s): no signature verified with the key%s%s; "
                                   "nothing was pushed",
                                   im->ref ? im->ref : "?", im->digest,
                                   im->n_failures ? ": " : "",
                                   im->n_failures ? im->failures[0] : "");
            goto done;
        }
    /* 2: the plan, from what was admitted: one visit per digest and entry */
    p.pe = calloc(pre->n_images + 1, sizeof(*p.pe));
    if (!p.pe) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < pre->n_images && !rc; i++) {
        struct pentry *pe = &p.pe[p.n_pe++];
        pe->trust = &pre->images[i];
        if (!(rc = dest_of(&p, pe, dest, err)))
            rc = plan_entry(&p, pe, pre->graph, err);
    }
    if (rc || (rc = airlock_registry_new(&p.r, p.host, ro, err)))
        goto done;
    /* 3: blobs, in parallel, checked as they stream */
    p.streamed = airlock_bundle_format(b) == AIRLOCK_FORMAT_TAR_ZST;
    if ((rc = airlock_bundle_split_check_whole(b, err))) { /* a set goes up whole or not at all */
        airlock_error_wrap(err, "push (nothing was pushed)");
        goto done;
    }
    /* a delta bundle: the blobs it leaves out are asked for first (deltapush.c) */
    if ((rc = push_delta(&p, err)))
        goto done;
    /* first the first occurrence of every digest, then its other repositories, which can
     * then mount it instead of uploading it again */
    {
        struct core_dmap first = {0};
        size_t k = 0;
        for (size_t i = 0; i < p.n_blobs; i++)
            if (!core_dmap_get(&first, p.blobs[i].digest)) {
                core_dmap_put(&first, p.blobs[i].digest, 1);
                struct pblob t = p.blobs[k];
                p.blobs[k++] = p.blobs[i];
                p.blobs[i] = t;
            }
        core_dmap_release(&first);
        uint64_t total = 0;
        for (size_t i = 0; i < p.n_blobs; i++)
            total += p.blobs[i].size;
        progress(&p, "plan", NULL, p.n_blobs, total);
        size_t phases[2] = {k, p.n_blobs};
        for (int ph = 0; ph < 2 && !p.failed; ph++) {
            p.phase_end = phases[ph];
            int n = threads;
            size_t todo = phases[ph] - p.next;
            if ((size_t)n > todo)
                n = (int)todo;
            started = 0;
            for (int i = 1; i < n && i < 64; i++)
                if (!pthread_create(&tid[started], NULL, worker, &p))
                    started++;
            worker(&p);
            for (int i = 0; i < started; i++)
                pthread_join(tid[i], NULL);
            p.next = phases[ph];
        }
    }
    if (!p.failed && p.streamed) {
        struct airlock_error *e = NULL;
        if (push_streamed(&p, &e))
            fail_with(&p, e);
    }
    if (p.failed) {
        rc = p.first_err ? p.first_err->code : AIRLOCK_EOS;
        if (err && !*err)
            *err = steal_pointer(&p.first_err);
        airlock_error_wrap(err, "push to '%s' (no manifest was pushed)", dest);
        goto done;
    }
    for (size_t i = 0; i < p.n_blobs; i++) /* repositories that were missing a blob */
        for (size_t k = 0; p.blobs[i].absent && k < p.n_pe; k++)
            p.pe[k].fresh |= !strcmp(p.blobs[i].repo, p.pe[k].repo);
    /* 4: manifests child-first, images by digest only (their tags come once signatures are
     * there and verified), then the attachments; each across the entries in parallel */
    if (!(at = calloc(p.n_pe + 1, sizeof(*at)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    pc.at = at;
    n_at = 0;
    for (size_t i = 0; i < p.n_pe; i++)
        if (p.pe[i].trust->role == AIRLOCK_ROLE_IMAGE)
            at[n_at++] = i;
    rc = pool_run(&p, n_at, phase_image_manifests, &pc, err);
    n_at = 0;
    for (size_t i = 0; !rc && i < p.n_pe; i++)
        if (p.pe[i].trust->role != AIRLOCK_ROLE_IMAGE)
            at[n_at++] = i;
    if (!rc)
        rc = pool_run(&p, n_at, phase_attachment, &pc, err);
    if (rc)
        goto done;
    /* 5: verify what is now in the registry */
    out = calloc(1, sizeof(*out));
    if (!out || !(out->refs = calloc(p.n_pe, sizeof(char *))) ||
        !(out->digests = calloc(p.n_pe, sizeof(char *))) ||
        !(out->verified = calloc(p.n_pe, sizeof(int)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    /* the read-back of every image at once, then judged in order */
    n_at = 0;
    for (size_t i = 0; i < p.n_pe; i++)
        if (p.pe[i].trust->role == AIRLOCK_ROLE_IMAGE)
            at[n_at++] = i;
    if (!(pc.ims = calloc(n_at + 1, sizeof(*pc.ims))) ||
        !(pc.checks = calloc(n_at + 1, sizeof(*pc.checks)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    n_ims = n_at;
    rc = pool_run(&p, n_at, phase_verify, &pc, err);
    for (size_t j = 0; j < n_at && !rc; j++) {
        struct pentry *pe = &p.pe[at[j]];
        int check = pc.checks[j];
        struct airlock_sig_check_opts there = {check ? po->key : NULL, po->identity,
                                               po->annotations, po->n_annotations, 0,
                                               NULL, NULL, 0, po->attestations,
                                               po->n_attestations, 0, 0};
        struct airlock_sig_image im = pc.ims[j];
        memset(&pc.ims[j], 0, sizeof(pc.ims[j]));
        /* a concurrent push may have replaced the .sig tag or the referrers index after our
         * read-back: merge ours in again and look once more (bounded); every format of
         * signature that verified in the bundle must verify in the registry too, not just one */
        int want = check ? sig_formats(pe->trust, 1) : 0;
        for (int again = 0; !rc && check && (!im.ok || (want & ~sig_formats(&im, 0))) && again < 3;
             again++) {
            int merged = 0;
            for (size_t k = 0; k < p.n_pe && !rc; k++) {
                struct pentry *s = &p.pe[k];
                if ((s->trust->role != AIRLOCK_ROLE_SIGNATURE &&
                     s->trust->role != AIRLOCK_ROLE_REFERRERS) ||
                    strcmp(s->trust->subject, pe->trust->digest) || strcmp(s->repo, pe->repo))
                    continue;
                rc = s->trust->role == AIRLOCK_ROLE_SIGNATURE ? push_signature(&p, s, err)
                                                              : push_referrers(&p, s, err);
                merged = 1;
            }
            if (!merged)
                break;
            airlock_sig_image_release(&im);
            memset(&im, 0, sizeof(im));
            if (!rc)
                rc = verify_there(p.r, pe->repo, pe->trust->digest, &there, &im, err);
        }
        if (!rc && check && !im.ok && im.att_failure && im.n_sigs)
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "'%s/%s@%s': in the registry: %s",
                                   p.host, pe->repo, pe->trust->digest, im.att_failure);
        if (!rc && check && !im.ok)
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "'%s/%s@%s': the signature does not verify in the registry%s%s",
                                   p.host, pe->repo, pe->trust->digest, im.n_failures ? ": " : "",
                                   im.n_failures ? im.failures[0] : "");
        if (!rc && check && (want & ~sig_formats(&im, 0)))
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "'%s/%s@%s': our %s does not verify in the registry (another "
                                   "writer replaced it, also after merging ours in again)",
                                   p.host, pe->repo, pe->trust->digest,
                                   (want & ~sig_formats(&im, 0) & 1)
                                       ? "signature at the .sig tag"
                                       : "sigstore bundle referrer at the fallback tag");
        /* the destination rule again, on what the registry now serves: the image's .sig and
         * each platform manifest's own sha256-<hex>.sig, as a pull checks them */
        if (!rc && check && pe->trust->needed &&
            !airlock_sig_image_judge_identity(&im, pe->trust->needed, NULL))
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "'%s/%s@%s' in the registry: %s",
                                   p.host, pe->repo, pe->trust->digest,
                                   im.identity_failure ? im.identity_failure : "identity");
        if (!rc && check)
            out->signatures_verified += im.n_sigs;
        for (size_t k = 0; !rc && check && k < pe->trust->n_platforms; k++) {
            const struct airlock_sig_image *pl = &pe->trust->platforms[k];
            struct airlock_sig_image pim;
            memset(&pim, 0, sizeof(pim));
            rc = verify_there(p.r, pe->repo, pl->digest, &there, &pim, err);
            if (!rc && (!pim.ok || !airlock_sig_image_judge_identity(&pim, pl->needed, NULL)))
                rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                       "'%s/%s@%s' (platform %s of '%s') in the registry: %s",
                                       p.host, pe->repo, pl->digest,
                                       pl->platform ? pl->platform : "?", pe->trust->digest,
                                       !pim.ok ? (pim.n_failures ? pim.failures[0]
                                                                 : "no signature verified")
                                       : pim.identity_failure ? pim.identity_failure
                                                              : "identity");
            if (!rc)
                out->signatures_verified += pim.n_sigs;
            airlock_sig_image_release(&pim);
        }
        airlock_sig_image_release(&im);
        if (rc)
            break;
        if (asprintf(&out->refs[out->n], "%s/%s%s%s", p.host, pe->repo, pe->tag ? ":" : "@",
                     pe->tag ? pe->tag : pe->trust->digest) < 0)
            out->refs[out->n] = NULL;
        out->digests[out->n] = strdup(pe->trust->digest);
        out->verified[out->n] = check;
        out->n++;
    }
    /* 6: only now the images' tags (compared first: a tag already there is not PUT) */
    n_at = 0;
    for (size_t i = 0; !rc && i < p.n_pe; i++)
        if (p.pe[i].trust->role == AIRLOCK_ROLE_IMAGE && p.pe[i].tag && p.pe[i].n_manifests)
            at[n_at++] = i;
    if (!rc)
        rc = pool_run(&p, n_at, phase_tag, &pc, err);
    if (rc)
        goto done;
    out->blobs_uploaded = p.uploaded;
    out->blobs_skipped = p.skipped;
    out->blobs_mounted = p.mounted;
    out->bytes_uploaded = p.bytes;
    *res = steal_pointer(&out);
done:
    for (size_t j = 0; pc.ims && j < n_ims; j++)
        airlock_sig_image_release(&pc.ims[j]);
    free(pc.ims);
    free(pc.checks);
    free(at);
    airlock_push_result_free(out);
    airlock_sig_report_free(pre);
    airlock_error_free(p.first_err);
    for (size_t i = 0; i < p.n_pe; i++) {
        free(p.pe[i].repo);
        free(p.pe[i].tag);
        for (size_t k = 0; k < p.pe[i].n_manifests; k++) {
            free(p.pe[i].manifests[k]);
            free(p.pe[i].mtypes[k]);
        }
        free(p.pe[i].manifests);
        free(p.pe[i].mtypes);
    }
    free(p.pe);
    for (size_t i = 0; i < p.n_api; i++)
        free(p.api_repo[i]);
    free(p.api_repo);
    free(p.api_has);
    for (size_t i = 0; i < p.n_blobs; i++)
        free(p.blobs[i].repo);
    free(p.blobs);
    core_dmap_release(&p.where);
    core_dmap_release(&p.missing);
    core_dmap_release(&p.seen);
    airlock_registry_free(p.r);
    free(p.host);
    pthread_mutex_destroy(&p.lock);
    return rc;
}
