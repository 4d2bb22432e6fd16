/* Attestations as cosign attest writes them and verify-attestation reads them: the in-toto
 * statement around a predicate document, the bare DSSE envelope of an .att layer, and the
 * predicate taken back out of a verified statement byte for byte. The DSSE parser, PAE and
 * verifier are sigstore.c's; the sigstore bundle writer is sigstore_build.c's. */
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *uri;
    enum airlock_predicate_form form;
} types[] = {
    {"slsaprovenance", "https://slsa.dev/provenance/v0.2", AIRLOCK_PREDICATE_JSON},
    {"slsaprovenance02", "https://slsa.dev/provenance/v0.2", AIRLOCK_PREDICATE_JSON},
    {"slsaprovenance1", "https://slsa.dev/provenance/v1", AIRLOCK_PREDICATE_JSON},
    {"link", "https://in-toto.io/Link/v1", AIRLOCK_PREDICATE_JSON},
    {"spdx", AIRLOCK_PREDICATE_SPDX, AIRLOCK_PREDICATE_STRING},
    {"spdxjson", AIRLOCK_PREDICATE_SPDX, AIRLOCK_PREDICATE_JSON},
    {"cyclonedx", AIRLOCK_PREDICATE_CYCLONEDX, AIRLOCK_PREDICATE_JSON},
    {"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1", AIRLOCK_PREDICATE_JSON},
    {"openvex", "https://openvex.dev/ns", AIRLOCK_PREDICATE_JSON},
    {"custom", AIRLOCK_PREDICATE_CUSTOM, AIRLOCK_PREDICATE_WRAPPED},
};

const char *airlock_predicate_type_uri(const char *name, enum airlock_predicate_form *form)
{
    if (form)
        *form = AIRLOCK_PREDICATE_JSON;
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(name, types[i].name)) {
            if (form)
                *form = types[i].form;
            return types[i].uri;
        }
    /* a URI: a scheme ("https:", "urn:"), then no spaces or control characters */
    size_t s = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
    if (!s || name[s] != ':' || !name[s + 1] || strlen(name) > 1024)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\')
            return NULL;
    return name;
}

static int has_prefix_version(const char *uri, const char *base)
{
    size_t n = strlen(base);
    return uri && !strncmp(uri, base, n) && (!uri[n] || uri[n] == '/');
}

int airlock_predicate_is_sbom(const char *uri)
{
    return has_prefix_version(uri, AIRLOCK_PREDICATE_SPDX) ||
           has_prefix_version(uri, AIRLOCK_PREDICATE_CYCLONEDX);
}

/* Valid UTF-8 with no NUL (a string predicate must survive JSON both ways). */
static int text_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : 9;
        if (!c || k == 9 || (k == 1 && c < 0xc2) || i + k >= n + (k ? 0 : 1))
            return 0;
        for (size_t j = 1; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

int airlock_intoto_attestation_build(char **out, size_t *len, const char *statement_type,
                                     const char *digest, const char *name, const char *type,
                                     const void *predicate, size_t n, const char *created,
                                     const char *what, struct airlock_error **err)
{
    enum airlock_predicate_form form;
    const char *uri = airlock_predicate_type_uri(type, &form);
    const size_t cap = AIRLOCK_MAX_SIGSTORE_BUNDLE / 2 - 4096;
    if (!uri)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "predicate type '%.100s' is neither a cosign type name "
                                 "(slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, "
                                 "spdxjson, cyclonedx, vuln, openvex, custom) nor a URI",
                                 type ? type : "");
    if (!strcmp(uri, AIRLOCK_PREDICATE_COSIGN_SIGN)) /* read back as a signature, not this */
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "predicate type '%s' is cosign's signature statement, not an "
                                 "attestation type (use 'airlock sign')",
                                 uri);
    if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
        strspn(digest + 7, "0123456789abcdef") != 64)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%.100s' is not a sha256 digest",
                                 digest ? digest : "");
    if (n > cap)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "%s: %zu bytes (a predicate is at most %zu)",
                                 what, n, cap);
    if (form == AIRLOCK_PREDICATE_JSON) {
        struct airlock_error *e = NULL;
        cJSON *j = NULL;
        int bad = airlock_json_check(predicate, n, what, &e) ||
                  !(j = core_json_parse(predicate, n, NULL));
        int obj = cJSON_IsObject(j);
        const char *dup = obj ? core_json_duplicate_key(j) : NULL;
        if (dup) {
            int rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                       "%s: duplicate JSON key '%.100s' (ambiguous: verifiers "
                                       "differ in which value they read; give each key once)",
                                       what, dup);
            cJSON_Delete(j);
            return rc;
        }
        cJSON_Delete(j);
        if (bad || !obj) {
            int rc = airlock_error_set(
                err, AIRLOCK_EUSAGE, "%s is not a JSON %s, as a predicate of type '%s' must be%s%s",
                what, "object", type, e ? ": " : "", e ? e->msg : "");
            airlock_error_free(e);
            return rc;
        }
    } else if (!text_ok(predicate, n))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "%s is not UTF-8 text (a predicate of type '%s' is put in as a "
                                 "string)",
                                 what, type);
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_SIGSTORE_BUNDLE);
    char *text = NULL;
    int rc = airlock_buf_append(&b, "{\"_type\":", 9);
    if (!rc)
        rc = core_json_go_str(&b, statement_type);
    if (!rc)
        rc = airlock_buf_append(&b, ",\"subject\":[{", 13);
    if (!rc && name) {
        rc = airlock_buf_append(&b, "\"name\":", 7);
        if (!rc)
            rc = core_json_go_str(&b, name);
        if (!rc)
            rc = airlock_buf_append(&b, ",", 1);
    }
    if (!rc)
        rc = airlock_buf_printf(&b,
                                "\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":", digest + 7);
    if (!rc)
        rc = core_json_go_str(&b, uri);
    if (!rc)
        rc = airlock_buf_append(&b, ",\"predicate\":", 13);
    if (!rc && form != AIRLOCK_PREDICATE_JSON && !(text = malloc(n + 1)))
        rc = -1;
    if (text) {
        memcpy(text, predicate, n);
        text[n] = '\0';
    }
    if (!rc && form == AIRLOCK_PREDICATE_JSON)
        rc = airlock_buf_append(&b, predicate, n);
    else if (!rc && form == AIRLOCK_PREDICATE_STRING)
        rc = core_json_go_str(&b, text);
    else if (!rc) {
        rc = airlock_buf_append(&b, "{\"Data\":", 8);
        if (!rc)
            rc = core_json_go_str(&b, text);
        if (!rc)
            rc = airlock_buf_append(&b, ",\"Timestamp\":", 13);
        if (!rc)
            rc = core_json_go_str(&b, created ? created : "1970-01-01T00:00:00Z");
        if (!rc)
            rc = airlock_buf_append(&b, "}", 1);
    }
    free(text);
    if (!rc)
        rc = airlock_buf_append(&b, "}", 2); /* with the NUL, not counted */
    if (rc) {
        airlock_buf_release(&b);
        return airlock_error_set(err, AIRLOCK_EOS,
                                 "cannot build the in-toto statement (out of memory or too large)");
    }
    *out = airlock_buf_detach(&b, len);
    (*len)--;
    return 0;
}

/* ---- the predicate's bytes, found in the statement ----------------------------------------- */

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* At a '"': past the closing quote. -1 when unterminated. */
static int skip_string(const char *p, size_t *i, size_t n)
{
    for (size_t k = *i + 1; k < n; k++) {
        if (p[k] == '\\')
            k++;
        else if (p[k] == '"') {
            *i = k + 1;
            return 0;
        }
    }
    return -1;
}

/* Past one JSON value (the input was checked by airlock_json_check and cJSON already). */
static int skip_value(const char *p, size_t *i, size_t n)
{
    if (*i >= n)
        return -1;
    if (p[*i] == '"')
        return skip_string(p, i, n);
    if (p[*i] == '{' || p[*i] == '[') {
        size_t depth = 0;
        for (size_t k = *i; k < n; k++) {
            if (p[k] == '"') {
                if (skip_string(p, &k, n))
                    return -1;
                k--;
            } else if (p[k] == '{' || p[k] == '[')
                depth++;
            else if ((p[k] == '}' || p[k] == ']') && !--depth) {
                *i = k + 1;
                return 0;
            }
        }
        return -1;
    }
    while (*i < n && !strchr(",}] \t\r\n", p[*i]))
        (*i)++;
    return 0;
}

int airlock_intoto_predicate(char **out, size_t *len, int *is_string, const char *statement,
                             size_t n, struct airlock_error **err)
{
    cJSON *j = NULL;
    const cJSON *pred;
    *out = NULL;
    *is_string = 0;
    if (airlock_json_check(statement, n, "in-toto statement", err))
        return AIRLOCK_EINTEGRITY;
    if (!(j = core_json_parse(statement, n, NULL)) || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "in-toto statement: not a JSON object");
    }
    pred = cJSON_GetObjectItemCaseSensitive(j, "predicate");
    if (!pred) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_ENOTFOUND, "the statement has no predicate");
    }
    char *text = NULL;
    if (cJSON_IsString(pred) && !(text = core_strdup0(pred->valuestring))) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    cJSON_Delete(j);
    /* the member's bytes: walk the top-level object, as cJSON just read it */
    size_t i = skip_ws(statement, 0, n);
    if (i >= n || statement[i] != '{') {
        free(text);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "in-toto statement: not an object");
    }
    i++;
    for (;;) {
        i = skip_ws(statement, i, n);
        if (i >= n || statement[i] != '"')
            break;
        size_t k0 = i;
        if (skip_string(statement, &i, n))
            break;
        int hit = i - k0 == 11 && !memcmp(statement + k0, "\"predicate\"", 11);
        i = skip_ws(statement, i, n);
        if (i >= n || statement[i] != ':')
            break;
        size_t v0 = skip_ws(statement, i + 1, n);
        i = v0;
        if (skip_value(statement, &i, n))
            break;
        size_t v1 = skip_ws(statement, i, n); /* trailing whitespace is the file's own */
        if (hit && text) { /* a string: its decoded text, unless a NUL would cut it short */
            for (size_t k = v0 + 1; k + 1 < v1; k++)
                if (statement[k] == '\\' && statement[++k] == 'u' && k + 4 < v1 &&
                    !memcmp(statement + k + 1, "0000", 4)) {
                    free(text);
                    return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                             "in-toto statement: the predicate string holds a "
                                             "NUL (\\u0000)");
                }
            *is_string = 1;
            *len = strlen(text);
            *out = text;
            return 0;
        }
        if (hit) {
            if (!(*out = malloc(v1 - v0 + 1)))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            memcpy(*out, statement + v0, v1 - v0);
            (*out)[v1 - v0] = '\0';
            *len = v1 - v0;
            return 0;
        }
        i = v1;
        if (i < n && statement[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    /* spelled with escapes ("predic\u0061te"): cJSON found it, the raw walk did not */
    free(text);
    return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                             "in-toto statement: the predicate member is not spelled plainly");
}

/* ---- the bare envelope of an .att layer --------------------------------------------------- */

int airlock_dsse_envelope_build(char **out, size_t *len, const struct airlock_key *k,
                                const void *statement, size_t n, struct airlock_error **err)
{
    _cleanup_free_ char *sig = NULL;
    _cleanup_free_ char *payload = NULL;
    _cleanup_free_ unsigned char *pae = NULL;
    size_t pl = 0;
    if (n > AIRLOCK_MAX_SIGSTORE_BUNDLE / 2)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "in-toto statement of %zu bytes (at most %u)",
                                 n, AIRLOCK_MAX_SIGSTORE_BUNDLE / 2);
    int rc = airlock_dsse_pae(&pae, &pl, AIRLOCK_DSSE_TYPE_INTOTO, statement, n, err);
    if (rc || (rc = airlock_key_sign(&sig, k, pae, pl, err)))
        return rc;
    if (!(payload = airlock_b64_encode(statement, n)))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    /* go-securesystemslib's dsse.Envelope, member for member */
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_SIGSTORE_BUNDLE);
    rc = airlock_buf_printf(&b, "{\"payloadType\":\"%s\",\"payload\":\"", AIRLOCK_DSSE_TYPE_INTOTO);
    if (!rc)
        rc = airlock_buf_append(&b, payload, strlen(payload));
    if (!rc)
        rc = airlock_buf_printf(&b, "\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"%s\"}]}", sig);
    if (!rc)
        rc = airlock_buf_append(&b, "", 1);
    if (rc) {
        airlock_buf_release(&b);
        return airlock_error_set(err, AIRLOCK_EOS, "cannot build the DSSE envelope");
    }
    *out = airlock_buf_detach(&b, len);
    (*len)--;
    return 0;
}

/* ---- when an SBOM was made ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 0;
}

int airlock_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec)
{
    unsigned y, mo, d, h, mi, se, oh = 0, om = 0;
    size_t n = s ? strlen(s) : 0, i = 19;
    if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return -1;
    int32_t ns = 0;
    if (s[i] == '.') {
        size_t k = ++i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (i - k < 9)
                ns = ns * 10 + (s[i] - '0');
        if (i == k)
            return -1;
        for (size_t z = i - k; z < 9; z++)
            ns *= 10;
    }
    int sign = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
        sign = 0;
    else if ((s[i] == '+' || s[i] == '-') && i + 6 == n && !digits(s + i + 1, 2, &oh) &&
             s[i + 3] == ':' && !digits(s + i + 4, 2, &om) && oh < 24 && om < 60)
        sign = s[i] == '+' ? 1 : -1;
    else
        return -1;
    *sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
           sign * (int64_t)(oh * 3600 + om * 60);
    *nsec = ns;
    return 0;
}

char *airlock_sbom_created(const char *doc, size_t n)
{
    if (!doc || !n)
        return NULL;
    if (!airlock_json_check(doc, n, "SBOM", NULL)) {
        cJSON *j = core_json_parse(doc, n, NULL);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "creationInfo"), "created"); /* SPDX 2 */
        if (!cJSON_IsString(t))
            t = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(j, "metadata"), "timestamp"); /* CycloneDX */
        char *out = cJSON_IsString(t) ? core_strdup0(t->valuestring) : NULL;
        cJSON_Delete(j);
        return out;
    }
    /* SPDX tag-value: "Created: 2026-01-02T03:04:05Z" on a line of its own */
    for (size_t i = 0; i + 8 < n; i++) {
        if ((i && doc[i - 1] != '\n') || memcmp(doc + i, "Created:", 8))
            continue;
        size_t a = i + 8, b;
        while (a < n && (doc[a] == ' ' || doc[a] == '\t'))
            a++;
        for (b = a; b < n && doc[b] != '\n' && doc[b] != '\r' && doc[b] != ' '; b++)
            ;
        if (b == a || b - a > 64)
            return NULL;
        char *out = malloc(b - a + 1);
        if (out)
            memcpy(out, doc + a, b - a), out[b - a] = '\0';
        return out;
    }
    return NULL;
}

char *airlock_intoto_statement_created(const char *statement, size_t n)
{
    if (!statement || airlock_json_check(statement, n, "in-toto statement", NULL))
        return NULL;
    cJSON *j = core_json_parse(statement, n, NULL);
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(j, "subject"), *it;
    char *out = NULL;
    if (!cJSON_IsArray(subj))
        subj = NULL;
    cJSON_ArrayForEach(it, subj)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(it, "annotations"), AIRLOCK_ANN_CREATED);
        if (cJSON_IsString(t)) {
            out = core_strdup0(t->valuestring);
            break;
        }
    }
    cJSON_Delete(j);
    return out;
}
