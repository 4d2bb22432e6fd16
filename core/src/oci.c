/* OCI manifests and indexes (image-spec 1.1) and Docker schema 2, read with cJSON (json.c
 * checks the member names of the same tree). */
#include "airlock/core.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

int airlock_media_type_is_manifest(const char *mt)
{
    return mt && (!strcmp(mt, AIRLOCK_MT_OCI_MANIFEST) || !strcmp(mt, AIRLOCK_MT_DOCKER_MANIFEST));
}

int airlock_media_type_is_index(const char *mt)
{
    return mt && (!strcmp(mt, AIRLOCK_MT_OCI_INDEX) || !strcmp(mt, AIRLOCK_MT_DOCKER_LIST));
}

const char *airlock_annotation_get(const struct airlock_annotation *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].key, key))
            return a[i].value;
    return NULL;
}

static void annotations_free(struct airlock_annotation *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].key);
        free(a[i].value);
    }
    free(a);
}

void airlock_descriptor_release(struct airlock_descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    free(d->artifact_type);
    free(d->platform_os);
    free(d->platform_arch);
    free(d->platform_variant);
    annotations_free(d->annotations, d->n_annotations);
    memset(d, 0, sizeof(*d));
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int airlock_descriptor_copy(struct airlock_descriptor *dst, const struct airlock_descriptor *src,
                            struct airlock_error **err)
{
    memset(dst, 0, sizeof(*dst));
    memcpy(dst->digest, src->digest, sizeof(dst->digest));
    dst->size = src->size;
    dst->has_urls = src->has_urls;
    if (dup_opt(&dst->media_type, src->media_type) ||
        dup_opt(&dst->artifact_type, src->artifact_type) ||
        dup_opt(&dst->platform_os, src->platform_os) ||
        dup_opt(&dst->platform_arch, src->platform_arch) ||
        dup_opt(&dst->platform_variant, src->platform_variant))
        goto oom;
    if (src->n_annotations) {
        dst->annotations = calloc(src->n_annotations, sizeof(*dst->annotations));
        if (!dst->annotations)
            goto oom;
        dst->n_annotations = src->n_annotations;
        for (size_t i = 0; i < src->n_annotations; i++)
            if (dup_opt(&dst->annotations[i].key, src->annotations[i].key) ||
                dup_opt(&dst->annotations[i].value, src->annotations[i].value))
                goto oom;
    }
    return 0;
oom:
    airlock_descriptor_release(dst);
    return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int get_str(const cJSON *obj, const char *key, char **out, const char *what,
                   struct airlock_error **err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: '%s' is not a string", what, key);
    *out = strdup(v->valuestring);
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int parse_annotations(const cJSON *obj, struct airlock_annotation **out, size_t *n,
                             const char *what, struct airlock_error **err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "annotations");
    *out = NULL;
    *n = 0;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsObject(a))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: 'annotations' is not an object",
                                 what);
    size_t count = (size_t)cJSON_GetArraySize(a);
    if (!count)
        return 0;
    struct airlock_annotation *arr = calloc(count, sizeof(*arr));
    if (!arr)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it) || !it->string) {
            annotations_free(arr, i);
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "%s: annotation '%.80s' is not a string", what,
                                     it->string ? it->string : "");
        }
        arr[i].key = strdup(it->string);
        arr[i].value = strdup(it->valuestring);
        i++;
        if (!arr[i - 1].key || !arr[i - 1].value) {
            annotations_free(arr, i);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    *out = arr;
    *n = i;
    return 0;
}

static int parse_descriptor(const cJSON *obj, struct airlock_descriptor *d, const char *what,
                            struct airlock_error **err)
{
    memset(d, 0, sizeof(*d));
    if (!cJSON_IsObject(obj))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: descriptor is not an object", what);
    int rc;
    const cJSON *dg, *sz, *urls, *pl;
    if ((rc = get_str(obj, "mediaType", &d->media_type, what, err)) ||
        (rc = get_str(obj, "artifactType", &d->artifact_type, what, err)))
        goto fail;
    dg = cJSON_GetObjectItemCaseSensitive(obj, "digest");
    if (!cJSON_IsString(dg)) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: descriptor without a digest", what);
        goto fail;
    }
    if ((rc = airlock_digest_check(dg->valuestring, err))) {
        airlock_error_wrap(err, "%s", what);
        goto fail;
    }
    memcpy(d->digest, dg->valuestring, AIRLOCK_DIGEST_SIZE);
    sz = cJSON_GetObjectItemCaseSensitive(obj, "size");
    if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 9007199254740992.0 ||
        floor(sz->valuedouble) != sz->valuedouble) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: descriptor '%s' has no valid size", what, d->digest);
        goto fail;
    }
    d->size = (uint64_t)sz->valuedouble;
    urls = cJSON_GetObjectItemCaseSensitive(obj, "urls");
    d->has_urls = cJSON_IsArray(urls) && cJSON_GetArraySize(urls) > 0;
    pl = cJSON_GetObjectItemCaseSensitive(obj, "platform");
    if (pl && !cJSON_IsNull(pl)) {
        if (!cJSON_IsObject(pl)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: 'platform' is not an object",
                                   what);
            goto fail;
        }
        if ((rc = get_str(pl, "os", &d->platform_os, what, err)) ||
            (rc = get_str(pl, "architecture", &d->platform_arch, what, err)) ||
            (rc = get_str(pl, "variant", &d->platform_variant, what, err)))
            goto fail;
    }
    if ((rc = parse_annotations(obj, &d->annotations, &d->n_annotations, what, err)))
        goto fail;
    return 0;
fail:
    airlock_descriptor_release(d);
    return rc;
}

void airlock_oci_free(struct airlock_oci *m)
{
    if (!m)
        return;
    free(m->media_type);
    free(m->artifact_type);
    airlock_descriptor_release(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        airlock_descriptor_release(&m->layers[i]);
    free(m->layers);
    if (m->subject) {
        airlock_descriptor_release(m->subject);
        free(m->subject);
    }
    annotations_free(m->annotations, m->n_annotations);
    free(m);
}

static int parse_list(const cJSON *arr, struct airlock_oci *m, const char *key, const char *what,
                      struct airlock_error **err)
{
    if (!cJSON_IsArray(arr))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: '%s' is not an array", what, key);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n) {
        m->layers = calloc(n, sizeof(*m->layers));
        if (!m->layers)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        int rc = parse_descriptor(it, &m->layers[m->n_layers], what, err);
        if (rc)
            return rc;
        m->n_layers++;
    }
    return 0;
}

int airlock_oci_parse(struct airlock_oci **out, const char *raw, size_t len, const char *what,
                      struct airlock_error **err)
{
    if (len > AIRLOCK_MAX_INDEX_JSON)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: larger than %u bytes", what,
                                 AIRLOCK_MAX_INDEX_JSON);
    int rc = airlock_json_check(raw, len, what, err);
    if (rc)
        return rc;
    size_t bad_at = 0;
    cJSON *root = core_json_parse(raw, len, &bad_at);
    if (!root)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: invalid JSON near byte %zu", what,
                                 bad_at);
    if ((rc = core_json_keys_check(root, what, err))) {
        cJSON_Delete(root);
        return rc;
    }
    struct airlock_oci *m = calloc(1, sizeof(*m));
    if (!m) {
        cJSON_Delete(root);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
    const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(root, "manifests");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *subject = cJSON_GetObjectItemCaseSensitive(root, "subject");
    if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: schemaVersion is not 2 (Docker schema 1 is not supported)",
                               what);
        goto out;
    }
    if ((rc = get_str(root, "mediaType", &m->media_type, what, err)) ||
        (rc = get_str(root, "artifactType", &m->artifact_type, what, err)))
        goto out;
    if (manifests && !layers && !config) {
        m->kind = AIRLOCK_OCI_INDEX;
        if (m->media_type && !airlock_media_type_is_index(m->media_type)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: has 'manifests' but mediaType '%.100s'", what,
                                   m->media_type);
            goto out;
        }
        if ((rc = parse_list(manifests, m, "manifests", what, err)))
            goto out;
    } else if (config && !manifests) {
        m->kind = AIRLOCK_OCI_MANIFEST;
        if (m->media_type && !airlock_media_type_is_manifest(m->media_type)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: has 'config' but mediaType '%.100s'", what,
                                   m->media_type);
            goto out;
        }
        if ((rc = parse_descriptor(config, &m->config, what, err)))
            goto out;
        if (layers && !cJSON_IsNull(layers) && (rc = parse_list(layers, m, "layers", what, err)))
            goto out;
    } else {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: neither an image manifest nor an index", what);
        goto out;
    }
    if (subject && !cJSON_IsNull(subject)) {
        m->subject = calloc(1, sizeof(*m->subject));
        if (!m->subject) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        if ((rc = parse_descriptor(subject, m->subject, what, err))) {
            free(m->subject);
            m->subject = NULL;
            goto out;
        }
    }
    rc = parse_annotations(root, &m->annotations, &m->n_annotations, what, err);
out:
    cJSON_Delete(root);
    if (rc) {
        airlock_oci_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
