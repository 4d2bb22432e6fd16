/* Checking the signatures that travel in a bundle, as `cosign verify --key` does, and with
 * an identity as containers/image does (FORMATS.md section 3). */
#include "layout_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

void airlock_sig_image_release(struct airlock_sig_image *im)
{
    free(im->ref);
    free(im->needed);
    free(im->identity_failure);
    free(im->platform);
    for (size_t k = 0; k < im->n_platforms; k++)
        airlock_sig_image_release(&im->platforms[k]);
    free(im->platforms);
    for (size_t k = 0; k < im->n_sigs; k++) {
        free(im->sigs[k].identity);
        for (size_t a = 0; a < im->sigs[k].n_optional; a++) {
            free(im->sigs[k].optional[a].key);
            free(im->sigs[k].optional[a].value);
        }
        free(im->sigs[k].optional);
        free(im->sigs[k].predicate_type);
        free(im->sigs[k].payload);
    }
    free(im->sigs);
    for (size_t k = 0; k < im->n_failures; k++)
        free(im->failures[k]);
    free(im->failures);
    for (size_t k = 0; k < im->n_atts; k++) {
        free(im->atts[k].predicate_type);
        free(im->atts[k].why);
        free(im->atts[k].statement);
        free(im->atts[k].created);
    }
    free(im->atts);
    free(im->att_failure);
    memset(im, 0, sizeof(*im));
}

void airlock_sig_report_free(struct airlock_sig_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_images; i++)
        airlock_sig_image_release(&r->images[i]);
    free(r->images);
    airlock_graph_free(r->graph);
    free(r);
}

void airlock_sig_image_fail(struct airlock_sig_image *im, const char *fmt, ...)
{
    char **f = realloc(im->failures, (im->n_failures + 1) * sizeof(*f));
    if (!f)
        return;
    im->failures = f;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&f[im->n_failures], fmt, ap) >= 0)
        im->n_failures++;
    va_end(ap);
}

/* One layer of a .sig manifest: signature over the stored payload bytes, then the claims. */
static void check_layer(struct airlock_sig_image *im, airlock_blob_read_fn read, void *rctx,
                        const struct airlock_descriptor *l, const struct airlock_sig_check_opts *o)
{
    const char *sig = airlock_annotation_get(l->annotations, l->n_annotations, AIRLOCK_ANN_SIGNATURE);
    if (!sig) {
        airlock_sig_image_fail(im, "layer '%s': no %s annotation", l->digest, AIRLOCK_ANN_SIGNATURE);
        return;
    }
    struct airlock_buf payload = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    if (read(rctx, l->digest, AIRLOCK_MAX_MANIFEST, &payload, &e)) {
        airlock_sig_image_fail(im, "payload '%s': %s", l->digest, e ? e->msg : "unreadable");
        airlock_error_free(e);
        return;
    }
    struct airlock_sig_payload p;
    struct airlock_sig_found *s;
    memset(&p, 0, sizeof(p));
    if (airlock_pubkey_verify(o->key, payload.data, payload.len, sig, &e)) {
        airlock_sig_image_fail(im, "layer '%s': %s", l->digest, e ? e->msg : "invalid signature");
        goto out;
    }
    if (airlock_sig_payload_parse(&p, payload.data, payload.len, o->identity != NULL, &e)) {
        airlock_sig_image_fail(im, "layer '%s': %s", l->digest, e ? e->msg : "invalid payload");
        goto out;
    }
    if (strcmp(p.digest, im->digest)) {
        airlock_sig_image_fail(im, "layer '%s': signs '%s', not this image", l->digest, p.digest);
        goto out;
    }
    if (o->identity && !airlock_identity_matches(p.identity, o->identity)) {
        airlock_sig_image_fail(im, "layer '%s': identity '%s' does not match '%s'", l->digest,
             p.identity ? p.identity : "", o->identity);
        goto out;
    }
    for (size_t i = 0; i < o->n_annotations; i++) {
        const char *v = airlock_annotation_get(p.optional, p.n_optional, o->annotations[i].key);
        if (!v || strcmp(v, o->annotations[i].value)) {
            airlock_sig_image_fail(im, "layer '%s': annotation %s=%s not signed (has %s)", l->digest,
                 o->annotations[i].key, o->annotations[i].value, v ? v : "none");
            goto out;
        }
    }
    s = realloc(im->sigs, (im->n_sigs + 1) * sizeof(*s));
    if (s) {
        im->sigs = s;
        s[im->n_sigs].identity = steal_pointer(&p.identity);
        s[im->n_sigs].optional = steal_pointer(&p.optional);
        s[im->n_sigs].n_optional = p.n_optional;
        s[im->n_sigs].format = AIRLOCK_SIG_FORMAT_SIMPLESIGNING;
        s[im->n_sigs].predicate_type = NULL;
        s[im->n_sigs].unlisted = 0;
        s[im->n_sigs].payload_len = payload.len;
        s[im->n_sigs].payload = airlock_buf_detach(&payload, NULL);
        p.n_optional = 0;
        im->n_sigs++;
    }
out:
    airlock_error_free(e);
    airlock_sig_payload_release(&p);
    airlock_buf_release(&payload);
}

void airlock_sig_check_manifest(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o)
{
    struct airlock_oci *m = NULL;
    struct airlock_error *le = NULL;
    if (airlock_oci_parse(&m, raw, len, "signature manifest", &le)) {
        airlock_sig_image_fail(im, "signature manifest '%s': %s", what, le ? le->msg : "unreadable");
    } else if (m->media_type && strcmp(m->media_type, AIRLOCK_MT_OCI_MANIFEST) &&
               strcmp(m->media_type, AIRLOCK_MT_DOCKER_MANIFEST)) {
        airlock_sig_image_fail(im, "signature manifest '%s': media type '%s' (containers/image wants an OCI "
                 "manifest)",
             what, m->media_type);
    } else if (m->media_type && o->identity &&
               !strcmp(m->media_type, AIRLOCK_MT_DOCKER_MANIFEST)) {
        /* cosign (COSIGN_DOCKER_MEDIA_TYPES=1) writes these and verifies them; the identity
         * is what containers/image checks, and it never reads them */
        airlock_sig_image_fail(im, "signature manifest '%s': media type '%s': containers/image "
                                   "reads only OCI signature manifests, so not with identity '%s'",
                               what, m->media_type, o->identity);
    } else {
        for (size_t l = 0; l < m->n_layers; l++)
            check_layer(im, read, rctx, &m->layers[l], o);
    }
    im->has_signatures = 1;
    airlock_error_free(le);
    airlock_oci_free(m);
}

static int is_bundle_type(const char *mt)
{
    return mt && !strncmp(mt, AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX,
                          strlen(AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX));
}

/* The referrer's one bundle layer, verified as cosign 3 verify --key does. */
static void check_bundle_layer(struct airlock_sig_image *im, airlock_blob_read_fn read,
                               void *rctx, const char *what, const struct airlock_descriptor *l,
                               const struct airlock_sig_check_opts *o)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    struct airlock_sigstore_claim c;
    struct airlock_sig_found *s;
    char label[200];
    memset(&c, 0, sizeof(c));
    snprintf(label, sizeof(label), "sigstore bundle '%s'", l->digest);
    int had = im->has_signatures;
    im->has_signatures = 1; /* unless it turns out keyless (below) */
    if (l->size > AIRLOCK_MAX_SIGSTORE_BUNDLE) {
        airlock_sig_image_fail(im, "referrer '%s': %s: %llu bytes (at most %u)", what, label,
                               (unsigned long long)l->size, AIRLOCK_MAX_SIGSTORE_BUNDLE);
        goto out;
    }
    if (read(rctx, l->digest, AIRLOCK_MAX_SIGSTORE_BUNDLE, &raw, &e)) {
        airlock_sig_image_fail(im, "referrer '%s': %s: %s", what, label,
                               e ? e->msg : "unreadable");
        goto out;
    }
    if (airlock_sigstore_verify(&c, raw.data, raw.len, o->key, im->digest, label, &e)) {
        airlock_sig_image_fail(im, "referrer '%s': %s", what, e ? e->msg : "does not verify");
        /* keyless and messageSignature bundles are reported, but are no key signature that
         * failed: --allow-unsigned still admits an image that has only those */
        if (c.not_for_keys)
            im->has_signatures = had;
        goto out;
    }
    for (size_t i = 0; i < o->n_annotations; i++) {
        const char *v = airlock_annotation_get(c.annotations, c.n_annotations,
                                               o->annotations[i].key);
        if (!v || strcmp(v, o->annotations[i].value)) {
            airlock_sig_image_fail(im, "referrer '%s': annotation %s=%s not signed (has %s)",
                                   what, o->annotations[i].key, o->annotations[i].value,
                                   v ? v : "none");
            goto out;
        }
    }
    if (o->identity) {
        /* a statement names no docker-reference: nothing containers/image could match */
        airlock_sig_image_fail(im, "referrer '%s': a sigstore bundle names no "
                                   "docker-reference to match '%s'",
                               what, o->identity);
        goto out;
    }
    s = realloc(im->sigs, (im->n_sigs + 1) * sizeof(*s));
    if (s) {
        im->sigs = s;
        s[im->n_sigs].identity = NULL;
        s[im->n_sigs].optional = steal_pointer(&c.annotations);
        s[im->n_sigs].n_optional = c.n_annotations;
        c.n_annotations = 0;
        s[im->n_sigs].format = AIRLOCK_SIG_FORMAT_BUNDLE;
        s[im->n_sigs].predicate_type = steal_pointer(&c.predicate_type);
        s[im->n_sigs].unlisted = 0;
        s[im->n_sigs].payload = NULL;
        s[im->n_sigs].payload_len = 0;
        im->n_sigs++;
    }
out:
    airlock_sigstore_claim_release(&c);
    airlock_error_free(e);
    airlock_buf_release(&raw);
}

int airlock_sig_check_referrer(struct airlock_sig_image *im, const char *raw, size_t len,
                               const char *what, airlock_blob_read_fn read, void *rctx,
                               const struct airlock_sig_check_opts *o)
{
    struct airlock_oci *m = NULL;
    if (airlock_oci_parse(&m, raw, len, "referrer manifest", NULL) ||
        m->kind != AIRLOCK_OCI_MANIFEST) {
        airlock_oci_free(m);
        return 0; /* not ours to judge: the integrity check reports malformed manifests */
    }
    size_t bundles = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        bundles += is_bundle_type(m->layers[l].media_type);
    if (!bundles) {
        airlock_oci_free(m);
        return 0;
    }
    if (m->n_layers != 1 || !m->subject || strcmp(m->subject->digest, im->digest))
        im->has_signatures = 1;
    if (m->n_layers != 1)
        airlock_sig_image_fail(im, "referrer '%s': %zu layers (a sigstore bundle referrer has "
                                   "exactly one)",
                               what, m->n_layers);
    else if (!m->subject || strcmp(m->subject->digest, im->digest))
        airlock_sig_image_fail(im, "referrer '%s': its subject is '%s', not this image", what,
                               m->subject ? m->subject->digest : "(none)");
    else
        check_bundle_layer(im, read, rctx, what, &m->layers[0], o);
    airlock_oci_free(m);
    return 1;
}

static int bundle_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                       struct airlock_error **err)
{
    return airlock_bundle_blob_read(ctx, digest, max, out, err);
}

/* Signatures count for an image only in its own repository, as in a registry, where cosign
 * looks for REPO:sha256-<hex>.sig next to the image. NULL: unnamed or not a reference. */
struct trust {
    struct airlock_bundle *b;
    struct airlock_graph *g;
    struct airlock_sig_report *r;
    char **repos;
    struct core_dmap admitted; /* pair keys of the manifests that may go up as images' */
    const char *repo;          /* the image being admitted */
    struct bare_referrer *bare; /* referrer manifests in blobs/ that index.json does not list */
    size_t n_bare;
    struct kept_blob *kept;     /* streamed bundles: the small unlisted blobs, read in one pass */
    size_t n_kept, kept_bytes;
    struct core_dmap kept_at;   /* digest -> index in kept, plus one */
    /* what is attached to a digest, found without a scan per image: entries (attachments by
     * content) and bare referrers chained by subject (heads: index plus one) */
    struct core_dmap att_head, bare_head;
    size_t *att_next, *bare_next;
};

struct kept_blob {
    char digest[AIRLOCK_DIGEST_SIZE];
    char *data;
    size_t len;
};

/* A referrer manifest found by scanning blobs/ (cosign save leaves them unlisted): it counts
 * for its subject's signatures, as cosign 3 verify --local-image counts it, but is never
 * admitted itself (push sends only what index.json lists). */
struct bare_referrer {
    char digest[AIRLOCK_DIGEST_SIZE];
    char subject[AIRLOCK_DIGEST_SIZE];
};

#define BARE_REFERRER_MAX LAYOUT_BARE_REFERRER_MAX
#define BARE_REFERRER_MIN LAYOUT_BARE_REFERRER_MIN
#define KEPT_MAX (8u << 20)      /* streamed: at most this much unlisted small JSON is kept */

/* A blob for the checks: from the bundle, or (streamed bundles) from what the pass kept. */
static int trust_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                      struct airlock_error **err)
{
    struct trust *t = ctx;
    size_t *at = core_dmap_get(&t->kept_at, digest);
    if (at) {
        const struct kept_blob *k = &t->kept[*at - 1];
        struct airlock_buf b = AIRLOCK_BUF_INIT(max);
        if (airlock_buf_append(&b, k->data, k->len)) {
            airlock_buf_release(&b);
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s' is larger than %zu bytes",
                                     digest, max);
        }
        *out = b;
        return 0;
    }
    return airlock_bundle_blob_read(t->b, digest, max, out, err);
}

static int small_unlisted(const struct trust *t, const char *digest, uint64_t size)
{
    return size >= BARE_REFERRER_MIN && size <= BARE_REFERRER_MAX &&
           airlock_graph_find(t->g, digest) == SIZE_MAX;
}

static int keep_want(void *ctx, const char *digest, uint64_t size)
{
    struct trust *t = ctx;
    if (!small_unlisted(t, digest, size) || t->kept_bytes + size > KEPT_MAX)
        return 0;
    struct airlock_buf probe = AIRLOCK_BUF_INIT(0);
    int readable = !airlock_bundle_blob_read(t->b, digest, BARE_REFERRER_MAX, &probe, NULL);
    airlock_buf_release(&probe);
    return !readable; /* what the bundle kept needs no copy */
}

static int keep_take(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                     void *rctx, struct airlock_error **err)
{
    struct trust *t = ctx;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    int rc = layout_stream_small(read, rctx, digest, size, KEPT_MAX, &raw, err);
    if (rc || !raw.data || raw.data[0] != '{') { /* not JSON, or not what its name says: of no use */
        airlock_buf_release(&raw);
        return rc < 0 ? rc : 0;
    }
    size_t len = raw.len;
    char *data = airlock_buf_detach(&raw, NULL);
    struct kept_blob *k = realloc(t->kept, (t->n_kept + 1) * sizeof(*k));
    if (!k || core_dmap_put(&t->kept_at, digest, t->n_kept + 1)) {
        if (k)
            t->kept = k;
        free(data);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    t->kept = k;
    memcpy(k[t->n_kept].digest, digest, AIRLOCK_DIGEST_SIZE);
    k[t->n_kept].data = data;
    k[t->n_kept].len = len;
    t->n_kept++;
    t->kept_bytes += len;
    return 0;
}

/* Once for all images: small blobs that are no node of the graph (not listed, not a config or
 * layer of anything listed) and parse as a referrer (layout_bare_referrer_parse, the one
 * judgement import uses too) with a sigstore bundle layer. A streamed bundle can read only
 * the JSON blobs it kept: the others are skipped. */
static int scan_bare_referrers(struct trust *t, struct airlock_error **err)
{
    size_t n = airlock_bundle_blob_count(t->b);
    /* a streamed bundle dropped the JSON nothing listed references: one more pass reads the
     * small unlisted blobs (only when there are some) */
    int streamed = airlock_bundle_format(t->b) == AIRLOCK_FORMAT_TAR_ZST, need = 0;
    for (size_t i = 0; streamed && !need && i < n; i++) {
        uint64_t size = 0;
        const char *dg = airlock_bundle_blob_digest(t->b, i, &size);
        need = dg && keep_want(t, dg, size);
    }
    if (need) {
        int rc = airlock_bundle_blob_stream(t->b, keep_want, keep_take, t, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t size = 0;
        const char *dg = airlock_bundle_blob_digest(t->b, i, &size);
        if (!dg || !small_unlisted(t, dg, size))
            continue;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        struct airlock_oci *m = NULL;
        int keep = 0;
        if (!trust_read(t, dg, BARE_REFERRER_MAX, &raw, NULL) &&
            layout_bare_referrer_parse(&m, raw.data, raw.len))
            for (size_t l = 0; l < m->n_layers; l++)
                keep |= is_bundle_type(m->layers[l].media_type);
        if (keep) {
            struct bare_referrer *r = realloc(t->bare, (t->n_bare + 1) * sizeof(*r));
            if (!r) {
                airlock_oci_free(m);
                airlock_buf_release(&raw);
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            t->bare = r;
            memcpy(r[t->n_bare].digest, dg, AIRLOCK_DIGEST_SIZE);
            memcpy(r[t->n_bare].subject, m->subject->digest, AIRLOCK_DIGEST_SIZE);
            t->n_bare++;
        }
        airlock_oci_free(m);
        airlock_buf_release(&raw);
    }
    return 0;
}

/* Reads and checks one referrer manifest of im, once per image however often it is found. */
static void check_referrer_at(struct trust *t, struct airlock_sig_image *im,
                              struct core_dmap *seen, const char *digest,
                              const struct airlock_sig_check_opts *o)
{
    if (core_dmap_get(seen, digest))
        return;
    if (core_dmap_put(seen, digest, 1)) {
        airlock_sig_image_fail(im, "referrer '%s': out of memory", digest);
        return;
    }
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_error *le = NULL;
    if (trust_read(t, digest, AIRLOCK_MAX_MANIFEST, &raw, &le))
        airlock_sig_image_fail(im, "referrer '%s': %s", digest, le ? le->msg : "unreadable");
    else
        airlock_sig_check_referrer(im, raw.data, raw.len, digest, trust_read, t, o);
    airlock_error_free(le);
    airlock_buf_release(&raw);
}

static int admit_node(void *ctx, size_t node, struct airlock_error **err)
{
    struct trust *t = ctx;
    char key[AIRLOCK_DIGEST_SIZE];
    if (layout_pair_key(key, t->repo, airlock_graph_node(t->g, node)->digest) ||
        core_dmap_put(&t->admitted, key, 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* Stops a walk at a manifest nested deeper than a registry push or an import goes: an image
 * with one is not admitted, as push could not put it up. (A manifest that is missing or
 * damaged is the integrity check's finding, exit 4: the signature's status stays what it is.) */
static int find_too_deep(void *ctx, size_t node, struct airlock_error **err)
{
    (void)err;
    const struct airlock_graph_node *nd = airlock_graph_node(ctx, node);
    return nd->kind == AIRLOCK_NODE_BAD && nd->cut_at ? 1 : 0;
}

#define MAX_PAYLOAD (64u << 10)

/* Beyond its layers' media types (the catalog's judgement): an attachment goes up only when
 * its layers hold what the role says. A .sig layer carries a signature and is a simple-signing
 * payload of this subject; an .att layer is a DSSE envelope. NULL when it does, else why not
 * (static text). */
static const char *attachment_holds(struct trust *t, const struct airlock_sig_image *im)
{
    const struct airlock_graph_node *nd = airlock_graph_node(t->g, im->node);
    if (im->role != AIRLOCK_ROLE_SIGNATURE && im->role != AIRLOCK_ROLE_ATTESTATION)
        return NULL;
    for (size_t l = 0; l < nd->doc->n_layers; l++) {
        const struct airlock_descriptor *d = &nd->doc->layers[l];
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        const char *why = NULL;
        if (im->role == AIRLOCK_ROLE_SIGNATURE &&
            !airlock_annotation_get(d->annotations, d->n_annotations, AIRLOCK_ANN_SIGNATURE))
            return "a signature layer without a signature";
        if (airlock_bundle_blob_read(t->b, d->digest,
                                     im->role == AIRLOCK_ROLE_SIGNATURE ? MAX_PAYLOAD
                                                                        : AIRLOCK_MAX_SIGSTORE_BUNDLE,
                                     &raw, NULL))
            return im->role == AIRLOCK_ROLE_SIGNATURE ? "a signature payload that cannot be read "
                                                        "(missing, damaged or over 64 KiB)"
                                                      : "a DSSE envelope that cannot be read";
        if (im->role == AIRLOCK_ROLE_SIGNATURE) {
            struct airlock_sig_payload p;
            memset(&p, 0, sizeof(p));
            if (airlock_sig_payload_parse(&p, raw.data, raw.len, 0, NULL))
                why = "a signature layer that is not a simple-signing payload";
            else if (!p.digest || strcmp(p.digest, im->subject))
                why = "a signature layer for another image";
            airlock_sig_payload_release(&p);
        } else {
            cJSON *env = airlock_json_check(raw.data, raw.len, "envelope", NULL)
                             ? NULL
                             : core_json_parse(raw.data, raw.len, NULL);
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(env, "payloadType")) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(env, "payload")) ||
                !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(env, "signatures")))
                why = "an attestation layer that is not a DSSE envelope";
            cJSON_Delete(env);
        }
        airlock_buf_release(&raw);
        if (why)
            return why;
    }
    return NULL;
}

/* The attestations of im in its repository: .att manifests, referrers listed in index.json
 * (alone or in a referrers index) and unlisted ones, each read once. */
static void check_attestations(struct trust *t, struct airlock_sig_image *im, size_t i,
                               const struct airlock_sig_check_opts *o)
{
    struct core_dmap seen;
    memset(&seen, 0, sizeof(seen));
    size_t *head = core_dmap_get(&t->att_head, im->digest);
    for (size_t k = head ? *head - 1 : SIZE_MAX; t->repos[i] && k != SIZE_MAX; k = t->att_next[k]) {
        const struct airlock_sig_image *s = &t->r->images[k];
        if ((s->role != AIRLOCK_ROLE_ATTESTATION && s->role != AIRLOCK_ROLE_REFERRERS) ||
            strcmp(s->subject, im->digest) || !t->repos[k] || strcmp(t->repos[k], t->repos[i]))
            continue;
        const struct airlock_graph_node *rn = airlock_graph_node(t->g, s->node);
        size_t n = rn->kind == AIRLOCK_NODE_INDEX ? rn->n_kids : 1;
        for (size_t c = 0; c < n; c++) {
            const char *dg =
                rn->kind == AIRLOCK_NODE_INDEX ? airlock_graph_node(t->g, rn->kids[c])->digest
                                               : rn->digest;
            struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
            if (core_dmap_get(&seen, dg) || core_dmap_put(&seen, dg, 1) ||
                trust_read(t, dg, AIRLOCK_MAX_MANIFEST, &raw, NULL))
                continue;
            if (s->role == AIRLOCK_ROLE_ATTESTATION)
                airlock_att_check_manifest(im, raw.data, raw.len, dg, trust_read, t, o);
            else
                airlock_att_check_referrer(im, raw.data, raw.len, dg, trust_read, t, o);
            airlock_buf_release(&raw);
        }
    }
    head = core_dmap_get(&t->bare_head, im->digest);
    for (size_t k = head ? *head - 1 : SIZE_MAX; k != SIZE_MAX; k = t->bare_next[k]) {
        const char *dg = t->bare[k].digest;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        if (strcmp(t->bare[k].subject, im->digest) || core_dmap_get(&seen, dg) ||
            core_dmap_put(&seen, dg, 1) || trust_read(t, dg, AIRLOCK_MAX_MANIFEST, &raw, NULL))
            continue;
        size_t before = im->n_atts;
        airlock_att_check_referrer(im, raw.data, raw.len, dg, trust_read, t, o);
        for (size_t n = before; n < im->n_atts; n++)
            im->atts[n].unlisted = 1;
        airlock_buf_release(&raw);
    }
    core_dmap_release(&seen);
}

static void check_signatures(struct trust *t, struct airlock_sig_image *im, size_t i,
                             const struct airlock_sig_check_opts *o);

static void check_image(struct trust *t, struct airlock_sig_image *im, size_t i,
                        const struct airlock_sig_check_opts *o)
{
    if (o->n_attestations || o->list_attestations)
        check_attestations(t, im, i, o);
    check_signatures(t, im, i, o);
    if (im->ok && o->key && o->n_attestations && !airlock_att_judge(im, o))
        im->ok = 0; /* signed, but without a required attestation: it does not go in */
}

static void check_signatures(struct trust *t, struct airlock_sig_image *im, size_t i,
                             const struct airlock_sig_check_opts *o)
{
    if (!o->key) { /* not checked at all (push --no-verify) */
        im->ok = im->unsigned_allowed = 1;
        return;
    }
    struct core_dmap seen;
    memset(&seen, 0, sizeof(seen));
    size_t *head = core_dmap_get(&t->att_head, im->digest);
    for (size_t k = head ? *head - 1 : SIZE_MAX; t->repos[i] && k != SIZE_MAX; k = t->att_next[k]) {
        const struct airlock_sig_image *s = &t->r->images[k];
        if ((s->role != AIRLOCK_ROLE_SIGNATURE && s->role != AIRLOCK_ROLE_REFERRERS) ||
            strcmp(s->subject, im->digest) || !t->repos[k] || strcmp(t->repos[k], t->repos[i]))
            continue;
        if (s->role == AIRLOCK_ROLE_REFERRERS) { /* cosign 3: bundles as OCI 1.1 referrers */
            const struct airlock_graph_node *rn = airlock_graph_node(t->g, s->node);
            if (rn->kind == AIRLOCK_NODE_MANIFEST)
                check_referrer_at(t, im, &seen, rn->digest, o);
            else
                for (size_t c = 0; c < rn->n_kids; c++)
                    check_referrer_at(t, im, &seen, airlock_graph_node(t->g, rn->kids[c])->digest,
                                      o);
            continue;
        }
        const struct airlock_graph_node *nd = airlock_graph_node(t->g, s->node);
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        struct airlock_error *le = NULL;
        if (airlock_bundle_blob_read(t->b, nd->digest, AIRLOCK_MAX_MANIFEST, &raw, &le)) {
            airlock_sig_image_fail(im, "signature manifest '%s': %s", nd->digest,
                                   le ? le->msg : "unreadable");
            im->has_signatures = 1;
        } else
            airlock_sig_check_manifest(im, raw.data, raw.len, nd->digest, bundle_read, t->b, o);
        airlock_error_free(le);
        airlock_buf_release(&raw);
    }
    head = core_dmap_get(&t->bare_head, im->digest);
    for (size_t k = head ? *head - 1 : SIZE_MAX; k != SIZE_MAX; k = t->bare_next[k])
        if (!strcmp(t->bare[k].subject, im->digest)) {
            size_t before = im->n_sigs;
            check_referrer_at(t, im, &seen, t->bare[k].digest, o);
            for (size_t n = before; n < im->n_sigs; n++)
                im->sigs[n].unlisted = 1;
        }
    core_dmap_release(&seen);
    im->ok = im->n_sigs > 0;
    if (!im->ok && !im->has_signatures && o->allow_unsigned)
        im->ok = im->unsigned_allowed = 1;
    else if (!im->ok && !im->n_failures)
        airlock_sig_image_fail(im, "no signatures found");
}

int airlock_sig_image_judge_identity(struct airlock_sig_image *im, const char *pulled,
                                     const char *what)
{
    free(im->needed);
    free(im->identity_failure);
    im->identity_failure = NULL;
    im->needed = core_strdup0(pulled);
    for (size_t k = 0; k < im->n_sigs; k++)
        if (im->sigs[k].identity && airlock_identity_match_pulled(im->sigs[k].identity, pulled))
            return 1;
    struct airlock_buf b = AIRLOCK_BUF_INIT(1u << 16);
    size_t named = 0;
    for (size_t k = 0; k < im->n_sigs; k++) {
        const char *id = im->sigs[k].identity;
        int dup = 0;
        for (size_t j = 0; id && j < k && !dup; j++)
            dup = im->sigs[j].identity && !strcmp(im->sigs[j].identity, id);
        if (id && !dup && named < 8)
            airlock_buf_printf(&b, "%s'%s'", named++ ? ", " : "", id);
    }
    if (!named && !im->n_sigs && im->n_failures)
        airlock_buf_printf(&b, "nothing: no signature verified with the key (%s)",
                           im->failures[0]);
    const char *signed_as = (named || b.len) && b.data ? (const char *)b.data
                            : im->n_sigs ? "nothing: its verified signatures are sigstore bundles, "
                                           "which name no docker-reference"
                                         : "nothing: no signature verified with the key";
    if (asprintf(&im->identity_failure,
                 "%s%ssigned as %s, but a pull of '%s' needs a signature naming it "
                 "(containers/image's matchRepoDigestOrExact)",
                 what ? what : "", what ? ": " : "", signed_as, pulled) < 0)
        im->identity_failure = NULL;
    airlock_buf_release(&b);
    return 0;
}

static char *platform_name(const struct airlock_descriptor *d)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s%s%s", d->platform_os ? d->platform_os : "?",
                 d->platform_arch ? d->platform_arch : "?", d->platform_variant ? "/" : "",
                 d->platform_variant ? d->platform_variant : "") < 0)
        return NULL;
    return s;
}

/* The record of the k-th manifest of index node nd as a platform of im (named repo@digest),
 * or NULL when it is none: an attestation manifest (platform unknown/unknown), or not in the
 * bundle (never pulled). im->platforms has room for every manifest of nd. */
static struct airlock_sig_image *platform_add(struct trust *t, struct airlock_sig_image *im,
                                              const struct airlock_graph_node *nd, size_t k,
                                              const char *repo)
{
    const struct airlock_descriptor *c = &nd->doc->layers[k];
    size_t cn = airlock_graph_find(t->g, c->digest);
    const struct airlock_graph_node *cnd = cn == SIZE_MAX ? NULL : airlock_graph_node(t->g, cn);
    if ((c->platform_os && !strcmp(c->platform_os, "unknown")) || !cnd ||
        cnd->kind != AIRLOCK_NODE_MANIFEST)
        return NULL;
    struct airlock_sig_image *pl = &im->platforms[im->n_platforms++];
    memcpy(pl->digest, c->digest, AIRLOCK_DIGEST_SIZE);
    pl->role = AIRLOCK_ROLE_IMAGE;
    pl->node = cn;
    pl->platform = platform_name(c);
    if (asprintf(&pl->ref, "%s@%s", repo, c->digest) < 0)
        pl->ref = NULL;
    return pl;
}

/* The destination rule for image entry i (opts dest): its own signatures, then each platform
 * manifest of its index that the bundle holds, checked in its repository as a pull there
 * checks it. A failure takes the image out (im->ok 0), naming what was signed and needed. */
static int dest_rule(struct trust *t, struct airlock_sig_image *im, size_t i,
                     const struct airlock_sig_check_opts *o, struct airlock_error **err)
{
    struct airlock_ref d;
    struct airlock_error *e = NULL;
    char *pulled = NULL, *repo = NULL;
    if (!im->ref || airlock_ref_destination(&d, im->ref, o->dest, o->map, o->n_map, &e)) {
        im->ok = 0;
        if (asprintf(&im->identity_failure, "no reference at '%s': %s", o->dest,
                     e ? e->msg : "the entry has no name") < 0)
            im->identity_failure = NULL;
        airlock_error_free(e);
        return 0;
    }
    free(d.digest);
    d.digest = NULL;
    repo = airlock_ref_repository(&d);
    int tagged = d.tag != NULL;
    if (d.tag)
        pulled = airlock_ref_format(&d); /* pulled by tag: DEST/...:tag, exactly */
    else if (repo && asprintf(&pulled, "%s@%s", repo, im->digest) < 0)
        pulled = NULL; /* no tag pushed: pulled by digest, the repository must match */
    airlock_ref_release(&d);
    if (!pulled || !repo) {
        free(repo);
        free(pulled);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    int ok = airlock_sig_image_judge_identity(im, pulled, NULL);
    const struct airlock_graph_node *nd = airlock_graph_node(t->g, im->node);
    struct airlock_sig_check_opts po = *o;
    po.allow_unsigned = 0; /* a signed image's platforms are signed too, or it fails */
    po.n_attestations = 0; /* attestations are the image's (verify-attestation's) */
    po.list_attestations = 0;
    size_t n = nd && nd->kind == AIRLOCK_NODE_INDEX && nd->doc ? nd->doc->n_layers : 0;
    if (n && !(im->platforms = calloc(n, sizeof(*im->platforms)))) {
        free(repo);
        free(pulled);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        const struct airlock_descriptor *c = &nd->doc->layers[k];
        struct airlock_sig_image *pl = platform_add(t, im, nd, k, repo);
        if (!pl)
            continue; /* attestation manifests are no platforms; absent ones are never pulled */
        check_image(t, pl, i, &po);
        char *what = NULL, *pp = NULL;
        if (asprintf(&what, "platform %s (%s)", pl->platform ? pl->platform : "?", c->digest) < 0)
            what = NULL;
        if (!tagged && asprintf(&pp, "%s@%s", repo, c->digest) < 0) /* by digest */
            pp = NULL;
        pl->ok = airlock_sig_image_judge_identity(pl, pp ? pp : pulled, what ? what : "platform");
        free(what);
        free(pp);
        if (!pl->ok && ok) {
            ok = 0;
            free(im->identity_failure);
            im->identity_failure = core_strdup0(pl->identity_failure);
        }
    }
    if (!ok)
        im->ok = 0;
    free(repo);
    free(pulled);
    return 0;
}

/* list_attestations: a record for each platform manifest of index entry i that the bundle
 * holds (as dest_rule makes them), with its attestations (attest --recursive writes them in
 * the index's repository). Its signatures are left to the destination rule. */
static int platform_attestations(struct trust *t, struct airlock_sig_image *im, size_t i,
                                 const struct airlock_sig_check_opts *o,
                                 struct airlock_error **err)
{
    const struct airlock_graph_node *nd = airlock_graph_node(t->g, im->node);
    size_t n = nd && nd->kind == AIRLOCK_NODE_INDEX && nd->doc ? nd->doc->n_layers : 0;
    char *repo = t->repos[i];
    if (!n || !repo || im->platforms)
        return 0;
    if (!(im->platforms = calloc(n, sizeof(*im->platforms))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct airlock_sig_check_opts po = *o;
    po.n_attestations = 0; /* listed, not required */
    for (size_t k = 0; k < n; k++) {
        struct airlock_sig_image *pl = platform_add(t, im, nd, k, repo);
        if (pl)
            check_attestations(t, pl, i, &po);
    }
    return 0;
}

int airlock_bundle_verify_signatures(struct airlock_sig_report **out, struct airlock_bundle *b,
                                     const struct airlock_sig_check_opts *o,
                                     struct airlock_error **err)
{
    struct airlock_catalog *cat = NULL;
    int rc = airlock_catalog_load(&cat, b, err);
    if (rc)
        return rc;
    struct trust t;
    memset(&t, 0, sizeof(t));
    t.b = b;
    t.r = calloc(1, sizeof(*t.r));
    t.repos = calloc(cat->n + 1, sizeof(*t.repos));
    if (!t.r || !t.repos || !(t.r->images = calloc(cat->n + 1, sizeof(*t.r->images)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    /* 1: every entry, with what its content makes it (the catalog's judgement) */
    t.r->graph = steal_pointer(&cat->graph);
    t.g = t.r->graph;
    for (size_t i = 0; i < cat->n; i++) {
        const struct airlock_entry *e = &cat->entries[i];
        struct airlock_sig_image *im = &t.r->images[t.r->n_images++];
        im->ref = core_strdup0(e->ref);
        memcpy(im->digest, e->desc.digest, AIRLOCK_DIGEST_SIZE);
        t.repos[i] = layout_repo_of(e->ref);
        im->node = e->node;
        im->role = e->role;
        memcpy(im->subject, e->subject, AIRLOCK_DIGEST_SIZE);
    }
    if (o->key && (rc = scan_bare_referrers(&t, err)))
        goto out;
    if (!(t.att_next = calloc(t.r->n_images + 1, sizeof(size_t))) ||
        !(t.bare_next = calloc(t.n_bare + 1, sizeof(size_t)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = t.r->n_images; i-- > 0;) { /* chains in index.json order */
        const struct airlock_sig_image *im = &t.r->images[i];
        size_t *h = im->subject[0] ? core_dmap_get(&t.att_head, im->subject) : NULL;
        t.att_next[i] = h ? *h - 1 : SIZE_MAX;
        if (im->subject[0] && core_dmap_put(&t.att_head, im->subject, i + 1)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    }
    for (size_t i = t.n_bare; i-- > 0;) {
        size_t *h = core_dmap_get(&t.bare_head, t.bare[i].subject);
        t.bare_next[i] = h ? *h - 1 : SIZE_MAX;
        if (core_dmap_put(&t.bare_head, t.bare[i].subject, i + 1)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    }
    /* 2: images, by their signatures; what they hold may go up in their repository */
    t.r->ok = 1;
    for (size_t i = 0; i < t.r->n_images; i++) {
        struct airlock_sig_image *im = &t.r->images[i];
        if (im->role != AIRLOCK_ROLE_IMAGE)
            continue;
        check_image(&t, im, i, o);
        int bad = 0;
        if (im->ok && (bad = airlock_graph_postorder(t.g, im->node, find_too_deep, t.g, err)) < 0) {
            rc = bad;
            goto out;
        }
        if (bad) { /* push could not put it up: neither may verify say it may go in */
            im->ok = 0;
            airlock_sig_image_fail(im, "its indexes nest deeper than %d levels: it cannot be "
                                       "pushed", AIRLOCK_GRAPH_MAX_DEPTH);
        }
        if (im->ok && t.repos[i]) {
            t.repo = t.repos[i];
            if ((rc = airlock_graph_postorder(t.g, im->node, admit_node, &t, err)))
                goto out;
        }
        /* after admission: a signature naming another identity fails the image, not its
         * attachments (they are what they say; the image's verdict stops a push) */
        if (im->ok && !im->unsigned_allowed && o->key && o->dest && !o->identity &&
            (rc = dest_rule(&t, im, i, o, err)))
            goto out;
        if (o->list_attestations && (rc = platform_attestations(&t, im, i, o, err)))
            goto out;
    }
    /* 3: attachments, only to an image (or a platform manifest of one) admitted in the same
     * repository; any other is an image of its own and needs a signature like one */
    for (size_t i = 0; i < t.r->n_images; i++) {
        struct airlock_sig_image *im = &t.r->images[i];
        if (im->role == AIRLOCK_ROLE_IMAGE)
            continue;
        char key[AIRLOCK_DIGEST_SIZE];
        const char *holds = attachment_holds(&t, im);
        if (!holds && t.repos[i] && !layout_pair_key(key, t.repos[i], im->subject) &&
            core_dmap_get(&t.admitted, key)) {
            im->ok = 1;
            continue;
        }
        if (holds)
            airlock_sig_image_fail(im, "it holds %s: taken as an image of its own", holds);
        else
            airlock_sig_image_fail(im, "attached to '%s', which is not a verified image in "
                                       "'%s': taken as an image of its own",
                                   im->subject, t.repos[i] ? t.repos[i] : "(unnamed)");
        im->role = AIRLOCK_ROLE_IMAGE;
        im->subject[0] = '\0';
        check_image(&t, im, i, o);
    }
    for (size_t i = 0; i < t.r->n_images; i++)
        t.r->ok &= t.r->images[i].ok;
out:
    for (size_t i = 0; t.repos && i < cat->n; i++)
        free(t.repos[i]);
    free(t.repos);
    core_dmap_release(&t.admitted);
    free(t.bare);
    for (size_t i = 0; i < t.n_kept; i++)
        free(t.kept[i].data);
    free(t.kept);
    core_dmap_release(&t.kept_at);
    core_dmap_release(&t.att_head);
    core_dmap_release(&t.bare_head);
    free(t.att_next);
    free(t.bare_next);
    airlock_catalog_free(cat);
    if (rc) {
        airlock_sig_report_free(t.r);
        return rc;
    }
    *out = t.r;
    return 0;
}
