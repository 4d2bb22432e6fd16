/* Integrity verification: walk index.json down, check presence, size and sha256 of every
 * blob (hashing spread over threads), list what nothing references.
 *
 * The walk is the shared manifest graph (core: one node per distinct digest, each manifest
 * and index read and parsed once, kind from its content). Checking fills in each node's state;
 * an image is intact when every node reachable from its root is. Blobs nothing references are
 * hashed too. */
#include "layout_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum node_state { N_PENDING, N_OK, N_MISSING, N_CORRUPT, N_EXTERNAL, N_ELSEWHERE, N_EXPECTED };

/* A node's check: graph nodes first (same numbers), then blobs nothing references. */
struct node {
    const char *digest;
    uint64_t size;         /* as the first descriptor said (unreferenced: as stored) */
    enum node_state state;
    char *why;             /* problem text */
    size_t mark;           /* image walk generation */
    int unref;             /* in the bundle, reached from no image */
};

struct vctx {
    struct airlock_bundle *b;
    struct airlock_verify_report *r;
    struct airlock_graph *g;
    struct airlock_delta *delta; /* a delta bundle's record, or NULL */
    struct node *nodes;
    size_t n;
    atomic_size_t next_job;
    size_t *jobs; /* nodes to hash */
    size_t n_jobs, cap_jobs;
    atomic_uint_fast64_t bytes;
    const struct airlock_verify_opts *opts; /* its progress is told under lock */
    pthread_mutex_t lock;
};

static void tell(struct vctx *v, const struct node *nd, uint64_t done)
{
    if (!v->opts || !v->opts->progress)
        return;
    struct airlock_progress ev = {"check", nd->digest, done, nd->size};
    pthread_mutex_lock(&v->lock);
    v->opts->progress(v->opts->progress_ctx, &ev);
    pthread_mutex_unlock(&v->lock);
}

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
        tell(v, nd, 0);
        int rc = airlock_bundle_blob_hash(v->b, nd->digest, actual, &e);
        tell(v, nd, nd->size);
        if (rc) {
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
    for (size_t i = 0; i < r->n_expected; i++)
        free(r->expected[i]);
    free(r->expected);
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
        size_t i = (*stack)[--sp];
        if (v->nodes[i].state == N_MISSING || v->nodes[i].state == N_CORRUPT)
            ok = 0;
        const struct airlock_graph_node *nd = airlock_graph_node(v->g, i);
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

static int bundle_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                       struct airlock_error **err)
{
    return airlock_bundle_blob_read(ctx, digest, max, out, err);
}

/* Where node i is first referenced, for messages: "image 'REF'", "config of sha256:..",
 * "layer 2 of sha256:..", "manifest 1 of sha256:..". */
static void where_from(char out[200], const struct airlock_graph *g, size_t i, size_t parent,
                       const char *root_ref)
{
    const struct airlock_graph_node *nd = airlock_graph_node(g, i);
    const struct airlock_graph_node *p = airlock_graph_node(g, parent);
    if (!p || !p->doc) {
        snprintf(out, 200, "image '%.150s'", root_ref ? root_ref : nd->digest);
        return;
    }
    if (p->kind == AIRLOCK_NODE_MANIFEST && !strcmp(p->doc->config.digest, nd->digest)) {
        snprintf(out, 200, "config of %.80s", p->digest);
        return;
    }
    for (size_t k = 0; k < p->doc->n_layers; k++)
        if (!strcmp(p->doc->layers[k].digest, nd->digest)) {
            snprintf(out, 200, "%s %zu of %.80s",
                     p->kind == AIRLOCK_NODE_INDEX ? "manifest" : "layer", k + 1, p->digest);
            return;
        }
    snprintf(out, 200, "%.80s", p->digest);
}

/* The state of every graph node that can be known without hashing: present with its size,
 * missing (or another part's), a foreign layer, a document read and parsed (its digest was
 * checked as it was read), or one that could not be; blobs go to the hashing jobs. */
static int check_nodes(struct vctx *v, const size_t *parent, const size_t *root_of,
                       const struct airlock_oci *idx, struct airlock_error **err)
{
    size_t ng = airlock_graph_count(v->g);
    for (size_t i = 0; i < ng; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(v->g, i);
        struct node *vn = &v->nodes[i];
        char what[200];
        const char *root_ref = NULL;
        if (root_of[i] != SIZE_MAX)
            root_ref = airlock_annotation_get(idx->layers[root_of[i]].annotations,
                                              idx->layers[root_of[i]].n_annotations,
                                              AIRLOCK_ANN_REF_NAME);
        where_from(what, v->g, i, parent[i], root_ref);
        uint64_t have;
        char *why = NULL;
        if (nd->size_conflict &&
            asprintf(&why, "blob '%s' is declared with two sizes (%llu and %llu), first in %s",
                     nd->digest, (unsigned long long)nd->size,
                     (unsigned long long)nd->other_size, what) >= 0)
            node_fail(vn, N_CORRUPT, steal_pointer(&why));
        /* a registry refuses a manifest PUT whose Content-Type is not its own mediaType */
        if (nd->declared_type && nd->doc && nd->doc->media_type &&
            asprintf(&why, "manifest '%s' (%s) is typed '%s' by a descriptor but its mediaType "
                           "says '%s'",
                     nd->digest, what, nd->declared_type, nd->doc->media_type) >= 0)
            node_fail(vn, N_CORRUPT, steal_pointer(&why));
        if (airlock_bundle_blob_stat(v->b, nd->digest, &have)) {
            int elsewhere = 0;
            char *where = NULL;
            if (nd->has_urls && nd->kind == AIRLOCK_NODE_BLOB) {
                vn->state = N_EXTERNAL; /* foreign layer, fetched from its URLs, not carried */
                continue;
            }
            const struct airlock_delta_blob *ob = airlock_delta_find(v->delta, nd->digest);
            if (ob && ob->size == nd->size && nd->kind == AIRLOCK_NODE_BLOB &&
                vn->state == N_PENDING) { /* never over a finding of its own */
                vn->state = N_EXPECTED; /* airlock_delta_check judges the record itself */
                continue;
            }
            where = where_text(v->b, nd->digest, 0, &elsewhere);
            if (elsewhere)
                vn->state = N_ELSEWHERE; /* another part's: not checked here */
            else if (asprintf(&why, "blob '%s' (%s) is missing%s", nd->digest, what,
                              where ? where : "") >= 0)
                node_fail(vn, N_MISSING, steal_pointer(&why));
            free(where);
            continue;
        }
        if (have != nd->size) {
            if (asprintf(&why, "blob '%s' (%s) has %llu bytes, its descriptor says %llu",
                         nd->digest, what, (unsigned long long)have,
                         (unsigned long long)nd->size) >= 0)
                node_fail(vn, N_CORRUPT, steal_pointer(&why));
            continue;
        }
        if (nd->kind == AIRLOCK_NODE_BAD) {
            node_fail(vn, N_CORRUPT, strdup(nd->why ? nd->why : nd->digest));
            continue;
        }
        if (nd->kind != AIRLOCK_NODE_BLOB) { /* read whole and checked by the graph */
            v->r->checked++;
            v->bytes += nd->size;
            if (vn->state == N_PENDING)
                vn->state = N_OK;
            continue;
        }
        if (push_idx(&v->jobs, &v->n_jobs, &v->cap_jobs, i))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
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
    v.opts = opts;
    pthread_mutex_init(&v.lock, NULL);
    v.r = calloc(1, sizeof(*v.r));
    size_t ni = idx->n_layers, ng = 0, nblobs = airlock_bundle_blob_count(b);
    size_t *roots = calloc(ni + 1, sizeof(*roots));
    size_t *parent = NULL, *root_of = NULL, *walk = NULL, walk_cap = 0;
    if (!v.r || !roots || !(v.r->images = calloc(ni + 1, sizeof(*v.r->images)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    /* 1: the graph under every entry, each manifest read once (nesting capped far above what
     * anyone builds, so that hostile depth costs bounded stack) */
    if ((rc = airlock_graph_new(&v.g, bundle_read, b, AIRLOCK_GRAPH_DEPTH_CAP, err)))
        goto out;
    for (size_t i = 0; i < ni && !rc; i++) {
        const struct airlock_descriptor *d = &idx->layers[i];
        struct airlock_verify_image *im = &v.r->images[v.r->n_images++];
        im->ref = core_strdup0(
            airlock_annotation_get(d->annotations, d->n_annotations, AIRLOCK_ANN_REF_NAME));
        im->kind = core_strdup0(
            airlock_annotation_get(d->annotations, d->n_annotations, AIRLOCK_ANN_KIND));
        memcpy(im->digest, d->digest, AIRLOCK_DIGEST_SIZE);
        rc = airlock_graph_add(v.g, d, &roots[i], err);
    }
    if (rc)
        goto out;
    /* 2: a node for every graph node, then one for each blob nothing references */
    ng = airlock_graph_count(v.g);
    if (!(v.nodes = calloc(ng + nblobs + 1, sizeof(*v.nodes))) ||
        !(parent = malloc((ng + 1) * sizeof(*parent))) ||
        !(root_of = malloc((ng + 1) * sizeof(*root_of)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ng; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(v.g, i);
        v.nodes[i].digest = nd->digest;
        v.nodes[i].size = nd->size;
        parent[i] = root_of[i] = SIZE_MAX;
    }
    for (size_t i = ni; i-- > 0;) /* the first entry naming a root names it */
        root_of[roots[i]] = i;
    for (size_t i = 0; i < ng; i++) { /* first parent, in the order the walk met them */
        const struct airlock_graph_node *nd = airlock_graph_node(v.g, i);
        for (size_t k = 0; k < nd->n_kids; k++)
            if (parent[nd->kids[k]] == SIZE_MAX && root_of[nd->kids[k]] == SIZE_MAX)
                parent[nd->kids[k]] = i;
    }
    v.n = ng;
    for (size_t i = 0; i < nblobs; i++) {
        uint64_t size;
        const char *d = airlock_bundle_blob_digest(b, i, &size);
        if (airlock_graph_find(v.g, d) != SIZE_MAX)
            continue;
        struct node *nd = &v.nodes[v.n];
        nd->digest = d;
        nd->size = size;
        nd->unref = 1;
        if (push_idx(&v.jobs, &v.n_jobs, &v.cap_jobs, v.n++)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    }
    /* a delta bundle: what its record says it leaves out, checked against the graph */
    rc = airlock_delta_load(&v.delta, b, err);
    if (rc == AIRLOCK_ENOTFOUND)
        rc = 0;
    else if (!rc && (rc = layout_verify_delta(v.r, v.delta, b, v.g, err)))
        goto out;
    if (rc || (rc = check_nodes(&v, parent, root_of, idx, err)))
        goto out;
    /* 3: hash the blobs, on every core */
    if (opts && opts->progress) {
        struct airlock_progress ev = {"plan", NULL, v.n_jobs, 0};
        for (size_t i = 0; i < v.n_jobs; i++)
            ev.total += v.nodes[v.jobs[i]].size;
        opts->progress(opts->progress_ctx, &ev);
    }
    run_threads(&v, opts ? opts->threads : 0);
    v.r->checked += v.n_jobs;
    v.r->bytes = v.bytes;
    v.r->ok = !v.r->n_problems; /* the delta record's findings */
    for (size_t i = 0; i < v.n; i++) {
        struct node *nd = &v.nodes[i];
        int bad = 0;
        if (nd->state == N_EXPECTED) {
            if (push_str(&v.r->expected, &v.r->n_expected, nd->digest))
                v.r->ok = 0;
            v.r->expected_bytes += nd->size;
        } else if (nd->state == N_MISSING)
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
    for (size_t i = 0; v.nodes && i < v.n; i++)
        free(v.nodes[i].why);
    free(v.nodes);
    free(roots);
    free(parent);
    free(root_of);
    free(walk);
    free(v.jobs);
    airlock_delta_free(v.delta);
    airlock_graph_free(v.g);
    airlock_oci_free(idx);
    pthread_mutex_destroy(&v.lock);
    if (rc) {
        airlock_verify_report_free(v.r);
        return rc;
    }
    *out = v.r;
    return 0;
}
