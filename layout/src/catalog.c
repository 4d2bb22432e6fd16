/* What a bundle holds: index.json's entries, their roles, and per-image summaries. */
#include "layout_int.h"

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

void airlock_catalog_free(struct airlock_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].ref);
        airlock_descriptor_release(&c->entries[i].desc);
    }
    free(c->entries);
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
    for (size_t i = 0; i < idx->n_layers && !rc; i++) {
        const struct airlock_descriptor *d = &idx->layers[i];
        struct airlock_entry *e = &c->entries[c->n];
        const char *ref = airlock_annotation_get(d->annotations, d->n_annotations,
                                                 AIRLOCK_ANN_REF_NAME);
        const char *kind = airlock_annotation_get(d->annotations, d->n_annotations,
                                                  AIRLOCK_ANN_KIND);
        e->ref = core_strdup0(ref);
        e->role = airlock_role_of(kind, ref);
        if (e->role != AIRLOCK_ROLE_IMAGE)
            subject_of(ref, e->subject);
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
        cJSON *c = cJSON_ParseWithLength(raw.data, raw.len);
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
