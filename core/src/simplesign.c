/* cosign "simple signing" payloads and .sig manifests (FORMATS.md section 3), written byte
 * for byte as cosign writes them and read as cosign and containers/image read them. */
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string as Go's encoding/json writes it (HTML-safe escaping, U+2028/2029 escaped,
 * invalid UTF-8 as U+FFFD). */
static int go_str(struct airlock_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = airlock_buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (!rc && *p) {
        unsigned char c = *p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            rc = airlock_buf_append(b, esc, 2);
            p++;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
            rc = airlock_buf_append(b, esc, 2);
            p++;
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            rc = airlock_buf_append(b, esc, 6);
            p++;
        } else if (c < 0x80) {
            rc = airlock_buf_append(b, p, 1);
            p++;
        } else {
            /* as Go's utf8.DecodeRune: no overlong forms, surrogates or values past U+10FFFF */
            int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok) {
                uint32_t cp = n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
                for (int i = 1; i < n; i++)
                    cp = (cp << 6) | (p[i] & 0x3fu);
                ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
                     !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) && !(cp >= 0xd800 && cp <= 0xdfff);
            }
            if (!ok) {
                rc = airlock_buf_append(b, "\\ufffd", 6);
                p++;
            } else if (n == 3 && c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
                rc = airlock_buf_append(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                p += 3;
            } else {
                rc = airlock_buf_append(b, p, (size_t)n);
                p += n;
            }
        }
    }
    return rc ? rc : airlock_buf_append(b, "\"", 1);
}

static int cmp_ann(const void *a, const void *b)
{
    return strcmp(((const struct airlock_annotation *)a)->key,
                  ((const struct airlock_annotation *)b)->key);
}

/* {"k":"v",...} with keys sorted, as Go marshals a map[string]string. */
static int go_map(struct airlock_buf *b, const struct airlock_annotation *ann, size_t n)
{
    struct airlock_annotation *s = malloc((n ? n : 1) * sizeof(*s));
    if (!s)
        return AIRLOCK_EOS;
    if (n)
        memcpy(s, ann, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_ann);
    int rc = airlock_buf_append(b, "{", 1);
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = airlock_buf_append(b, ",", 1);
        if (!rc)
            rc = go_str(b, s[i].key);
        if (!rc)
            rc = airlock_buf_append(b, ":", 1);
        if (!rc)
            rc = go_str(b, s[i].value);
    }
    free(s);
    return rc ? rc : airlock_buf_append(b, "}", 1);
}

int core_json_go_str(struct airlock_buf *b, const char *s)
{
    return go_str(b, s);
}

int core_json_go_map(struct airlock_buf *b, const struct airlock_annotation *ann, size_t n)
{
    return go_map(b, ann, n);
}

int airlock_sig_payload_build(char **out, size_t *len, const char *identity, const char *digest,
                              const struct airlock_annotation *ann, size_t n_ann,
                              struct airlock_error **err)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    int rc = airlock_buf_append(&b, "{\"critical\":{\"identity\":{\"docker-reference\":", 44);
    if (!rc)
        rc = go_str(&b, identity);
    if (!rc)
        rc = airlock_buf_append(&b, "},\"image\":{\"docker-manifest-digest\":", 36);
    if (!rc)
        rc = go_str(&b, digest);
    if (!rc)
        rc = airlock_buf_printf(&b, "},\"type\":\"%s\"},\"optional\":", AIRLOCK_SIG_TYPE);
    if (!rc)
        rc = n_ann ? go_map(&b, ann, n_ann) : airlock_buf_append(&b, "null", 4);
    if (!rc)
        rc = airlock_buf_append(&b, "}", 1);
    if (rc) {
        airlock_buf_release(&b);
        return airlock_error_set(err, AIRLOCK_EOS, "cannot build signature payload");
    }
    *out = airlock_buf_detach(&b, len);
    return 0;
}

void airlock_sig_payload_release(struct airlock_sig_payload *p)
{
    free(p->identity);
    free(p->digest);
    free(p->type);
    for (size_t i = 0; i < p->n_optional; i++) {
        free(p->optional[i].key);
        free(p->optional[i].value);
    }
    free(p->optional);
    memset(p, 0, sizeof(*p));
}

/* containers/image's strict reading: exactly the named members, no duplicates. */
static int exact_members(const cJSON *o, const char *const *names, size_t n)
{
    if (!cJSON_IsObject(o))
        return 0;
    size_t count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= it->string && !strcmp(it->string, names[i]);
        if (!known)
            return 0;
        for (const cJSON *jt = it->next; jt; jt = jt->next)
            if (jt->string && !strcmp(jt->string, it->string))
                return 0; /* duplicate key */
        count++;
    }
    return count == n;
}

/* Duplicate keys anywhere: Go keeps the last, cJSON finds the first, containers/image refuses
 * them. A signed payload with duplicates is ambiguous: refuse it. The first key found twice
 * in one object, "(nesting too deep)" past the depth cap, or NULL. */
static const char *duplicate_key(const cJSON *o, int depth)
{
    if (depth > AIRLOCK_MAX_JSON_DEPTH)
        return "(nesting too deep)";
    for (const cJSON *it = o ? o->child : NULL; it; it = it->next) {
        if (cJSON_IsObject(o) && it->string)
            for (const cJSON *jt = it->next; jt; jt = jt->next)
                if (jt->string && !strcmp(jt->string, it->string))
                    return it->string;
        const char *k;
        if ((cJSON_IsObject(it) || cJSON_IsArray(it)) && (k = duplicate_key(it, depth + 1)))
            return k;
    }
    return NULL;
}

const char *core_json_duplicate_key(const struct cJSON *o)
{
    return duplicate_key(o, 0);
}

int core_json_has_duplicate_keys(const struct cJSON *o)
{
    return duplicate_key(o, 0) != NULL;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

int airlock_sig_payload_parse(struct airlock_sig_payload *out, const char *p, size_t n,
                              int strict, struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    if (n > AIRLOCK_MAX_MANIFEST || airlock_json_check(p, n, "signature payload", err))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "signature payload: not a JSON object");
    cJSON *j = core_json_parse(p, n, NULL);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "signature payload: invalid JSON");
    }
    int rc = 0;
    const char *dup = duplicate_key(j, 0);
    if (dup) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "signature payload: duplicate JSON key '%.100s' (ambiguous)", dup);
        cJSON_Delete(j);
        return rc;
    }
    const cJSON *crit = cJSON_GetObjectItemCaseSensitive(j, "critical");
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(j, "optional");
    const char *id, *dg, *ty;
    if (strict) {
        static const char *top[] = {"critical", "optional"};
        static const char *critk[] = {"type", "image", "identity"};
        static const char *imgk[] = {"docker-manifest-digest"};
        static const char *idk[] = {"docker-reference"};
        if (!exact_members(j, top, 2) || !exact_members(crit, critk, 3) ||
            !exact_members(cJSON_GetObjectItemCaseSensitive(crit, "image"), imgk, 1) ||
            !exact_members(cJSON_GetObjectItemCaseSensitive(crit, "identity"), idk, 1) ||
            !(cJSON_IsNull(opt) || cJSON_IsObject(opt))) {
            rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                   "signature payload: unexpected or missing members (strict "
                                   "containers/image rules)");
            goto out;
        }
    }
    id = str_at(crit, "identity", "docker-reference");
    dg = str_at(crit, "image", "docker-manifest-digest");
    ty = str_at(crit, "type", NULL);
    if (!dg || (strict && (!id || !ty || strcmp(ty, AIRLOCK_SIG_TYPE)))) {
        rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                               "signature payload: missing digest, identity or type");
        goto out;
    }
    out->identity = core_strdup0(id);
    out->digest = core_strdup0(dg);
    out->type = core_strdup0(ty);
    if (cJSON_IsObject(opt)) {
        size_t cnt = (size_t)cJSON_GetArraySize(opt);
        out->optional = calloc(cnt ? cnt : 1, sizeof(*out->optional));
        const cJSON *it;
        cJSON_ArrayForEach(it, opt)
        {
            if (!cJSON_IsString(it) || !out->optional)
                continue; /* cosign compares values as strings: others never match */
            struct airlock_annotation *a = &out->optional[out->n_optional++];
            a->key = strdup(it->string);
            a->value = strdup(it->valuestring);
        }
    }
out:
    cJSON_Delete(j);
    if (rc)
        airlock_sig_payload_release(out);
    return rc;
}

int airlock_identity_matches(const char *payload_ref, const char *want)
{
    if (!payload_ref || !want)
        return 0;
    struct airlock_ref a, b;
    if (airlock_ref_parse(&a, payload_ref, NULL))
        return 0;
    if (airlock_ref_parse(&b, want, NULL)) {
        airlock_ref_release(&a);
        return 0;
    }
    const char *slash = strrchr(want, '/');
    int exact = strchr(slash ? slash : want, ':') || strchr(want, '@');
    int ok;
    if (exact) {
        /* the payload's reference must carry the same tag/digest, not a defaulted one */
        const char *ps = strrchr(payload_ref, '/');
        int p_explicit = strchr(ps ? ps : payload_ref, ':') || strchr(payload_ref, '@');
        char *x = airlock_ref_format(&a), *y = airlock_ref_format(&b);
        ok = p_explicit && x && y && !strcmp(x, y);
        free(x);
        free(y);
    } else
        ok = !strcmp(a.domain, b.domain) && !strcmp(a.path, b.path);
    airlock_ref_release(&a);
    airlock_ref_release(&b);
    return ok;
}

/* The parts of s that were written, not defaulted: a tag after the last '/' (before any '@'),
 * a digest after '@'. */
static void written_parts(const char *s, int *tag, int *digest)
{
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/')
            slash = s + i;
    const char *from = slash ? slash : s;
    *tag = memchr(from, ':', n - (size_t)(from - s)) != NULL;
    *digest = at != NULL;
}

int airlock_identity_match_pulled(const char *payload_ref, const char *pulled)
{
    if (!payload_ref || !pulled)
        return 0;
    int ptag, pdig, wtag, wdig;
    written_parts(payload_ref, &ptag, &pdig);
    written_parts(pulled, &wtag, &wdig);
    if ((!wtag && !wdig) || (!ptag && !pdig))
        return 0; /* a name only, pulled or signed: containers/image refuses to match it
                   * (reference.IsNameOnly(signature), also for a pull by digest) */
    struct airlock_ref a, b;
    if (airlock_ref_parse(&a, payload_ref, NULL))
        return 0;
    if (airlock_ref_parse(&b, pulled, NULL)) {
        airlock_ref_release(&a);
        return 0;
    }
    int ok = !strcmp(a.domain, b.domain) && !strcmp(a.path, b.path);
    if (ok && wtag) {
        /* reference.Tagged (also with a digest): the same string, nothing defaulted */
        const char *at = ptag ? a.tag : NULL, *ad = pdig ? a.digest : NULL;
        ok = at && !strcmp(at, b.tag) &&
             (ad ? (wdig && !strcmp(ad, b.digest)) : !wdig);
    }
    airlock_ref_release(&a);
    airlock_ref_release(&b);
    return ok;
}

static int go_descriptor(struct airlock_buf *b, const char *mt, uint64_t size, const char *digest,
                         const struct airlock_annotation *ann, size_t n_ann)
{
    int rc = airlock_buf_append(b, "{\"mediaType\":", 13);
    if (!rc)
        rc = go_str(b, mt);
    if (!rc)
        rc = airlock_buf_printf(b, ",\"size\":%llu,\"digest\":", (unsigned long long)size);
    if (!rc)
        rc = go_str(b, digest);
    if (!rc && n_ann) {
        rc = airlock_buf_append(b, ",\"annotations\":", 15);
        if (!rc)
            rc = go_map(b, ann, n_ann);
    }
    return rc ? rc : airlock_buf_append(b, "}", 1);
}

int airlock_sig_manifest_build(char **manifest, size_t *manifest_len, char **config,
                               size_t *config_len, const struct airlock_descriptor *layers,
                               size_t n_layers, struct airlock_error **err)
{
    struct airlock_buf c = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    struct airlock_buf m = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    int rc = airlock_buf_append(&c, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[", 63);
    for (size_t i = 0; !rc && i < n_layers; i++)
        rc = airlock_buf_printf(&c, "%s{\"created\":\"0001-01-01T00:00:00Z\"}", i ? "," : "");
    if (!rc)
        rc = airlock_buf_append(&c, "],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[", 48);
    for (size_t i = 0; !rc && i < n_layers; i++)
        rc = airlock_buf_printf(&c, "%s\"%s\"", i ? "," : "", layers[i].digest);
    if (!rc)
        rc = airlock_buf_append(&c, "]},\"config\":{}}", 15);
    char cdigest[AIRLOCK_DIGEST_SIZE];
    if (!rc)
        rc = airlock_sha256_digest(cdigest, c.data, c.len, NULL);
    if (!rc)
        rc = airlock_buf_printf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":",
                                AIRLOCK_MT_OCI_MANIFEST);
    if (!rc)
        rc = go_descriptor(&m, AIRLOCK_MT_OCI_CONFIG, c.len, cdigest, NULL, 0);
    if (!rc)
        rc = airlock_buf_append(&m, ",\"layers\":[", 11);
    for (size_t i = 0; !rc && i < n_layers; i++) {
        const struct airlock_descriptor *d = &layers[i];
        if (i)
            rc = airlock_buf_append(&m, ",", 1);
        if (!rc)
            rc = go_descriptor(&m, d->media_type ? d->media_type : AIRLOCK_MT_SIMPLESIGNING,
                               d->size, d->digest, d->annotations, d->n_annotations);
    }
    if (!rc)
        rc = airlock_buf_append(&m, "]}", 2);
    if (rc) {
        airlock_buf_release(&c);
        airlock_buf_release(&m);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "signature manifest too large");
    }
    *config = airlock_buf_detach(&c, config_len);
    *manifest = airlock_buf_detach(&m, manifest_len);
    return 0;
}

/* ---- cosign verify -o json: Go's encoding/json of payload.SimpleContainerImage ---- */

/* One code point of strict UTF-8 at p (Go's utf8.DecodeRune: shortest form, no surrogates,
 * at most U+10FFFF): its length, or 0 when the byte starts no valid sequence. */
static size_t go_rune(const unsigned char *p, size_t left, unsigned *cp)
{
    if (p[0] < 0x80)
        return *cp = p[0], 1;
    size_t n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || n > left)
        return 0;
    unsigned c = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* A string as Go's json.Marshal writes it after json.Unmarshal read it: invalid UTF-8 became
 * U+FFFD (written as is); <, >, & and U+2028/9 as \u escapes (HTML-safe); \b \f \n \r \t
 * short (Go >= 1.22); other control characters \u00xx. */
static int go_string(struct airlock_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = airlock_buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (!rc && left) {
        unsigned c = 0;
        size_t n = go_rune(p, left, &c);
        if (!n) {
            rc = airlock_buf_append(b, "\xef\xbf\xbd", 3);
            p++, left--;
            continue;
        }
        char e[8];
        const char *short_esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t" : NULL;
        if (short_esc)
            rc = airlock_buf_append(b, short_esc, 2);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
            e[0] = '\\', e[1] = 'u', e[2] = hex[(c >> 12) & 15], e[3] = hex[(c >> 8) & 15];
            e[4] = hex[(c >> 4) & 15], e[5] = hex[c & 15];
            rc = airlock_buf_append(b, e, 6);
        } else
            rc = airlock_buf_append(b, p, n);
        p += n, left -= n;
    }
    return rc ? rc : airlock_buf_append(b, "\"", 1);
}

/* A float64 as Go's json.Marshal writes it: the shortest digits that read back the same,
 * fixed notation from 1e-6 up to 1e21, else d.ddde±XX with a one-digit negative exponent
 * unpadded. */
static int go_number(struct airlock_buf *b, double x)
{
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, x);
        if (strtod(e, NULL) == x)
            break;
    }
    char digits[24] = "";
    size_t nd = 0;
    const char *q = e;
    int neg = *q == '-';
    q += neg;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    int exp = *q == 'e' ? atoi(q + 1) : 0;
    double ax = x < 0 ? -x : x;
    int rc = neg ? airlock_buf_append(b, "-", 1) : 0;
    if (ax != 0 && (ax < 1e-6 || ax >= 1e21)) {
        rc = rc ? rc : airlock_buf_printf(b, "%c%s%s", digits[0], nd > 1 ? "." : "", digits + 1);
        return rc ? rc
                  : airlock_buf_printf(b, "e%c%0*d", exp < 0 ? '-' : '+', exp < 0 && exp > -10 ? 1 : 2,
                                       exp < 0 ? -exp : exp);
    }
    if (exp < 0) { /* 0.000ddd */
        rc = rc ? rc : airlock_buf_append(b, "0.", 2);
        for (int i = -1; !rc && i > exp; i--)
            rc = airlock_buf_append(b, "0", 1);
        return rc ? rc : airlock_buf_append(b, digits, nd);
    }
    for (int i = 0; !rc && i <= exp; i++) /* the integer part */
        rc = airlock_buf_append(b, (size_t)i < nd ? &digits[i] : "0", 1);
    if (!rc && nd > (size_t)exp + 1) {
        rc = airlock_buf_append(b, ".", 1);
        rc = rc ? rc : airlock_buf_append(b, digits + exp + 1, nd - (size_t)exp - 1);
    }
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* An interface{} value: objects with their keys sorted (Go's maps), arrays in order. */
static int go_value(struct airlock_buf *b, const cJSON *v, int depth)
{
    if (depth > 64)
        return -1;
    if (cJSON_IsString(v))
        return go_string(b, v->valuestring);
    if (cJSON_IsNumber(v))
        return go_number(b, v->valuedouble);
    if (cJSON_IsBool(v))
        return airlock_buf_printf(b, "%s", cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNull(v))
        return airlock_buf_append(b, "null", 4);
    int n = cJSON_GetArraySize(v), rc = 0;
    if (cJSON_IsArray(v)) {
        rc = airlock_buf_append(b, "[", 1);
        int i = 0;
        for (const cJSON *it = v->child; !rc && it; it = it->next, i++)
            rc = (i ? airlock_buf_append(b, ",", 1) : 0) || go_value(b, it, depth + 1);
        return rc ? -1 : airlock_buf_append(b, "]", 1);
    }
    if (!cJSON_IsObject(v))
        return -1;
    const cJSON **keys = calloc(n ? (size_t)n : 1, sizeof(*keys));
    if (!keys)
        return -1;
    int k = 0;
    for (const cJSON *it = v->child; it && k < n; it = it->next)
        keys[k++] = it;
    qsort(keys, (size_t)k, sizeof(*keys), key_cmp);
    rc = airlock_buf_append(b, "{", 1);
    for (int i = 0; !rc && i < k; i++)
        rc = (i ? airlock_buf_append(b, ",", 1) : 0) || go_string(b, keys[i]->string) ||
             airlock_buf_append(b, ":", 1) || go_value(b, keys[i], depth + 1);
    free(keys);
    return rc ? -1 : airlock_buf_append(b, "}", 1);
}

/* a string member of a struct field (Go matches names case-insensitively; null or absent:
 * ""), or NULL when it is there with another type (json.Unmarshal fails) */
static const char *go_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItem(o, name) : NULL;
    return !v || cJSON_IsNull(v) ? "" : cJSON_IsString(v) ? v->valuestring : NULL;
}

static int go_struct_ok(const cJSON *o) { return !o || cJSON_IsNull(o) || cJSON_IsObject(o); }

int airlock_sig_payload_cosign_json(struct airlock_buf *out, const char *p, size_t n,
                                    struct airlock_error **err)
{
    cJSON *j = n <= AIRLOCK_MAX_MANIFEST ? core_json_parse(p, n, NULL) : NULL;
    const cJSON *crit = cJSON_GetObjectItem(j, "critical");
    const cJSON *id = cJSON_IsObject(crit) ? cJSON_GetObjectItem(crit, "identity") : NULL;
    const cJSON *im = cJSON_IsObject(crit) ? cJSON_GetObjectItem(crit, "image") : NULL;
    const cJSON *opt = cJSON_GetObjectItem(j, "optional");
    const char *ref = go_field(id, "docker-reference"), *dg = go_field(im, "docker-manifest-digest");
    const char *ty = go_field(crit, "type");
    int rc = -1;
    if (cJSON_IsObject(j) && go_struct_ok(crit) && go_struct_ok(id) && go_struct_ok(im) && ref &&
        dg && ty && go_struct_ok(opt)) {
        rc = airlock_buf_append(out, "{\"critical\":{\"identity\":{\"docker-reference\":", 44) ||
             go_string(out, ref) ||
             airlock_buf_append(out, "},\"image\":{\"docker-manifest-digest\":", 36) ||
             go_string(out, dg) || airlock_buf_append(out, "},\"type\":", 9) ||
             go_string(out, ty) || airlock_buf_append(out, "},\"optional\":", 13) ||
             (opt ? go_value(out, opt, 0) : airlock_buf_append(out, "null", 4)) ||
             airlock_buf_append(out, "}", 1);
    }
    cJSON_Delete(j);
    return rc ? airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                  "signature payload: cannot be decoded as cosign decodes it")
              : 0;
}
