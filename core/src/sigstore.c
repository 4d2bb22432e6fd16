/* sigstore bundles with a DSSE envelope around an in-toto statement, as cosign 3 writes and
 * verifies them with a key (FORMATS.md section 4). Every member is type-checked; the signed
 * bytes are verified as stored, then parsed, never re-serialized or byte-compared. */
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A member that, when present, must be of the given type (cJSON_IsObject, ...). */
static int bad_type(const cJSON *x, cJSON_bool (*is)(const cJSON *))
{
    return x && !is(x);
}

/* airlock_json_check, its finding reported as a signature failure */
static int json_guard(const char *p, size_t n, const char *what, struct airlock_error **err)
{
    struct airlock_error *e = NULL;
    if (!airlock_json_check(p, n, what, &e))
        return 0;
    airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s", e ? e->msg : "not JSON");
    airlock_error_free(e);
    return AIRLOCK_ESIGNATURE;
}

void airlock_dsse_release(struct airlock_dsse *d)
{
    if (!d)
        return;
    free(d->payload_type);
    free(d->payload);
    for (size_t i = 0; i < d->n_sigs; i++)
        free(d->sigs[i]);
    free(d->sigs);
    memset(d, 0, sizeof(*d));
}

/* "0.3" -> 3 (minor of major 0); -1 when not a version. Majors above 0 count as later. */
static long bundle_version(const char *v, size_t n)
{
    if (!n || n > 8 || strspn(v, "0123456789.") < n)
        return -1;
    char tmp[9];
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    char *dot = strchr(tmp, '.');
    if (!dot || dot == tmp || !dot[1] || strchr(dot + 1, '.'))
        return -1;
    long major = strtol(tmp, NULL, 10), minor = strtol(dot + 1, NULL, 10);
    return major > 0 ? 1000 + major : minor;
}

/* Accepts ".v0.3+json" and the older spelling "+json;version=0.3"; sets why otherwise. */
static int check_media_type(const char *mt, const char *what, struct airlock_error **err)
{
    static const char pre[] = AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX;
    const size_t pl = sizeof(pre) - 1;
    const char *v = NULL;
    size_t vl = 0;
    if (!strncmp(mt, pre, pl) && mt[pl] == '.' && mt[pl + 1] == 'v') {
        v = mt + pl + 2;
        const char *end = strstr(v, "+json");
        if (end && !end[5])
            vl = (size_t)(end - v);
    } else if (!strncmp(mt, pre, pl) && !strncmp(mt + pl, "+json;version=", 14)) {
        v = mt + pl + 14;
        vl = strlen(v);
    }
    long ver = v ? bundle_version(v, vl) : -1;
    if (ver < 0)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: media type '%.200s' is not a sigstore bundle", what, mt);
    if (ver < 3)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: sigstore bundle v%.*s is not supported (v0.3 or later "
                                 "needed)",
                                 what, (int)vl, v);
    return 0;
}

/* Standard base64, also as protojson accepts it (URL-safe alphabet, padding left out). */
static int b64_lenient(unsigned char **out, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (!airlock_b64_decode(out, len, s, n, NULL))
        return 0;
    if (n > AIRLOCK_MAX_SIGSTORE_BUNDLE)
        return -1;
    char *t = malloc(n + 4);
    if (!t)
        return -1;
    for (size_t i = 0; i < n; i++)
        t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    size_t m = n;
    while (m % 4)
        t[m++] = '=';
    int rc = airlock_b64_decode(out, len, t, m, NULL);
    free(t);
    return rc ? -1 : 0;
}

/* one_signature: the envelope of a sigstore bundle, which holds exactly one signature (the
 * bundle spec; @sigstore/bundle and sigstore-go refuse others). A bare DSSE envelope (cosign's
 * legacy .att layer) may hold several: one that verifies is enough, as cosign's threshold of
 * one reads it. */
static int parse_envelope(struct airlock_dsse *out, const cJSON *env, const char *what,
                          int one_signature, struct airlock_error **err)
{
    const cJSON *payload = member(env, "payload"), *type = member(env, "payloadType");
    const cJSON *sigs = member(env, "signatures");
    if (!cJSON_IsObject(env) || !cJSON_IsString(payload) || !cJSON_IsString(type) ||
        !cJSON_IsArray(sigs))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: dsseEnvelope needs string payload and payloadType and a "
                                 "signatures array",
                                 what);
    int count = cJSON_GetArraySize(sigs);
    if (count < 1)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s: dsseEnvelope has no signatures",
                                 what);
    if (one_signature && count != 1)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: dsseEnvelope has %d signatures (a sigstore bundle's has "
                                 "exactly one)",
                                 what, count);
    if (count > AIRLOCK_MAX_DSSE_SIGNATURES)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: dsseEnvelope has %d signatures (at most %d)", what, count,
                                 AIRLOCK_MAX_DSSE_SIGNATURES);
    const cJSON *it;
    cJSON_ArrayForEach(it, sigs)
    {
        if (!cJSON_IsObject(it) || !cJSON_IsString(member(it, "sig")) ||
            bad_type(member(it, "keyid"), cJSON_IsString))
            return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                     "%s: dsseEnvelope signature without a string 'sig'", what);
    }
    if (b64_lenient(&out->payload, &out->payload_len, payload->valuestring))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: dsseEnvelope payload is not valid base64", what);
    unsigned char *p = realloc(out->payload, out->payload_len + 1);
    if (!p)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    out->payload = p;
    p[out->payload_len] = '\0';
    out->payload_type = core_strdup0(type->valuestring);
    out->sigs = calloc((size_t)count, sizeof(*out->sigs));
    if (!out->payload_type || !out->sigs)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    cJSON_ArrayForEach(it, sigs)
    {
        if (!(out->sigs[out->n_sigs] = core_strdup0(member(it, "sig")->valuestring)))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        out->n_sigs++;
    }
    return 0;
}

static int parse_bundle(struct airlock_dsse *out, const cJSON *j, const char *what,
                        int *not_for_keys, struct airlock_error **err)
{
    const cJSON *mt = member(j, "mediaType"), *vm = member(j, "verificationMaterial");
    const cJSON *env = member(j, "dsseEnvelope"), *msg = member(j, "messageSignature");
    if (!cJSON_IsString(mt))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s: no string 'mediaType'", what);
    int rc = check_media_type(mt->valuestring, what, err);
    if (rc)
        return rc;
    if (!cJSON_IsObject(vm))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: no 'verificationMaterial' object", what);
    if (bad_type(env, cJSON_IsObject) || bad_type(msg, cJSON_IsObject) ||
        bad_type(member(j, "timestampVerificationData"), cJSON_IsObject) ||
        bad_type(member(vm, "tlogEntries"), cJSON_IsArray) ||
        bad_type(member(vm, "timestampVerificationData"), cJSON_IsObject) ||
        bad_type(member(vm, "publicKey"), cJSON_IsObject))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s: a member of the wrong type",
                                 what);
    *not_for_keys = 1;
    if (member(vm, "certificate") || member(vm, "x509CertificateChain"))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: keyless bundle (verification material is a certificate): "
                                 "not verifiable with a key",
                                 what);
    if (env && msg) {
        *not_for_keys = 0;
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: both dsseEnvelope and messageSignature (ambiguous)", what);
    }
    if (msg)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: messageSignature bundle (signs a digest, not a statement "
                                 "about the image): not verifiable with a key",
                                 what);
    *not_for_keys = 0;
    if (!env)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "%s: no content (dsseEnvelope or messageSignature)", what);
    return parse_envelope(out, env, what, 1, err);
}

/* A sigstore bundle or a bare DSSE envelope (what: "sigstore bundle", "DSSE envelope") read
 * as a JSON object: capped, guarded, without duplicate keys. *out: the object (cJSON_Delete). */
static int parse_object(cJSON **out, const char *p, size_t n, const char *kind, const char *what,
                        struct airlock_error **err)
{
    *out = NULL;
    if (n > AIRLOCK_MAX_SIGSTORE_BUNDLE)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s: %s of %zu bytes (at most %u)",
                                 what, kind, n, AIRLOCK_MAX_SIGSTORE_BUNDLE);
    if (json_guard(p, n, what, err))
        return AIRLOCK_ESIGNATURE;
    cJSON *j = core_json_parse(p, n, NULL);
    int rc = 0;
    const char *dup = NULL;
    if (!cJSON_IsObject(j))
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "%s: not a JSON object", what);
    else if ((dup = core_json_duplicate_key(j)))
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "%s: duplicate JSON key '%.100s' (ambiguous)", what, dup);
    if (rc)
        cJSON_Delete(j);
    else
        *out = j;
    return rc;
}

int airlock_sigstore_bundle_parse(struct airlock_dsse *out, const char *p, size_t n,
                                  const char *what, struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = NULL;
    int not_for_keys = 0, rc = parse_object(&j, p, n, "sigstore bundle", what, err);
    if (!rc)
        rc = parse_bundle(out, j, what, &not_for_keys, err);
    cJSON_Delete(j);
    if (rc) {
        airlock_dsse_release(out);
        out->not_for_keys = not_for_keys;
    }
    return rc;
}

int airlock_dsse_pae(unsigned char **out, size_t *out_len, const char *type,
                     const void *payload, size_t n, struct airlock_error **err)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(2 * AIRLOCK_MAX_SIGSTORE_BUNDLE);
    int rc = airlock_buf_printf(&b, "DSSEv1 %zu %s %zu ", strlen(type), type, n);
    if (!rc)
        rc = airlock_buf_append(&b, payload, n);
    if (rc) {
        airlock_buf_release(&b);
        return airlock_error_set(err, AIRLOCK_EOS, "cannot build the DSSE PAE");
    }
    *out = (unsigned char *)airlock_buf_detach(&b, out_len);
    return 0;
}

void airlock_intoto_statement_release(struct airlock_intoto_statement *s)
{
    if (!s)
        return;
    free(s->predicate_type);
    for (size_t i = 0; i < s->n_subjects; i++) {
        struct airlock_intoto_subject *x = &s->subjects[i];
        free(x->name);
        free(x->sha256);
        for (size_t a = 0; a < x->n_annotations; a++) {
            free(x->annotations[a].key);
            free(x->annotations[a].value);
        }
        free(x->annotations);
    }
    free(s->subjects);
    memset(s, 0, sizeof(*s));
}

static int parse_subject(struct airlock_intoto_subject *x, const cJSON *o)
{
    const cJSON *name = member(o, "name"), *dg = member(o, "digest");
    const cJSON *ann = member(o, "annotations");
    if (!cJSON_IsObject(o) || bad_type(name, cJSON_IsString) || !cJSON_IsObject(dg) ||
        bad_type(ann, cJSON_IsObject))
        return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, dg)
    {
        if (!cJSON_IsString(it))
            return -1;
    }
    const cJSON *sha = member(dg, "sha256");
    if ((name && !(x->name = core_strdup0(name->valuestring))) ||
        (sha && !(x->sha256 = core_strdup0(sha->valuestring))))
        return -2;
    int count = ann ? cJSON_GetArraySize(ann) : 0;
    if (count && !(x->annotations = calloc((size_t)count, sizeof(*x->annotations))))
        return -2;
    cJSON_ArrayForEach(it, ann)
    {
        if (!cJSON_IsString(it))
            continue; /* cosign compares -a values as strings: others never match */
        struct airlock_annotation *a = &x->annotations[x->n_annotations];
        a->key = core_strdup0(it->string);
        a->value = core_strdup0(it->valuestring);
        x->n_annotations++;
        if (!a->key || !a->value)
            return -2;
    }
    return 0;
}

/* allow_v01: in-toto v0.1 statements, as cosign writes them (legacy .att and bundles) */
static int statement_parse(struct airlock_intoto_statement *out, const void *p, size_t n,
                           int allow_v01, struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    if (n > AIRLOCK_MAX_SIGSTORE_BUNDLE)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "in-toto statement of %zu bytes", n);
    if (json_guard(p, n, "in-toto statement", err))
        return AIRLOCK_ESIGNATURE;
    cJSON *j = core_json_parse(p, n, NULL);
    const cJSON *type = member(j, "_type"), *subj = member(j, "subject");
    const cJSON *pt = member(j, "predicateType"), *it;
    const char *dup = NULL;
    int rc = 0, count;
    if (!cJSON_IsObject(j)) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "in-toto statement: not a JSON object");
        goto out;
    }
    dup = core_json_duplicate_key(j);
    if (dup) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "in-toto statement: duplicate JSON key '%.100s' (ambiguous: "
                               "verifiers differ in which value they read)",
                               dup);
        goto out;
    }
    if (!cJSON_IsString(type) || (strcmp(type->valuestring, AIRLOCK_INTOTO_STATEMENT_V1) &&
                                  (!allow_v01 ||
                                   strcmp(type->valuestring, AIRLOCK_INTOTO_STATEMENT_V01)))) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE, "in-toto statement: _type is not '%s'%s",
                               AIRLOCK_INTOTO_STATEMENT_V1,
                               allow_v01 ? " (or v0.1)" : "");
        goto out;
    }
    if (!cJSON_IsString(pt) || !cJSON_IsArray(subj) ||
        (member(j, "predicate") && !cJSON_IsObject(member(j, "predicate")) &&
         !cJSON_IsString(member(j, "predicate")))) { /* a string: cosign's spdx */
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "in-toto statement: needs a subject array and a string "
                               "predicateType");
        goto out;
    }
    count = cJSON_GetArraySize(subj);
    if (count < 1 || count > AIRLOCK_MAX_INTOTO_SUBJECTS) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "in-toto statement: %d subjects (1 to %d allowed)", count,
                               AIRLOCK_MAX_INTOTO_SUBJECTS);
        goto out;
    }
    out->predicate_type = core_strdup0(pt->valuestring);
    out->subjects = calloc((size_t)count, sizeof(*out->subjects));
    if (!out->predicate_type || !out->subjects) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, subj)
    {
        int s = parse_subject(&out->subjects[out->n_subjects++], it);
        if (s == -2)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else if (s)
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "in-toto statement: subject %zu is not an object with a "
                                   "digest map of strings",
                                   out->n_subjects - 1);
        if (rc)
            goto out;
    }
out:
    cJSON_Delete(j);
    if (rc)
        airlock_intoto_statement_release(out);
    return rc;
}

int airlock_intoto_statement_parse(struct airlock_intoto_statement *out, const void *p, size_t n,
                                   struct airlock_error **err)
{
    return statement_parse(out, p, n, 0, err);
}

static int verify_envelope(struct airlock_sigstore_claim *out, const struct airlock_dsse *d,
                           const struct airlock_pubkey *key, const char *digest, const char *what,
                           int allow_v01, struct airlock_error **err);

void airlock_sigstore_claim_release(struct airlock_sigstore_claim *c)
{
    if (!c)
        return;
    free(c->predicate_type);
    for (size_t i = 0; i < c->n_annotations; i++) {
        free(c->annotations[i].key);
        free(c->annotations[i].value);
    }
    free(c->annotations);
    free(c->statement);
    memset(c, 0, sizeof(*c));
}

int airlock_dsse_envelope_parse(struct airlock_dsse *out, const char *p, size_t n,
                                const char *what, struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = NULL;
    int rc = parse_object(&j, p, n, "DSSE envelope", what, err);
    if (!rc)
        rc = parse_envelope(out, j, what, 0, err);
    cJSON_Delete(j);
    if (rc)
        airlock_dsse_release(out);
    return rc;
}

int airlock_sigstore_verify(struct airlock_sigstore_claim *out, const char *bundle, size_t n,
                            const struct airlock_pubkey *key, const char *digest,
                            const char *what, struct airlock_error **err)
{
    struct airlock_dsse d;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = airlock_sigstore_bundle_parse(&d, bundle, n, what, err))) {
        out->not_for_keys = d.not_for_keys;
        return rc;
    }
    /* in-toto v1, or v0.1: cosign's attest puts attestation.GenerateStatement's v0.1
     * statements in its bundles too, and sigstore-go does not judge _type */
    rc = verify_envelope(out, &d, key, digest, what, 1, err);
    airlock_dsse_release(&d);
    return rc;
}

int airlock_dsse_verify(struct airlock_sigstore_claim *out, const struct airlock_dsse *d,
                        const struct airlock_pubkey *key, const char *digest, const char *what,
                        struct airlock_error **err)
{
    return verify_envelope(out, d, key, digest, what, 1, err);
}

static int verify_envelope(struct airlock_sigstore_claim *out, const struct airlock_dsse *d,
                           const struct airlock_pubkey *key, const char *digest, const char *what,
                           int allow_v01, struct airlock_error **err)
{
    struct airlock_intoto_statement st;
    unsigned char *pae = NULL;
    size_t pae_len = 0;
    const char *hex = digest && !strncmp(digest, "sha256:", 7) ? digest + 7 : "";
    struct airlock_intoto_subject *match = NULL;
    int rc;
    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    if (strcmp(d->payload_type, AIRLOCK_DSSE_TYPE_INTOTO)) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "%s: DSSE payloadType '%.200s' is not '%s'", what, d->payload_type,
                               AIRLOCK_DSSE_TYPE_INTOTO);
        goto out;
    }
    if ((rc = airlock_dsse_pae(&pae, &pae_len, d->payload_type, d->payload, d->payload_len, err)))
        goto out;
    rc = AIRLOCK_ESIGNATURE;
    for (size_t i = 0; rc && i < d->n_sigs; i++)
        rc = airlock_pubkey_verify(key, pae, pae_len, d->sigs[i], NULL);
    if (rc) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "%s: no DSSE signature (of %zu) verifies with the key", what,
                               d->n_sigs);
        goto out;
    }
    if ((rc = statement_parse(&st, d->payload, d->payload_len, allow_v01, err))) {
        airlock_error_wrap(err, "%s", what);
        goto out;
    }
    for (size_t i = 0; !match && i < st.n_subjects; i++)
        if (st.subjects[i].sha256 && *hex && !strcmp(st.subjects[i].sha256, hex))
            match = &st.subjects[i];
    if (!match) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "%s: no statement subject is '%s' (signs sha256:%.64s%s)", what,
                               digest ? digest : "", st.subjects[0].sha256 ? st.subjects[0].sha256 : "?",
                               st.n_subjects > 1 ? ", ..." : "");
        goto out;
    }
    if (!(out->statement = malloc(d->payload_len + 1))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    memcpy(out->statement, d->payload, d->payload_len + 1);
    out->statement_len = d->payload_len;
    out->predicate_type = steal_pointer(&st.predicate_type);
    out->annotations = steal_pointer(&match->annotations);
    out->n_annotations = match->n_annotations;
    match->n_annotations = 0;
    rc = 0;
out:
    free(pae);
    airlock_intoto_statement_release(&st);
    return rc;
}
