/* A containers/image policy.json evaluated for every image of a bundle, and every platform
 * manifest of its indexes, at the reference each will have at its destination: what podman
 * and CRI-O will check there, checked before anything is pushed. */
#include "layout_int.h"
#include "airlock/policy.h"
#include "airlock/sign.h"

#include <stdio.h>
#include <string.h>

#define MAX_SIGS_PER_DIGEST 256
#define MAX_PAYLOAD (64u << 10)

void airlock_policy_report_free(struct airlock_policy_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct airlock_policy_target *t = &r->targets[i];
        free(t->image);
        free(t->platform);
        free(t->ref);
        free(t->error);
        airlock_policy_result_release(&t->result);
    }
    free(r->targets);
    free(r);
}

struct pcheck {
    struct airlock_bundle *b;
    struct airlock_catalog *cat;
    char **repos;             /* per entry: its repository in the bundle, or NULL */
    struct core_dmap sig_head; /* pair key (repository, subject) -> first .sig entry, plus one */
    size_t *sig_next;
    const char *repo;         /* the image being checked */
    /* the signatures of each (repository, digest) asked for, read once: every .sig entry
     * belongs to one such pair, so all lookups together read each entry once */
    struct core_dmap memo;    /* pair key -> index in sets, plus one */
    struct sigset *sets;
    size_t n_sets;
    struct airlock_policy_sig *v; /* the set being filled */
    size_t n;
    char **owned;             /* payloads and signatures held for the sets */
    size_t n_owned;
    struct core_dmap seen;    /* the image being checked: manifests and indexes visited */
    struct airlock_policy_report *r;
};

struct sigset {
    struct airlock_policy_sig *v;
    size_t n;
};

static void drop_cache(struct pcheck *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    for (size_t i = 0; i < c->n_sets; i++)
        free(c->sets[i].v);
    free(c->sets);
    free(c->v);
    core_dmap_release(&c->memo);
    core_dmap_release(&c->seen);
}

static int own(struct pcheck *c, char *p)
{
    char **o = realloc(c->owned, (c->n_owned + 1) * sizeof(*o));
    if (!o) {
        free(p);
        return -1;
    }
    c->owned = o;
    o[c->n_owned++] = p;
    return 0;
}

/* The simple-signing layers of one .sig manifest, as containers/image reads them: only an OCI
 * image manifest, only layers of the simple-signing media type. */
static int add_sig_manifest(struct pcheck *c, const char *digest, struct airlock_error **err)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *m = NULL;
    int rc = 0;
    if (airlock_bundle_blob_read(c->b, digest, AIRLOCK_MAX_MANIFEST, &raw, NULL) ||
        airlock_oci_parse(&m, raw.data, raw.len, "signature manifest", NULL) ||
        (m->media_type && strcmp(m->media_type, AIRLOCK_MT_OCI_MANIFEST))) {
        airlock_oci_free(m);
        airlock_buf_release(&raw);
        return 0; /* not one containers/image would read */
    }
    for (size_t l = 0; l < m->n_layers && !rc && c->n < MAX_SIGS_PER_DIGEST; l++) {
        const struct airlock_descriptor *d = &m->layers[l];
        if (!d->media_type || strcmp(d->media_type, AIRLOCK_MT_SIMPLESIGNING))
            continue;
        struct airlock_buf payload = AIRLOCK_BUF_INIT(0);
        /* unreadable: a candidate that fails saying so, not "no signature" */
        int unreadable = d->size > MAX_PAYLOAD ||
                         airlock_bundle_blob_read(c->b, d->digest, MAX_PAYLOAD, &payload, NULL) ||
                         !payload.len;
        const char *sig = airlock_annotation_get(d->annotations, d->n_annotations,
                                                 AIRLOCK_ANN_SIGNATURE);
        size_t len = unreadable ? 0 : payload.len;
        char *p = unreadable ? NULL : airlock_buf_detach(&payload, NULL);
        char *s = sig ? strdup(sig) : NULL;
        airlock_buf_release(&payload);
        struct airlock_policy_sig *v = realloc(c->v, (c->n + 1) * sizeof(*v));
        if (!v || (!unreadable && !p) || (sig && !s)) {
            if (v)
                c->v = v;
            free(p);
            free(s);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        c->v = v;
        if (p && own(c, p)) { /* own frees what it cannot keep */
            free(s);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        if (s && own(c, s)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        v[c->n].payload = p;
        v[c->n].payload_len = len;
        v[c->n].signature = s;
        c->n++;
    }
    airlock_oci_free(m);
    airlock_buf_release(&raw);
    return rc;
}

/* airlock_policy_sigs_fn: the .sig layers for digest in the image's repository */
static int sigs_for(void *ctx, const char *digest, const struct airlock_policy_sig **out,
                    size_t *n, struct airlock_error **err)
{
    struct pcheck *c = ctx;
    char key[AIRLOCK_DIGEST_SIZE];
    *out = NULL;
    *n = 0;
    if (!c->repo)
        return 0;
    if (layout_pair_key(key, c->repo, digest))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t *m = core_dmap_get(&c->memo, key);
    if (!m) {
        struct sigset *sets = realloc(c->sets, (c->n_sets + 1) * sizeof(*sets));
        if (!sets)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        c->sets = sets;
        c->v = NULL;
        c->n = 0;
        size_t *h = core_dmap_get(&c->sig_head, key);
        for (size_t k = h ? *h - 1 : SIZE_MAX; k != SIZE_MAX && c->n < MAX_SIGS_PER_DIGEST;
             k = c->sig_next[k]) {
            int rc = add_sig_manifest(c, c->cat->entries[k].desc.digest, err);
            if (rc)
                return rc; /* c->v is freed with the checker */
        }
        sets[c->n_sets].v = steal_pointer(&c->v);
        sets[c->n_sets].n = c->n;
        if (core_dmap_put(&c->memo, key, c->n_sets + 1)) {
            free(sets[c->n_sets].v);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        m = core_dmap_get(&c->memo, key);
        c->n_sets++;
    }
    *out = c->sets[*m - 1].v;
    *n = c->sets[*m - 1].n;
    return 0;
}

static struct airlock_policy_target *new_target(struct pcheck *c, const struct airlock_entry *e,
                                                const char *platform, const char *manifest,
                                                struct airlock_error **err)
{
    struct airlock_policy_target *t =
        realloc(c->r->targets, (c->r->n + 1) * sizeof(*c->r->targets));
    if (!t) {
        airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        return NULL;
    }
    c->r->targets = t;
    t = &t[c->r->n];
    memset(t, 0, sizeof(*t));
    memcpy(t->digest, e->desc.digest, AIRLOCK_DIGEST_SIZE);
    memcpy(t->manifest, manifest, AIRLOCK_DIGEST_SIZE);
    if ((e->ref && !(t->image = strdup(e->ref))) ||
        (platform && !(t->platform = strdup(platform)))) {
        free(t->image);
        airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        return NULL;
    }
    c->r->n++;
    return t;
}

/* One manifest of an image, pulled by tag (when the image has one) and by digest. */
static int check_manifest(struct pcheck *c, const struct airlock_policy *p,
                          const struct airlock_entry *e, const struct airlock_ref *dst,
                          const char *platform, const char *manifest, struct airlock_error **err)
{
    for (int by_digest = dst->tag ? 0 : 1; by_digest < 2; by_digest++) {
        struct airlock_policy_target *t = new_target(c, e, platform, manifest, err);
        if (!t)
            return AIRLOCK_EOS;
        t->by_digest = by_digest;
        if (asprintf(&t->ref, "%s/%s%s%s", dst->domain, dst->path, by_digest ? "@" : ":",
                     by_digest ? manifest : dst->tag) < 0) {
            t->ref = NULL;
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        struct airlock_error *pe = NULL;
        int rc = airlock_policy_evaluate(&t->result, p, t->ref, manifest, sigs_for, c, &pe);
        if (rc == AIRLOCK_EOS) {
            if (err && !*err)
                *err = pe;
            else
                airlock_error_free(pe);
            return rc;
        }
        if (rc) {
            t->error = strdup(pe && pe->msg ? pe->msg : "cannot be checked");
            airlock_error_free(pe);
        }
        c->r->ok &= !rc && t->result.ok;
    }
    return 0;
}

/* The platform manifests below an index node (nested indexes walked; buildx attestation
 * manifests, platform unknown/unknown, are no platform a runtime pulls). */
static int check_platforms(struct pcheck *c, const struct airlock_policy *p,
                           const struct airlock_entry *e, const struct airlock_ref *dst,
                           size_t node, int depth, struct airlock_error **err)
{
    struct airlock_graph *g = c->cat->graph;
    const struct airlock_graph_node *nd = airlock_graph_node(g, node);
    if (nd->kind != AIRLOCK_NODE_INDEX || !nd->doc || depth > AIRLOCK_GRAPH_DEPTH_CAP)
        return 0;
    for (size_t i = 0; i < nd->doc->n_layers; i++) {
        const struct airlock_descriptor *d = &nd->doc->layers[i];
        if (d->platform_os && !strcmp(d->platform_os, "unknown"))
            continue;
        /* each manifest and index once per image, however often its indexes list it */
        if (core_dmap_get(&c->seen, d->digest))
            continue;
        if (core_dmap_put(&c->seen, d->digest, 1))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        size_t k = airlock_graph_find(g, d->digest);
        const struct airlock_graph_node *kn = k == SIZE_MAX ? NULL : airlock_graph_node(g, k);
        if (kn && kn->kind == AIRLOCK_NODE_INDEX) {
            int rc = check_platforms(c, p, e, dst, k, depth + 1, err);
            if (rc)
                return rc;
            continue;
        }
        char plat[200];
        if (d->platform_os && d->platform_arch)
            snprintf(plat, sizeof(plat), "%s/%s%s%s", d->platform_os, d->platform_arch,
                     d->platform_variant ? "/" : "",
                     d->platform_variant ? d->platform_variant : "");
        else
            snprintf(plat, sizeof(plat), "%s", d->digest);
        int rc = check_manifest(c, p, e, dst, plat, d->digest, err);
        if (rc)
            return rc;
    }
    return 0;
}

struct reach {
    struct pcheck *c;
    const char *repo;
    struct core_dmap *held; /* pair keys: the manifests images of a repository reach */
};

static int reach_node(void *ctx, size_t node, struct airlock_error **err)
{
    struct reach *w = ctx;
    char key[AIRLOCK_DIGEST_SIZE];
    if (layout_pair_key(key, w->repo, airlock_graph_node(w->c->cat->graph, node)->digest) ||
        core_dmap_put(w->held, key, 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* An entry the policy judges as an image: an image by content, and an attachment of nothing
 * an image of its repository holds, which the signature check takes as an image of its own
 * (and push, verify and serve then handle as one) */
static int judged_as_image(const struct pcheck *c, const struct core_dmap *held, size_t i)
{
    const struct airlock_entry *e = &c->cat->entries[i];
    char key[AIRLOCK_DIGEST_SIZE];
    if (e->role == AIRLOCK_ROLE_IMAGE || !c->repos[i] || !e->subject[0])
        return 1;
    return layout_pair_key(key, c->repos[i], e->subject) || !core_dmap_get(held, key);
}

int airlock_bundle_check_policy(struct airlock_policy_report **out, struct airlock_bundle *b,
                                const struct airlock_policy *p,
                                const struct airlock_policy_check_opts *o,
                                struct airlock_error **err)
{
    struct pcheck c;
    struct core_dmap held;
    memset(&c, 0, sizeof(c));
    memset(&held, 0, sizeof(held));
    c.b = b;
    int rc = airlock_catalog_load(&c.cat, b, err);
    if (rc)
        return rc;
    c.r = calloc(1, sizeof(*c.r));
    c.repos = calloc(c.cat->n + 1, sizeof(*c.repos));
    c.sig_next = calloc(c.cat->n + 1, sizeof(*c.sig_next));
    if (!c.r || !c.repos || !c.sig_next) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    c.r->ok = 1;
    /* one pass: the .sig entries chained by (repository, subject) */
    for (size_t i = c.cat->n; i-- > 0;) {
        const struct airlock_entry *e = &c.cat->entries[i];
        c.repos[i] = layout_repo_of(e->ref);
        c.sig_next[i] = SIZE_MAX;
        char key[AIRLOCK_DIGEST_SIZE];
        if (e->role != AIRLOCK_ROLE_SIGNATURE || !c.repos[i] || !e->subject[0])
            continue;
        if (layout_pair_key(key, c.repos[i], e->subject)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        size_t *h = core_dmap_get(&c.sig_head, key);
        c.sig_next[i] = h ? *h - 1 : SIZE_MAX;
        if (core_dmap_put(&c.sig_head, key, i + 1)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < c.cat->n && !rc; i++) {
        struct reach w = {&c, c.repos[i], &held};
        if (c.cat->entries[i].role == AIRLOCK_ROLE_IMAGE && c.repos[i])
            rc = airlock_graph_postorder(c.cat->graph, c.cat->entries[i].node, reach_node, &w,
                                         err);
    }
    for (size_t i = 0; i < c.cat->n && !rc; i++) {
        const struct airlock_entry *e = &c.cat->entries[i];
        if (!judged_as_image(&c, &held, i))
            continue;
        struct airlock_ref dst;
        struct airlock_error *de = NULL;
        int drc = !e->ref ? airlock_error_set(&de, AIRLOCK_EUSAGE,
                                              "the bundle gives it no reference: no destination "
                                              "to check it at")
                  : o && o->dest ? airlock_ref_destination(&dst, e->ref, o->dest, o->map,
                                                           o->n_map, &de)
                                 : airlock_ref_parse(&dst, e->ref, &de);
        if (drc) {
            struct airlock_policy_target *t = new_target(&c, e, NULL, e->desc.digest, err);
            if (!t || !(t->error = strdup(de && de->msg ? de->msg : "no destination"))) {
                airlock_error_free(de);
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            airlock_error_free(de);
            c.r->ok = 0;
            continue;
        }
        /* a digest-only reference is pulled by its digest */
        free(dst.digest);
        dst.digest = NULL;
        c.repo = c.repos[i];
        core_dmap_release(&c.seen);
        memset(&c.seen, 0, sizeof(c.seen));
        rc = core_dmap_put(&c.seen, e->desc.digest, 1)
                 ? airlock_error_set(err, AIRLOCK_EOS, "out of memory")
                 : check_manifest(&c, p, e, &dst, NULL, e->desc.digest, err);
        if (!rc)
            rc = check_platforms(&c, p, e, &dst, e->node, 0, err);
        airlock_ref_release(&dst);
    }
out:
    core_dmap_release(&held);
    drop_cache(&c);
    for (size_t i = 0; c.repos && i < c.cat->n; i++)
        free(c.repos[i]);
    free(c.repos);
    free(c.sig_next);
    core_dmap_release(&c.sig_head);
    airlock_catalog_free(c.cat);
    if (rc) {
        airlock_policy_report_free(c.r);
        return rc;
    }
    *out = c.r;
    return 0;
}

/* What failed, for a message: the requirement and its reason. */
static void first_failure(const struct airlock_policy_target *t, const char **req,
                          const char **why)
{
    *req = "(none)";
    *why = t->error ? t->error : "failed";
    for (size_t k = 0; !t->error && k < t->result.n_checks; k++)
        if (!t->result.checks[k].ok) {
            *req = t->result.checks[k].requirement;
            *why = t->result.checks[k].reason;
            return;
        }
}

int airlock_policy_report_error(const struct airlock_policy_report *r, struct airlock_error **err)
{
    for (size_t i = 0; r && i < r->n; i++) {
        const struct airlock_policy_target *t = &r->targets[i];
        if (!t->error && t->result.ok)
            continue;
        const char *req, *why;
        first_failure(t, &req, &why);
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "policy: image '%s'%s%s%s pulled as '%s' (scope %s): requirement "
                                 "%s: %s",
                                 t->image ? t->image : t->digest, t->platform ? " platform '" : "",
                                 t->platform ? t->platform : "", t->platform ? "'" : "",
                                 t->ref ? t->ref : "?", t->result.scope ? t->result.scope : "-",
                                 req, why);
    }
    return 0;
}
