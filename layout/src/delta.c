/* Delta bundles: the record of the layer blobs a bundle leaves out because the destination
 * already holds them (export --have INVENTORY, --since LOCK).
 *
 * The record is index.json's top-level annotation AIRLOCK_ANN_DELTA_RECORD, JSON text:
 *
 *   {"basis":{"kind":"inventory"|"lock","digest":"sha256:...","registry":"host"},
 *    "omitted":[{"digest":"sha256:...","size":N,"from":"repo","mounts":["repo",...]}, ...]}
 *
 * "omitted" is sorted by digest with no repeats (a reader refuses anything else, so lookups
 * are a binary search and a record cannot say one thing twice). "from" is a hint: a
 * repository of the inventory's registry that held the blob, to mount it from; "mounts" (at
 * most AIRLOCK_DELTA_MOUNTS_MAX) the other repositories the inventory lists as holding it,
 * tried in order when from no longer has it.
 *
 * A record is not trusted: it is no signature and anyone can edit index.json. It can only
 * turn a missing blob into one "expected at the destination" when it names that very blob,
 * with its size, as a layer of a manifest in the bundle; anything else it says (a config, a
 * manifest, a blob the bundle has, a digest nothing references, another size) is a finding
 * of its own (airlock_delta_check). push then asks the destination for every omitted blob
 * before anything moves, so a lying record can stop a push but never complete an image. */
#include "layout_int.h"

#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define DELTA_TEXT_MAX (16u << 20)
#define DELTA_MAX_OMITTED 1000000
#define DELTA_FROM_MAX 512

static void blob_release(struct airlock_delta_blob *b)
{
    free(b->from);
    for (size_t k = 0; k < b->n_mounts; k++)
        free(b->mounts[k]);
    free(b->mounts);
}

void airlock_delta_free(struct airlock_delta *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        blob_release(&d->omitted[i]);
    free(d->omitted);
    free(d->basis_registry);
    free(d);
}

static int cmp_blob(const void *a, const void *b)
{
    return strcmp(((const struct airlock_delta_blob *)a)->digest,
                  ((const struct airlock_delta_blob *)b)->digest);
}

const struct airlock_delta_blob *airlock_delta_find(const struct airlock_delta *d,
                                                    const char *digest)
{
    if (!d || !d->n || strlen(digest) >= AIRLOCK_DIGEST_SIZE)
        return NULL;
    struct airlock_delta_blob key;
    memset(&key, 0, sizeof(key));
    memcpy(key.digest, digest, strlen(digest) + 1);
    return bsearch(&key, d->omitted, d->n, sizeof(key), cmp_blob);
}

static int valid_repo(const char *s)
{
    return strlen(s) <= DELTA_FROM_MAX && core_ref_valid_path(s);
}

int airlock_delta_parse(struct airlock_delta **out, const char *text, size_t len,
                        const char *what, struct airlock_error **err)
{
    if (len > DELTA_TEXT_MAX)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: delta record larger than %u bytes",
                                 what, DELTA_TEXT_MAX);
    int rc = airlock_json_check(text, len, what, err);
    if (rc)
        return rc;
    cJSON *j = core_json_parse(text, len, NULL);
    struct airlock_delta *d = calloc(1, sizeof(*d));
    int count = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "omitted"));
    const cJSON *basis = cJSON_GetObjectItemCaseSensitive(j, "basis");
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(j, "omitted"), *it;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(basis, "kind"));
    const char *bdg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(basis, "digest"));
    const cJSON *breg = cJSON_GetObjectItemCaseSensitive(basis, "registry");
    if (!d) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(j) || !cJSON_IsObject(basis) || !cJSON_IsArray(om) || !kind ||
        (strcmp(kind, "inventory") && strcmp(kind, "lock")) || !bdg ||
        airlock_digest_check(bdg, NULL) || (breg && !cJSON_IsString(breg))) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: the delta record is malformed (it needs a basis with kind "
                               "'inventory' or 'lock' and a sha256 digest, and an omitted list)",
                               what);
        goto out;
    }
    snprintf(d->basis_kind, sizeof(d->basis_kind), "%s", kind);
    memcpy(d->basis_digest, bdg, AIRLOCK_DIGEST_LEN + 1);
    if (breg && !(d->basis_registry = strdup(breg->valuestring))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (count > DELTA_MAX_OMITTED) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "%s: the delta record omits more than %d blobs", what,
                               DELTA_MAX_OMITTED);
        goto out;
    }
    if (!(d->omitted = calloc((size_t)count + 1, sizeof(*d->omitted)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, om)
    {
        const char *dg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(it, "size");
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(it, "from");
        const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(it, "mounts"), *m;
        int bad_mounts = mounts && (!cJSON_IsArray(mounts) || !from ||
                                    cJSON_GetArraySize(mounts) > AIRLOCK_DELTA_MOUNTS_MAX);
        if (mounts && !bad_mounts)
            cJSON_ArrayForEach(m, mounts)
                if (!cJSON_IsString(m) || !valid_repo(m->valuestring))
                    bad_mounts = 1;
        if (!dg || airlock_digest_check(dg, NULL) || !cJSON_IsNumber(sz) || sz->valuedouble < 0 ||
            sz->valuedouble > 9007199254740992.0 ||
            sz->valuedouble != (double)(uint64_t)sz->valuedouble ||
            (from && (!cJSON_IsString(from) || !valid_repo(from->valuestring))) || bad_mounts) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: entry %zu of the delta record's omitted list is not "
                                   "{\"digest\": \"sha256:...\", \"size\": N[, \"from\": "
                                   "REPO[, \"mounts\": [REPO...]]]} with REPO a repository name "
                                   "(at most %d mounts)",
                                   what, d->n + 1, AIRLOCK_DELTA_MOUNTS_MAX);
            goto out;
        }
        if (d->n && strcmp(d->omitted[d->n - 1].digest, dg) >= 0) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: the delta record's omitted list is not sorted by digest "
                                   "without repeats (at '%s')",
                                   what, dg);
            goto out;
        }
        struct airlock_delta_blob *b = &d->omitted[d->n++];
        memcpy(b->digest, dg, AIRLOCK_DIGEST_LEN + 1);
        b->size = (uint64_t)sz->valuedouble;
        if (from && !(b->from = strdup(from->valuestring))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        if (mounts && !(b->mounts = calloc((size_t)cJSON_GetArraySize(mounts) + 1,
                                           sizeof(*b->mounts)))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        cJSON_ArrayForEach(m, mounts)
        {
            if (!(b->mounts[b->n_mounts] = strdup(m->valuestring))) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
            b->n_mounts++;
        }
    }
    *out = steal_pointer(&d);
out:
    cJSON_Delete(j);
    airlock_delta_free(d);
    return rc;
}

int airlock_delta_load(struct airlock_delta **out, struct airlock_bundle *b,
                       struct airlock_error **err)
{
    size_t len;
    const char *index = airlock_bundle_index(b, &len);
    cJSON *j = core_json_parse(index, len, NULL);
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "annotations"), AIRLOCK_ANN_DELTA_RECORD));
    int rc = AIRLOCK_ENOTFOUND;
    if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "annotations"),
                                         AIRLOCK_ANN_DELTA_RECORD) &&
        !text)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "'%s': index.json's delta record is not a string",
                               airlock_bundle_path(b));
    else if (text) {
        char what[600];
        snprintf(what, sizeof(what), "'%.500s': index.json", airlock_bundle_path(b));
        rc = airlock_delta_parse(out, text, strlen(text), what, err);
    }
    cJSON_Delete(j);
    return rc;
}

char *airlock_delta_format(const struct airlock_delta *d)
{
    cJSON *j = cJSON_CreateObject(), *basis = cJSON_AddObjectToObject(j, "basis");
    cJSON *om = cJSON_AddArrayToObject(j, "omitted");
    char *text = NULL;
    if (!basis || !om)
        goto out;
    cJSON_AddStringToObject(basis, "kind", d->basis_kind);
    cJSON_AddStringToObject(basis, "digest", d->basis_digest);
    if (d->basis_registry)
        cJSON_AddStringToObject(basis, "registry", d->basis_registry);
    for (size_t i = 0; i < d->n; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e)
            goto out;
        cJSON_AddStringToObject(e, "digest", d->omitted[i].digest);
        cJSON_AddNumberToObject(e, "size", (double)d->omitted[i].size);
        if (d->omitted[i].from)
            cJSON_AddStringToObject(e, "from", d->omitted[i].from);
        if (d->omitted[i].n_mounts) {
            cJSON *ms = cJSON_AddArrayToObject(e, "mounts");
            for (size_t k = 0; ms && k < d->omitted[i].n_mounts; k++)
                cJSON_AddItemToArray(ms, cJSON_CreateString(d->omitted[i].mounts[k]));
        }
        cJSON_AddItemToArray(om, e);
    }
    text = cJSON_PrintUnformatted(j);
out:
    cJSON_Delete(j);
    return text;
}

int airlock_delta_sort(struct airlock_delta *d)
{
    if (d->n > 1)
        qsort(d->omitted, d->n, sizeof(*d->omitted), cmp_blob);
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (k && !strcmp(d->omitted[k - 1].digest, d->omitted[i].digest)) {
            blob_release(&d->omitted[i]);
            continue;
        }
        d->omitted[k++] = d->omitted[i];
    }
    d->n = k;
    return 0;
}

static int starts(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

int airlock_delta_carries(const struct airlock_oci *m)
{
    if (!m || m->kind != AIRLOCK_OCI_MANIFEST)
        return 0;
    if (m->subject || starts(m->artifact_type, "application/vnd.dev.sigstore.bundle") ||
        starts(m->config.artifact_type, "application/vnd.dev.sigstore.bundle"))
        return 1;
    for (size_t k = 0; k < m->n_layers; k++) {
        const char *mt = m->layers[k].media_type;
        if (starts(mt, AIRLOCK_MT_SIMPLESIGNING) ||
            starts(mt, "application/vnd.dsse.envelope") ||
            starts(mt, "application/vnd.dev.sigstore.bundle") ||
            starts(mt, "application/vnd.in-toto") || starts(mt, "text/spdx") ||
            starts(mt, "application/spdx") || starts(mt, "application/vnd.cyclonedx") ||
            starts(mt, "application/vnd.syft+json"))
            return 1;
    }
    return 0;
}

/* What each digest is in the graph: 1 a manifest's layer, 2 a config (or a manifest or an
 * index, which a delta always carries), 3 a layer of an attachment (airlock_delta_carries:
 * signatures and attestations are checked offline, so their layers always travel) */
static int role_map(struct core_dmap *roles, const struct airlock_graph *g)
{
    size_t ng = airlock_graph_count(g);
    for (size_t i = 0; i < ng; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, i);
        if (nd->kind != AIRLOCK_NODE_BLOB && core_dmap_put(roles, nd->digest, 2))
            return -1;
        if (nd->kind != AIRLOCK_NODE_MANIFEST || !nd->doc)
            continue;
        if (core_dmap_put(roles, nd->doc->config.digest, 2))
            return -1;
    }
    for (size_t i = 0; i < ng; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, i);
        if (nd->kind != AIRLOCK_NODE_MANIFEST || !airlock_delta_carries(nd->doc))
            continue;
        for (size_t k = 0; k < nd->doc->n_layers; k++)
            if (!core_dmap_get(roles, nd->doc->layers[k].digest) &&
                core_dmap_put(roles, nd->doc->layers[k].digest, 3))
                return -1;
    }
    for (size_t i = 0; i < ng; i++) {
        const struct airlock_graph_node *nd = airlock_graph_node(g, i);
        if (nd->kind != AIRLOCK_NODE_MANIFEST || !nd->doc)
            continue;
        for (size_t k = 0; k < nd->doc->n_layers; k++)
            if (!core_dmap_get(roles, nd->doc->layers[k].digest) &&
                core_dmap_put(roles, nd->doc->layers[k].digest, 1))
                return -1;
    }
    return 0;
}

int airlock_delta_check(char ***problems, size_t *n_problems, const struct airlock_delta *d,
                        struct airlock_bundle *b, const struct airlock_graph *g,
                        struct airlock_error **err)
{
    struct core_dmap roles = {0};
    char **list = NULL;
    size_t n = 0;
    int rc = 0;
    if (role_map(&roles, g)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->n && !rc; i++) {
        const struct airlock_delta_blob *ob = &d->omitted[i];
        size_t *role = core_dmap_get(&roles, ob->digest);
        size_t node = airlock_graph_find(g, ob->digest);
        const struct airlock_graph_node *nd = node == SIZE_MAX ? NULL : airlock_graph_node(g, node);
        uint64_t have;
        char *why = NULL;
        int r = 0;
        if (!role || !nd)
            r = asprintf(&why, "the delta record omits '%s', which no manifest of the bundle "
                               "references",
                         ob->digest);
        else if (*role == 3)
            r = asprintf(&why, "the delta record omits '%s', a layer of an attachment: a delta "
                               "bundle must carry every signature and attestation whole",
                         ob->digest);
        else if (*role != 1)
            r = asprintf(&why, "the delta record omits '%s', a %s: a delta bundle must carry "
                               "every manifest and config",
                         ob->digest, nd->kind == AIRLOCK_NODE_BLOB ? "config" : "manifest");
        else if (nd->size_conflict)
            r = asprintf(&why, "the delta record omits '%s', which the bundle's manifests "
                               "declare with two sizes (%llu and %llu)",
                         ob->digest, (unsigned long long)nd->size,
                         (unsigned long long)nd->other_size);
        else if (ob->size != nd->size)
            r = asprintf(&why, "the delta record omits '%s' with %llu bytes, its descriptor says "
                               "%llu",
                         ob->digest, (unsigned long long)ob->size,
                         (unsigned long long)nd->size);
        else if (!airlock_bundle_blob_stat(b, ob->digest, &have))
            r = asprintf(&why, "the delta record omits '%s', but the bundle holds it",
                         ob->digest);
        else
            continue;
        char **nl = r < 0 ? NULL : realloc(list, (n + 1) * sizeof(*nl));
        if (!nl) {
            free(why);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        list = nl;
        list[n++] = why;
    }
out:
    core_dmap_release(&roles);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    *problems = list;
    *n_problems = n;
    return 0;
}

int layout_verify_delta(struct airlock_verify_report *r, const struct airlock_delta *d,
                        struct airlock_bundle *b, const struct airlock_graph *g,
                        struct airlock_error **err)
{
    char **found = NULL;
    size_t n = 0;
    int rc = airlock_delta_check(&found, &n, d, b, g, err);
    if (rc)
        return rc;
    r->delta = 1;
    snprintf(r->delta_basis, sizeof(r->delta_basis), "%s", d->basis_kind);
    memcpy(r->delta_basis_digest, d->basis_digest, AIRLOCK_DIGEST_SIZE);
    if (!n)
        return 0;
    char **p = realloc(r->problems, (r->n_problems + n) * sizeof(*p));
    if (!p) {
        for (size_t i = 0; i < n; i++)
            free(found[i]);
        free(found);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    r->problems = p;
    for (size_t i = 0; i < n; i++)
        r->problems[r->n_problems++] = found[i];
    free(found);
    return 0;
}
