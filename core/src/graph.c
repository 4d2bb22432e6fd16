/* The manifest graph: one node per digest under a set of roots, each document read once.
 * Used by signature checking (what an entry is, from its content) and push (what goes up, in
 * which order), so that both see the same graph. */
#include "airlock/core.h"
#include "core_int.h"

#include <stdio.h>
#include <string.h>

struct airlock_graph {
    airlock_blob_read_fn read;
    void *ctx;
    struct airlock_graph_node *nodes;
    size_t n, cap;
    struct core_dmap map;   /* digest -> node number */
    size_t *mark;           /* postorder: the walk generation that last saw a node */
    size_t n_mark, gen;
    int max_depth;
};

int airlock_graph_new(struct airlock_graph **out, airlock_blob_read_fn read, void *ctx,
                      int max_depth, struct airlock_error **err)
{
    struct airlock_graph *g = calloc(1, sizeof(*g));
    if (!g)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    g->read = read;
    g->ctx = ctx;
    g->max_depth = max_depth <= 0                         ? AIRLOCK_GRAPH_MAX_DEPTH
                   : max_depth > AIRLOCK_GRAPH_DEPTH_CAP ? AIRLOCK_GRAPH_DEPTH_CAP
                                                          : max_depth;
    *out = g;
    return 0;
}

void airlock_graph_free(struct airlock_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->nodes[i].media_type);
        free(g->nodes[i].declared_type);
        airlock_oci_free(g->nodes[i].doc);
        free(g->nodes[i].kids);
        free(g->nodes[i].why);
    }
    free(g->nodes);
    free(g->mark);
    core_dmap_release(&g->map);
    free(g);
}

size_t airlock_graph_count(const struct airlock_graph *g) { return g->n; }

const struct airlock_graph_node *airlock_graph_node(const struct airlock_graph *g, size_t i)
{
    return i < g->n ? &g->nodes[i] : NULL;
}

size_t airlock_graph_find(const struct airlock_graph *g, const char *digest)
{
    size_t *v = core_dmap_get(&g->map, digest);
    return v ? *v : SIZE_MAX;
}

static int node_for(struct airlock_graph *g, const struct airlock_descriptor *d, size_t *out,
                    int *fresh, struct airlock_error **err)
{
    size_t *v = core_dmap_get(&g->map, d->digest);
    if (v) {
        struct airlock_graph_node *seen = &g->nodes[*v];
        if (d->size != seen->size && !seen->size_conflict) {
            seen->size_conflict = 1;
            seen->other_size = d->size;
        }
        *out = *v;
        *fresh = 0;
        return 0;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        struct airlock_graph_node *n = realloc(g->nodes, cap * sizeof(*n));
        if (!n)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        g->nodes = n;
        g->cap = cap;
    }
    struct airlock_graph_node *nd = &g->nodes[g->n];
    memset(nd, 0, sizeof(*nd));
    memcpy(nd->digest, d->digest, AIRLOCK_DIGEST_SIZE);
    nd->size = d->size;
    nd->has_urls = d->has_urls;
    if ((d->media_type && !(nd->media_type = strdup(d->media_type))) ||
        core_dmap_put(&g->map, d->digest, g->n)) {
        free(nd->media_type);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    *out = g->n++;
    *fresh = 1;
    return 0;
}

static void node_bad(struct airlock_graph_node *nd, const char *why)
{
    nd->kind = AIRLOCK_NODE_BAD;
    free(nd->why);
    nd->why = strdup(why);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* A document lists a digest twice: one edge. Sorted and made unique once the document's kids
 * are all known (linear in references, whatever the repetition). */
static void kids_unique(struct airlock_graph_node *nd)
{
    if (nd->n_kids < 2)
        return;
    qsort(nd->kids, nd->n_kids, sizeof(*nd->kids), cmp_size);
    size_t n = 1;
    for (size_t i = 1; i < nd->n_kids; i++)
        if (nd->kids[i] != nd->kids[n - 1])
            nd->kids[n++] = nd->kids[i];
    nd->n_kids = n;
}

static int add_doc(struct airlock_graph *g, const struct airlock_descriptor *d, int depth,
                   size_t *out, struct airlock_error **err);

/* Reads node i as a manifest or index (it was reached where one must be). */
static int read_doc(struct airlock_graph *g, size_t i, int depth, struct airlock_error **err)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    char what[100];
    snprintf(what, sizeof(what), "manifest '%.80s'", g->nodes[i].digest);
    g->nodes[i].kind = AIRLOCK_NODE_BAD; /* until parsed; also guards against re-entry */
    g->nodes[i].cut_at = 0;
    if (depth > g->max_depth) {
        char why[160];
        g->nodes[i].cut_at = depth;
        snprintf(why, sizeof(why), "manifest '%s': indexes nested more than %d deep",
                 g->nodes[i].digest, g->max_depth);
        node_bad(&g->nodes[i], why);
        return 0;
    }
    int rc = g->read(g->ctx, g->nodes[i].digest, AIRLOCK_MAX_MANIFEST, &raw, &e);
    struct airlock_oci *m = NULL;
    if (!rc)
        rc = airlock_oci_parse(&m, raw.data, raw.len, what, &e);
    airlock_buf_release(&raw);
    if (rc) {
        if (rc == AIRLOCK_EOS) {
            if (err)
                *err = e;
            else
                airlock_error_free(e);
            return rc;
        }
        node_bad(&g->nodes[i], e && e->msg ? e->msg : what);
        airlock_error_free(e);
        return 0;
    }
    struct airlock_graph_node *nd = &g->nodes[i];
    nd->doc = m;
    free(nd->why); /* read again less deep than it was cut off */
    nd->why = NULL;
    if (m->media_type) { /* served as what it says it is */
        char *mt = strdup(m->media_type);
        if (!mt)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        free(nd->media_type);
        nd->media_type = mt;
    } else if (!nd->media_type ||
               (m->kind == AIRLOCK_OCI_INDEX ? !airlock_media_type_is_index(nd->media_type)
                                             : !airlock_media_type_is_manifest(nd->media_type))) {
        char *mt = strdup(m->kind == AIRLOCK_OCI_INDEX ? AIRLOCK_MT_OCI_INDEX
                                                       : AIRLOCK_MT_OCI_MANIFEST);
        if (!mt)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        free(nd->media_type);
        nd->media_type = mt;
    }
    size_t n = m->n_layers + (m->kind == AIRLOCK_OCI_MANIFEST), *kids = NULL;
    if (n && !(kids = malloc(n * sizeof(*kids))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    free(nd->kids);
    nd->kids = kids;
    nd->n_kids = 0;
    if (m->kind == AIRLOCK_OCI_MANIFEST) {
        /* config and layers are blobs: never read here, never pushed as manifests */
        for (size_t k = 0; k <= m->n_layers; k++) {
            const struct airlock_descriptor *c = k ? &m->layers[k - 1] : &m->config;
            size_t kid;
            int fresh;
            if ((rc = node_for(g, c, &kid, &fresh, err)))
                return rc;
            g->nodes[i].kids[g->nodes[i].n_kids++] = kid;
        }
        kids_unique(&g->nodes[i]);
        g->nodes[i].kind = AIRLOCK_NODE_MANIFEST;
        return 0;
    }
    g->nodes[i].kind = AIRLOCK_NODE_INDEX;
    for (size_t k = 0; k < m->n_layers; k++) {
        size_t kid;
        if ((rc = add_doc(g, &m->layers[k], depth + 1, &kid, err)))
            return rc;
        g->nodes[i].kids[g->nodes[i].n_kids++] = kid;
    }
    kids_unique(&g->nodes[i]);
    return 0;
}

/* A descriptor that must be a manifest or index: its node, read on first sight (or when it
 * was seen before only as some manifest's blob). */
static int add_doc(struct airlock_graph *g, const struct airlock_descriptor *d, int depth,
                   size_t *out, struct airlock_error **err)
{
    int fresh;
    int rc = node_for(g, d, out, &fresh, err);
    if (rc)
        return rc;
    struct airlock_graph_node *nd = &g->nodes[*out];
    /* read before, or being read (BAD until parsed); one cut off by the depth cap is read
     * again when it is reached less deep, so what it is does not depend on the walk's order */
    if (fresh || nd->kind == AIRLOCK_NODE_BLOB ||
        (nd->kind == AIRLOCK_NODE_BAD && nd->cut_at > depth))
        rc = read_doc(g, *out, depth, err);
    nd = &g->nodes[*out]; /* reading may have grown the node array */
    /* a descriptor typed otherwise than the document says it is: kept to be reported */
    if (!rc && nd->doc && nd->doc->media_type && d->media_type && !nd->declared_type &&
        strcmp(d->media_type, nd->doc->media_type) &&
        !(nd->declared_type = strdup(d->media_type)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return rc;
}

int airlock_graph_add(struct airlock_graph *g, const struct airlock_descriptor *d, size_t *node,
                      struct airlock_error **err)
{
    return add_doc(g, d, 0, node, err);
}

struct frame {
    size_t node, next;
};

int airlock_graph_postorder(struct airlock_graph *g, size_t root, airlock_graph_visit_fn fn,
                            void *ctx, struct airlock_error **err)
{
    if (root >= g->n)
        return 0;
    if (g->n_mark < g->n) { /* nodes added since the last walk: never seen */
        size_t *mark = realloc(g->mark, g->n * sizeof(*mark));
        if (!mark)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        memset(mark + g->n_mark, 0, (g->n - g->n_mark) * sizeof(*mark));
        g->mark = mark;
        g->n_mark = g->n;
    }
    size_t gen = ++g->gen;
    size_t sp = 0, cap = (size_t)g->max_depth + 4;
    struct frame *st = malloc(cap * sizeof(*st));
    if (!st)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = 0;
    g->mark[root] = gen;
    st[sp++] = (struct frame){root, 0};
    while (sp && !rc) {
        struct frame *f = &st[sp - 1];
        const struct airlock_graph_node *nd = &g->nodes[f->node];
        if (nd->kind == AIRLOCK_NODE_INDEX && f->next < nd->n_kids) {
            size_t kid = nd->kids[f->next++];
            if (g->mark[kid] == gen)
                continue;
            g->mark[kid] = gen;
            if (sp == cap) {
                struct frame *n = realloc(st, cap * 2 * sizeof(*n));
                if (!n) {
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                    break;
                }
                st = n;
                cap *= 2;
            }
            st[sp++] = (struct frame){kid, 0};
            continue;
        }
        sp--;
        rc = fn(ctx, f->node, err);
    }
    free(st);
    return rc;
}
