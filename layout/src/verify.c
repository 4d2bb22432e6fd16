/* Integrity verification: walk index.json down, check presence, size and sha256 of every
 * referenced blob (hashing spread over threads), list what nothing references.
 *
 * The walk builds a graph: one node per distinct digest, with the child edges of every
 * manifest and index. Hashing fills in each node's state; an image is intact when every node
 * reachable from its root is. */
#include "layout_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum node_state { N_PENDING, N_OK, N_MISSING, N_CORRUPT, N_EXTERNAL, N_ELSEWHERE };

struct node {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;         /* as the first descriptor said */
    enum node_state state;
    int meta;              /* 1: a manifest or index; 2: maybe one (no mediaType, small) */
    int descended;
    char *why;             /* problem text */
    size_t *kids;          /* child node indices (manifests and indexes) */
    size_t n_kids, cap_kids;
    size_t mark;           /* image walk generation */
    int unref;             /* in the bundle, reached from no image: hashed all the same */
};

struct vctx {
    struct airlock_bundle *b;
    struct airlock_verify_report *r;
    struct node *nodes;
    size_t n, cap;
    struct core_dmap map;
    size_t *stack; /* node indices still to descend into */
    size_t sp, scap;
    atomic_size_t next_job;
    size_t *jobs;
    size_t n_jobs, cap_jobs;
    atomic_uint_fast64_t bytes;
};

static int push_str(char ***arr, size_t *n, const char *s)
{
    char **a = realloc(*arr, (*n + 1) * sizeof(*a));
    if (!a)
        return -1;
    *arr = a;
    if (!(a[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

static int push_idx(size_t **arr, size_t *n, size_t *cap, size_t v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        size_t *a = realloc(*arr, c * sizeof(*a));
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

/* For a split set: where a blob lives and what to do about it (": it lives in part 2 of 5
 * 'x.002' (missing: ...)"); *elsewhere when only this part was opened and the blob is (also)
 * kept in others, so it cannot be checked here. */
static char *where_text(const struct airlock_bundle *b, const char *digest, int corrupt,
                        int *elsewhere)
{
    struct airlock_split_info si;
    unsigned parts[8], bad[8];
    *elsewhere = 0;
    if (!airlock_bundle_split_info(b, &si))
        return NULL;
    int n = airlock_bundle_split_where(b, digest, parts, 8);
    if (n <= 0)
        return NULL;
    if (si.part_only && (n > 1 || parts[0] != si.part)) {
        *elsewhere = 1;
        return NULL;
    }
    int nbad = corrupt && n > 1 ? airlock_bundle_split_check_pieces(b, digest, 0, bad, 8, NULL,
                                                                    NULL)
                                : 0;
    struct airlock_buf t = AIRLOCK_BUF_INIT(4096);
    airlock_buf_printf(&t, ": it lives in");
    for (int i = 0; i < n && i < 8; i++) {
        int present = airlock_bundle_split_part_present(b, parts[i]), damaged = 0;
        for (int k = 0; k < nbad && k < 8; k++)
            damaged |= bad[k] == parts[i];
        if (corrupt && n == 1)
            damaged = 1;
        airlock_buf_printf(&t, "%s part %u of %u '%s'%s", i ? (i + 1 == n ? " and" : ",") : "",
                           parts[i], si.parts, airlock_bundle_split_part_path(b, parts[i]),
                           !present  ? " (missing: copy it beside the others)"
                           : damaged ? " (damaged: copy that part again)"
                                     : "");
    }
    return airlock_buf_detach(&t, NULL);
}

static void node_fail(struct node *nd, enum node_state st, char *why)
{
    if (nd->state == N_PENDING || nd->state == N_OK) {
        nd->state = st;
        free(nd->why);
        nd->why = why;
    } else
        free(why);
}

static int meta_kind(const struct airlock_descriptor *d)
{
    if (airlock_media_type_is_manifest(d->media_type) || airlock_media_type_is_index(d->media_type))
        return 1;
    /* umoci and others may omit mediaType: look inside small blobs */
    if (!d->media_type && d->size <= AIRLOCK_MAX_MANIFEST)
        return 2;
    return 0;
}

/* Registers a descriptor reached from parent (SIZE_MAX: a root); *out gets the node. */
static int visit(struct vctx *v, size_t parent, const struct airlock_descriptor *d,
                 const char *what, size_t *out, struct airlock_error **err)
{
    size_t *found = core_dmap_get(&v->map, d->digest);
    size_t idx;
    if (found) {
        idx = *found;
        struct node *nd = &v->nodes[idx];
        if (nd->size != d->size && nd->state != N_MISSING) {
            char *why = NULL;
            if (asprintf(&why, "blob '%s' is declared with two sizes (%llu and %llu) in %s",
                         d->digest, (unsigned long long)nd->size, (unsigned long long)d->size,
                         what) < 0)
                why = NULL;
            node_fail(nd, N_CORRUPT, why);
        }
        /* reached before as a plain blob, now as a manifest: descend too */
        int mk = meta_kind(d);
        if (mk > nd->meta && !nd->descended && nd->state == N_PENDING) {
            nd->meta = mk;
            if (push_idx(&v->stack, &v->sp, &v->scap, idx))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    } else {
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 64;
            struct node *n = realloc(v->nodes, cap * sizeof(*n));
            if (!n)
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            v->nodes = n;
            v->cap = cap;
        }
        idx = v->n++;
        struct node *nd = &v->nodes[idx];
        memset(nd, 0, sizeof(*nd));
        memcpy(nd->digest, d->digest, AIRLOCK_DIGEST_SIZE);
        nd->size = d->size;
        nd->meta = meta_kind(d);
        if (core_dmap_put(&v->map, d->digest, idx))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        uint64_t have;
        if (airlock_bundle_blob_stat(v->b, d->digest, &have)) {
            if (d->has_urls) {
                nd->state = N_EXTERNAL; /* foreign layer, fetched from its URLs, not carried */
            } else {
                char *why = NULL;
                int elsewhere = 0;
                char *where = where_text(v->b, d->digest, 0, &elsewhere);
                if (elsewhere)
                    nd->state = N_ELSEWHERE; /* another part's: not checked here */
                else {
                    if (asprintf(&why, "blob '%s' (%s) is missing%s", d->digest, what,
                                 where ? where : "") < 0)
                        why = NULL;
                    node_fail(nd, N_MISSING, why);
                }
                free(where);
            }
        } else if (have != d->size) {
            char *why = NULL;
            if (asprintf(&why, "blob '%s' (%s) has %llu bytes, its descriptor says %llu",
                         d->digest, what, (unsigned long long)have,
                         (unsigned long long)d->size) < 0)
                why = NULL;
            node_fail(nd, N_CORRUPT, why);
        } else if (nd->meta) {
            if (push_idx(&v->stack, &v->sp, &v->scap, idx))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        } else {
            if (push_idx(&v->jobs, &v->n_jobs, &v->cap_jobs, idx))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    if (parent != SIZE_MAX) {
        struct node *p = &v->nodes[parent];
        if (push_idx(&p->kids, &p->n_kids, &p->cap_kids, idx))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    *out = idx;
    return 0;
}

/* Reads, checks and parses a manifest or index node, then visits its children. */
static int descend(struct vctx *v, size_t idx, struct airlock_error **err)
{
    /* v->nodes may move while children are visited: work on copies */
    char digest[AIRLOCK_DIGEST_SIZE];
    memcpy(digest, v->nodes[idx].digest, sizeof(digest));
    int maybe = v->nodes[idx].meta == 2;
    v->nodes[idx].descended = 1;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    int rc = airlock_bundle_blob_read(v->b, digest, AIRLOCK_MAX_MANIFEST, &raw, &e);
    if (rc) {
        if (rc == AIRLOCK_EOS) {
            if (err)
                *err = e;
            else
                airlock_error_free(e);
            return rc;
        }
        if (maybe) { /* not readable as metadata (a streamed non-JSON blob): just hash it */
            airlock_error_free(e);
            if (push_idx(&v->jobs, &v->n_jobs, &v->cap_jobs, idx))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            return 0;
        }
        node_fail(&v->nodes[idx], N_CORRUPT, strdup(e ? e->msg : digest));
        airlock_error_free(e);
        return 0;
    }
    v->r->checked++;
    v->bytes += raw.len;
    struct airlock_oci *m = NULL;
    char what[128];
    snprintf(what, sizeof(what), "manifest '%s'", digest);
    rc = airlock_oci_parse(&m, raw.data, raw.len, what, &e);
    airlock_buf_release(&raw);
    if (rc) {
        if (maybe) /* no mediaType and not a manifest: a plain blob, and its hash is right */
            v->nodes[idx].state = v->nodes[idx].state == N_PENDING ? N_OK : v->nodes[idx].state;
        else
            node_fail(&v->nodes[idx], N_CORRUPT, strdup(e ? e->msg : digest));
        airlock_error_free(e);
        return 0;
    }
    if (v->nodes[idx].state == N_PENDING)
        v->nodes[idx].state = N_OK;
    char ctx[160];
    size_t kid;
    if (m->kind == AIRLOCK_OCI_MANIFEST) {
        snprintf(ctx, sizeof(ctx), "config of %.80s", digest);
        rc = visit(v, idx, &m->config, ctx, &kid, err);
    }
    for (size_t i = 0; !rc && i < m->n_layers; i++) {
        snprintf(ctx, sizeof(ctx), "%s %zu of %.80s",
                 m->kind == AIRLOCK_OCI_INDEX ? "manifest" : "layer", i + 1, digest);
        rc = visit(v, idx, &m->layers[i], ctx, &kid, err);
    }
    airlock_oci_free(m);
    return rc;
}

static void *hash_worker(void *arg)
{
    struct vctx *v = arg;
    for (;;) {
        size_t j = atomic_fetch_add(&v->next_job, 1);
        if (j >= v->n_jobs)
            break;
        struct node *nd = &v->nodes[v->jobs[j]];
        char actual[AIRLOCK_DIGEST_SIZE];
        struct airlock_error *e = NULL;
        if (airlock_bundle_blob_hash(v->b, nd->digest, actual, &e)) {
            node_fail(nd, N_CORRUPT, strdup(e ? e->msg : nd->digest));
            airlock_error_free(e);
            continue;
        }
        v->bytes += nd->size;
        if (strcmp(actual, nd->digest)) {
            char *why = NULL;
            int elsewhere = 0;
            char *where = where_text(v->b, nd->digest, 1, &elsewhere);
            if (asprintf(&why, "blob '%s' is corrupt (content hashes to '%s')%s", nd->digest,
                         actual, where ? where : "") < 0)
                why = NULL;
            free(where);
            node_fail(nd, N_CORRUPT, why);
        } else if (nd->state == N_PENDING)
            nd->state = N_OK;
    }
    return NULL;
}

void airlock_verify_report_free(struct airlock_verify_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_missing; i++)
        free(r->missing[i]);
    for (size_t i = 0; i < r->n_missing_parts; i++)
        free(r->missing_parts[i]);
    free(r->missing_parts);
    for (size_t i = 0; i < r->n_corrupt; i++)
        free(r->corrupt[i]);
    for (size_t i = 0; i < r->n_unreferenced; i++)
        free(r->unreferenced[i]);
    for (size_t i = 0; i < r->n_problems; i++)
        free(r->problems[i]);
    for (size_t i = 0; i < r->n_images; i++) {
        free(r->images[i].ref);
        free(r->images[i].kind);
    }
    free(r->missing);
    free(r->corrupt);
    free(r->unreferenced);
    free(r->problems);
    free(r->images);
    free(r);
}

static void run_threads(struct vctx *v, int threads)
{
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (threads > 8)
        threads = 8;
    if ((size_t)threads > v->n_jobs)
        threads = (int)v->n_jobs;
    pthread_t tid[8];
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (pthread_create(&tid[started], NULL, hash_worker, v) == 0)
            started++;
    hash_worker(v);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* True when every node reachable from root is present and intact. */
static int image_intact(struct vctx *v, size_t root, size_t gen, size_t **stack, size_t *cap)
{
    size_t sp = 0;
    int ok = 1;
    if (push_idx(stack, &sp, cap, root))
        return 0;
    v->nodes[root].mark = gen;
    while (sp) {
        struct node *nd = &v->nodes[(*stack)[--sp]];
        if (nd->state == N_MISSING || nd->state == N_CORRUPT)
            ok = 0;
        for (size_t k = 0; k < nd->n_kids; k++) {
            size_t c = nd->kids[k];
            if (v->nodes[c].mark == gen)
                continue;
            v->nodes[c].mark = gen;
            if (push_idx(stack, &sp, cap, c))
                return 0;
        }
    }
    return ok;
}

int airlock_bundle_verify(struct airlock_verify_report **out, struct airlock_bundle *b,
                          const struct airlock_verify_opts *opts, struct airlock_error **err)
{
    size_t len;
    const char *index = airlock_bundle_index(b, &len);
    struct airlock_oci *idx = NULL;
    char what[300];
    snprintf(what, sizeof(what), "'%s': index.json", airlock_bundle_path(b));
    int rc = airlock_oci_parse(&idx, index, len, what, err);
    if (rc)
        return rc;
    if (idx->kind != AIRLOCK_OCI_INDEX) {
        airlock_oci_free(idx);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: not an image index", what);
    }
    struct vctx v;
    memset(&v, 0, sizeof(v));
    v.b = b;
    v.r = calloc(1, sizeof(*v.r));
    size_t ni = idx->n_layers;
    size_t *roots = calloc(ni + 1, sizeof(*roots));
    size_t *walk = NULL, walk_cap = 0;
    if (!v.r || !roots || !(v.r->images = calloc(ni + 1, sizeof(*v.r->images)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ni && !rc; i++) {
        const struct airlock_descriptor *d = &idx->layers[i];
        struct airlock_verify_image *im = &v.r->images[v.r->n_images++];
        const char *ref = airlock_annotation_get(d->annotations, d->n_annotations,
                                                 AIRLOCK_ANN_REF_NAME);
        const char *kind = airlock_annotation_get(d->annotations, d->n_annotations,
                                                  AIRLOCK_ANN_KIND);
        im->ref = core_strdup0(ref);
        im->kind = core_strdup0(kind);
        memcpy(im->digest, d->digest, AIRLOCK_DIGEST_SIZE);
        char ctx[300];
        snprintf(ctx, sizeof(ctx), "image '%.200s'", ref ? ref : d->digest);
        if ((rc = visit(&v, SIZE_MAX, d, ctx, &roots[i], err)))
            break;
        while (v.sp && !rc)
            rc = descend(&v, v.stack[--v.sp], err);
    }
    if (rc)
        goto out;
    /* what nothing references is hashed too: a blob whose content does not match its name is
     * corrupt wherever it sits (usually few; a streamed bundle hashed them while opening) */
    for (size_t i = 0; i < airlock_bundle_blob_count(b) && !rc; i++) {
        uint64_t size;
        const char *d = airlock_bundle_blob_digest(b, i, &size);
        if (core_dmap_get(&v.map, d))
            continue;
        if (v.n == v.cap) {
            size_t cap = v.cap ? v.cap * 2 : 64;
            struct node *n = realloc(v.nodes, cap * sizeof(*n));
            if (!n) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            v.nodes = n;
            v.cap = cap;
        }
        struct node *nd = &v.nodes[v.n];
        memset(nd, 0, sizeof(*nd));
        memcpy(nd->digest, d, AIRLOCK_DIGEST_SIZE);
        nd->size = size;
        nd->unref = 1;
        if (core_dmap_put(&v.map, d, v.n) || push_idx(&v.jobs, &v.n_jobs, &v.cap_jobs, v.n))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        v.n++;
    }
    if (rc)
        goto out;
    run_threads(&v, opts ? opts->threads : 0);
    v.r->checked += v.n_jobs;
    v.r->bytes = v.bytes;
    v.r->ok = 1;
    for (size_t i = 0; i < v.n; i++) {
        struct node *nd = &v.nodes[i];
        int bad = 0;
        if (nd->state == N_MISSING)
            bad = push_str(&v.r->missing, &v.r->n_missing, nd->digest) || 1;
        else if (nd->state == N_CORRUPT)
            bad = push_str(&v.r->corrupt, &v.r->n_corrupt, nd->digest) || 1;
        if (bad) {
            v.r->ok = 0;
            push_str(&v.r->problems, &v.r->n_problems, nd->why ? nd->why : nd->digest);
        }
    }
    struct airlock_split_info si;
    if (airlock_bundle_split_info(b, &si)) {
        for (size_t i = 0; i < v.n; i++)
            v.r->elsewhere += v.nodes[i].state == N_ELSEWHERE;
        if (si.part_only) { /* this part's pieces of cut blobs, against the description */
            unsigned bad[1];
            int nbad = airlock_bundle_split_check_pieces(b, NULL, si.part, bad, 1, &v.r->checked,
                                                         &v.r->bytes);
            if (nbad) {
                char *why = NULL;
                if (asprintf(&why, "part %u of %u '%s': %d piece%s of cut blobs %s damaged: copy "
                                   "that part again",
                             si.part, si.parts, airlock_bundle_split_part_path(b, si.part), nbad,
                             nbad == 1 ? "" : "s", nbad == 1 ? "is" : "are") >= 0)
                    push_str(&v.r->problems, &v.r->n_problems, why);
                free(why);
                v.r->ok = 0;
            }
        }
        for (unsigned k = 1; !si.part_only && k <= si.parts; k++) {
            if (airlock_bundle_split_part_present(b, k))
                continue;
            uint64_t nb = 0, bytes = 0;
            char sz[16], *why = NULL;
            airlock_bundle_split_part_load(b, k, &nb, &bytes);
            airlock_format_size(sz, bytes);
            if (asprintf(&why, "part %u of %u '%s' is missing (it holds %llu blob%s or pieces, "
                               "%s): copy it beside the others",
                         k, si.parts, airlock_bundle_split_part_path(b, k),
                         (unsigned long long)nb, nb == 1 ? "" : "s", sz) >= 0) {
                push_str(&v.r->problems, &v.r->n_problems, why);
                push_str(&v.r->missing_parts, &v.r->n_missing_parts,
                         airlock_bundle_split_part_path(b, k));
                free(why);
            }
            v.r->ok = 0;
        }
    }
    for (size_t i = 0; i < v.r->n_images; i++)
        v.r->images[i].ok = image_intact(&v, roots[i], i + 1, &walk, &walk_cap);
    for (size_t i = 0; i < v.n; i++)
        if (v.nodes[i].unref)
            push_str(&v.r->unreferenced, &v.r->n_unreferenced, v.nodes[i].digest);
out:
    for (size_t i = 0; i < v.n; i++) {
        free(v.nodes[i].why);
        free(v.nodes[i].kids);
    }
    free(v.nodes);
    free(roots);
    free(walk);
    free(v.stack);
    free(v.jobs);
    core_dmap_release(&v.map);
    airlock_oci_free(idx);
    if (rc) {
        airlock_verify_report_free(v.r);
        return rc;
    }
    *out = v.r;
    return 0;
}
