/* Offline signing of the images in a bundle (FORMATS.md sections 1 and 3). */
#include "layout_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

struct target {
    char *ref;      /* shown to the user */
    char *repo;     /* where the .sig tag lives: domain/path */
    char **ids;     /* docker-references in the payloads: one layer each (two tags of one
                       image in one repository are two identities of one manifest) */
    size_t n_ids;
    char digest[AIRLOCK_DIGEST_SIZE];
    char *media_type; /* the signed manifest's, for a referrer's subject */
    uint64_t size;
};

struct newblob {
    char digest[AIRLOCK_DIGEST_SIZE];
    char *data;
    size_t len;
};

struct signer {
    const char *path;
    struct airlock_bundle *b;
    struct airlock_catalog *cat;
    const struct airlock_key *key;
    struct airlock_pubkey *pub;
    const struct airlock_sign_opts *o;
    struct target *t;
    size_t n_t, cap_t;
    struct core_dmap t_at;    /* pair key (repository, digest) -> index in t, plus one */
    size_t n_images;          /* index.json entries being signed (not platforms) */
    const char *first_image;
    struct core_dmap nb_at;   /* digests of the new blobs */
    struct newblob *nb;
    size_t n_nb, cap_nb;
    cJSON *index;
    char created[32]; /* RFC 3339 UTC, for the bundle referrers */
    const char *uri;  /* attest: the predicateType; NULL: sign */
    /* names compared as Docker normalizes them, each parsed once: the catalog's entries, and
     * index.json's items chained by name (a key: sha256 of the normalized name) */
    char **cat_norm;
    struct core_dmap idx_head;
    struct core_dmap cat_head, sub_head; /* catalog chains: by name key, by subject digest */
    size_t *cat_next, *sub_next;
    cJSON **idx_item;
    size_t *idx_next, n_idx, cap_idx;
};

void airlock_sign_result_free(struct airlock_sign_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->refs[i]);
        free(r->digests[i]);
    }
    free(r->refs);
    free(r->digests);
    free(r->added);
    free(r);
}

static int add_identity(struct target *t, const char *identity)
{
    for (size_t i = 0; i < t->n_ids; i++)
        if (!strcmp(t->ids[i], identity))
            return 0;
    char **v = realloc(t->ids, (t->n_ids + 1) * sizeof(*v));
    if (!v)
        return -1;
    t->ids = v;
    if (!(v[t->n_ids] = strdup(identity)))
        return -1;
    t->n_ids++;
    return 0;
}

/* The manifest d in repo, to be signed with identity: one target per (repository, digest),
 * found through a map (signing N manifests costs N). */
static int add_target(struct signer *s, const char *ref, const char *repo,
                      const struct airlock_descriptor *d, const char *identity,
                      struct airlock_error **err)
{
    char key[AIRLOCK_DIGEST_SIZE];
    if (layout_pair_key(key, repo, d->digest))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t *at = core_dmap_get(&s->t_at, key);
    if (at)
        return add_identity(&s->t[*at - 1], identity)
                   ? airlock_error_set(err, AIRLOCK_EOS, "out of memory")
                   : 0;
    if (s->n_t == s->cap_t) {
        size_t cap = s->cap_t ? s->cap_t * 2 : 16;
        struct target *t = realloc(s->t, cap * sizeof(*t));
        if (!t)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        s->t = t;
        s->cap_t = cap;
    }
    struct target *t = &s->t[s->n_t];
    memset(t, 0, sizeof(*t));
    memcpy(t->digest, d->digest, AIRLOCK_DIGEST_SIZE);
    t->ref = strdup(ref);
    t->repo = strdup(repo);
    t->media_type = strdup(d->media_type ? d->media_type : AIRLOCK_MT_OCI_MANIFEST);
    t->size = d->size;
    s->n_t++;
    if (!t->ref || !t->repo || !t->media_type || add_identity(t, identity) ||
        core_dmap_put(&s->t_at, key, s->n_t))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* The docker-reference the payloads of entry e name: --identity; with --to, its reference
 * at the destination (the one mapping push uses), with its tag, or for a digest-only entry
 * its repository with the entry's digest (a by-digest pull matches the repository, but
 * containers/image never matches a reference that is a name alone); else cosign's default,
 * the repository the bundle names. */
static int identity_of(char **out, struct signer *s, const struct airlock_entry *e,
                       const char *repo, struct airlock_error **err)
{
    *out = NULL;
    if (s->o->identity)
        *out = strdup(s->o->identity);
    else if (s->o->to) {
        struct airlock_ref d;
        int rc = airlock_ref_destination(&d, e->ref, s->o->to, s->o->map, s->o->n_map, err);
        if (rc) {
            airlock_error_wrap(err, "'%s': image '%s'", s->path, e->ref);
            return rc;
        }
        free(d.digest);
        d.digest = NULL;
        if (d.tag || (d.digest = strdup(e->desc.digest)))
            *out = airlock_ref_format(&d);
        airlock_ref_release(&d);
    } else if (!strncmp(repo, "docker.io/", 10)) { /* cosign names Docker Hub this way */
        if (asprintf(out, "index.docker.io/%s", repo + 10) < 0)
            *out = NULL;
    } else
        *out = strdup(repo);
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int entry_repo(char **repo, const struct airlock_entry *e, const char *path,
                      struct airlock_error **err)
{
    struct airlock_ref r;
    if (!e->ref || airlock_ref_parse(&r, e->ref, NULL))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s': image '%s' has no reference to sign it under (re-import "
                                 "it with --name)",
                                 path, e->ref ? e->ref : e->desc.digest);
    *repo = airlock_ref_repository(&r);
    airlock_ref_release(&r);
    return *repo ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

/* An image and, with --recursive, each platform manifest of its index, with the image's
 * identity: a pull by tag checks the platform manifest's signature against the tag. The
 * index comes parsed from the catalog's graph (read once for the whole bundle); nothing is
 * walked again. An entry that could not be read is signed as it is; verify names why. */
static int add_image(struct signer *s, const struct airlock_entry *e, struct airlock_error **err)
{
    _cleanup_free_ char *repo = NULL;
    _cleanup_free_ char *id = NULL;
    int rc = entry_repo(&repo, e, s->path, err);
    if (rc || (rc = identity_of(&id, s, e, repo, err)) ||
        (rc = add_target(s, e->ref, repo, &e->desc, id, err)))
        return rc;
    s->n_images++;
    if (!s->first_image)
        s->first_image = e->ref;
    const struct airlock_graph_node *nd = airlock_graph_node(s->cat->graph, e->node);
    if (!s->o->recursive || !nd || nd->kind != AIRLOCK_NODE_INDEX || !nd->doc)
        return 0;
    const struct airlock_oci *m = nd->doc;
    for (size_t i = 0; i < m->n_layers && !rc; i++) {
        const struct airlock_descriptor *c = &m->layers[i];
        size_t cn = airlock_graph_find(s->cat->graph, c->digest);
        const struct airlock_graph_node *cnd =
            cn == SIZE_MAX ? NULL : airlock_graph_node(s->cat->graph, cn);
        if (c->platform_os && !strcmp(c->platform_os, "unknown"))
            continue; /* attestation manifests are not platforms */
        if (!cnd || (cnd->kind != AIRLOCK_NODE_MANIFEST && cnd->kind != AIRLOCK_NODE_INDEX))
            continue; /* not in the bundle (exported with --platform): never pushed */
        char *ref = NULL;
        if (asprintf(&ref, "%s@%s", repo, c->digest) < 0)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        rc = add_target(s, ref, repo, c, id, err);
        free(ref);
    }
    return rc;
}

static int ref_matches(const char *want, const struct airlock_entry *e)
{
    if (!strncmp(want, "sha256:", 7))
        return !strcmp(want, e->desc.digest);
    if (!e->ref)
        return 0;
    struct airlock_ref a, b;
    if (airlock_ref_parse(&a, want, NULL))
        return 0;
    int ok = 0;
    if (!airlock_ref_parse(&b, e->ref, NULL)) {
        char *x = airlock_ref_format(&a), *y = airlock_ref_format(&b);
        ok = x && y && !strcmp(x, y);
        if (!ok && a.digest && !a.tag) /* repo@digest */
            ok = !strcmp(a.domain, b.domain) && !strcmp(a.path, b.path) &&
                 !strcmp(a.digest, e->desc.digest);
        free(x);
        free(y);
        airlock_ref_release(&b);
    }
    airlock_ref_release(&a);
    return ok;
}

static int collect(struct signer *s, struct airlock_error **err)
{
    int rc = 0;
    if (!s->o->n_refs) {
        for (size_t i = 0; i < s->cat->n && !rc; i++)
            if (s->cat->entries[i].role == AIRLOCK_ROLE_IMAGE)
                rc = add_image(s, &s->cat->entries[i], err);
        if (!rc && !s->n_t)
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': no images to sign", s->path);
    }
    for (size_t k = 0; k < s->o->n_refs && !rc; k++) {
        int found = 0;
        for (size_t i = 0; i < s->cat->n && !rc; i++) {
            const struct airlock_entry *e = &s->cat->entries[i];
            if (e->role == AIRLOCK_ROLE_IMAGE && ref_matches(s->o->refs[k], e)) {
                found = 1;
                rc = add_image(s, e, err);
            }
        }
        if (!rc && !found)
            rc = airlock_error_set(err, AIRLOCK_ENOTFOUND, "'%s': no image '%s' in the bundle",
                                   s->path, s->o->refs[k]);
    }
    if (!rc && s->o->identity && s->n_images > 1)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': --identity '%s' would name all %zu images being signed "
                               "('%s' and others), and each is pulled under its own name: sign "
                               "with --to DEST [--map SRC=DST] to give each image its "
                               "destination, or name the one image to sign",
                               s->path, s->o->identity, s->n_images, s->first_image);
    return rc;
}

static int queue_blob(struct signer *s, const char *data, size_t len, char digest[AIRLOCK_DIGEST_SIZE],
                      struct airlock_error **err)
{
    int rc = airlock_sha256_digest(digest, data, len, err);
    if (rc)
        return rc;
    if (airlock_bundle_blob_stat(s->b, digest, NULL) == 0)
        return 0;
    if (core_dmap_get(&s->nb_at, digest))
        return 0;
    if (s->n_nb == s->cap_nb) {
        size_t cap = s->cap_nb ? s->cap_nb * 2 : 32;
        struct newblob *v = realloc(s->nb, cap * sizeof(*v));
        if (!v)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        s->nb = v;
        s->cap_nb = cap;
    }
    if (core_dmap_put(&s->nb_at, digest, s->n_nb + 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct newblob *n = s->nb + s->n_nb;
    memcpy(n->digest, digest, AIRLOCK_DIGEST_SIZE);
    n->data = malloc(len ? len : 1);
    if (!n->data)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    memcpy(n->data, data, len);
    n->len = len;
    s->n_nb++;
    return 0;
}

/* A name as Docker normalizes it ("busybox:x" is "docker.io/library/busybox:x"), so that two
 * spellings of one tag compare equal; a name that is no reference stays as it is. */
static char *norm_ref(const char *ref)
{
    struct airlock_ref x;
    if (!ref)
        return NULL;
    if (airlock_ref_parse(&x, ref, NULL))
        return strdup(ref);
    char *f = airlock_ref_format(&x);
    airlock_ref_release(&x);
    return f;
}

static int norm_key(char key[AIRLOCK_DIGEST_SIZE], const char *norm)
{
    return airlock_sha256_digest(key, norm, strlen(norm), NULL);
}

/* Adds an index.json item to the chains by name. */
static int idx_track(struct signer *s, cJSON *it)
{
    const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(it, "annotations"), AIRLOCK_ANN_REF_NAME));
    char *n = norm_ref(r), key[AIRLOCK_DIGEST_SIZE];
    if (!r)
        return 0;
    if (!n || norm_key(key, n)) {
        free(n);
        return -1;
    }
    free(n);
    if (s->n_idx == s->cap_idx) {
        size_t cap = s->cap_idx ? s->cap_idx * 2 : 64;
        cJSON **a = realloc(s->idx_item, cap * sizeof(*a));
        size_t *b = a ? realloc(s->idx_next, cap * sizeof(*b)) : NULL;
        if (a)
            s->idx_item = a;
        if (!b)
            return -1;
        s->idx_next = b;
        s->cap_idx = cap;
    }
    size_t *h = core_dmap_get(&s->idx_head, key);
    s->idx_item[s->n_idx] = it;
    s->idx_next[s->n_idx] = h ? *h - 1 : SIZE_MAX;
    return core_dmap_put(&s->idx_head, key, ++s->n_idx);
}

/* Names every catalog entry once and chains index.json's items by name. */
static int names_index(struct signer *s, struct airlock_error **err)
{
    if (!(s->cat_norm = calloc(s->cat->n + 1, sizeof(*s->cat_norm))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < s->cat->n; i++)
        if (s->cat->entries[i].ref && !(s->cat_norm[i] = norm_ref(s->cat->entries[i].ref)))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    /* the catalog chained by name and by subject, each chain in index.json order, so that
     * each target finds what is attached to it without a scan of every entry */
    if (!(s->cat_next = calloc(s->cat->n + 1, sizeof(size_t))) ||
        !(s->sub_next = calloc(s->cat->n + 1, sizeof(size_t))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = s->cat->n; i-- > 0;) {
        char key[AIRLOCK_DIGEST_SIZE];
        const char *sub = s->cat->entries[i].subject;
        s->cat_next[i] = s->sub_next[i] = SIZE_MAX;
        if (s->cat_norm[i]) {
            size_t *h;
            if (norm_key(key, s->cat_norm[i]))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            h = core_dmap_get(&s->cat_head, key);
            s->cat_next[i] = h ? *h - 1 : SIZE_MAX;
            if (core_dmap_put(&s->cat_head, key, i + 1))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        if (sub[0]) {
            size_t *h = core_dmap_get(&s->sub_head, sub);
            s->sub_next[i] = h ? *h - 1 : SIZE_MAX;
            if (core_dmap_put(&s->sub_head, sub, i + 1))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->index, "manifests"))
    {
        if (idx_track(s, it))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
}

/* The first catalog entry named norm (then s->cat_next), or SIZE_MAX. */
static size_t cat_first(const struct signer *s, const char *norm)
{
    char key[AIRLOCK_DIGEST_SIZE];
    size_t *h = norm && !norm_key(key, norm) ? core_dmap_get(&s->cat_head, key) : NULL;
    return h ? *h - 1 : SIZE_MAX;
}

/* The first catalog entry attached to digest (then s->sub_next), or SIZE_MAX. */
static size_t sub_first(const struct signer *s, const char *digest)
{
    size_t *h = core_dmap_get(&s->sub_head, digest);
    return h ? *h - 1 : SIZE_MAX;
}

/* Catalog entry i is named ref (any spelling of it). */
static int entry_named(const struct signer *s, size_t i, const char *norm)
{
    return s->cat_norm[i] && norm && !strcmp(s->cat_norm[i], norm);
}

/* The attachment manifests of role already in the bundle under the tag norm (any spelling of
 * ref, which names them in errors), parsed into olds (at most 8: their layers are all kept). */
static int read_olds(const struct signer *s, const char *norm, enum airlock_role role,
                     const char *ref, struct airlock_oci **olds, size_t *n_olds,
                     struct airlock_error **err)
{
    for (size_t i = cat_first(s, norm); i != SIZE_MAX && *n_olds < 8; i = s->cat_next[i]) {
        const struct airlock_entry *e = &s->cat->entries[i];
        if (e->role != role || !entry_named(s, i, norm))
            continue;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        int rc = airlock_bundle_blob_read(s->b, e->desc.digest, AIRLOCK_MAX_MANIFEST, &raw, err);
        if (!rc)
            rc = airlock_oci_parse(&olds[*n_olds], raw.data, raw.len, ref, err);
        airlock_buf_release(&raw);
        if (rc)
            return rc;
        (*n_olds)++;
    }
    return 0;
}

/* Points the index.json entry named sigref at the new manifest (or index, of type mt, which
 * its mediaType then says); a new entry gets the kind label when there is one. */
static int index_set(struct signer *s, const char *sigref, const char *mt, const char *kind,
                     const char *digest, size_t size, struct airlock_error **err)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(s->index, "manifests");
    int found = 0;
    char *n = norm_ref(sigref), key[AIRLOCK_DIGEST_SIZE];
    if (!n || norm_key(key, n)) {
        free(n);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    free(n);
    size_t *h = core_dmap_get(&s->idx_head, key);
    for (size_t k = h ? *h - 1 : SIZE_MAX; k != SIZE_MAX; k = s->idx_next[k]) {
        cJSON *it = s->idx_item[k]; /* every entry naming this tag */
        /* of the type of what it now points at (a Docker-typed .sig replaced by our OCI
         * manifest: a registry refuses a push whose type differs from the document's) */
        if (cJSON_GetObjectItemCaseSensitive(it, "mediaType"))
            cJSON_ReplaceItemInObjectCaseSensitive(it, "mediaType", cJSON_CreateString(mt));
        else
            cJSON_AddStringToObject(it, "mediaType", mt);
        cJSON_ReplaceItemInObjectCaseSensitive(it, "digest", cJSON_CreateString(digest));
        cJSON_ReplaceItemInObjectCaseSensitive(it, "size", cJSON_CreateNumber((double)size));
        found = 1;
    }
    if (found)
        return 0;
    cJSON *d = cJSON_CreateObject();
    cJSON *ann = d ? cJSON_CreateObject() : NULL;
    if (!d || !ann || !cJSON_AddStringToObject(d, "mediaType", mt) ||
        !cJSON_AddStringToObject(d, "digest", digest) ||
        !cJSON_AddNumberToObject(d, "size", (double)size) ||
        !cJSON_AddStringToObject(ann, AIRLOCK_ANN_REF_NAME, sigref) ||
        (kind && !cJSON_AddStringToObject(ann, AIRLOCK_ANN_KIND, kind))) {
        cJSON_Delete(d);
        cJSON_Delete(ann);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    cJSON_AddItemToObject(d, "annotations", ann);
    cJSON_AddItemToArray(arr, d);
    return idx_track(s, d) ? airlock_error_set(err, AIRLOCK_EOS, "out of memory") : 0;
}

/* Signs one target with a .sig layer per identity: returns 1 in *added if a layer was
 * added. Every layer already under its tag is kept; one manifest holds them all. */
static int sign_sig(struct signer *s, const struct target *t, int *added, struct airlock_error **err)
{
    char *man = NULL, *cfg = NULL, *sigref = NULL, *signorm = NULL;
    size_t mlen = 0, clen = 0, n_new = 0;
    char cdigest[AIRLOCK_DIGEST_SIZE], mdigest[AIRLOCK_DIGEST_SIZE];
    struct airlock_descriptor *layers = NULL;
    size_t n_layers = 0, n_olds = 0, total = 0;
    struct airlock_oci *olds[8];
    char **payloads = calloc(t->n_ids + 1, sizeof(char *));
    char **sigs = calloc(t->n_ids + 1, sizeof(char *));
    struct airlock_annotation *sig_ann = calloc(t->n_ids + 1, sizeof(*sig_ann));
    *added = 0;
    int rc = 0;
    if (!payloads || !sigs || !sig_ann) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (asprintf(&sigref, "%s:sha256-%s.sig", t->repo, airlock_digest_hex(t->digest)) < 0) {
        sigref = NULL;
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    /* the signature manifests already in the bundle under that tag (under any spelling of
     * its name): their layers are all kept */
    signorm = norm_ref(sigref);
    if ((rc = read_olds(s, signorm, AIRLOCK_ROLE_SIGNATURE, sigref, olds, &n_olds, err)))
        goto out;
    for (size_t k = 0; k < n_olds; k++)
        total += olds[k]->n_layers;
    layers = calloc(total + t->n_ids + 1, sizeof(*layers));
    if (!layers) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_olds; k++)
        for (size_t i = 0; i < olds[k]->n_layers; i++) {
            const struct airlock_descriptor *l = &olds[k]->layers[i];
            const char *ls = airlock_annotation_get(l->annotations, l->n_annotations,
                                                    AIRLOCK_ANN_SIGNATURE);
            int dup = 0;
            for (size_t j = 0; j < n_layers && !dup; j++) {
                const char *js = airlock_annotation_get(layers[j].annotations,
                                                        layers[j].n_annotations,
                                                        AIRLOCK_ANN_SIGNATURE);
                dup = !strcmp(layers[j].digest, l->digest) && ls && js && !strcmp(ls, js);
            }
            if (!dup)
                layers[n_layers++] = *l; /* shallow: olds own them */
        }
    for (size_t id = 0; id < t->n_ids; id++) {
        size_t plen = 0;
        char pdigest[AIRLOCK_DIGEST_SIZE];
        int have = 0;
        if ((rc = airlock_sig_payload_build(&payloads[id], &plen, t->ids[id], t->digest,
                                            s->o->annotations, s->o->n_annotations, err)) ||
            (rc = airlock_sha256_digest(pdigest, payloads[id], plen, err)))
            goto out;
        for (size_t i = 0; i < n_layers && !have; i++) {
            const struct airlock_descriptor *l = &layers[i];
            const char *osig = airlock_annotation_get(l->annotations, l->n_annotations,
                                                      AIRLOCK_ANN_SIGNATURE);
            have = !strcmp(l->digest, pdigest) && osig &&
                   airlock_pubkey_verify(s->pub, payloads[id], plen, osig, NULL) == 0;
        }
        if (have)
            continue; /* this key signed this payload already: nothing to add */
        if ((rc = airlock_key_sign(&sigs[id], s->key, payloads[id], plen, err)) ||
            (rc = queue_blob(s, payloads[id], plen, pdigest, err)))
            goto out;
        sig_ann[id].key = (char *)AIRLOCK_ANN_SIGNATURE;
        sig_ann[id].value = sigs[id];
        struct airlock_descriptor *l = &layers[n_layers++];
        l->media_type = (char *)AIRLOCK_MT_SIMPLESIGNING;
        memcpy(l->digest, pdigest, sizeof(pdigest));
        l->size = plen;
        l->annotations = &sig_ann[id];
        l->n_annotations = 1;
        n_new++;
    }
    if (!n_new)
        goto out;
    if ((rc = airlock_sig_manifest_build(&man, &mlen, &cfg, &clen, layers, n_layers, err)) ||
        (rc = queue_blob(s, cfg, clen, cdigest, err)) ||
        (rc = queue_blob(s, man, mlen, mdigest, err)) ||
        (rc = index_set(s, sigref, AIRLOCK_MT_OCI_MANIFEST, AIRLOCK_KIND_SIGS, mdigest, mlen,
                        err)))
        goto out;
    *added = 1;
out:
    free(layers);
    for (size_t k = 0; k < n_olds; k++)
        airlock_oci_free(olds[k]);
    for (size_t id = 0; payloads && sigs && id < t->n_ids; id++) {
        free(payloads[id]);
        free(sigs[id]);
    }
    free(payloads);
    free(sigs);
    free(sig_ann);
    free(man);
    free(cfg);
    free(sigref);
    free(signorm);
    return rc;
}

/* ---- the sigstore bundle referrer (cosign 3) ------------------------------------------------- */

static int sign_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                     struct airlock_error **err)
{
    return airlock_bundle_blob_read(ctx, digest, max, out, err);
}

/* The time of signing, as cosign writes org.opencontainers.image.created (RFC 3339, UTC). */
static void stamp(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* Has this key already signed this statement in the referrer manifest at digest? ECDSA is
 * randomized: the bundle is verified with the key, never compared by bytes. */
static int signed_as(struct signer *s, const struct target *t, const char *digest,
                     const char *ptype, int any_annotations)
{
    struct airlock_sig_image im;
    struct airlock_sig_check_opts o;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    memset(&im, 0, sizeof(im));
    memset(&o, 0, sizeof(o));
    memcpy(im.digest, t->digest, AIRLOCK_DIGEST_SIZE);
    o.key = s->pub;
    o.annotations = s->o->annotations;
    o.n_annotations = s->o->n_annotations;
    int same = 0;
    if (!airlock_bundle_blob_read(s->b, digest, AIRLOCK_MAX_MANIFEST, &raw, NULL)) {
        airlock_sig_check_referrer(&im, raw.data, raw.len, digest, sign_read, s->b, &o);
        for (size_t i = 0; i < im.n_sigs && !same; i++) /* -a all matched: the same set? */
            same = im.sigs[i].predicate_type && !strcmp(im.sigs[i].predicate_type, ptype) &&
                   (any_annotations || im.sigs[i].n_optional == s->o->n_annotations);
    }
    airlock_buf_release(&raw);
    airlock_sig_image_release(&im);
    return same;
}

static int signed_already(struct signer *s, const struct target *t, const char *digest)
{
    return signed_as(s, t, digest, AIRLOCK_PREDICATE_COSIGN_SIGN, 0);
}

/* The statement a target gets: cosign 3's signature statement, or (attest) the predicate's,
 * in-toto v1 (bundles) or v0.1 (the legacy .att, as cosign 2 writes it). */
static int target_statement(struct signer *s, const struct target *t, const char *stype,
                            char **st, size_t *sl, struct airlock_error **err)
{
    if (!s->uri)
        return airlock_intoto_statement_build(st, sl, t->digest, AIRLOCK_PREDICATE_COSIGN_SIGN,
                                              s->o->annotations, s->o->n_annotations, err);
    return airlock_intoto_attestation_build(st, sl, stype, t->digest, t->repo,
                                            s->o->predicate_type, s->o->predicate,
                                            s->o->predicate_len, s->created,
                                            s->o->predicate_what ? s->o->predicate_what
                                                                 : "the predicate",
                                            err);
}

/* Drops from a referrers index (*idx) the descriptors of the digests in drop. */
static int index_drop(char **idx, size_t *il, char (*drop)[AIRLOCK_DIGEST_SIZE], size_t n_drop,
                      struct airlock_error **err)
{
    cJSON *j = n_drop ? core_json_parse(*idx, *il, NULL) : NULL;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "manifests");
    if (!n_drop)
        return 0;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "the referrers index cannot be updated");
    }
    for (int k = cJSON_GetArraySize(arr); k-- > 0;) {
        const char *dg = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, k), "digest"));
        for (size_t d = 0; dg && d < n_drop; d++)
            if (!strcmp(dg, drop[d])) {
                cJSON_DeleteItemFromArray(arr, k);
                break;
            }
    }
    char *o = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!o)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    free(*idx);
    *idx = o;
    *il = strlen(o);
    return 0;
}

/* The referrers index at digest as the start of ours (its bytes, every descriptor as it
 * is: also those of referrers the bundle lacks), or, when another entry named the tag
 * already, the referrer manifests it lists added to *idx. */
static int merge_listed(struct signer *s, char **idx, size_t *ilen, const char *digest,
                        const char *what, struct airlock_error **err)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *m = NULL;
    int rc = airlock_bundle_blob_read(s->b, digest, AIRLOCK_MAX_MANIFEST, &raw, err);
    if (!rc && !*idx) {
        *idx = airlock_buf_detach(&raw, ilen);
        return 0;
    }
    if (!rc)
        rc = airlock_oci_parse(&m, raw.data, raw.len, what, err);
    for (size_t i = 0; !rc && i < m->n_layers; i++) {
        struct airlock_buf r = AIRLOCK_BUF_INIT(0);
        char *n = NULL;
        size_t nl = 0;
        int added = 0;
        rc = airlock_bundle_blob_read(s->b, m->layers[i].digest, AIRLOCK_MAX_MANIFEST, &r, err);
        if (!rc)
            rc = airlock_referrers_index_add(&n, &nl, &added, *idx, *ilen, r.data, r.len, what,
                                             err);
        airlock_buf_release(&r);
        if (!rc) {
            free(*idx);
            *idx = n;
            *ilen = nl;
        }
    }
    airlock_oci_free(m);
    airlock_buf_release(&raw);
    return rc;
}

/* Signs one target with a sigstore bundle referrer, as cosign 3 attaches it, listed in the
 * fallback index REPO:sha256-<hex> (every entry already there kept): 1 in *added if one was
 * written, 0 when this key had signed this statement already. */
static int sign_bundle(struct signer *s, const struct target *t, int *added,
                       struct airlock_error **err)
{
    char *ref = NULL, *what = NULL, *st = NULL, *bundle = NULL, *man = NULL, *idx = NULL;
    char *nidx = NULL, *refnorm = NULL;
    size_t sl = 0, bl = 0, ml = 0, il = 0, nl = 0;
    char dg[AIRLOCK_DIGEST_SIZE], idg[AIRLOCK_DIGEST_SIZE];
    struct airlock_descriptor bd, sd;
    int rc = 0, ours = 0, fresh = 0;
    char drop[64][AIRLOCK_DIGEST_SIZE];
    size_t n_drop = 0;
    *added = 0;
    if (asprintf(&ref, "%s:sha256-%s", t->repo, airlock_digest_hex(t->digest)) < 0 ||
        asprintf(&what, "'%s': referrers index '%s'", s->path, ref) < 0) {
        free(ref);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    /* what the bundle holds already: the index under that tag (under any spelling of its
     * name), and referrers of the image listed in index.json on their own */
    if (!(refnorm = norm_ref(ref)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t ca = refnorm ? cat_first(s, refnorm) : SIZE_MAX, sb = sub_first(s, t->digest);
    while ((ca != SIZE_MAX || sb != SIZE_MAX) && !rc && !ours) {
        size_t i; /* the next of both chains, in index.json order */
        if (sb == SIZE_MAX || (ca != SIZE_MAX && ca <= sb)) {
            i = ca;
            if (sb == ca)
                sb = s->sub_next[sb];
            ca = s->cat_next[ca];
        } else {
            i = sb;
            sb = s->sub_next[sb];
        }
        const struct airlock_entry *e = &s->cat->entries[i];
        const struct airlock_graph_node *nd = airlock_graph_node(s->cat->graph, e->node);
        if (entry_named(s, i, refnorm)) {
            if (!nd || nd->kind == AIRLOCK_NODE_BAD) {
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "%s ('%s'): %s; it is left as it is (check the bundle "
                                       "with airlock verify)",
                                       what, e->desc.digest,
                                       nd && nd->why ? nd->why : "cannot be read");
                break;
            }
            if (nd->kind != AIRLOCK_NODE_INDEX) {
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "%s is listed in index.json as '%s', which is not an "
                                       "index; it is left as it is (remove that entry, or sign "
                                       "with --signature-format simplesigning)",
                                       what, e->desc.digest);
                break;
            }
            for (size_t k = 0; k < nd->n_kids && !ours; k++) {
                const char *kd = airlock_graph_node(s->cat->graph, nd->kids[k])->digest;
                if (!s->uri)
                    ours = signed_already(s, t, kd);
                else if (s->o->replace && n_drop < 64 && signed_as(s, t, kd, s->uri, 1))
                    memcpy(drop[n_drop++], kd, AIRLOCK_DIGEST_SIZE); /* attest --replace */
            }
            if (!ours)
                rc = merge_listed(s, &idx, &il, e->desc.digest, what, err);
        } else if (e->role == AIRLOCK_ROLE_REFERRERS && nd && nd->kind == AIRLOCK_NODE_MANIFEST &&
                   !strcmp(e->subject, t->digest) && !s->uri)
            ours = signed_already(s, t, e->desc.digest);
    }
    if (rc || ours)
        goto out;
    memset(&bd, 0, sizeof(bd));
    memset(&sd, 0, sizeof(sd));
    if ((rc = target_statement(s, t, AIRLOCK_INTOTO_STATEMENT_V1, &st, &sl, err)) ||
        (rc = airlock_sigstore_bundle_build(&bundle, &bl, s->key, st, sl, err)) ||
        (rc = queue_blob(s, bundle, bl, dg, err)))
        goto out;
    bd.media_type = (char *)AIRLOCK_MT_SIGSTORE_BUNDLE_V03;
    bd.size = bl;
    memcpy(bd.digest, dg, sizeof(dg));
    sd.media_type = t->media_type;
    sd.size = t->size;
    memcpy(sd.digest, t->digest, AIRLOCK_DIGEST_SIZE);
    if ((rc = airlock_sigstore_referrer_build(&man, &ml, &bd, &sd,
                                              s->uri ? s->uri : AIRLOCK_PREDICATE_COSIGN_SIGN,
                                              s->created, err)) ||
        (rc = queue_blob(s, "{}", 2, dg, err)) || (rc = queue_blob(s, man, ml, dg, err)) ||
        (rc = airlock_referrers_index_add(&nidx, &nl, &fresh, idx, il, man, ml, what, err)))
        goto out;
    free(idx);
    idx = nidx;
    il = nl;
    if ((rc = index_drop(&idx, &il, drop, n_drop, err))) {
        airlock_error_wrap(err, "%s", what);
        goto out;
    }
    if ((rc = queue_blob(s, idx, il, idg, err)) ||
        (rc = index_set(s, ref, AIRLOCK_MT_OCI_INDEX, NULL, idg, il, err)))
        goto out;
    *added = 1;
out:
    free(refnorm);
    free(ref);
    free(what);
    free(st);
    free(bundle);
    free(man);
    free(idx);
    return rc;
}

/* ---- attestations: the legacy .att (cosign 1, 2) ---------------------------------------------- */

/* Is the .att layer l this key's attestation of t of the type being attested (--replace)? */
static int att_layer_ours(struct signer *s, const struct target *t,
                          const struct airlock_descriptor *l)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_dsse d;
    struct airlock_sigstore_claim c;
    int ours = 0;
    memset(&d, 0, sizeof(d));
    memset(&c, 0, sizeof(c));
    if (!airlock_bundle_blob_read(s->b, l->digest, AIRLOCK_MAX_SIGSTORE_BUNDLE, &raw, NULL) &&
        !airlock_dsse_envelope_parse(&d, raw.data, raw.len, l->digest, NULL) &&
        !airlock_dsse_verify(&c, &d, s->pub, t->digest, l->digest, NULL))
        ours = c.predicate_type && !strcmp(c.predicate_type, s->uri);
    airlock_sigstore_claim_release(&c);
    airlock_dsse_release(&d);
    airlock_buf_release(&raw);
    return ours;
}

/* Attests one target in REPO:sha256-<hex>.att: the layers already there kept (less this key's
 * of the same type with --replace), one DSSE envelope layer added. */
static int attest_att(struct signer *s, const struct target *t, int *added,
                      struct airlock_error **err)
{
    char *man = NULL, *cfg = NULL, *attref = NULL, *norm = NULL, *st = NULL, *env = NULL;
    size_t mlen = 0, clen = 0, sl = 0, el = 0, n_layers = 0, n_olds = 0, total = 0;
    char cdigest[AIRLOCK_DIGEST_SIZE], mdigest[AIRLOCK_DIGEST_SIZE], edigest[AIRLOCK_DIGEST_SIZE];
    struct airlock_descriptor *layers = NULL;
    struct airlock_oci *olds[8];
    /* cosign's layer (static.NewAttestation): the signature annotation with "" (the signature
     * is in the envelope; cosign's Base64Signature fails on a layer without it), predicateType */
    struct airlock_annotation ann[2] = {{(char *)AIRLOCK_ANN_SIGNATURE, (char *)""},
                                        {(char *)AIRLOCK_ANN_PREDICATE_TYPE, (char *)s->uri}};
    int rc = 0;
    *added = 0;
    if (asprintf(&attref, "%s:sha256-%s.att", t->repo, airlock_digest_hex(t->digest)) < 0) {
        attref = NULL;
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!(norm = norm_ref(attref))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = read_olds(s, norm, AIRLOCK_ROLE_ATTESTATION, attref, olds, &n_olds, err)))
        goto out;
    for (size_t k = 0; k < n_olds; k++)
        total += olds[k]->n_layers;
    if (!(layers = calloc(total + 1, sizeof(*layers)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_olds; k++)
        for (size_t i = 0; i < olds[k]->n_layers; i++) {
            const struct airlock_descriptor *l = &olds[k]->layers[i];
            int dup = 0;
            for (size_t j = 0; j < n_layers && !dup; j++)
                dup = !strcmp(layers[j].digest, l->digest);
            if (!dup && !(s->o->replace && att_layer_ours(s, t, l)))
                layers[n_layers++] = *l; /* shallow: olds own them */
        }
    if ((rc = target_statement(s, t, AIRLOCK_INTOTO_STATEMENT_V01, &st, &sl, err)) ||
        (rc = airlock_dsse_envelope_build(&env, &el, s->key, st, sl, err)) ||
        (rc = queue_blob(s, env, el, edigest, err)))
        goto out;
    memset(&layers[n_layers], 0, sizeof(layers[n_layers]));
    layers[n_layers].media_type = (char *)AIRLOCK_MT_DSSE_ENVELOPE;
    memcpy(layers[n_layers].digest, edigest, sizeof(edigest));
    layers[n_layers].size = el;
    layers[n_layers].annotations = ann;
    layers[n_layers].n_annotations = 2;
    n_layers++;
    if ((rc = airlock_sig_manifest_build(&man, &mlen, &cfg, &clen, layers, n_layers, err)) ||
        (rc = queue_blob(s, cfg, clen, cdigest, err)) ||
        (rc = queue_blob(s, man, mlen, mdigest, err)) ||
        (rc = index_set(s, attref, AIRLOCK_MT_OCI_MANIFEST, AIRLOCK_KIND_ATTS, mdigest, mlen,
                        err)))
        goto out;
    *added = 1;
out:
    free(layers);
    for (size_t k = 0; k < n_olds; k++)
        airlock_oci_free(olds[k]);
    free(man);
    free(cfg);
    free(attref);
    free(norm);
    free(st);
    free(env);
    return rc;
}

/* ---- writing the change --------------------------------------------------------------------- */

static int put_entry(struct airlock_buf *o, const char *name, const char *data, size_t len,
                     struct airlock_error **err)
{
    unsigned char hdr[512];
    static const char zero[512];
    if (tarw_header(hdr, name, len, '0'))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "tar entry name '%s' too long", name);
    if (airlock_buf_append(o, hdr, 512) || airlock_buf_append(o, data, len) ||
        airlock_buf_append(o, zero, (512 - len % 512) % 512))
        return airlock_error_set(err, AIRLOCK_EOS, "signature entries too large");
    return 0;
}

/* Appends to a plain tar without copying it (see airlock_bundle_sign in layout.h). */
static int tar_append(struct signer *s, int fd, const char *index, size_t ilen,
                      struct airlock_error **err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "stat '%s'", s->path);
    int64_t e = bundle_tar_end(s->b);
    uint64_t size = (uint64_t)st.st_size;
    if (e < 0 || (uint64_t)e > size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': cannot find the end of the archive",
                                 s->path);
    /* The two end-of-archive blocks must be zeros (where the file has them). What lies
     * beyond them no reader sees: record padding, or what an interrupted sign left. */
    char buf[1024];
    size_t have = size - (uint64_t)e < sizeof(buf) ? (size_t)(size - (uint64_t)e) : sizeof(buf);
    int r0 = have ? core_pread_all(fd, buf, have, (off_t)e) : 0;
    if (r0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, -r0, "read '%s'", s->path);
    for (size_t i = 0; i < have; i++)
        if (buf[i])
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': unexpected data after the last entry (offset %llu)",
                                     s->path, (unsigned long long)e + i);
    uint64_t pos = (uint64_t)e + 1024; /* the new entries follow a whole old end marker */
    struct airlock_buf o = AIRLOCK_BUF_INIT((size_t)AIRLOCK_MAX_INDEX_JSON * 2);
    int rc = 0;
    for (size_t i = 0; i < s->n_nb && !rc; i++) {
        char name[100];
        snprintf(name, sizeof(name), "blobs/sha256/%s", airlock_digest_hex(s->nb[i].digest));
        rc = put_entry(&o, name, s->nb[i].data, s->nb[i].len, err);
    }
    if (!rc)
        rc = put_entry(&o, "index.json", index, ilen, err);
    static const char zero[1024];
    if (!rc && airlock_buf_append(&o, zero, sizeof(zero)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    /* 1: the new entries after the old end marker; readers still stop at the old marker */
    if (!rc) {
        int r = 0;
        if (size < pos) { /* extend with zeros up to pos (a short or missing old marker) */
            char z[1024] = {0};
            for (uint64_t off = size; !r && off < pos;) {
                size_t n = pos - off < sizeof(z) ? (size_t)(pos - off) : sizeof(z);
                r = pwrite(fd, z, n, (off_t)off) == (ssize_t)n ? 0 : -errno;
                off += n;
            }
        }
        for (size_t done = 0; !r && done < o.len;) {
            ssize_t w = pwrite(fd, o.data + done, o.len - done, (off_t)(pos + done));
            if (w < 0 && errno != EINTR)
                r = -errno;
            else if (w == 0)
                r = -EIO;
            else if (w > 0)
                done += (size_t)w;
        }
        if (!r && fsync(fd) < 0)
            r = -errno;
        if (r)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, -r, "append to '%s'", s->path);
    }
    /* test hook: die between the two steps, as a kill -9 could (tests/e2e/test_sign.sh) */
    if (!rc && getenv("AIRLOCK_TEST_CRASH_AFTER_APPEND"))
        _exit(99);
    /* 2: one 512-byte write turns the old end marker into a padding entry */
    if (!rc) {
        unsigned char hdr[512];
        tarw_header(hdr, LAYOUT_PADDING_NAME, pos - (uint64_t)e - 512, '0');
        ssize_t w = pwrite(fd, hdr, 512, (off_t)e);
        if (w != 512 || fsync(fd) < 0)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, w >= 0 && w != 512 ? EIO : errno,
                                         "update '%s'", s->path);
    }
    /* what an earlier interrupted sign left beyond the new end is dropped */
    if (!rc && size > pos + o.len && ftruncate(fd, (off_t)(pos + o.len)) == 0)
        fsync(fd);
    airlock_buf_release(&o);
    return rc;
}

static int dir_write_file(int dirfd, const char *dir, const char *name, const char *data,
                          size_t len, struct airlock_error **err)
{
    char tmp[160];
    snprintf(tmp, sizeof(tmp), ".%s.airlock-tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/%s'", dir, tmp);
    int r = core_write_all(fd, data, len);
    if (!r && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (!r && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
    if (r) {
        unlinkat(dirfd, tmp, 0);
        return airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s/%s'", dir, name);
    }
    return 0;
}

static int dir_update(struct signer *s, const char *index, size_t ilen, struct airlock_error **err)
{
    int dfd = bundle_dir_fd(s->b);
    int rc = 0;
    if (s->n_nb) {
        mkdirat(dfd, "blobs", 0755);
        int top = openat(dfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top >= 0)
            mkdirat(top, "sha256", 0755);
        int bfd = top >= 0 ? openat(top, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                           : -1;
        if (top >= 0)
            close(top);
        if (bfd < 0)
            return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s/blobs/sha256'",
                                           s->path);
        for (size_t i = 0; i < s->n_nb && !rc; i++)
            rc = dir_write_file(bfd, s->path, airlock_digest_hex(s->nb[i].digest), s->nb[i].data,
                                s->nb[i].len, err);
        if (!rc)
            fsync(bfd);
        close(bfd);
    }
    if (!rc)
        rc = dir_write_file(dfd, s->path, "index.json", index, ilen, err);
    if (!rc)
        fsync(dfd);
    return rc;
}

static int all_blobs(void *ctx, const char *digest, uint64_t size)
{
    (void)ctx, (void)digest, (void)size;
    return 1;
}

static int copy_blob(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                     void *read_ctx, struct airlock_error **err)
{
    return airlock_writer_add_blob(ctx, digest, size, read, read_ctx, err);
}

static int rewrite(struct signer *s, const char *index, size_t ilen, struct airlock_error **err)
{
    struct airlock_writer *w = NULL;
    int rc = writer_new_locked(&w, s->path, AIRLOCK_FORMAT_TAR_ZST, err);
    if (!rc)
        rc = airlock_bundle_blob_stream(s->b, all_blobs, copy_blob, w, err);
    for (size_t i = 0; i < s->n_nb && !rc; i++)
        rc = airlock_writer_add_bytes(w, s->nb[i].data, s->nb[i].len, s->nb[i].digest, NULL, err);
    if (!rc)
        rc = airlock_writer_commit(w, index, ilen, err);
    airlock_writer_free(w);
    return rc;
}

/* Every part of a split set carries the set's index.json and signatures, and its
 * description names the set by them: one part signed alone would no longer match the others. */
static int refuse_part(const char *path, unsigned part, unsigned parts, struct airlock_error **err)
{
    return airlock_error_set(err, AIRLOCK_EUSAGE,
                             "'%s' is part %u of a split set of %u: a set cannot be signed in "
                             "place (every part carries the signatures); sign the bundle before "
                             "splitting it, or join the parts with 'airlock import PART... -o "
                             "BUNDLE', sign that and split it again",
                             path, part, parts);
}

int airlock_bundle_sign_check(const char *path, struct airlock_error **err)
{
    struct airlock_bundle_inputs *in = NULL;
    struct stat st;
    if (stat(path, &st) != 0) /* no password is asked for a bundle that is not there */
        return airlock_error_set_errno(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EOS,
                                       errno, "open bundle '%s'", path);
    int rc = airlock_bundle_inputs_group(&in, &path, 1, err);
    if (!rc && in->n == 1 && in->v[0].set[0])
        rc = refuse_part(path, in->v[0].part[0], in->v[0].parts, err);
    airlock_bundle_inputs_free(in);
    return rc;
}

int airlock_bundle_sign(struct airlock_sign_result **res, const char *path,
                        const struct airlock_key *key, const struct airlock_sign_opts *opts,
                        struct airlock_error **err)
{
    struct signer s;
    memset(&s, 0, sizeof(s));
    s.path = path;
    s.key = key;
    s.o = opts;
    struct airlock_sign_result *r = NULL;
    char *index = NULL;
    size_t ilen = 0;
    const char *raw = NULL;
    int any = 0, rc = 0;
    struct stat st;
    /* the destination's lock, the one import and export take before they read it: a sign
     * during an import of the same bundle is refused, not lost to its rename. Where the lock
     * file cannot be made (a read-only folder), the bundle's own flock below still holds. */
    int dest_fd = -1;
    char *dest_lock = NULL;
    struct airlock_error *lerr = NULL;
    rc = layout_dest_lock(&dest_fd, &dest_lock, path, 0, &lerr);
    if (rc == AIRLOCK_EUSAGE) {
        if (err)
            *err = lerr;
        else
            airlock_error_free(lerr);
        return rc;
    }
    airlock_error_free(lerr);
    rc = 0;
    /* a plain tar is written in place: open it for writing (and fail early on read-only media) */
    int lockfd = open(path, (stat(path, &st) == 0 && S_ISREG(st.st_mode) ? O_RDWR : O_RDONLY) |
                                O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
    if (lockfd < 0) {
        rc = airlock_error_set_errno(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EOS,
                                     errno, "open bundle '%s'", path);
        layout_dest_unlock(dest_fd, dest_lock);
        return rc;
    }
    /* one writer at a time */
    if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK
                 ? airlock_error_set(err, AIRLOCK_EOS, "'%s' is being changed by another airlock",
                                     path)
                 : airlock_error_set_errno(err, AIRLOCK_EOS, errno, "lock '%s'", path);
        goto out;
    }
    /* what we locked must be what we read and write (not a file renamed over it since) */
    struct stat locked, now;
    struct airlock_split_info si;
    if (fstat(lockfd, &locked) < 0 || stat(path, &now) < 0 || locked.st_ino != now.st_ino ||
        locked.st_dev != now.st_dev) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "'%s' was replaced while opening it; try again",
                               path);
        goto out;
    }
    if ((rc = airlock_bundle_open(&s.b, path, AIRLOCK_OPEN_PART, err)) ||
        (rc = airlock_bundle_split_info(s.b, &si) ? refuse_part(path, si.part, si.parts, err)
                                                   : 0) ||
        (rc = airlock_catalog_load(&s.cat, s.b, err)) ||
        (rc = airlock_pubkey_from_key(&s.pub, key, err)) || (rc = collect(&s, err)))
        goto out;
    if (airlock_bundle_format(s.b) == AIRLOCK_FORMAT_TAR_ZST &&
        strcmp(airlock_bundle_format_label(s.b), "tar.zst")) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' is a %s: airlock signs plain tars, .tar.zst and directories "
                               "(convert it with airlock import)",
                               path, airlock_bundle_format_label(s.b));
        goto out;
    }
    raw = airlock_bundle_index(s.b, &ilen);
    s.index = core_json_parse(raw, ilen, NULL);
    if (!s.index || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(s.index, "manifests"))) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': index.json cannot be updated", path);
        goto out;
    }
    if ((rc = names_index(&s, err)))
        goto out;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->refs = calloc(s.n_t, sizeof(char *))) ||
        !(r->digests = calloc(s.n_t, sizeof(char *))) || !(r->added = calloc(s.n_t, sizeof(int)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    stamp(s.created);
    s.uri = opts->predicate_type ? airlock_predicate_type_uri(opts->predicate_type, NULL) : NULL;
    for (size_t i = 0; i < s.n_t && !rc; i++) {
        int a = 0;
        if ((!opts->formats || (opts->formats & AIRLOCK_SIGN_WRITE_SIMPLESIGNING)))
            rc = s.uri ? attest_att(&s, &s.t[i], &r->added[i], err)
                       : sign_sig(&s, &s.t[i], &r->added[i], err);
        if (!rc && (!opts->formats || (opts->formats & AIRLOCK_SIGN_WRITE_BUNDLE)))
            rc = sign_bundle(&s, &s.t[i], &a, err);
        r->added[i] |= a;
        if (!rc) {
            r->refs[i] = strdup(s.t[i].ref);
            r->digests[i] = strdup(s.t[i].digest);
            r->n = i + 1;
            any |= r->added[i];
        }
    }
    if (rc || !any)
        goto done;
    index = cJSON_PrintUnformatted(s.index);
    if (!index) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    switch (airlock_bundle_format(s.b)) {
    case AIRLOCK_FORMAT_TAR:
        rc = tar_append(&s, lockfd, index, strlen(index), err);
        break;
    case AIRLOCK_FORMAT_DIR:
        rc = dir_update(&s, index, strlen(index), err);
        break;
    default:
        rc = rewrite(&s, index, strlen(index), err);
    }
done:
    if (!rc)
        *res = steal_pointer(&r);
out:
    airlock_sign_result_free(r);
    free(index);
    cJSON_Delete(s.index);
    for (size_t i = 0; s.cat_norm && i < s.cat->n; i++)
        free(s.cat_norm[i]);
    free(s.cat_norm);
    free(s.idx_item);
    free(s.idx_next);
    core_dmap_release(&s.idx_head);
    free(s.cat_next);
    free(s.sub_next);
    core_dmap_release(&s.cat_head);
    core_dmap_release(&s.sub_head);
    core_dmap_release(&s.t_at);
    core_dmap_release(&s.nb_at);
    for (size_t i = 0; i < s.n_t; i++) {
        free(s.t[i].ref);
        free(s.t[i].repo);
        for (size_t k = 0; k < s.t[i].n_ids; k++)
            free(s.t[i].ids[k]);
        free(s.t[i].ids);
        free(s.t[i].media_type);
    }
    free(s.t);
    for (size_t i = 0; i < s.n_nb; i++)
        free(s.nb[i].data);
    free(s.nb);
    airlock_pubkey_free(s.pub);
    airlock_catalog_free(s.cat);
    airlock_bundle_free(s.b);
    close(lockfd);
    layout_dest_unlock(dest_fd, dest_lock);
    return rc;
}

int airlock_bundle_attest(struct airlock_sign_result **res, const char *path,
                          const struct airlock_key *key, const struct airlock_sign_opts *opts,
                          struct airlock_error **err)
{
    if (!opts->predicate_type || !airlock_predicate_type_uri(opts->predicate_type, NULL))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "predicate type '%s' is neither a cosign "
                                                      "type name nor a URI",
                                 opts->predicate_type ? opts->predicate_type : "");
    if (!opts->predicate)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "no predicate to attest");
    return airlock_bundle_sign(res, path, key, opts, err);
}
