#include "airlock/core.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int airlock_json_check(const char *p, size_t n, const char *what, struct airlock_error **err)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n || (p[i] != '{' && p[i] != '['))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: not a JSON object or array",
                                 what);
    if (memchr(p, '\0', n))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: contains a NUL byte", what);
    int depth = 0, in_str = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (++depth > AIRLOCK_MAX_JSON_DEPTH)
                return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                         "%s: JSON nested deeper than %d levels", what,
                                         AIRLOCK_MAX_JSON_DEPTH);
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 0;
}

cJSON *core_json_parse(const char *p, size_t n, size_t *bad_at)
{
    const char *end = NULL;
    cJSON *j = p ? cJSON_ParseWithLengthOpts(p, n, &end, 0) : NULL;
    if (j && end) {
        size_t at = (size_t)(end - p);
        while (at < n && (p[at] == ' ' || p[at] == '\t' || p[at] == '\r' || p[at] == '\n'))
            at++;
        if (at < n) { /* a second document, or anything else: Go refuses the whole */
            cJSON_Delete(j);
            j = NULL;
            end = p + at;
        }
    }
    if (!j && bad_at)
        *bad_at = end && end >= p && end <= p + n ? (size_t)(end - p) : 0;
    return j;
}

/* ---- member names as Go reads them ------------------------------------------------------- */

/* Go's encoding/json (the registry, containers/image, containerd, umoci) matches a member to
 * a struct field case-insensitively (with Unicode folding: U+017F is 's', U+212A is 'k') and
 * takes the last of two equal members; cJSON matches exactly and takes the first. Where the
 * two could read one document differently, the document is refused. */
static char *fold_key(const char *k)
{
    size_t n = strlen(k);
    char *f = malloc(n + 1), *o = f;
    if (!f)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)k; *p;) {
        if (p[0] == 0xc5 && p[1] == 0xbf) { /* LATIN SMALL LETTER LONG S */
            *o++ = 's';
            p += 2;
        } else if (p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) { /* KELVIN SIGN */
            *o++ = 'k';
            p += 3;
        } else {
            *o++ = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            p++;
        }
    }
    *o = '\0';
    return f;
}

/* Members of the OCI and Docker structures airlock reads: in a structure, a member that folds
 * to one of these must be it exactly, or Go and airlock would see different documents. */
static const char *const known[] = {
    "schemaVersion", "mediaType", "artifactType", "config", "layers",  "manifests",
    "subject",       "annotations", "digest",    "size",   "urls",    "platform",
    "architecture",  "os",        "os.version",  "os.features", "variant", "features", "data",
};

struct fkey {
    char *folded;
    const char *name;
};

static int fkey_cmp(const void *a, const void *b)
{
    const struct fkey *x = a, *y = b;
    int c = strcmp(x->folded, y->folded);
    return c ? c : strcmp(x->name, y->name);
}

static int keys_check(const cJSON *o, int is_map, const char *what, struct airlock_error **err)
{
    if (!cJSON_IsObject(o) && !cJSON_IsArray(o))
        return 0;
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o) n++;
    int rc = 0;
    if (cJSON_IsObject(o) && n) {
        struct fkey *ks = calloc(n, sizeof(*ks));
        size_t k = 0;
        if (!ks)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        cJSON_ArrayForEach(it, o)
        {
            ks[k].name = it->string ? it->string : "";
            ks[k].folded = is_map ? strdup(ks[k].name) : fold_key(ks[k].name);
            if (!ks[k++].folded) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
        }
        if (!rc)
            qsort(ks, n, sizeof(*ks), fkey_cmp);
        for (size_t i = 1; !rc && i < n; i++)
            if (!strcmp(ks[i - 1].folded, ks[i].folded))
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "%s: member '%.100s' given twice (also as '%.100s'): "
                                       "readers would disagree on which counts",
                                       what, ks[i - 1].name, ks[i].name);
        for (size_t i = 0; !rc && !is_map && i < n; i++)
            for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++) {
                char *fk = fold_key(known[j]);
                int bad = fk && !strcmp(fk, ks[i].folded) && strcmp(known[j], ks[i].name);
                free(fk);
                if (bad) {
                    rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                           "%s: member '%.100s' is not '%s' (Go would read it "
                                           "as that, airlock would not)",
                                           what, ks[i].name, known[j]);
                    break;
                }
            }
        for (size_t i = 0; i < n; i++)
            free(ks[i].folded);
        free(ks);
    }
    cJSON_ArrayForEach(it, o)
    {
        if (rc)
            break;
        /* annotations are a map: Go keeps their names exact */
        rc = keys_check(it, cJSON_IsObject(o) && it->string && !strcmp(it->string, "annotations"),
                        what, err);
    }
    return rc;
}

int core_json_keys_check(const cJSON *root, const char *what, struct airlock_error **err)
{
    return keys_check(root, 0, what, err);
}
