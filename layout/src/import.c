/* Import: many sources (OCI layouts in any form, docker-save archives, hauler stores, other
 * bundles) into one deduplicated bundle. Plan first (names, graphs, which blob comes from
 * where), then write small JSON blobs, then stream every source once for its layers. */
#include "layout_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct source {
    const char *path;
    struct airlock_bundle *b;
    struct docker_src *d;
};

struct planned {
    char *ref; /* full reference */
    enum airlock_role att;
    struct airlock_descriptor desc;
    size_t src;
};

struct meta {
    char digest[AIRLOCK_DIGEST_SIZE];
    char *data;
    size_t len;
    int kind;               /* enum airlock_oci_kind, or 0 for a docker config */
    const char *media_type; /* the document's type (static string), or NULL */
};

struct plan {
    struct source *src;
    size_t n_src;
    struct planned *e;
    size_t n, cap;
    struct meta *meta;
    size_t n_meta;
    struct core_dmap meta_map;
    struct core_dmap need; /* layer/config digest -> source index + 1 */
    size_t n_need;         /* how many, and their bytes as their descriptors give them */
    uint64_t need_bytes;
    const struct airlock_import_opts *opts;
    char **warnings;
    size_t n_warnings;
    struct airlock_writer *w;
    size_t cur_src;
    uint64_t bytes;
    uint64_t blobs;
};

static int src_read(struct plan *p, size_t s, const char *digest, struct airlock_buf *out,
                    struct airlock_error **err)
{
    if (p->src[s].d)
        return docker_src_blob_read(p->src[s].d, digest, out, err);
    return airlock_bundle_blob_read(p->src[s].b, digest, AIRLOCK_MAX_MANIFEST, out, err);
}

static int src_has(struct plan *p, size_t s, const char *digest, uint64_t *size)
{
    if (p->src[s].d) {
        struct airlock_buf b = AIRLOCK_BUF_INIT(0);
        if (docker_src_blob_read(p->src[s].d, digest, &b, NULL) == 0) {
            *size = b.len;
            airlock_buf_release(&b);
            return 1;
        }
        return 0; /* layers are checked when the image is built */
    }
    return airlock_bundle_blob_stat(p->src[s].b, digest, size) == 0;
}

/* ---- naming ------------------------------------------------------------------------------- */

static int usable_name(const char *s)
{
    return s && *s && (strchr(s, '/') || strchr(s, ':') || strchr(s, '@'));
}

static const char *tag_of(const char *s)
{
    if (!s)
        return NULL;
    const char *slash = strrchr(s, '/');
    const char *colon = strrchr(slash ? slash : s, ':');
    return colon ? colon + 1 : (usable_name(s) ? NULL : s);
}

static const char *att_suffix(enum airlock_role k)
{
    switch (k) {
    case AIRLOCK_ROLE_SIGNATURE:
        return ".sig";
    case AIRLOCK_ROLE_ATTESTATION:
        return ".att";
    case AIRLOCK_ROLE_SBOM:
        return ".sbom";
    default:
        return "";
    }
}

static int normalize(char **out, const char *s, const char *src, struct airlock_error **err)
{
    struct airlock_ref r;
    int rc = airlock_ref_parse(&r, s, err);
    if (rc) {
        airlock_error_wrap(err, "'%s'", src);
        if (err && *err)
            (*err)->code = AIRLOCK_EINTEGRITY;
        return AIRLOCK_EINTEGRITY;
    }
    *out = airlock_ref_format(&r);
    airlock_ref_release(&r);
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int has_explicit_tag(const char *s)
{
    const char *slash = strrchr(s, '/');
    return strchr(slash ? slash : s, ':') || strchr(s, '@');
}

/* The reference for an image that its source leaves unnamed. */
static int name_from_opt(char **out, const struct plan *p, const char *bare_tag, const char *src,
                         struct airlock_error **err)
{
    if (!p->opts->name)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s': an image has no usable reference%s%s%s: name it with "
                                 "--name REF",
                                 src, bare_tag ? " (only the tag '" : "", bare_tag ? bare_tag : "",
                                 bare_tag ? "')" : "");
    struct airlock_ref r;
    int rc = airlock_ref_parse(&r, p->opts->name, err);
    if (rc)
        return rc;
    if (!has_explicit_tag(p->opts->name) && bare_tag && r.tag) {
        char *t = strdup(bare_tag);
        if (t) {
            free(r.tag);
            r.tag = t;
        }
    }
    *out = airlock_ref_format(&r);
    airlock_ref_release(&r);
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static int plan_add(struct plan *p, char *ref, enum airlock_role att,
                    const struct airlock_descriptor *d, size_t src, struct airlock_error **err)
{
    /* every name written to index.json must read back as a reference */
    struct airlock_ref check;
    if (airlock_ref_parse(&check, ref, err)) {
        airlock_error_wrap(err, "'%s'", p->src[src].path);
        if (err && *err)
            (*err)->code = AIRLOCK_EINTEGRITY;
        free(ref);
        return AIRLOCK_EINTEGRITY;
    }
    airlock_ref_release(&check);
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->e[i].ref, ref)) { /* a reference given again: the later one wins */
            free(p->e[i].ref);
            airlock_descriptor_release(&p->e[i].desc);
            p->e[i].ref = ref;
            p->e[i].att = att;
            p->e[i].src = src;
            return airlock_descriptor_copy(&p->e[i].desc, d, err);
        }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct planned *n = realloc(p->e, cap * sizeof(*n));
        if (!n) {
            free(ref);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        p->e = n;
        p->cap = cap;
    }
    struct planned *e = &p->e[p->n];
    memset(e, 0, sizeof(*e));
    e->ref = ref;
    e->att = att;
    e->src = src;
    int rc = airlock_descriptor_copy(&e->desc, d, err);
    if (rc) {
        free(ref);
        return rc;
    }
    p->n++;
    return 0;
}

/* Repository of the image (in the plan, from source s) whose digest is sha256:<hex>. */
static char *repo_of_subject(const struct plan *p, size_t s, const char *hex, size_t first)
{
    for (size_t i = first; i < p->n; i++) {
        if (p->e[i].src != s || p->e[i].att || strcmp(airlock_digest_hex(p->e[i].desc.digest), hex))
            continue;
        struct airlock_ref r;
        if (airlock_ref_parse(&r, p->e[i].ref, NULL))
            continue;
        char *repo = airlock_ref_repository(&r);
        airlock_ref_release(&r);
        return repo;
    }
    return NULL;
}

/* The repository an attachment's name "REPO:sha256-<hex>..." gives, when some image of source
 * s is in it; else NULL. */
static char *named_repo(const struct plan *p, size_t s, const char *name, size_t first)
{
    const char *t = tag_of(name);
    struct airlock_ref r;
    if (!name || !t || t == name || airlock_ref_parse(&r, name, NULL))
        return NULL;
    char *repo = airlock_ref_repository(&r);
    airlock_ref_release(&r);
    for (size_t i = first; repo && i < p->n; i++) {
        if (p->e[i].src != s || p->e[i].att || airlock_ref_parse(&r, p->e[i].ref, NULL))
            continue;
        char *ir = airlock_ref_repository(&r);
        airlock_ref_release(&r);
        int same = ir && !strcmp(ir, repo);
        free(ir);
        if (same)
            return repo;
    }
    free(repo);
    return NULL;
}

static void plan_warn(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_warn(struct plan *p, const char *fmt, ...)
{
    char **w = realloc(p->warnings, (p->n_warnings + 1) * sizeof(*w));
    if (!w)
        return;
    p->warnings = w;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&w[p->n_warnings], fmt, ap) >= 0)
        p->n_warnings++;
    va_end(ap);
}

/* docker save with the containerd image store keeps the whole multi-platform index but only
 * the platforms present locally. Such an index cannot be imported as it is; when exactly one
 * platform manifest is present, that manifest is imported under the image's name. Returns 0
 * and leaves *pick empty when the index is complete. */
static int partial_index(struct plan *p, size_t s, const struct airlock_descriptor *d,
                         const char *ref, struct airlock_descriptor *pick,
                         struct airlock_error **err)
{
    memset(pick, 0, sizeof(*pick));
    if (!airlock_media_type_is_index(d->media_type) || !p->src[s].b)
        return 0;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *m = NULL;
    if (airlock_bundle_blob_read(p->src[s].b, d->digest, AIRLOCK_MAX_MANIFEST, &raw, NULL) ||
        airlock_oci_parse(&m, raw.data, raw.len, "index", NULL)) {
        airlock_buf_release(&raw);
        return 0; /* reported with context by need_blob */
    }
    airlock_buf_release(&raw);
    size_t missing = 0, present = 0, which = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        const struct airlock_descriptor *c = &m->layers[i];
        if (airlock_bundle_blob_stat(p->src[s].b, c->digest, NULL)) {
            missing++;
            continue;
        }
        if (c->platform_os && !strcmp(c->platform_os, "unknown"))
            continue; /* an attestation manifest, not a platform */
        present++;
        which = i;
    }
    int rc = 0;
    if (missing && present == 1) {
        const struct airlock_descriptor *c = &m->layers[which];
        rc = airlock_descriptor_copy(pick, c, err);
        if (!rc)
            plan_warn(p,
                      "'%s': image '%s': index %s lists %zu manifest(s) the archive lacks (a "
                      "docker save of the containerd store); importing its only platform, "
                      "%s/%s, as %s",
                      p->src[s].path, ref, d->digest, missing,
                      c->platform_os ? c->platform_os : "?",
                      c->platform_arch ? c->platform_arch : "?", c->digest);
    } else if (missing) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "'%s': image '%s': index %s lists %zu manifest(s) the archive "
                               "lacks, and %zu platforms are present: cannot tell which to keep",
                               p->src[s].path, ref, d->digest, missing, present);
    }
    airlock_oci_free(m);
    return rc;
}

static int plan_oci_source(struct plan *p, size_t s, struct airlock_error **err)
{
    struct airlock_bundle *b = p->src[s].b;
    size_t len;
    const char *raw = airlock_bundle_index(b, &len);
    struct airlock_oci *idx = NULL;
    char what[300];
    snprintf(what, sizeof(what), "'%s': index.json", p->src[s].path);
    int rc = airlock_oci_parse(&idx, raw, len, what, err);
    if (rc)
        return rc;
    if (idx->kind != AIRLOCK_OCI_INDEX) {
        airlock_oci_free(idx);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: not an image index", what);
    }
    size_t first = p->n;
    /* Images first, so attachments can find the repository of their subject. */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < idx->n_layers && !rc; i++) {
            const struct airlock_descriptor *d = &idx->layers[i];
            const char *ctrd = airlock_annotation_get(d->annotations, d->n_annotations,
                                                      AIRLOCK_ANN_CONTAINERD_NAME);
            const char *refn = airlock_annotation_get(d->annotations, d->n_annotations,
                                                      AIRLOCK_ANN_REF_NAME);
            const char *kind = airlock_annotation_get(d->annotations, d->n_annotations,
                                                      AIRLOCK_ANN_KIND);
            const char *name = usable_name(ctrd) ? ctrd : usable_name(refn) ? refn : NULL;
            enum airlock_role att = airlock_role_of(kind, name ? name : refn);
            if ((pass == 0) != (att == AIRLOCK_ROLE_IMAGE))
                continue;
            char *ref = NULL;
            if (att == AIRLOCK_ROLE_IMAGE) {
                rc = name ? normalize(&ref, name, p->src[s].path, err)
                          : name_from_opt(&ref, p, refn && *refn ? refn : NULL, p->src[s].path,
                                          err);
            } else {
                /* sha256-<hex>: from the tag, or the one image of a cosign-save layout */
                const char *t = tag_of(name ? name : refn);
                char hex[65] = "";
                if (t && !strncmp(t, "sha256-", 7) && strlen(t) >= 71 &&
                    strspn(t + 7, "0123456789abcdef") >= 64)
                    memcpy(hex, t + 7, 64), hex[64] = '\0';
                else {
                    size_t n_img = 0;
                    for (size_t k = first; k < p->n; k++)
                        if (p->e[k].src == s && !p->e[k].att) {
                            n_img++;
                            memcpy(hex, airlock_digest_hex(p->e[k].desc.digest), 64);
                            hex[64] = '\0';
                        }
                    if (n_img != 1) {
                        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                               "'%s': signature or attestation '%s' names no "
                                               "image",
                                               p->src[s].path, d->digest);
                        break;
                    }
                }
                /* its own repository when it names one holding an image of this source (a
                 * platform manifest's signature, whose digest may also be an image of another
                 * repository: each keeps its own), else its subject's */
                char *repo = named_repo(p, s, name, first);
                if (!repo)
                    repo = repo_of_subject(p, s, hex, first);
                if (!repo && name) {
                    struct airlock_ref r;
                    if (!airlock_ref_parse(&r, name, NULL)) {
                        repo = airlock_ref_repository(&r);
                        airlock_ref_release(&r);
                    }
                }
                if (!repo) {
                    rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                           "'%s': cannot tell which repository '%.200s' belongs to",
                                           p->src[s].path, refn ? refn : d->digest);
                    break;
                }
                if (asprintf(&ref, "%s:sha256-%s%s", repo, hex, att_suffix(att)) < 0)
                    ref = NULL;
                free(repo);
                if (!ref)
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            struct airlock_descriptor pick;
            memset(&pick, 0, sizeof(pick));
            if (!rc && att == AIRLOCK_ROLE_IMAGE && (rc = partial_index(p, s, d, ref, &pick, err)))
                free(ref);
            if (!rc)
                rc = plan_add(p, ref, att, pick.digest[0] ? &pick : d, s, err);
            airlock_descriptor_release(&pick);
        }
    }
    airlock_oci_free(idx);
    return rc;
}

static int plan_docker_source(struct plan *p, size_t s, struct airlock_error **err)
{
    struct docker_src *d = p->src[s].d;
    int rc = 0;
    for (size_t i = 0; i < docker_src_image_count(d) && !rc; i++) {
        const char *const *tags;
        size_t nt;
        const struct airlock_descriptor *desc = docker_src_image(d, i, &tags, &nt);
        if (!nt) {
            char *ref = NULL;
            if (!(rc = name_from_opt(&ref, p, NULL, p->src[s].path, err)))
                rc = plan_add(p, ref, AIRLOCK_ROLE_IMAGE, desc, s, err);
        }
        for (size_t k = 0; k < nt && !rc; k++) {
            char *ref = NULL;
            if (!(rc = normalize(&ref, tags[k], p->src[s].path, err)))
                rc = plan_add(p, ref, AIRLOCK_ROLE_IMAGE, desc, s, err);
        }
    }
    return rc;
}

/* ---- graphs -------------------------------------------------------------------------------- */

#define MAX_NESTING 16

static int add_meta(struct plan *p, const char *digest, struct airlock_buf *raw, int kind,
                    const char *media_type)
{
    struct meta *m = realloc(p->meta, (p->n_meta + 1) * sizeof(*m));
    if (!m)
        return -1;
    p->meta = m;
    m += p->n_meta;
    memcpy(m->digest, digest, AIRLOCK_DIGEST_SIZE);
    m->kind = kind;
    m->media_type = media_type;
    m->data = airlock_buf_detach(raw, &m->len);
    if (core_dmap_put(&p->meta_map, digest, p->n_meta))
        return -1;
    p->n_meta++;
    return 0;
}

/* The document's own media type as one of the static constants (OCI by default). */
static const char *known_media_type(const struct airlock_oci *m)
{
    static const char *known[] = {AIRLOCK_MT_OCI_MANIFEST, AIRLOCK_MT_OCI_INDEX,
                                  AIRLOCK_MT_DOCKER_MANIFEST, AIRLOCK_MT_DOCKER_LIST};
    for (size_t i = 0; m->media_type && i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(m->media_type, known[i]))
            return known[i];
    return m->kind == AIRLOCK_OCI_INDEX ? AIRLOCK_MT_OCI_INDEX : AIRLOCK_MT_OCI_MANIFEST;
}

static int need_plain(struct plan *p, size_t s, const struct airlock_descriptor *d,
                      struct airlock_error **err)
{
    if (core_dmap_get(&p->need, d->digest))
        return 0;
    if (core_dmap_put(&p->need, d->digest, s + 1))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    p->n_need++;
    p->need_bytes += d->size;
    return 0;
}

/* Records what image needs from source s below descriptor d: manifests and indexes are read
 * and kept in memory, other blobs are marked for streaming. A descriptor without mediaType
 * (umoci omits it) is looked into. *kind gets the enum airlock_oci_kind of d, or 0. */
static int need_blob(struct plan *p, size_t s, const struct airlock_descriptor *d,
                     const char *image, int depth, int *kind, struct airlock_error **err)
{
    *kind = 0;
    if (depth > MAX_NESTING)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': image '%s': manifests nested deeper than %d levels",
                                 p->src[s].path, image, MAX_NESTING);
    size_t *mi = core_dmap_get(&p->meta_map, d->digest);
    if (mi) {
        *kind = p->meta[*mi].kind;
        return 0;
    }
    int declared = airlock_media_type_is_manifest(d->media_type) ||
                   airlock_media_type_is_index(d->media_type);
    int maybe = !declared && !d->media_type && d->size <= AIRLOCK_MAX_MANIFEST && !p->src[s].d;
    if (!declared && !maybe && core_dmap_get(&p->need, d->digest))
        return 0;
    uint64_t have = 0;
    if (!src_has(p, s, d->digest, &have)) {
        if (p->src[s].d && !declared)
            have = d->size; /* a docker layer: known to be there */
        else if (d->has_urls)
            return 0; /* foreign layer: not carried */
        else
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': image '%s': blob '%s' is missing", p->src[s].path,
                                     image, d->digest);
    }
    if (have != d->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': image '%s': blob '%s' has %llu bytes, its descriptor says "
                                 "%llu",
                                 p->src[s].path, image, d->digest, (unsigned long long)have,
                                 (unsigned long long)d->size);
    int small_docker = p->src[s].d && !declared && src_has(p, s, d->digest, &have);
    if (!declared && !maybe && !small_docker)
        return need_plain(p, s, d, err);
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_error *rerr = NULL;
    int rc = src_read(p, s, d->digest, &raw, &rerr);
    if (rc && maybe && rc != AIRLOCK_EOS) { /* a streamed blob that is not JSON */
        airlock_error_free(rerr);
        return need_plain(p, s, d, err);
    }
    if (rc) {
        if (err && !*err)
            *err = rerr;
        else
            airlock_error_free(rerr);
        return airlock_error_wrap(err, "image '%s'", image);
    }
    if (small_docker) { /* a docker config, kept in memory */
        if (add_meta(p, d->digest, &raw, 0, NULL)) {
            airlock_buf_release(&raw);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        return 0;
    }
    struct airlock_oci *m = NULL;
    char what[160];
    snprintf(what, sizeof(what), "'%s': manifest '%s'", p->src[s].path, d->digest);
    rc = airlock_oci_parse(&m, raw.data, raw.len, what, maybe ? NULL : err);
    if (rc && maybe) { /* no mediaType and not a manifest: a plain blob */
        airlock_buf_release(&raw);
        return need_plain(p, s, d, err);
    }
    const char *mt = rc ? NULL : known_media_type(m);
    if (rc || add_meta(p, d->digest, &raw, (int)m->kind, mt)) {
        airlock_buf_release(&raw);
        airlock_oci_free(m);
        return rc ? rc : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    *kind = (int)m->kind;
    int k;
    if (m->kind == AIRLOCK_OCI_MANIFEST)
        rc = need_blob(p, s, &m->config, image, depth + 1, &k, err);
    for (size_t i = 0; !rc && i < m->n_layers; i++)
        rc = need_blob(p, s, &m->layers[i], image, depth + 1, &k, err);
    airlock_oci_free(m);
    return rc;
}

/* ---- cosign save's bare referrers ----------------------------------------------------------- */

/* Keeps referrer manifest m (raw, digest) of an image planned from source s in repo, with its
 * config and layers, and lists it in the referrers index at the fallback tag
 * REPO:sha256-<hex>, merged with the index planned there already (FORMATS.md section 4). What
 * is at that tag and is no index is left as it is, and the referrer out, with a warning. */
static int keep_bare_referrer(struct plan *p, size_t s, const char *digest,
                              struct airlock_buf *raw, const struct airlock_oci *m,
                              const char *repo, struct airlock_error **err)
{
    char *tag = NULL, *idx = NULL;
    size_t il = 0;
    int added = 0, k, rc;
    if (asprintf(&tag, "%s:sha256-%s", repo, airlock_digest_hex(m->subject->digest)) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct planned *e = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->e[i].ref, tag))
            e = &p->e[i];
    size_t *mi = e ? core_dmap_get(&p->meta_map, e->desc.digest) : NULL;
    const struct meta *old = mi ? &p->meta[*mi] : NULL;
    char what[300];
    snprintf(what, sizeof(what), "'%s': '%.200s'", p->src[s].path, tag);
    struct airlock_error *le = NULL;
    rc = airlock_referrers_index_add(&idx, &il, &added, old ? old->data : NULL,
                                     old ? old->len : 0, raw->data, raw->len, what, &le);
    if (rc == AIRLOCK_EINTEGRITY) {
        plan_warn(p, "'%s': referrer '%s' (left unlisted in blobs/ by cosign save) is not "
                     "kept: %s",
                  p->src[s].path, digest, le ? le->msg : "its fallback tag holds no index");
        airlock_error_free(le);
        free(tag);
        return 0;
    }
    if (rc) {
        if (err && !*err)
            *err = le;
        else
            airlock_error_free(le);
        free(tag);
        return rc;
    }
    /* the referrer and what it holds, as need_blob keeps a manifest */
    if (add_meta(p, digest, raw, AIRLOCK_OCI_MANIFEST, known_media_type(m)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (!rc)
        rc = need_blob(p, s, &m->config, tag, 1, &k, err);
    for (size_t l = 0; !rc && l < m->n_layers; l++)
        rc = need_blob(p, s, &m->layers[l], tag, 1, &k, err);
    char idig[AIRLOCK_DIGEST_SIZE];
    struct airlock_buf ib = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    if (!rc && !(rc = airlock_sha256_digest(idig, idx, il, err)) &&
        !core_dmap_get(&p->meta_map, idig) &&
        (airlock_buf_append(&ib, idx, il) ||
         add_meta(p, idig, &ib, AIRLOCK_OCI_INDEX, AIRLOCK_MT_OCI_INDEX)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    airlock_buf_release(&ib);
    free(idx);
    if (!rc && e) { /* the index there before stays a blob: another entry may name it */
        memcpy(e->desc.digest, idig, AIRLOCK_DIGEST_SIZE);
        e->desc.size = il;
    } else if (!rc) {
        struct airlock_descriptor d;
        memset(&d, 0, sizeof(d));
        d.media_type = (char *)AIRLOCK_MT_OCI_INDEX;
        memcpy(d.digest, idig, AIRLOCK_DIGEST_SIZE);
        d.size = il;
        return plan_add(p, tag, AIRLOCK_ROLE_REFERRERS, &d, s, err);
    }
    free(tag);
    return rc;
}

/* One small unreferenced blob of layout source s, read and checked against its digest: kept
 * when the catalog takes it as a referrer (layout_bare_referrer_parse) of an image planned
 * from s whose config and layers the source holds. */
static int bare_blob(struct plan *p, size_t s, const char *digest, struct airlock_buf *raw,
                     struct airlock_error **err)
{
    struct airlock_oci *m = NULL;
    char *repo = NULL;
    int rc = 0, whole = 1;
    if (layout_bare_referrer_parse(&m, raw->data, raw->len) &&
        !strncmp(m->subject->digest, "sha256:", 7) &&
        (repo = repo_of_subject(p, s, airlock_digest_hex(m->subject->digest), 0))) {
        uint64_t have = 0;
        whole = src_has(p, s, m->config.digest, &have) && have == m->config.size;
        for (size_t l = 0; whole && l < m->n_layers; l++)
            whole = src_has(p, s, m->layers[l].digest, &have) && have == m->layers[l].size;
        if (whole)
            rc = keep_bare_referrer(p, s, digest, raw, m, repo, err);
        else
            plan_warn(p, "'%s': referrer '%s' (left unlisted in blobs/ by cosign save) is not "
                         "kept: a blob it names is missing or of another size",
                      p->src[s].path, digest);
    }
    free(repo);
    airlock_oci_free(m);
    return rc;
}

static int bare_want(void *ctx, const char *digest, uint64_t size)
{
    const struct plan *p = ctx;
    return size >= LAYOUT_BARE_REFERRER_MIN && size <= LAYOUT_BARE_REFERRER_MAX &&
           !core_dmap_get(&p->meta_map, digest) && !core_dmap_get(&p->need, digest);
}

static int bare_take(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                     void *rctx, struct airlock_error **err)
{
    struct plan *p = ctx;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    int rc = layout_stream_small(read, rctx, digest, size, LAYOUT_BARE_REFERRER_MAX, &raw, err);
    if (rc) /* not what its name says, or too large: no referrer anyone can use */
        return rc < 0 ? rc : 0;
    rc = bare_blob(p, p->cur_src, digest, &raw, err);
    airlock_buf_release(&raw);
    return rc;
}

/* cosign save writes its referrer manifests (cosign 3's sigstore bundles) into blobs/ and not
 * into index.json. A small blob of layout source s that nothing planned references and that
 * is a referrer of an image planned from s (bare_blob) is kept and listed under its subject's
 * fallback tag, so verify counts it as listed, generic tools copy it, and push carries it.
 * Anything else unreferenced stays behind, as before. A streamed source (tar.zst) dropped
 * the JSON nothing listed references: it is read once more for them. */
static int plan_bare_referrers(struct plan *p, size_t s, struct airlock_error **err)
{
    struct airlock_bundle *b = p->src[s].b;
    size_t n = b ? airlock_bundle_blob_count(b) : 0;
    int rc = 0, streamed = b && airlock_bundle_format(b) == AIRLOCK_FORMAT_TAR_ZST, need = 0;
    for (size_t i = 0; i < n && !rc && !need; i++) {
        uint64_t size = 0;
        const char *dg = airlock_bundle_blob_digest(b, i, &size);
        if (!dg || !bare_want(p, dg, size))
            continue;
        need = streamed; /* one pass over the stream for all */
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        if (!streamed && !airlock_bundle_blob_read(b, dg, LAYOUT_BARE_REFERRER_MAX, &raw, NULL))
            rc = bare_blob(p, s, dg, &raw, err);
        airlock_buf_release(&raw);
    }
    if (need && !rc) {
        p->cur_src = s;
        rc = airlock_bundle_blob_stream(b, bare_want, bare_take, p, err);
    }
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------- */

static int want_fn(void *ctx, const char *digest, uint64_t size)
{
    struct plan *p = ctx;
    size_t *s = core_dmap_get(&p->need, digest);
    if (!s || *s != p->cur_src + 1)
        return 0;
    if (!airlock_writer_has(p->w, digest))
        return 1;
    if (p->opts->progress) { /* the bundle added to has it: planned, and done */
        struct airlock_progress ev = {"skip", digest, size, size};
        p->opts->progress(p->opts->progress_ctx, &ev);
    }
    return 0;
}

static int take_fn(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                   void *read_ctx, struct airlock_error **err)
{
    struct plan *p = ctx;
    struct airlock_progress_reader pr = {read, read_ctx, p->opts->progress, p->opts->progress_ctx,
                                         "write", digest, size, 0, 0};
    if (p->opts->progress) {
        read = airlock_progress_read;
        read_ctx = &pr;
    }
    int rc = airlock_writer_add_blob(p->w, digest, size, read, read_ctx, err);
    if (!rc) {
        p->bytes += size;
        p->blobs++;
    }
    return rc;
}

static char *build_index(const struct plan *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "schemaVersion", 2);
    cJSON_AddStringToObject(root, "mediaType", AIRLOCK_MT_OCI_INDEX);
    cJSON *arr = cJSON_AddArrayToObject(root, "manifests");
    for (size_t i = 0; i < p->n; i++) {
        const struct planned *e = &p->e[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "mediaType",
                                e->desc.media_type ? e->desc.media_type : AIRLOCK_MT_OCI_MANIFEST);
        cJSON_AddStringToObject(d, "digest", e->desc.digest);
        cJSON_AddNumberToObject(d, "size", (double)e->desc.size);
        if (e->desc.artifact_type)
            cJSON_AddStringToObject(d, "artifactType", e->desc.artifact_type);
        cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
        cJSON_AddStringToObject(ann, AIRLOCK_ANN_REF_NAME, e->ref);
        const char *kind = NULL;
        switch (e->att) {
        case AIRLOCK_ROLE_IMAGE:
            cJSON_AddStringToObject(ann, AIRLOCK_ANN_CONTAINERD_NAME, e->ref);
            kind = airlock_media_type_is_index(e->desc.media_type) ? AIRLOCK_KIND_INDEX
                                                                   : AIRLOCK_KIND_IMAGE;
            break;
        case AIRLOCK_ROLE_SIGNATURE:
            kind = AIRLOCK_KIND_SIGS;
            break;
        case AIRLOCK_ROLE_ATTESTATION:
            kind = AIRLOCK_KIND_ATTS;
            break;
        case AIRLOCK_ROLE_SBOM:
            kind = "dev.cosignproject.cosign/sboms";
            break;
        default:
            break;
        }
        if (kind)
            cJSON_AddStringToObject(ann, AIRLOCK_ANN_KIND, kind);
        if (e->desc.platform_os || e->desc.platform_arch) {
            cJSON *pl = cJSON_AddObjectToObject(d, "platform");
            cJSON_AddStringToObject(pl, "architecture",
                                    e->desc.platform_arch ? e->desc.platform_arch : "");
            cJSON_AddStringToObject(pl, "os", e->desc.platform_os ? e->desc.platform_os : "");
            if (e->desc.platform_variant)
                cJSON_AddStringToObject(pl, "variant", e->desc.platform_variant);
        }
        cJSON_AddItemToArray(arr, d);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* One input (airlock_bundle_inputs_group): a split set from its parts named, or one path. A
 * split set must be whole: what a missing part holds cannot be imported. */
static int open_source(struct source *src, const struct airlock_bundle_input *in,
                       struct airlock_error **err)
{
    const char *path = in->paths[0];
    struct stat st;
    src->path = path;
    if (in->set[0]) {
        int rc = airlock_bundle_input_open(&src->b, in, 0, err);
        return rc ? rc : airlock_bundle_split_check_whole(src->b, err);
    }
    if (stat(path, &st) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s'", path);
    if (S_ISDIR(st.st_mode))
        return airlock_bundle_open(&src->b, path, 0, err);
    /* A tar with oci-layout is a layout; one with only manifest.json is a docker save. */
    struct airlock_error *e1 = NULL;
    int not_layout = 0;
    int rc = bundle_open(&src->b, path, 0, &not_layout, &e1);
    if (!rc)
        return airlock_bundle_split_check_whole(src->b, err);
    if (not_layout) {
        airlock_error_free(e1);
        rc = docker_src_open(&src->d, path, err);
        if (rc)
            airlock_error_wrap(err, "'%s' is neither an OCI layout nor a docker-save archive",
                               path);
        return rc;
    }
    if (err)
        *err = e1;
    else
        airlock_error_free(e1);
    return rc;
}

/* A delta bundle leaves out layers only its destination registry holds: import writes a new
 * index.json from what its sources hold, so it can neither copy those layers nor keep the
 * record honest. Refused (also as the destination added to), naming the ways that carry a
 * delta as it is. */
static int refuse_delta(const struct source *src, struct airlock_error **err)
{
    struct airlock_delta *d = NULL;
    int rc = src->b ? airlock_delta_load(&d, src->b, err) : AIRLOCK_ENOTFOUND;
    if (rc)
        return rc == AIRLOCK_ENOTFOUND ? 0 : rc;
    size_t n = d->n;
    airlock_delta_free(d);
    return airlock_error_set(err, AIRLOCK_EUSAGE,
                             "'%s' is a delta bundle (%zu layer%s left out, expected at the "
                             "destination registry): import cannot rewrite it; push, verify, sign "
                             "and split take it as it is, and export writes it in any format "
                             "(-o delta.tar)",
                             src->path, n, n == 1 ? "" : "s");
}

void airlock_import_result_free(struct airlock_import_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->refs[i]);
        free(r->digests[i]);
    }
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    for (size_t i = 0; i < r->n_parts; i++)
        free(r->parts[i]);
    free(r->parts);
    free(r->part_sizes);
    free(r->warnings);
    free(r->refs);
    free(r->digests);
    free(r);
}

int airlock_import(struct airlock_import_result **res, const char *out, const char *const *inputs,
                   size_t n_inputs, const struct airlock_import_opts *opts,
                   struct airlock_error **err)
{
    static const struct airlock_import_opts none = AIRLOCK_IMPORT_OPTS_INIT;
    struct plan p;
    memset(&p, 0, sizeof(p));
    p.opts = opts ? opts : &none;
    int rc = 0;
    struct stat st;
    char *index = NULL, *lock_path = NULL;
    struct airlock_import_result *r = NULL;
    struct airlock_bundle_inputs *in = NULL;
    int lock_fd = -1;
    /* the destination's lock before its first read, kept to the rename: a sign (or another
     * import) of it meanwhile is refused instead of lost */
    if ((rc = layout_dest_lock(&lock_fd, &lock_path, out, 0, err)))
        return rc;
    int merge = stat(out, &st) == 0;
    p.src = calloc(n_inputs + 1, sizeof(*p.src));
    if (!p.src) {
        layout_dest_unlock(lock_fd, lock_path);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (merge) {
        if ((rc = airlock_bundle_open(&p.src[0].b, out, 0, err))) {
            airlock_error_wrap(err, "'%s' exists and is not a bundle airlock can add to", out);
            if (rc != AIRLOCK_EOS)
                rc = AIRLOCK_EEXISTS;
            if (err && *err)
                (*err)->code = rc;
            goto done;
        }
        p.src[0].path = out;
        p.n_src = 1;
        if ((rc = refuse_delta(&p.src[0], err)))
            goto done;
    }
    /* the parts of one split set, named one by one, are one input */
    if ((rc = airlock_bundle_inputs_group(&in, inputs, n_inputs, err)))
        goto done;
    for (size_t i = 0; i < in->n; i++) {
        if ((rc = open_source(&p.src[p.n_src], &in->v[i], err)))
            goto done;
        p.n_src++;
        if ((rc = refuse_delta(&p.src[p.n_src - 1], err)))
            goto done;
    }
    for (size_t s = 0; s < p.n_src && !rc; s++)
        rc = p.src[s].d ? plan_docker_source(&p, s, err) : plan_oci_source(&p, s, err);
    if (rc)
        goto done;
    if (!p.n) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "the inputs hold no images");
        goto done;
    }
    for (size_t i = 0; i < p.n && !rc; i++) {
        int kind = 0;
        struct airlock_descriptor *d = &p.e[i].desc;
        if ((rc = need_blob(&p, p.e[i].src, d, p.e[i].ref, 0, &kind, err)))
            break;
        size_t *mi = core_dmap_get(&p.meta_map, d->digest);
        if (!kind || !mi)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s': index.json entry '%s' (%s) is not a manifest or index",
                                   p.src[p.e[i].src].path, p.e[i].ref, d->digest);
        else if (!d->media_type && !(d->media_type = strdup(p.meta[*mi].media_type)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (size_t s = 0; s < p.n_src && !rc; s++)
        rc = plan_bare_referrers(&p, s, err);
    if (rc)
        goto done;
    if ((rc = writer_new_locked(&p.w, out, p.opts->format, err)))
        goto done;
    for (size_t i = 0; i < p.n_meta && !rc; i++) {
        rc = airlock_writer_add_bytes(p.w, p.meta[i].data, p.meta[i].len, p.meta[i].digest, NULL,
                                      err);
        p.bytes += p.meta[i].len;
    }
    p.blobs += p.n_meta;
    if (!rc && p.opts->progress) {
        struct airlock_progress ev = {"plan", NULL, p.n_need, p.need_bytes};
        p.opts->progress(p.opts->progress_ctx, &ev);
    }
    for (size_t s = 0; s < p.n_src && !rc; s++) {
        p.cur_src = s;
        rc = p.src[s].d ? docker_src_blob_stream(p.src[s].d, want_fn, take_fn, &p, err)
                        : airlock_bundle_blob_stream(p.src[s].b, want_fn, take_fn, &p, err);
    }
    if (rc)
        goto done;
    for (size_t i = 0; i < p.need.cap; i++) {
        const char *d = p.need.slots[i].key;
        if (d[0] && !airlock_writer_has(p.w, d)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' could not be read",
                                   p.src[p.need.slots[i].value - 1].path, d);
            goto done;
        }
    }
    index = build_index(&p);
    if (!index) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    if ((rc = airlock_writer_commit(p.w, index, strlen(index), err)))
        goto done;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->refs = calloc(p.n, sizeof(char *))) ||
        !(r->digests = calloc(p.n, sizeof(char *)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < p.n; i++) {
        r->refs[r->n] = strdup(p.e[i].ref);
        r->digests[r->n] = strdup(p.e[i].desc.digest);
        r->n++;
    }
    r->blobs_written = p.blobs;
    r->bytes_written = p.bytes;
    r->warnings = steal_pointer(&p.warnings);
    r->n_warnings = p.n_warnings;
    p.n_warnings = 0;
    *res = steal_pointer(&r);
done:
    airlock_import_result_free(r);
    airlock_bundle_inputs_free(in);
    free(index);
    airlock_writer_free(p.w);
    layout_dest_unlock(lock_fd, lock_path);
    for (size_t s = 0; s < p.n_src + 1 && s <= n_inputs; s++) {
        airlock_bundle_free(p.src[s].b);
        docker_src_free(p.src[s].d);
    }
    free(p.src);
    for (size_t i = 0; i < p.n; i++) {
        free(p.e[i].ref);
        airlock_descriptor_release(&p.e[i].desc);
    }
    free(p.e);
    for (size_t i = 0; i < p.n_meta; i++)
        free(p.meta[i].data);
    free(p.meta);
    core_dmap_release(&p.meta_map);
    core_dmap_release(&p.need);
    for (size_t i = 0; i < p.n_warnings; i++)
        free(p.warnings[i]);
    free(p.warnings);
    return rc;
}
