/* What a bundle holds: index.json's entries, their roles, and per-image summaries. */
#include "layout_int.h"

#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *tag_part(const char *ref)
{
    if (!ref)
        return NULL;
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash : ref, ':');
    return colon ? colon + 1 : ref;
}

/* Fills subject from a "sha256-<hex>[.suffix]" tag; returns the suffix or NULL. */
static const char *subject_of(const char *ref, char subject[AIRLOCK_DIGEST_SIZE])
{
    const char *t = tag_part(ref);
    subject[0] = '\0';
    if (!t || strncmp(t, "sha256-", 7) || strlen(t) < 71 ||
        strspn(t + 7, "0123456789abcdef") < 64)
        return NULL;
    snprintf(subject, AIRLOCK_DIGEST_SIZE, "sha256:%.64s", t + 7);
    return t + 71;
}

enum airlock_role airlock_role_of(const char *kind, const char *ref)
{
    if (kind) {
        const char *k = strrchr(kind, '/');
        k = k ? k + 1 : kind;
        if (!strcmp(k, "sigs"))
            return AIRLOCK_ROLE_SIGNATURE;
        if (!strcmp(k, "atts"))
            return AIRLOCK_ROLE_ATTESTATION;
        if (!strcmp(k, "sboms"))
            return AIRLOCK_ROLE_SBOM;
    }
    char subject[AIRLOCK_DIGEST_SIZE];
    const char *suf = subject_of(ref, subject);
    if (!suf)
        return AIRLOCK_ROLE_IMAGE;
    if (!*suf)
        return AIRLOCK_ROLE_REFERRERS;
    if (!strcmp(suf, ".sig"))
        return AIRLOCK_ROLE_SIGNATURE;
    if (!strcmp(suf, ".att"))
        return AIRLOCK_ROLE_ATTESTATION;
    if (!strcmp(suf, ".sbom"))
        return AIRLOCK_ROLE_SBOM;
    return AIRLOCK_ROLE_IMAGE;
}


#define MT_DSSE "application/vnd.dsse.envelope.v1+json"

static int starts(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

/* A config type some runtime runs an image with: containers/image's and containerd's image
 * configs, and what Docker accepts besides (moby's defaultImageTypes: octet-stream, JSON,
 * text/html, none). */
static int runnable_config(const char *mt)
{
    static const char *const types[] = {AIRLOCK_MT_OCI_CONFIG,
                                        "application/vnd.docker.container.image.v1+json",
                                        "application/octet-stream", "application/json",
                                        "text/html"};
    if (!mt || !*mt)
        return 1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(mt, types[i]))
            return 1;
    return 0;
}

/* A layer type a runtime unpacks as a file system (or guesses at: none, octet-stream). */
static int image_layer(const char *mt)
{
    return !mt || !*mt || starts(mt, "application/vnd.oci.image.layer.") ||
           starts(mt, "application/vnd.docker.image.rootfs.") ||
           !strcmp(mt, "application/octet-stream") || !strcmp(mt, "application/json");
}

static int layer_is(const struct airlock_descriptor *l, enum airlock_role role)
{
    const char *mt = l->media_type;
    switch (role) {
    case AIRLOCK_ROLE_SIGNATURE:
        return mt && !strcmp(mt, AIRLOCK_MT_SIMPLESIGNING);
    case AIRLOCK_ROLE_ATTESTATION:
        return mt && !strcmp(mt, MT_DSSE);
    case AIRLOCK_ROLE_SBOM: /* the types cosign attach sbom writes */
        return starts(mt, "text/spdx") || starts(mt, "application/spdx") ||
               starts(mt, "application/vnd.cyclonedx") ||
               starts(mt, "application/vnd.syft+json");
    default:
        return 0;
    }
}

/* "sha256-<hex><suffix>" as the tag of ref: the digest it names, or "" */
static void tag_subject(const char *ref, const char *suffix, char subject[AIRLOCK_DIGEST_SIZE])
{
    struct airlock_ref r;
    subject[0] = '\0';
    if (!ref || airlock_ref_parse(&r, ref, NULL))
        return;
    const char *t = r.tag;
    size_t sl = strlen(suffix);
    if (t && !r.digest && strlen(t) == 71 + sl && !strncmp(t, "sha256-", 7) &&
        strspn(t + 7, "0123456789abcdef") == 64 && !strcmp(t + 71, suffix))
        snprintf(subject, AIRLOCK_DIGEST_SIZE, "sha256:%.64s", t + 7);
    airlock_ref_release(&r);
}

/* A referrer (OCI 1.1): a manifest with a subject that is not itself an image: no config and
 * no layer that a runtime would run or unpack. */
static int manifest_is_referrer(const struct airlock_oci *m)
{
    if (!m || m->kind != AIRLOCK_OCI_MANIFEST || !m->subject ||
        runnable_config(m->config.media_type))
        return 0;
    for (size_t l = 0; l < m->n_layers; l++) /* nothing a runtime would unpack */
        if (image_layer(m->layers[l].media_type))
            return 0;
    return 1;
}

static int is_referrer(const struct airlock_graph_node *nd)
{
    return nd && nd->kind == AIRLOCK_NODE_MANIFEST && manifest_is_referrer(nd->doc);
}

int layout_bare_referrer_parse(struct airlock_oci **m, const char *raw, size_t len)
{
    *m = NULL;
    if (len < LAYOUT_BARE_REFERRER_MIN || len > LAYOUT_BARE_REFERRER_MAX || raw[0] != '{' ||
        airlock_oci_parse(m, raw, len, "blob", NULL))
        return 0;
    if (manifest_is_referrer(*m))
        return 1;
    airlock_oci_free(*m);
    *m = NULL;
    return 0;
}

/* The role an entry plays by what it holds: an attachment only when its content is what the
 * role says (a .sig manifest's layers are simple-signing payloads, an .att's DSSE envelopes,
 * an .sbom's SBOM documents, a referrer has a subject, a referrers index lists only referrers
 * of its subject); everything else is an image. The "kind" annotation is never consulted. */
static enum airlock_role content_role(const struct airlock_graph *g, size_t node, const char *ref,
                                      char subject[AIRLOCK_DIGEST_SIZE])
{
    static const struct {
        enum airlock_role role;
        const char *suffix;
    } tagged[] = {{AIRLOCK_ROLE_SIGNATURE, ".sig"},
                  {AIRLOCK_ROLE_ATTESTATION, ".att"},
                  {AIRLOCK_ROLE_SBOM, ".sbom"}};
    const struct airlock_graph_node *nd = airlock_graph_node(g, node);
    subject[0] = '\0';
    if (!nd || !nd->doc)
        return AIRLOCK_ROLE_IMAGE;
    const struct airlock_oci *m = nd->doc;
    if (nd->kind == AIRLOCK_NODE_MANIFEST) {
        if (is_referrer(nd)) {
            memcpy(subject, m->subject->digest, AIRLOCK_DIGEST_SIZE);
            return AIRLOCK_ROLE_REFERRERS;
        }
        for (size_t t = 0; t < sizeof(tagged) / sizeof(tagged[0]); t++) {
            size_t ok = 0;
            for (size_t l = 0; l < m->n_layers; l++)
                ok += layer_is(&m->layers[l], tagged[t].role);
            if (!m->n_layers || ok != m->n_layers)
                continue;
            /* cosign writes an OCI manifest, or with COSIGN_DOCKER_MEDIA_TYPES=1 a Docker
             * v2 one, and verifies either */
            if (tagged[t].role == AIRLOCK_ROLE_SIGNATURE && m->media_type &&
                strcmp(m->media_type, AIRLOCK_MT_OCI_MANIFEST) &&
                strcmp(m->media_type, AIRLOCK_MT_DOCKER_MANIFEST))
                return AIRLOCK_ROLE_IMAGE;
            tag_subject(ref, tagged[t].suffix, subject);
            return subject[0] ? tagged[t].role : AIRLOCK_ROLE_IMAGE;
        }
        return AIRLOCK_ROLE_IMAGE;
    }
    /* the referrers tag schema: an index at sha256-<hex> of referrers of that digest */
    tag_subject(ref, "", subject);
    if (!subject[0] || !nd->n_kids)
        return subject[0] = '\0', AIRLOCK_ROLE_IMAGE;
    for (size_t k = 0; k < nd->n_kids; k++) {
        const struct airlock_graph_node *c = airlock_graph_node(g, nd->kids[k]);
        if (!is_referrer(c) || strcmp(c->doc->subject->digest, subject))
            return subject[0] = '\0', AIRLOCK_ROLE_IMAGE;
    }
    return AIRLOCK_ROLE_REFERRERS;
}

static int bundle_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                       struct airlock_error **err)
{
    return airlock_bundle_blob_read(ctx, digest, max, out, err);
}

void airlock_catalog_free(struct airlock_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].ref);
        airlock_descriptor_release(&c->entries[i].desc);
    }
    free(c->entries);
    airlock_graph_free(c->graph);
    free(c);
}

int airlock_catalog_load(struct airlock_catalog **out, struct airlock_bundle *b,
                         struct airlock_error **err)
{
    size_t len;
    const char *raw = airlock_bundle_index(b, &len);
    char what[300];
    snprintf(what, sizeof(what), "'%s': index.json", airlock_bundle_path(b));
    struct airlock_oci *idx = NULL;
    int rc = airlock_oci_parse(&idx, raw, len, what, err);
    if (rc)
        return rc;
    if (idx->kind != AIRLOCK_OCI_INDEX) {
        airlock_oci_free(idx);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: not an image index", what);
    }
    struct airlock_catalog *c = calloc(1, sizeof(*c));
    if (!c || (idx->n_layers && !(c->entries = calloc(idx->n_layers, sizeof(*c->entries))))) {
        free(c);
        airlock_oci_free(idx);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    rc = airlock_graph_new(&c->graph, bundle_read, b, 0, err);
    for (size_t i = 0; i < idx->n_layers && !rc; i++) {
        const struct airlock_descriptor *d = &idx->layers[i];
        struct airlock_entry *e = &c->entries[c->n];
        const char *ref = airlock_annotation_get(d->annotations, d->n_annotations,
                                                 AIRLOCK_ANN_REF_NAME);
        const char *kind = airlock_annotation_get(d->annotations, d->n_annotations,
                                                  AIRLOCK_ANN_KIND);
        (void)kind; /* a label anyone can edit: the content decides */
        e->ref = core_strdup0(ref);
        rc = airlock_graph_add(c->graph, d, &e->node, err);
        if (!rc)
            e->role = content_role(c->graph, e->node, ref, e->subject);
        if (!rc)
            rc = airlock_descriptor_copy(&e->desc, d, err);
        if (!rc)
            c->n++;
        else
            free(e->ref);
    }
    airlock_oci_free(idx);
    if (rc) {
        airlock_catalog_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void airlock_image_summary_release(struct airlock_image_summary *s)
{
    for (size_t i = 0; i < s->n_platforms; i++)
        free(s->platforms[i]);
    free(s->platforms);
    memset(s, 0, sizeof(*s));
}

static void add_platform(struct airlock_image_summary *s, const char *os, const char *arch,
                         const char *variant)
{
    if (!os || !arch || !*os || !strcmp(os, "unknown"))
        return;
    char *p = NULL;
    if (asprintf(&p, "%s/%s%s%s", os, arch, variant && *variant ? "/" : "",
                 variant ? variant : "") < 0)
        return;
    for (size_t i = 0; i < s->n_platforms; i++)
        if (!strcmp(s->platforms[i], p)) {
            free(p);
            return;
        }
    char **n = realloc(s->platforms, (s->n_platforms + 1) * sizeof(*n));
    if (!n) {
        free(p);
        return;
    }
    s->platforms = n;
    s->platforms[s->n_platforms++] = p;
}

static void platform_from_config(struct airlock_image_summary *s, struct airlock_bundle *b,
                                 const char *digest)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    if (airlock_bundle_blob_read(b, digest, AIRLOCK_MAX_MANIFEST, &raw, NULL)) {
        s->complete = 0;
        return;
    }
    if (!airlock_json_check(raw.data, raw.len, "config", NULL)) {
        cJSON *c = core_json_parse(raw.data, raw.len, NULL);
        add_platform(s, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "os")),
                     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "architecture")),
                     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "variant")));
        cJSON_Delete(c);
    }
    airlock_buf_release(&raw);
}

static int walk(struct airlock_image_summary *s, struct airlock_bundle *b,
                const struct airlock_descriptor *d, struct core_dmap *seen, int depth,
                struct airlock_error **err)
{
    if (core_dmap_get(seen, d->digest))
        return 0;
    if (core_dmap_put(seen, d->digest, 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    s->size += d->size;
    if (!airlock_media_type_is_manifest(d->media_type) && !airlock_media_type_is_index(d->media_type))
        return 0;
    if (depth > 8) {
        s->complete = 0;
        return 0;
    }
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *m = NULL;
    if (airlock_bundle_blob_read(b, d->digest, AIRLOCK_MAX_MANIFEST, &raw, NULL) ||
        airlock_oci_parse(&m, raw.data, raw.len, "manifest", NULL)) {
        airlock_buf_release(&raw);
        s->complete = 0;
        return 0;
    }
    airlock_buf_release(&raw);
    int rc = 0;
    if (m->kind == AIRLOCK_OCI_MANIFEST) {
        rc = walk(s, b, &m->config, seen, depth + 1, err);
        if (depth == 0)
            platform_from_config(s, b, m->config.digest);
    }
    for (size_t i = 0; !rc && i < m->n_layers; i++) {
        const struct airlock_descriptor *c = &m->layers[i];
        if (m->kind == AIRLOCK_OCI_INDEX)
            add_platform(s, c->platform_os, c->platform_arch, c->platform_variant);
        rc = walk(s, b, c, seen, depth + 1, err);
    }
    airlock_oci_free(m);
    return rc;
}

int airlock_image_summarize(struct airlock_image_summary *out, struct airlock_bundle *b,
                            const struct airlock_descriptor *d, struct airlock_error **err)
{
    struct airlock_image_summary s = {0, NULL, 0, 1};
    struct core_dmap seen = {0};
    int rc = walk(&s, b, d, &seen, 0, err);
    core_dmap_release(&seen);
    if (rc) {
        airlock_image_summary_release(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int layout_pair_key(char key[AIRLOCK_DIGEST_SIZE], const char *repo, const char *digest)
{
    struct airlock_buf t = AIRLOCK_BUF_INIT(1u << 20);
    int rc = airlock_buf_printf(&t, "%s@%s", repo, digest);
    if (!rc)
        rc = airlock_sha256_digest(key, t.data, t.len, NULL);
    airlock_buf_release(&t);
    return rc ? -1 : 0;
}

char *layout_repo_of(const char *ref)
{
    struct airlock_ref r;
    if (!ref || airlock_ref_parse(&r, ref, NULL))
        return NULL;
    char *repo = airlock_ref_repository(&r);
    airlock_ref_release(&r);
    return repo;
}
