/* Writing cosign 3 signatures (FORMATS.md section 4): the in-toto statement, the sigstore
 * bundle around it, the OCI 1.1 referrer manifest that attaches the bundle to the image, and
 * the referrers tag schema's index. Written as cosign writes them, member for member; the
 * parser and verifier beside this file (sigstore.c) read them, and so do @sigstore/verify and
 * cosign 3 (tests/e2e/test_cosign3.sh). */
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int too_large(struct airlock_buf *b, struct airlock_error **err, const char *what)
{
    airlock_buf_release(b);
    return airlock_error_set(err, AIRLOCK_EOS, "cannot build the %s (out of memory or too large)",
                             what);
}

int airlock_intoto_statement_build(char **out, size_t *len, const char *digest,
                                   const char *predicate_type,
                                   const struct airlock_annotation *ann, size_t n_ann,
                                   struct airlock_error **err)
{
    if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
        strspn(digest + 7, "0123456789abcdef") != 64)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%.100s' is not a sha256 digest",
                                 digest ? digest : "");
    for (size_t i = 0; i < n_ann; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ann[i].key, ann[j].key))
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "annotation '%.100s' given twice (ambiguous)",
                                         ann[i].key);
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_SIGSTORE_BUNDLE / 2);
    int rc = airlock_buf_printf(&b,
                                "{\"_type\":\"%s\",\"subject\":[{\"digest\":{\"sha256\":\"%s\"},"
                                "\"annotations\":",
                                AIRLOCK_INTOTO_STATEMENT_V1, digest + 7);
    if (!rc)
        rc = core_json_go_map(&b, ann, n_ann);
    if (!rc)
        rc = airlock_buf_append(&b, "}],\"predicateType\":", 19);
    if (!rc)
        rc = core_json_go_str(&b, predicate_type);
    if (!rc)
        rc = airlock_buf_append(&b, ",\"predicate\":{}}", 16);
    if (!rc)
        rc = airlock_buf_append(&b, "", 1); /* the NUL, not counted */
    if (rc)
        return too_large(&b, err, "in-toto statement");
    *out = airlock_buf_detach(&b, len);
    (*len)--;
    return 0;
}

int airlock_key_hint(char **out, const struct airlock_key *k, struct airlock_error **err)
{
    _cleanup_free_ char *pem = NULL;
    unsigned char *der = NULL, md[32];
    char hex[AIRLOCK_DIGEST_SIZE], label[64];
    size_t dl = 0;
    int rc = airlock_key_public_pem(&pem, k, err);
    if (rc || (rc = core_pem_decode(&der, &dl, label, pem, strlen(pem), "public key", err)))
        return rc;
    rc = airlock_sha256_digest(hex, der, dl, err);
    free(der);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(md); i++) {
        unsigned v = 0;
        sscanf(hex + 7 + 2 * i, "%2x", &v);
        md[i] = (unsigned char)v;
    }
    *out = airlock_b64_encode(md, sizeof(md));
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

int airlock_sigstore_bundle_build(char **out, size_t *len, const struct airlock_key *k,
                                  const void *statement, size_t n, struct airlock_error **err)
{
    _cleanup_free_ char *hint = NULL;
    _cleanup_free_ char *sig = NULL;
    _cleanup_free_ char *payload = NULL;
    _cleanup_free_ unsigned char *pae = NULL;
    size_t pl = 0;
    if (n > AIRLOCK_MAX_SIGSTORE_BUNDLE / 2)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "in-toto statement of %zu bytes (at most %u)",
                                 n, AIRLOCK_MAX_SIGSTORE_BUNDLE / 2);
    int rc = airlock_key_hint(&hint, k, err);
    if (rc || (rc = airlock_dsse_pae(&pae, &pl, AIRLOCK_DSSE_TYPE_INTOTO, statement, n, err)) ||
        (rc = airlock_key_sign(&sig, k, pae, pl, err)))
        return rc;
    if (!(payload = airlock_b64_encode(statement, n)))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_SIGSTORE_BUNDLE);
    rc = airlock_buf_printf(&b,
                            "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":"
                            "{\"hint\":\"%s\"}},\"dsseEnvelope\":{\"payload\":\"",
                            AIRLOCK_MT_SIGSTORE_BUNDLE_V03, hint);
    if (!rc)
        rc = airlock_buf_append(&b, payload, strlen(payload));
    if (!rc)
        rc = airlock_buf_printf(&b, "\",\"payloadType\":\"%s\",\"signatures\":[{\"sig\":\"%s\"}]}}",
                                AIRLOCK_DSSE_TYPE_INTOTO, sig);
    if (!rc)
        rc = airlock_buf_append(&b, "", 1);
    if (rc)
        return too_large(&b, err, "sigstore bundle");
    *out = airlock_buf_detach(&b, len);
    (*len)--;
    return 0;
}

static int descriptor(struct airlock_buf *b, const char *mt, uint64_t size, const char *digest)
{
    int rc = airlock_buf_append(b, "{\"mediaType\":", 13);
    if (!rc)
        rc = core_json_go_str(b, mt);
    if (!rc)
        rc = airlock_buf_printf(b, ",\"size\":%llu,\"digest\":", (unsigned long long)size);
    if (!rc)
        rc = core_json_go_str(b, digest);
    return rc;
}

int airlock_sigstore_referrer_build(char **out, size_t *len,
                                    const struct airlock_descriptor *bundle,
                                    const struct airlock_descriptor *subject,
                                    const char *predicate_type, const char *created,
                                    struct airlock_error **err)
{
    const char *bmt = bundle->media_type ? bundle->media_type : AIRLOCK_MT_SIGSTORE_BUNDLE_V03;
    const char *smt = subject->media_type ? subject->media_type : AIRLOCK_MT_OCI_MANIFEST;
    struct airlock_annotation ann[3] = {{(char *)AIRLOCK_ANN_BUNDLE_CONTENT, (char *)"dsse-envelope"},
                                        {(char *)AIRLOCK_ANN_BUNDLE_PREDICATE, (char *)predicate_type},
                                        {(char *)AIRLOCK_ANN_CREATED, (char *)created}};
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    int rc = airlock_buf_printf(&b, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":",
                                AIRLOCK_MT_OCI_MANIFEST);
    if (!rc)
        rc = descriptor(&b, AIRLOCK_MT_OCI_EMPTY, 2, AIRLOCK_OCI_EMPTY_DIGEST);
    if (!rc)
        rc = airlock_buf_append(&b, ",\"artifactType\":", 16);
    if (!rc)
        rc = core_json_go_str(&b, bmt);
    if (!rc)
        rc = airlock_buf_append(&b, "},\"layers\":[", 12);
    if (!rc)
        rc = descriptor(&b, bmt, bundle->size, bundle->digest);
    if (!rc)
        rc = airlock_buf_append(&b, "}],\"annotations\":", 17);
    if (!rc)
        rc = core_json_go_map(&b, ann, 3);
    if (!rc)
        rc = airlock_buf_append(&b, ",\"subject\":", 11);
    if (!rc)
        rc = descriptor(&b, smt, subject->size, subject->digest);
    if (!rc)
        rc = airlock_buf_append(&b, "},\"artifactType\":", 17);
    if (!rc)
        rc = core_json_go_str(&b, bmt);
    if (!rc)
        rc = airlock_buf_append(&b, "}", 2); /* with the NUL */
    if (rc)
        return too_large(&b, err, "referrer manifest");
    *out = airlock_buf_detach(&b, len);
    (*len)--;
    return 0;
}

/* The referrer's descriptor as distribution-spec 1.1 lists it in a referrers index. */
static cJSON *referrer_descriptor(const char *manifest, size_t n, const char *digest)
{
    cJSON *m = core_json_parse(manifest, n, NULL);
    cJSON *d = cJSON_CreateObject(), *copy = NULL;
    const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "mediaType"));
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "artifactType"));
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(m, "config");
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
    if (!at) /* image-spec: without artifactType, the config's media type stands for it */
        at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "mediaType"));
    if (!m || !d || !cJSON_AddStringToObject(d, "mediaType", mt ? mt : AIRLOCK_MT_OCI_MANIFEST) ||
        !cJSON_AddNumberToObject(d, "size", (double)n) ||
        !cJSON_AddStringToObject(d, "digest", digest) ||
        (at && !cJSON_AddStringToObject(d, "artifactType", at)))
        goto fail;
    if (cJSON_IsObject(ann) &&
        (!(copy = cJSON_Duplicate(ann, 1)) || !cJSON_AddItemToObject(d, "annotations", copy))) {
        cJSON_Delete(copy);
        goto fail;
    }
    cJSON_Delete(m);
    return d;
fail:
    cJSON_Delete(m);
    cJSON_Delete(d);
    return NULL;
}

int airlock_referrers_index_add(char **out, size_t *len, int *added, const char *old,
                                size_t old_len, const char *manifest, size_t manifest_len,
                                const char *what, struct airlock_error **err)
{
    char digest[AIRLOCK_DIGEST_SIZE];
    cJSON *idx = NULL, *d = NULL;
    int rc = airlock_sha256_digest(digest, manifest, manifest_len, err);
    *added = 0;
    if (rc)
        return rc;
    if (airlock_json_check(manifest, manifest_len, "referrer manifest", err))
        return AIRLOCK_EINTEGRITY;
    if (old) {
        if (old_len > AIRLOCK_MAX_MANIFEST || airlock_json_check(old, old_len, what, NULL) ||
            !(idx = core_json_parse(old, old_len, NULL)) ||
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(idx, "manifests"))) {
            cJSON_Delete(idx);
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "%s: not an image index (a referrers index is one); it is "
                                     "left as it is",
                                     what);
        }
    } else if (!(idx = cJSON_CreateObject()) || !cJSON_AddNumberToObject(idx, "schemaVersion", 2) ||
               !cJSON_AddStringToObject(idx, "mediaType", AIRLOCK_MT_OCI_INDEX) ||
               !cJSON_AddArrayToObject(idx, "manifests")) {
        cJSON_Delete(idx);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(idx, "manifests");
    const cJSON *it;
    int have = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *dg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));
        have |= dg && !strcmp(dg, digest);
    }
    if (!have) {
        if (!(d = referrer_descriptor(manifest, manifest_len, digest)) ||
            !cJSON_AddItemToArray(arr, d)) {
            cJSON_Delete(d);
            cJSON_Delete(idx);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        *added = 1;
    }
    char *s = have ? NULL : cJSON_PrintUnformatted(idx);
    cJSON_Delete(idx);
    if (have) { /* unchanged: the bytes as they were */
        s = malloc(old_len + 1);
        if (s) {
            memcpy(s, old, old_len);
            s[old_len] = '\0';
        }
    }
    if (!s)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    *len = have ? old_len : strlen(s);
    if (*len > AIRLOCK_MAX_MANIFEST) {
        free(s);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: the referrers index would exceed %u bytes",
                                 what, AIRLOCK_MAX_MANIFEST);
    }
    *out = s;
    return 0;
}
