/* What a bundle serves: repositories, their tags and the digests each may hand out, and the
 * referrers the bundle carries, all built once before listening from what verification
 * admitted (airlock_bundle_verify_signatures: roles from content, the one manifest graph). */
#include "serve_int.h"
#include "airlock/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int site_json_str(struct airlock_buf *b, const char *s)
{
    int rc = airlock_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = airlock_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            rc = airlock_buf_printf(b, "\\u%04x", *p);
        else
            rc = airlock_buf_append(b, p, 1);
    }
    return rc ? rc : airlock_buf_append(b, "\"", 1);
}

/* Where an entry is served: the repository and tag `push HOST/PREFIX` gives it, through the
 * one mapping push uses (airlock_ref_destination: --map SRC=DST, else PREFIX/path, else
 * path); the host plays no part in a served name. */
static int name_of(const struct airlock_serve_opts *o, const char *ref, char **repo, char **tag,
                   struct airlock_error **err)
{
    if (!ref)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "no reference to serve it under");
    char *dest = NULL;
    if (asprintf(&dest, "serve.invalid/%s", o->prefix ? o->prefix : "") < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct airlock_ref d;
    int rc = airlock_ref_destination(&d, ref, dest, o->map, o->n_map, err);
    free(dest);
    if (rc)
        return rc == AIRLOCK_EOS ? rc : AIRLOCK_EUSAGE;
    *repo = strdup(d.path);
    *tag = d.tag ? strdup(d.tag) : NULL;
    int lost = !*repo || (d.tag && !*tag);
    airlock_ref_release(&d);
    if (lost) {
        free(*repo);
        free(*tag);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
}

static struct site_repo *repo_get(struct site *s, const char *name)
{
    for (size_t i = 0; i < s->n_repos; i++)
        if (!strcmp(s->repos[i].name, name))
            return &s->repos[i];
    struct site_repo *n = realloc(s->repos, (s->n_repos + 1) * sizeof(*n));
    if (!n)
        return NULL;
    s->repos = n;
    struct site_repo *r = &s->repos[s->n_repos];
    memset(r, 0, sizeof(*r));
    if (!(r->name = strdup(name)))
        return NULL;
    s->n_repos++;
    return r;
}

struct reach {
    struct site *s;
    struct site_repo *r;
};

static int reach_node(void *ctx, size_t node, struct airlock_error **err)
{
    struct reach *w = ctx;
    const struct airlock_graph_node *nd = airlock_graph_node(w->s->g, node);
    if (nd->kind == AIRLOCK_NODE_BAD)
        return 0;
    if (core_dmap_put(&w->r->nodes, nd->digest, node + 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t k = 0; nd->kind == AIRLOCK_NODE_MANIFEST && k < nd->n_kids; k++) {
        const struct airlock_graph_node *c = airlock_graph_node(w->s->g, nd->kids[k]);
        if (!c->has_urls && core_dmap_put(&w->r->nodes, c->digest, nd->kids[k] + 1))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
}

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(((const struct site_tag *)a)->tag, ((const struct site_tag *)b)->tag);
}

static int repo_cmp(const void *a, const void *b)
{
    return strcmp(((const struct site_repo *)a)->name, ((const struct site_repo *)b)->name);
}

/* The first integrity finding, and how many there are. */
static int integrity(struct airlock_bundle *b, const struct airlock_serve_opts *o,
                     struct airlock_error **err)
{
    struct airlock_verify_opts vo = AIRLOCK_VERIFY_OPTS_INIT;
    struct airlock_verify_report *r = NULL;
    vo.threads = o->verify_threads;
    int rc = airlock_bundle_verify(&r, b, &vo, err);
    if (rc)
        return rc;
    if (!r->ok)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "'%s' failed verification (%zu missing, %zu corrupt): %s; "
                               "nothing is served",
                               airlock_bundle_path(b), r->n_missing, r->n_corrupt,
                               r->n_problems ? r->problems[0] : "a blob is missing or corrupt");
    airlock_verify_report_free(r);
    return rc;
}

static int add_image(struct site *s, const struct airlock_sig_image *im, const char *name,
                     int served, const char *why)
{
    struct airlock_serve_image *n = realloc(s->images, (s->n_images + 1) * sizeof(*n));
    if (!n)
        return -1;
    s->images = n;
    struct airlock_serve_image *e = &s->images[s->n_images++];
    memset(e, 0, sizeof(*e));
    memcpy(e->digest, im->digest, AIRLOCK_DIGEST_SIZE);
    e->served = served;
    e->name = strdup(name ? name : im->ref ? im->ref : im->digest);
    e->why = why ? strdup(why) : NULL;
    return e->name && (!why || e->why) ? 0 : -1;
}

/* One admitted entry: its tag, every digest below it, and a referrers index by subject. */
static int serve_entry(struct site *s, const struct airlock_serve_opts *o,
                       const struct airlock_sig_image *im, struct airlock_error **err)
{
    char *repo = NULL, *tag = NULL, *shown = NULL;
    struct airlock_error *e = NULL;
    int nrc = name_of(o, im->ref, &repo, &tag, &e);
    if (nrc) {
        if (nrc == AIRLOCK_EOS) {
            if (err && !*err)
                *err = e;
            else
                airlock_error_free(e);
            return nrc;
        }
        airlock_error_free(e);
        if (im->role == AIRLOCK_ROLE_IMAGE &&
            add_image(s, im, NULL, 0, "it has no reference to serve it under"))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    int rc = 0;
    struct site_repo *r = repo_get(s, repo);
    if (!r)
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct reach w = {s, r};
    if (!rc)
        rc = airlock_graph_postorder((struct airlock_graph *)s->g, im->node, reach_node, &w, err);
    const struct airlock_graph_node *nd = airlock_graph_node(s->g, im->node);
    /* a referrer manifest is never tagged by push (it goes up by digest and into its
     * subject's referrers index), whatever name index.json gives it: under an image's tag it
     * would hand out an unsigned artifact for the signed image */
    if (im->role == AIRLOCK_ROLE_REFERRERS && nd->kind == AIRLOCK_NODE_MANIFEST) {
        free(tag);
        tag = NULL;
    }
    if (!rc && tag) {
        size_t i = 0;
        while (i < r->n_tags && strcmp(r->tags[i].tag, tag))
            i++;
        if (i < r->n_tags && im->role == AIRLOCK_ROLE_IMAGE) /* push tags images in */
            r->tags[i].node = im->node; /* index.json order: the last one is what stays */
        else if (i == r->n_tags) {
            struct site_tag *t = realloc(r->tags, (r->n_tags + 1) * sizeof(*t));
            if (!t)
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            else {
                r->tags = t;
                t[r->n_tags].tag = steal_pointer(&tag);
                t[r->n_tags++].node = im->node;
            }
        }
    }
    if (!rc && im->role == AIRLOCK_ROLE_REFERRERS &&
        (nd->kind == AIRLOCK_NODE_INDEX || nd->kind == AIRLOCK_NODE_MANIFEST) && im->subject[0]) {
        struct site_referrers *x = realloc(r->refs, (r->n_refs + 1) * sizeof(*x));
        if (!x)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else {
            r->refs = x;
            memcpy(x[r->n_refs].subject, im->subject, AIRLOCK_DIGEST_SIZE);
            x[r->n_refs++].node = im->node;
        }
    }
    if (!rc && im->role == AIRLOCK_ROLE_IMAGE) {
        const char *t = strrchr(im->ref, ':'), *sl = strrchr(im->ref, '/');
        int tagged = t && (!sl || t > sl);
        if (asprintf(&shown, "%s%s%s", repo, tagged ? ":" : "@", tagged ? t + 1 : im->digest) < 0)
            shown = NULL;
        if (!shown || add_image(s, im, shown, 1, NULL))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    free(shown);
    free(repo);
    free(tag);
    return rc;
}

/* 1 when attachment im's subject is served in the repository im is served in (*rc set on
 * running out of memory) */
static int subject_served(struct site *s, const struct airlock_serve_opts *o,
                          const struct airlock_sig_image *im, int *rc, struct airlock_error **err)
{
    char *repo = NULL, *tag = NULL;
    struct airlock_error *e = NULL;
    int nrc = name_of(o, im->ref, &repo, &tag, &e), yes = 0;
    if (nrc == AIRLOCK_EOS) {
        *rc = nrc;
        if (err && !*err)
            *err = steal_pointer(&e);
    }
    airlock_error_free(e);
    for (size_t i = 0; !nrc && i < s->n_repos && !yes; i++)
        yes = !strcmp(s->repos[i].name, repo) && im->subject[0] &&
              core_dmap_get(&s->repos[i].nodes, im->subject);
    free(repo);
    free(tag);
    return yes;
}

/* The policy judged at the served names: HOST/PREFIX/path, mapped as push maps. */
static int policy_check(struct airlock_policy_report **out, struct airlock_bundle *b,
                        const struct airlock_serve_opts *o, struct airlock_error **err)
{
    if (!o->policy_host || !*o->policy_host)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "a policy judges references with a registry host: name the "
                                 "one clients pull from");
    char *dest = NULL;
    if (asprintf(&dest, "%s/%s", o->policy_host, o->prefix ? o->prefix : "") < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct airlock_policy_check_opts pco = AIRLOCK_POLICY_CHECK_OPTS_INIT;
    pco.dest = dest;
    pco.map = o->map;
    pco.n_map = o->n_map;
    int rc = airlock_bundle_check_policy(out, b, o->policy, &pco, err);
    free(dest);
    return rc;
}

/* 1 with why (its first failing check) when the policy refuses image im, or never judged it
 * (an entry the policy check took for an attachment) */
static int policy_refusal(const struct airlock_policy_report *pr,
                          const struct airlock_sig_image *im, char *why, size_t cap)
{
    int judged = 0;
    for (size_t i = 0; pr && i < pr->n; i++) {
        const struct airlock_policy_target *t = &pr->targets[i];
        if (strcmp(t->digest, im->digest) || (t->image && im->ref && strcmp(t->image, im->ref)))
            continue;
        judged = 1;
        if (t->result.ok && !t->error)
            continue;
        const struct airlock_policy_check *c = NULL;
        for (size_t k = 0; k < t->result.n_checks && !c; k++)
            if (!t->result.checks[k].ok)
                c = &t->result.checks[k];
        snprintf(why, cap, "policy: %s%s%s: %s%s%s", t->ref ? t->ref : "?",
                 t->platform ? " platform " : "", t->platform ? t->platform : "",
                 t->error ? t->error : c && c->requirement ? c->requirement : "refused",
                 c && c->reason ? ": " : "", c && c->reason ? c->reason : "");
        return 1;
    }
    if (pr && !judged) {
        snprintf(why, cap, "policy: '%s' was not judged by the policy as an image",
                 im->ref ? im->ref : im->digest);
        return 1;
    }
    return 0;
}

/* A delta bundle leaves layers out (the destination holds them): served, its manifests would
 * name layers no client can pull. Refused before anything is verified or listened on. */
static int no_delta(struct airlock_bundle *b, struct airlock_error **err)
{
    struct airlock_delta *d = NULL;
    int rc = airlock_delta_load(&d, b, err);
    if (rc == AIRLOCK_ENOTFOUND)
        return 0;
    if (!rc && d->n)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' is a delta bundle: it leaves out %zu layer blob%s that the "
                               "destination holds (basis: %s %s), so its manifests cannot be "
                               "served whole; nothing is served (push it to that registry with "
                               "airlock push, or export a full bundle to serve)",
                               airlock_bundle_path(b), d->n, d->n == 1 ? "" : "s", d->basis_kind,
                               d->basis_digest);
    airlock_delta_free(d);
    return rc;
}

int site_build(struct site *s, struct airlock_bundle *b, const struct airlock_serve_opts *o,
               struct airlock_error **err)
{
    memset(s, 0, sizeof(*s));
    s->b = b;
    if (airlock_bundle_format(b) == AIRLOCK_FORMAT_TAR_ZST)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s' is a compressed bundle (%s), read only as a stream and "
                                 "never by offset as a registry serves blobs; make a .tar of it "
                                 "first: airlock import '%s' -o drop.tar",
                                 airlock_bundle_path(b), airlock_bundle_format_label(b),
                                 airlock_bundle_path(b));
    int rc = airlock_bundle_split_check_whole(b, err);
    if (rc || (rc = no_delta(b, err)) || (rc = integrity(b, o, err)))
        return rc;
    struct airlock_sig_check_opts none;
    memset(&none, 0, sizeof(none));
    none.allow_unsigned = 1;
    const struct airlock_sig_check_opts *so = o->sig && o->sig->key ? o->sig : &none;
    if ((rc = airlock_bundle_verify_signatures(&s->sr, b, so, err)))
        return rc;
    s->g = s->sr->graph;
    struct airlock_policy_report *pr = NULL;
    if (o->policy && (rc = policy_check(&pr, b, o, err)))
        return rc;
    /* images first; then attachments, each only where its subject is served (the signature
     * check admits them with their image, before the policy refuses that image) */
    for (size_t i = 0; i < s->sr->n_images && !rc; i++) {
        const struct airlock_sig_image *im = &s->sr->images[i];
        char refused[600];
        if (im->role != AIRLOCK_ROLE_IMAGE)
            continue;
        if (im->ok && policy_refusal(pr, im, refused, sizeof(refused))) {
            if (add_image(s, im, NULL, 0, refused))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        } else if (im->ok)
            rc = serve_entry(s, o, im, err);
        else if (im->role == AIRLOCK_ROLE_IMAGE) {
            char why[512];
            snprintf(why, sizeof(why), "%s%s%s",
                     im->has_signatures ? "no signature verified with the key"
                                        : "it is not signed",
                     im->n_failures ? ": " : "", im->n_failures ? im->failures[0] : "");
            if (add_image(s, im, NULL, 0, why))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    for (size_t i = 0; i < s->sr->n_images && !rc; i++) {
        const struct airlock_sig_image *im = &s->sr->images[i];
        if (im->role != AIRLOCK_ROLE_IMAGE && im->ok && subject_served(s, o, im, &rc, err))
            rc = serve_entry(s, o, im, err);
    }
    airlock_policy_report_free(pr);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->n_repos; i++) /* (qsort wants an array, even of none) */
        if (s->repos[i].n_tags)
            qsort(s->repos[i].tags, s->repos[i].n_tags, sizeof(struct site_tag), tag_cmp);
    if (s->n_repos)
        qsort(s->repos, s->n_repos, sizeof(*s->repos), repo_cmp);
    size_t served = 0;
    for (size_t i = 0; i < s->n_images; i++)
        served += s->images[i].served;
    if (!served)
        return airlock_error_set(err,
                                 (o->sig && o->sig->key) || o->policy ? AIRLOCK_ESIGNATURE
                                                                      : AIRLOCK_EUSAGE,
                                 "'%s': no image can be served%s", airlock_bundle_path(b),
                                 o->policy ? " (none passes the policy)"
                                 : o->sig && o->sig->key ? " (none has a signature that verifies "
                                                           "with the key)"
                                                         : "");
    return 0;
}

void site_release(struct site *s)
{
    for (size_t i = 0; i < s->n_repos; i++) {
        struct site_repo *r = &s->repos[i];
        for (size_t k = 0; k < r->n_tags; k++)
            free(r->tags[k].tag);
        free(r->tags);
        free(r->refs);
        core_dmap_release(&r->nodes);
        free(r->name);
    }
    free(s->repos);
    for (size_t i = 0; i < s->n_images; i++) {
        free(s->images[i].name);
        free(s->images[i].why);
    }
    free(s->images);
    airlock_sig_report_free(s->sr);
    memset(s, 0, sizeof(*s));
}

const struct site_repo *site_repo_find(const struct site *s, const char *name)
{
    size_t lo = 0, hi = s->n_repos;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->repos[mid].name, name);
        if (!c)
            return &s->repos[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t site_resolve(const struct site *s, const struct site_repo *r, const char *ref)
{
    (void)s;
    if (!strncmp(ref, "sha256:", 7)) {
        if (airlock_digest_check(ref, NULL))
            return SIZE_MAX;
        size_t *v = core_dmap_get(&r->nodes, ref);
        return v ? *v - 1 : SIZE_MAX;
    }
    for (size_t i = 0; i < r->n_tags; i++)
        if (!strcmp(r->tags[i].tag, ref))
            return r->tags[i].node;
    return SIZE_MAX;
}

static int descriptor_json(struct airlock_buf *o, const struct airlock_descriptor *d,
                           const char *artifact_type)
{
    int rc = airlock_buf_printf(o, "{\"mediaType\":");
    rc = rc ? rc : site_json_str(o, d->media_type ? d->media_type : AIRLOCK_MT_OCI_MANIFEST);
    rc = rc ? rc : airlock_buf_printf(o, ",\"digest\":\"%s\",\"size\":%llu", d->digest,
                                      (unsigned long long)d->size);
    if (!rc && artifact_type) {
        rc = airlock_buf_printf(o, ",\"artifactType\":");
        rc = rc ? rc : site_json_str(o, artifact_type);
    }
    if (!rc && d->n_annotations) {
        rc = airlock_buf_printf(o, ",\"annotations\":{");
        for (size_t i = 0; !rc && i < d->n_annotations; i++) {
            rc = airlock_buf_printf(o, "%s", i ? "," : "");
            rc = rc ? rc : site_json_str(o, d->annotations[i].key);
            rc = rc ? rc : airlock_buf_append(o, ":", 1);
            rc = rc ? rc : site_json_str(o, d->annotations[i].value);
        }
        rc = rc ? rc : airlock_buf_append(o, "}", 1);
    }
    return rc ? rc : airlock_buf_append(o, "}", 1);
}

int site_referrers(const struct site *s, const struct site_repo *r, const char *subject,
                   const char *artifact_type, struct airlock_buf *out,
                   struct airlock_error **err)
{
    struct core_dmap seen = {0};
    int rc = airlock_buf_printf(out, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[",
                                AIRLOCK_MT_OCI_INDEX);
    size_t n = 0;
    for (size_t i = 0; !rc && i < r->n_refs; i++) {
        if (strcmp(r->refs[i].subject, subject))
            continue;
        const struct airlock_graph_node *ix = airlock_graph_node(s->g, r->refs[i].node);
        /* a referrers index lists them; a referrer manifest listed itself is one */
        struct airlock_descriptor self;
        memset(&self, 0, sizeof(self));
        memcpy(self.digest, ix->digest, AIRLOCK_DIGEST_SIZE);
        self.size = ix->size;
        self.media_type = ix->media_type;
        if (ix->doc) {
            self.annotations = ix->doc->annotations;
            self.n_annotations = ix->doc->n_annotations;
        }
        int one = ix->kind == AIRLOCK_NODE_MANIFEST;
        for (size_t k = 0; !rc && ix->doc && k < (one ? 1 : ix->doc->n_layers); k++) {
            const struct airlock_descriptor *d = one ? &self : &ix->doc->layers[k];
            size_t node = airlock_graph_find(s->g, d->digest);
            const struct airlock_graph_node *m = node == SIZE_MAX ? NULL
                                                                  : airlock_graph_node(s->g, node);
            /* a referrer of this subject: its own subject says so (the index is only a list) */
            if (!m || m->kind != AIRLOCK_NODE_MANIFEST || !m->doc || !m->doc->subject ||
                strcmp(m->doc->subject->digest, subject) || core_dmap_get(&seen, d->digest))
                continue;
            const char *at = m->doc->artifact_type ? m->doc->artifact_type
                             : d->artifact_type    ? d->artifact_type
                                                   : m->doc->config.media_type;
            if (artifact_type && (!at || strcmp(at, artifact_type)))
                continue;
            if (core_dmap_put(&seen, d->digest, 1))
                rc = -1;
            else
                rc = airlock_buf_printf(out, "%s", n++ ? "," : "");
            rc = rc ? rc : descriptor_json(out, d, at);
        }
    }
    core_dmap_release(&seen);
    rc = rc ? rc : airlock_buf_printf(out, "]}");
    return rc ? airlock_error_set(err, AIRLOCK_EOS, "out of memory (referrers of '%s')", subject)
              : 0;
}

static int list_json(struct airlock_buf *out, const char *key, const char *const *names,
                     size_t count, size_t n, const char *last, const char **next)
{
    size_t i = 0, put = 0;
    *next = NULL;
    while (last && i < count && strcmp(names[i], last) <= 0)
        i++;
    int rc = airlock_buf_printf(out, "\"%s\":[", key);
    for (; !rc && i < count && put < n; i++, put++) {
        rc = airlock_buf_printf(out, "%s", put ? "," : "");
        rc = rc ? rc : site_json_str(out, names[i]);
    }
    if (put && i < count)
        *next = names[i - 1];
    return rc ? rc : airlock_buf_printf(out, "]}");
}

int site_tags_list(const struct site *s, const struct site_repo *r, size_t n, const char *last,
                   struct airlock_buf *out, const char **next)
{
    (void)s;
    const char **names = calloc(r->n_tags + 1, sizeof(*names));
    if (!names)
        return -1;
    for (size_t i = 0; i < r->n_tags; i++)
        names[i] = r->tags[i].tag;
    int rc = airlock_buf_printf(out, "{\"name\":");
    rc = rc ? rc : site_json_str(out, r->name);
    rc = rc ? rc : airlock_buf_printf(out, ",");
    rc = rc ? rc : list_json(out, "tags", names, r->n_tags, n, last, next);
    free(names);
    return rc;
}

int site_catalog(const struct site *s, size_t n, const char *last, struct airlock_buf *out,
                 const char **next)
{
    const char **names = calloc(s->n_repos + 1, sizeof(*names));
    if (!names)
        return -1;
    for (size_t i = 0; i < s->n_repos; i++)
        names[i] = s->repos[i].name;
    int rc = airlock_buf_printf(out, "{");
    rc = rc ? rc : list_json(out, "repositories", names, s->n_repos, n, last, next);
    free(names);
    return rc;
}
