/* Split sets: one bundle as several plain tars no larger than a medium ("NAME.001",
 * "NAME.002", ...). Every part is itself a bundle: it holds oci-layout, the whole index.json,
 * every manifest, index and config, every signature (the "metadata"), its share of the other
 * blobs, and "airlock-split.json", which describes the whole set:
 *
 *   {"airlockSplit": 1, "set": "sha256:...", "part": 2, "parts": 5, "name": "release.tar",
 *    "partSize": 314572800,
 *    "blobs": [{"digest": "sha256:..", "size": N, "part": 3},
 *              {"digest": "sha256:..", "size": N, "pieces": [{"part": 4, "size": N,
 *                                                             "digest": "sha256:.."}, ...]}],
 *    "contents": ["sha256:..", ...]}
 *
 * "blobs" lists the blobs that live in one part only (metadata is in all of them); a blob
 * larger than a part is cut into pieces stored as "airlock-split/<hex>.<k>". "contents"[i] is
 * the sha256 of the lines "<digest>\n" of what part i+1 holds besides the metadata, so every
 * part names the content of every other. "set" identifies the set (the index and the part
 * size): parts of different sets are never mixed. */
#include "layout_int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct split_piece {
    unsigned part;
    uint64_t size;
    char digest[AIRLOCK_DIGEST_SIZE];
};

struct split_blob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    unsigned part; /* 0: cut in pieces */
    struct split_piece *pieces;
    size_t n_pieces;
};

struct bundle_split {
    char set[AIRLOCK_DIGEST_SIZE];
    unsigned part, parts;
    char *name;
    uint64_t part_size;
    struct split_blob *blobs;
    size_t n_blobs;
    struct airlock_bundle **sib; /* by part - 1; NULL for this part and for missing ones */
    char **sib_path;
    int *present;
    int part_only;
};

void split_free(struct bundle_split *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_blobs; i++)
        free(s->blobs[i].pieces);
    free(s->blobs);
    for (unsigned i = 0; s->sib && i < s->parts; i++) {
        airlock_bundle_free(s->sib[i]);
        free(s->sib_path[i]);
    }
    free(s->sib);
    free(s->sib_path);
    free(s->present);
    free(s->name);
    free(s);
}

static int digest_of(char out[AIRLOCK_DIGEST_SIZE], const cJSON *j)
{
    const char *d = cJSON_GetStringValue(j);
    if (!d || airlock_digest_check(d, NULL))
        return -1;
    memcpy(out, d, AIRLOCK_DIGEST_SIZE);
    return 0;
}

static int number(uint64_t *out, const cJSON *j, double max)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > max ||
        j->valuedouble != (double)(uint64_t)j->valuedouble)
        return -1;
    *out = (uint64_t)j->valuedouble;
    return 0;
}

/* Parses airlock-split.json of b into a new description. */
static int parse(struct bundle_split **out, struct airlock_bundle *b, struct airlock_error **err)
{
    char *text = NULL;
    int rc = bundle_load_small_at(b, b->split_off, b->split_size, 16u << 20, &text, SPLIT_JSON,
                                  err);
    if (rc)
        return rc;
    rc = split_parse(out, text, (size_t)b->split_size, b->path, err);
    free(text);
    return rc;
}

int split_parse(struct bundle_split **out, const char *text, size_t len, const char *path,
                struct airlock_error **err)
{
    int rc = 0;
    cJSON *j = airlock_json_check(text, len, SPLIT_JSON, NULL) ? NULL
                                                               : core_json_parse(text, len, NULL);
    struct bundle_split *s = calloc(1, sizeof(*s));
    uint64_t v = 0, part = 0, parts = 0;
    const cJSON *blobs = cJSON_GetObjectItemCaseSensitive(j, "blobs");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
    if (!s || !j || number(&v, cJSON_GetObjectItemCaseSensitive(j, "airlockSplit"), 1e9) || v != 1 ||
        digest_of(s->set, cJSON_GetObjectItemCaseSensitive(j, "set")) ||
        number(&part, cJSON_GetObjectItemCaseSensitive(j, "part"), 99999) ||
        number(&parts, cJSON_GetObjectItemCaseSensitive(j, "parts"), 99999) || !part ||
        part > parts || number(&s->part_size, cJSON_GetObjectItemCaseSensitive(j, "partSize"), 9e18) ||
        !name || !*name || strchr(name, '/') || !cJSON_IsArray(blobs)) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s is malformed", path,
                               SPLIT_JSON);
        goto fail;
    }
    s->part = (unsigned)part;
    s->parts = (unsigned)parts;
    s->name = strdup(name);
    s->blobs = calloc((size_t)cJSON_GetArraySize(blobs) + 1, sizeof(*s->blobs));
    s->sib = calloc(parts, sizeof(*s->sib));
    s->sib_path = calloc(parts, sizeof(*s->sib_path));
    s->present = calloc(parts, sizeof(*s->present));
    if (!s->name || !s->blobs || !s->sib || !s->sib_path || !s->present) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto fail;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, blobs)
    {
        struct split_blob *sb = &s->blobs[s->n_blobs];
        uint64_t p = 0;
        const cJSON *pieces = cJSON_GetObjectItemCaseSensitive(it, "pieces");
        if (digest_of(sb->digest, cJSON_GetObjectItemCaseSensitive(it, "digest")) ||
            number(&sb->size, cJSON_GetObjectItemCaseSensitive(it, "size"), 9e18))
            goto bad;
        if (pieces) {
            size_t np = (size_t)cJSON_GetArraySize(pieces);
            uint64_t total = 0;
            if (!cJSON_IsArray(pieces) || !np || !(sb->pieces = calloc(np, sizeof(*sb->pieces))))
                goto bad;
            s->n_blobs++; /* owns sb->pieces from here */
            const cJSON *pc;
            cJSON_ArrayForEach(pc, pieces)
            {
                struct split_piece *sp = &sb->pieces[sb->n_pieces];
                if (number(&p, cJSON_GetObjectItemCaseSensitive(pc, "part"), 99999) || !p ||
                    p > parts || number(&sp->size, cJSON_GetObjectItemCaseSensitive(pc, "size"), 9e18) ||
                    digest_of(sp->digest, cJSON_GetObjectItemCaseSensitive(pc, "digest")) ||
                    sp->size > sb->size - total)
                    goto bad;
                sp->part = (unsigned)p;
                total += sp->size;
                sb->n_pieces++;
            }
            if (total != sb->size)
                goto bad;
            continue;
        }
        if (number(&p, cJSON_GetObjectItemCaseSensitive(it, "part"), 99999) || !p || p > parts)
            goto bad;
        sb->part = (unsigned)p;
        s->n_blobs++;
    }
    cJSON_Delete(j);
    *out = s;
    return 0;
bad:
    rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s: a malformed blob entry", path,
                           SPLIT_JSON);
fail:
    cJSON_Delete(j);
    split_free(s);
    return rc;
}

char *split_part_path(const char *base, unsigned k, unsigned parts)
{
    int w = parts > 99999 ? 6 : parts > 9999 ? 5 : parts > 999 ? 4 : 3;
    char *p = NULL;
    if (asprintf(&p, "%s.%0*u", base, w, k) < 0)
        return NULL;
    return p;
}

char *split_twin_path(const char *part)
{
    char *a = strdup(part), *b = strdup(part), *out = NULL;
    if (a && b && asprintf(&out, "%s/.%s%s", dirname(a), basename(b), SPLIT_TWIN) < 0)
        out = NULL;
    free(a);
    free(b);
    return out;
}

int split_complete(const struct airlock_bundle *b)
{
    if (!b->split)
        return 1;
    for (unsigned k = 0; k < b->split->parts; k++)
        if (!b->split->present[k])
            return 0;
    return 1;
}

/* NAME.001 beside dir */
static char *part_path(const char *dir, const char *name, unsigned k, unsigned parts)
{
    char *base = NULL, *p = NULL;
    if (asprintf(&base, "%s/%s", dir, name) < 0)
        return NULL;
    p = split_part_path(base, k, parts);
    free(base);
    return p;
}

static const struct piece_ent *find_piece(const struct airlock_bundle *part, const char *hex,
                                          unsigned k)
{
    for (size_t i = 0; i < part->n_pents; i++)
        if (part->pents[i].k == k && !strcmp(part->pents[i].hex, hex))
            return &part->pents[i];
    return NULL;
}

static const struct airlock_bundle *part_bundle(const struct airlock_bundle *b, unsigned k)
{
    if (k == b->split->part)
        return b;
    return b->split->sib[k - 1];
}

/* Opens path as part k of b's set: 0 and *o when it is one; otherwise non-zero, and *why
 * (when asked, malloc'd, NULL for a plain absence) says what is wrong with it. */
static int sibling_open(struct airlock_bundle *b, const struct bundle_split *s, const char *path,
                        unsigned k, struct airlock_bundle **o, char **why)
{
    struct stat st;
    *o = NULL;
    if (why)
        *why = NULL;
    if (stat(path, &st) < 0)
        return -1;
    struct airlock_bundle *x = NULL;
    struct airlock_error *e = NULL;
    if (bundle_open(&x, path,
                    (b->flags & ~(AIRLOCK_OPEN_PART | BUNDLE_OPEN_DEFER_SPLIT)) |
                        BUNDLE_OPEN_NO_SIBLINGS,
                    NULL, &e)) {
        if (why && asprintf(why, "part %u of %u '%s' cannot be read: %s", k, s->parts, path,
                            e ? e->msg : "?") < 0)
            *why = NULL;
        airlock_error_free(e);
        return -1;
    }
    if (!x->split || strcmp(x->split->set, s->set) || x->split->parts != s->parts ||
        x->split->part != k) {
        if (why && asprintf(why, "'%s' is not part %u of this set (another split of another "
                                 "bundle?)", path, k) < 0)
            *why = NULL;
        airlock_bundle_free(x);
        return -1;
    }
    *o = x;
    return 0;
}

/* Part k beside b: under its name, else the earlier part an interrupted split kept (its
 * twin). *o stays NULL (with a warning where there is something to say) when neither is. */
static int open_beside(struct airlock_bundle *b, const struct bundle_split *s, const char *path,
                       unsigned k, struct airlock_bundle **o)
{
    char *why = NULL;
    if (sibling_open(b, s, path, k, o, &why) && !(b->flags & BUNDLE_OPEN_NO_PREV)) {
        char *twin = split_twin_path(path);
        if (twin && !sibling_open(b, s, twin, k, o, NULL))
            bundle_warn(b, "part %u of %u '%s' is of a newer split that was interrupted: "
                        "reading the earlier part kept as '%s'",
                        k, s->parts, path, twin);
        free(twin);
    }
    if (!*o && why)
        bundle_warn(b, "%s", why);
    free(why);
    return 0;
}

/* A part the caller named (other media): it must be another part of this set. */
static int open_given(struct airlock_bundle *b, const struct bundle_split *s, const char *path,
                      struct airlock_bundle **o, struct airlock_error **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return airlock_error_set_errno(err, AIRLOCK_ENOTFOUND, errno, "open part '%s'", path);
    struct airlock_error *e = NULL;
    if (bundle_open(o, path,
                    (b->flags & ~(AIRLOCK_OPEN_PART | BUNDLE_OPEN_DEFER_SPLIT)) |
                        BUNDLE_OPEN_NO_SIBLINGS,
                    NULL, &e)) {
        *o = NULL;
        airlock_error_wrap(&e, "part '%s'", path);
        if (err && !*err)
            *err = e;
        else
            airlock_error_free(e);
        return AIRLOCK_EINTEGRITY;
    }
    struct airlock_bundle *x = *o;
    int rc = 0;
    if (!x->split)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' is not a part of a split set: give one bundle, or the parts "
                               "of one set", path);
    else if (strcmp(x->split->set, s->set) || x->split->parts != s->parts)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' is not another part of the set of '%s': it is part %u of %u "
                               "of another split set (of '%s'): name the parts of one set",
                               path, b->path, x->split->part, x->split->parts, x->split->name);
    else if (x->split->part == s->part || s->present[x->split->part - 1])
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' and '%s' are both part %u of the set: name each part once",
                               x->split->part == s->part ? b->path
                                                         : s->sib_path[x->split->part - 1],
                               path, x->split->part);
    if (rc) {
        airlock_bundle_free(x);
        *o = NULL;
    }
    return rc;
}

/* Takes part o (opened as a sibling of b) into b's set: its blobs are read from where it is. */
static int adopt(struct airlock_bundle *b, struct bundle_split *s, struct airlock_bundle *o,
                 const char *named, struct airlock_error **err)
{
    unsigned k = o->split->part;
    if (named) { /* named by the caller, or found beside a named part: messages use that path */
        char *p = strdup(named);
        if (!p) {
            airlock_bundle_free(o);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        free(s->sib_path[k - 1]);
        s->sib_path[k - 1] = p;
    }
    s->sib[k - 1] = o;
    s->present[k - 1] = 1;
    for (size_t i = 0; i < o->n; i++) {
        if (airlock_bundle_blob_stat(b, o->blobs[i].digest, NULL) == 0)
            continue;
        struct blob_ent *be = bundle_add_blob(b, o->blobs[i].digest);
        if (!be)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        be->size = o->blobs[i].size;
        be->offset = o->blobs[i].offset;
        be->owner = o;
    }
    bundle_finish_table(b); /* sorted again: the lookups above need it */
    return 0;
}

/* The directory of path as the user named it (NULL: the current one); malloc'd into *dir. */
static int dir_of(char **dir, const char *path)
{
    *dir = NULL;
    if (!strchr(path, '/'))
        return 0;
    char *copy = strdup(path);
    if (copy)
        *dir = strdup(dirname(copy));
    free(copy);
    return *dir ? 0 : -1;
}

int split_attach(struct airlock_bundle *b, struct airlock_error **err)
{
    struct bundle_split *s = NULL;
    int rc = parse(&s, b, err);
    if (rc)
        return rc;
    if (b->index) { /* the set's identity is its index and part size: this part's index too */
        char id[AIRLOCK_DIGEST_SIZE];
        struct airlock_buf t = AIRLOCK_BUF_INIT(SIZE_MAX);
        if (airlock_buf_append(&t, b->index, b->index_len) ||
            airlock_buf_printf(&t, "\n%llu\n", (unsigned long long)s->part_size) ||
            airlock_sha256_digest(id, t.data, t.len, NULL)) {
            airlock_buf_release(&t);
            split_free(s);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        airlock_buf_release(&t);
        if (strcmp(id, s->set)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s': index.json is not the one of its split set (part %u "
                                   "of %u was edited, or mixed from another set): copy that "
                                   "part again",
                                   b->path, s->part, s->parts);
            split_free(s);
            return rc;
        }
    }
    b->split = s;
    s->present[s->part - 1] = 1;
    s->part_only = (b->flags & (AIRLOCK_OPEN_PART | BUNDLE_OPEN_NO_SIBLINGS)) != 0;
    char *dir = NULL; /* named as the user did */
    if (dir_of(&dir, b->path))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (unsigned k = 1; k <= s->parts; k++) {
        if (!(s->sib_path[k - 1] = dir ? part_path(dir, s->name, k, s->parts)
                                       : split_part_path(s->name, k, s->parts))) {
            free(dir);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    if (s->part_only) {
        free(dir);
        return 0;
    }
    /* the parts the caller named (other media, other folders), then the others beside this
     * one, then those beside each part named (the rest of a stick) */
    for (size_t g = 0; g < b->n_given; g++) {
        struct airlock_bundle *o = NULL;
        if ((rc = open_given(b, s, b->given[g], &o, err)) ||
            (rc = adopt(b, s, o, b->given[g], err))) {
            free(dir);
            return rc;
        }
    }
    for (size_t g = 0; g <= b->n_given; g++) {
        char *gdir = NULL;
        if (g && dir_of(&gdir, b->given[g - 1])) {
            free(dir);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        int seen = g && ((!gdir && !dir) || (gdir && dir && !strcmp(gdir, dir)));
        for (size_t e = 0; g && e + 1 < g && !seen; e++) { /* beside an earlier named part */
            char *edir = NULL;
            if (dir_of(&edir, b->given[e])) {
                free(gdir);
                free(dir);
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            seen = (!gdir && !edir) || (gdir && edir && !strcmp(gdir, edir));
            free(edir);
        }
        if (seen) {
            free(gdir);
            continue; /* looked there already */
        }
        for (unsigned k = 1; k <= s->parts; k++) {
            if (s->present[k - 1])
                continue;
            char *path = !g ? NULL
                         : gdir ? part_path(gdir, s->name, k, s->parts)
                                : split_part_path(s->name, k, s->parts);
            if (g && !path)
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            struct airlock_bundle *o = NULL;
            if (!rc)
                open_beside(b, s, g ? path : s->sib_path[k - 1], k, &o);
            if (!rc && o)
                rc = adopt(b, s, o, path, err);
            free(path);
            if (rc) {
                free(gdir);
                free(dir);
                return rc;
            }
        }
        free(gdir);
    }
    free(dir);
    /* blobs cut in pieces: readable when every piece is there */
    for (size_t i = 0; i < s->n_blobs; i++) {
        struct split_blob *sb = &s->blobs[i];
        if (sb->part || airlock_bundle_blob_stat(b, sb->digest, NULL) == 0)
            continue;
        struct bundle_piece *pcs = calloc(sb->n_pieces, sizeof(*pcs));
        if (!pcs)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        size_t got = 0;
        for (size_t k = 0; k < sb->n_pieces; k++) {
            const struct airlock_bundle *pb = part_bundle(b, sb->pieces[k].part);
            const struct piece_ent *pe =
                pb ? find_piece(pb, airlock_digest_hex(sb->digest), (unsigned)k + 1) : NULL;
            if (!pe || pe->size != sb->pieces[k].size)
                break;
            pcs[k].owner = pb;
            pcs[k].offset = pe->offset;
            pcs[k].size = pe->size;
            got++;
        }
        if (got != sb->n_pieces) {
            free(pcs);
            continue;
        }
        struct blob_ent *be = bundle_add_blob(b, sb->digest);
        if (!be) {
            free(pcs);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        be->size = sb->size;
        be->pieces = pcs;
        be->n_pieces = sb->n_pieces;
        bundle_finish_table(b);
    }
    return 0;
}

/* ---- what the set looks like ----------------------------------------------------------------- */

int airlock_bundle_split_info(const struct airlock_bundle *b, struct airlock_split_info *out)
{
    memset(out, 0, sizeof(*out));
    const struct bundle_split *s = b->split;
    if (!s)
        return 0;
    out->part = s->part;
    out->parts = s->parts;
    out->part_only = s->part_only;
    out->set = s->set;
    out->part_size = s->part_size;
    return 1;
}

const char *airlock_bundle_split_part_path(const struct airlock_bundle *b, unsigned k)
{
    if (!b->split || !k || k > b->split->parts)
        return NULL;
    return b->split->sib_path[k - 1];
}

int airlock_bundle_split_part_present(const struct airlock_bundle *b, unsigned k)
{
    if (!b->split || !k || k > b->split->parts)
        return 0;
    return b->split->present[k - 1];
}

int airlock_bundle_split_check_whole(const struct airlock_bundle *b, struct airlock_error **err)
{
    const struct bundle_split *s = b->split;
    for (unsigned k = 1; s && k <= s->parts; k++)
        if (!s->present[k - 1])
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s' is part %u of a set of %u: part %u '%s' is missing "
                                     "(copy it beside the others, or name it too)",
                                     b->path, s->part, s->parts, k, s->sib_path[k - 1]);
    return 0;
}

int airlock_bundle_split_where(const struct airlock_bundle *b, const char *digest,
                               unsigned parts[], size_t max)
{
    if (!b->split)
        return 0;
    for (size_t i = 0; i < b->split->n_blobs; i++) {
        const struct split_blob *sb = &b->split->blobs[i];
        if (strcmp(sb->digest, digest))
            continue;
        if (sb->part) {
            if (max)
                parts[0] = sb->part;
            return 1;
        }
        size_t n = 0;
        for (size_t k = 0; k < sb->n_pieces; k++) {
            int dup = 0;
            for (size_t m = 0; m < n && m < max; m++)
                dup |= parts[m] == sb->pieces[k].part;
            if (!dup) {
                if (n < max)
                    parts[n] = sb->pieces[k].part;
                n++;
            }
        }
        return (int)n;
    }
    return 0;
}

int airlock_bundle_split_part_load(const struct airlock_bundle *b, unsigned k, uint64_t *blobs,
                                   uint64_t *bytes)
{
    *blobs = *bytes = 0;
    if (!b->split)
        return 0;
    for (size_t i = 0; i < b->split->n_blobs; i++) {
        const struct split_blob *sb = &b->split->blobs[i];
        if (sb->part == k) {
            (*blobs)++;
            *bytes += sb->size;
        }
        for (size_t p = 0; p < sb->n_pieces; p++)
            if (sb->pieces[p].part == k) {
                (*blobs)++;
                *bytes += sb->pieces[p].size;
            }
    }
    return 0;
}

/* ---- writing a set ---------------------------------------------------------------------------- */

#define META_LAYER_MAX (4u << 20) /* a signature's or attestation's layer up to this is metadata */
#define TAR_COST(n) (512 + (((n) + 511) & ~(uint64_t)511))

struct pblob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    int meta;
    int written;            /* a distributed blob's sink closed intact */
    unsigned part;          /* 0: pieces */
    uint64_t *piece_size;   /* cut blobs */
    unsigned *piece_part;
    char (*piece_digest)[AIRLOCK_DIGEST_SIZE];
    size_t n_pieces;
};

struct splitter {
    const char *what;           /* for messages: the source */
    struct pblob *blobs;
    size_t n, cap;
    struct core_dmap seen;
    unsigned parts;
    uint64_t *room;             /* per part: bytes left */
    struct airlock_writer **w;  /* per part */
    char **paths;
    const struct airlock_delta *delta; /* a delta bundle's record (checked true of it), or NULL */
};

static struct pblob *plan_add(struct splitter *sp, const char *digest, uint64_t size, int meta)
{
    size_t *at = core_dmap_get(&sp->seen, digest);
    if (at) {
        struct pblob *b = &sp->blobs[*at - 1];
        b->meta |= meta;
        return b;
    }
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        struct pblob *n = realloc(sp->blobs, cap * sizeof(*n));
        if (!n)
            return NULL;
        sp->blobs = n;
        sp->cap = cap;
    }
    struct pblob *b = &sp->blobs[sp->n++];
    memset(b, 0, sizeof(*b));
    memcpy(b->digest, digest, AIRLOCK_DIGEST_SIZE);
    b->size = size;
    b->meta = meta;
    if (core_dmap_put(&sp->seen, digest, sp->n))
        return NULL;
    return b;
}

/* Everything reachable from an index.json entry; manifests, indexes and configs are metadata,
 * and so are the small layers of signatures, attestations and SBOMs. */
static int plan_walk(struct splitter *sp, struct airlock_bundle *src,
                     const struct airlock_descriptor *d, int attachment, int depth,
                     struct airlock_error **err)
{
    if (depth > 16)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': manifests nested too deep",
                                 src->path);
    int meta = airlock_media_type_is_manifest(d->media_type) ||
               airlock_media_type_is_index(d->media_type);
    if (d->has_urls && !meta)
        return 0;
    /* a layer a delta bundle leaves out: no part holds it, every part's index.json (the set's)
     * carries the record that says so */
    if (!meta && airlock_delta_find(sp->delta, d->digest))
        return 0;
    if (!plan_add(sp, d->digest, d->size, meta || (attachment && d->size <= META_LAYER_MAX)))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (!meta)
        return 0;
    struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
    struct airlock_oci *m = NULL;
    int rc = airlock_bundle_blob_read(src, d->digest, AIRLOCK_MAX_MANIFEST, &raw, err);
    if (!rc)
        rc = airlock_oci_parse(&m, raw.data, raw.len, d->digest, err);
    airlock_buf_release(&raw);
    if (rc)
        return rc;
    if (m->kind == AIRLOCK_OCI_MANIFEST) {
        if (!plan_add(sp, m->config.digest, m->config.size, 1))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (size_t i = 0; !rc && i < m->n_layers; i++)
        rc = plan_walk(sp, src, &m->layers[i], attachment, depth + 1, err);
    airlock_oci_free(m);
    return rc;
}

static int cmp_size_desc(const void *a, const void *b)
{
    const struct pblob *x = *(const struct pblob *const *)a, *y = *(const struct pblob *const *)b;
    return (x->size < y->size) - (x->size > y->size);
}

static int new_part(struct splitter *sp, uint64_t capacity)
{
    uint64_t *r = realloc(sp->room, (sp->parts + 1) * sizeof(*r));
    if (!r)
        return -1;
    sp->room = r;
    sp->room[sp->parts++] = capacity;
    return 0;
}

/* The first part with room for cost bytes (a new one if none has), which takes them; 0 when
 * out of memory. */
static unsigned first_fit(struct splitter *sp, uint64_t cost, uint64_t capacity)
{
    unsigned p = 0;
    for (unsigned q = 0; q < sp->parts && !p; q++)
        if (sp->room[q] >= cost)
            p = q + 1;
    if (!p) {
        if (new_part(sp, capacity))
            return 0;
        p = sp->parts;
    }
    sp->room[p - 1] -= cost;
    return p;
}

/* Room the description of this plan needs at most: per blob, per piece, per part. */
static uint64_t desc_need(const struct splitter *sp)
{
    uint64_t need = 4096 + 100 * (uint64_t)sp->parts;
    for (size_t i = 0; i < sp->n; i++)
        if (!sp->blobs[i].meta)
            need += 400 + 200 * (uint64_t)sp->blobs[i].n_pieces;
    return need;
}

static void plan_reset(struct splitter *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        struct pblob *b = &sp->blobs[i];
        free(b->piece_size);
        free(b->piece_part);
        free(b->piece_digest);
        b->piece_size = NULL;
        b->piece_part = NULL;
        b->piece_digest = NULL;
        b->n_pieces = 0;
        b->part = 0;
    }
    sp->parts = 0;
}

/* First fit, largest first; a blob larger than a part is cut over whole parts. */
static int plan_parts(struct splitter *sp, uint64_t part_size, size_t index_len,
                      uint64_t desc_room, struct airlock_error **err)
{
    uint64_t meta = 4 * 512 + 1024 + 512 + TAR_COST(index_len) + 512; /* skeleton, end, index */
    size_t distributed = 0;
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->blobs[i].meta)
            meta += TAR_COST(sp->blobs[i].size);
        else
            distributed++;
    }
    if (part_size <= meta + desc_room + TAR_COST(desc_room) + 4096) {
        char a[16], b[16];
        airlock_format_size(a, part_size);
        airlock_format_size(b, meta + desc_room + TAR_COST(desc_room) + 4096);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s': parts of %s cannot hold the manifests and signatures "
                                 "every part carries (%s)",
                                 sp->what, a, b);
    }
    uint64_t cap = part_size - meta - TAR_COST(desc_room) - 512;
    struct pblob **order = calloc(distributed + 1, sizeof(*order));
    if (!order)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < sp->n; i++)
        if (!sp->blobs[i].meta)
            order[n++] = &sp->blobs[i];
    qsort(order, n, sizeof(*order), cmp_size_desc);
    int rc = 0;
    if (!n && new_part(sp, cap))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        struct pblob *b = order[i];
        uint64_t cost = TAR_COST(b->size);
        if (cost > cap) { /* cut: whole parts, the rest wherever it fits */
            uint64_t piece = (cap - 512) / 512 * 512, left = b->size; /* cost = 512 + piece */
            size_t np = (size_t)((b->size + piece - 1) / piece);
            b->piece_size = calloc(np, sizeof(*b->piece_size));
            b->piece_part = calloc(np, sizeof(*b->piece_part));
            b->piece_digest = calloc(np, sizeof(*b->piece_digest));
            if (!b->piece_size || !b->piece_part || !b->piece_digest) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            for (size_t k = 0; k < np && !rc; k++) {
                uint64_t sz = left < piece ? left : piece;
                unsigned p = first_fit(sp, TAR_COST(sz), cap);
                if (!p) {
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                    break;
                }
                b->piece_size[k] = sz;
                b->piece_part[k] = p;
                b->n_pieces++;
                left -= sz;
            }
            continue;
        }
        unsigned p = first_fit(sp, cost, cap);
        if (!p) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        b->part = p;
    }
    free(order);
    return rc;
}

static char *describe(struct splitter *sp, const char *set, unsigned part, const char *name,
                      uint64_t part_size)
{
    cJSON *j = cJSON_CreateObject(), *blobs, *contents;
    cJSON_AddNumberToObject(j, "airlockSplit", 1);
    cJSON_AddStringToObject(j, "set", set);
    cJSON_AddNumberToObject(j, "part", part);
    cJSON_AddNumberToObject(j, "parts", sp->parts);
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddNumberToObject(j, "partSize", (double)part_size);
    blobs = cJSON_AddArrayToObject(j, "blobs");
    contents = cJSON_AddArrayToObject(j, "contents");
    for (size_t i = 0; i < sp->n; i++) {
        struct pblob *b = &sp->blobs[i];
        if (b->meta)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "digest", b->digest);
        cJSON_AddNumberToObject(o, "size", (double)b->size);
        if (b->part)
            cJSON_AddNumberToObject(o, "part", b->part);
        else {
            cJSON *pcs = cJSON_AddArrayToObject(o, "pieces");
            for (size_t k = 0; k < b->n_pieces; k++) {
                cJSON *pc = cJSON_CreateObject();
                cJSON_AddNumberToObject(pc, "part", b->piece_part[k]);
                cJSON_AddNumberToObject(pc, "size", (double)b->piece_size[k]);
                cJSON_AddStringToObject(pc, "digest", b->piece_digest[k]);
                cJSON_AddItemToArray(pcs, pc);
            }
        }
        cJSON_AddItemToArray(blobs, o);
    }
    for (unsigned p = 1; p <= sp->parts; p++) {
        struct airlock_buf lines = AIRLOCK_BUF_INIT(SIZE_MAX);
        for (size_t i = 0; i < sp->n; i++) {
            struct pblob *b = &sp->blobs[i];
            if (!b->meta && b->part == p)
                airlock_buf_printf(&lines, "%s\n", b->digest);
            for (size_t k = 0; k < b->n_pieces; k++)
                if (b->piece_part[k] == p)
                    airlock_buf_printf(&lines, "%s\n", b->piece_digest[k]);
        }
        char d[AIRLOCK_DIGEST_SIZE];
        airlock_sha256_digest(d, lines.data ? lines.data : "", lines.len, NULL);
        airlock_buf_release(&lines);
        cJSON_AddItemToArray(contents, cJSON_CreateString(d));
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

void airlock_split_result_free(struct airlock_split_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->parts[i]);
    free(r->parts);
    free(r->sizes);
    free(r);
}

/* ---- the split writer ------------------------------------------------------------------------- */

struct airlock_split_writer {
    struct splitter sp;
    char *base, *name, *what, *index;
    size_t index_len;
    uint64_t part_size;
    char set[AIRLOCK_DIGEST_SIZE];
    unsigned committed;
    int lock_fd;     /* ".BASE.airlock-lock": one run per set, from the plan to the renames */
    char *lock_path;
    unsigned char *had_old; /* by part: an earlier part was kept as its twin while publishing */
};

struct airlock_split_sink {
    struct airlock_split_writer *sw;
    struct pblob *b;
    struct airlock_writer_slot **slots; /* one, or one per piece */
    size_t n_slots, k;
    uint64_t in_piece, have;
    struct airlock_sha256 *whole, *piece;
};

static void plan_free(struct splitter *sp)
{
    plan_reset(sp);
    free(sp->blobs);
    free(sp->room);
    core_dmap_release(&sp->seen);
}

void airlock_split_writer_free(struct airlock_split_writer *sw)
{
    if (!sw)
        return;
    for (unsigned p = 0; p < sw->sp.parts; p++) {
        if (p < sw->committed && sw->sp.paths && sw->sp.paths[p]) { /* never half a set */
            char *twin = sw->had_old && sw->had_old[p] ? split_twin_path(sw->sp.paths[p]) : NULL;
            if (!twin || rename(twin, sw->sp.paths[p]) < 0)
                unlink(sw->sp.paths[p]);
            free(twin);
        }
        if (sw->sp.w)
            airlock_writer_free(sw->sp.w[p]);
        if (sw->sp.paths)
            free(sw->sp.paths[p]);
    }
    free(sw->sp.w);
    free(sw->sp.paths);
    plan_free(&sw->sp);
    free(sw->base);
    free(sw->name);
    free(sw->what);
    free(sw->index);
    free(sw->had_old);
    layout_dest_unlock(sw->lock_fd, sw->lock_path);
    free(sw);
}

/* The twins (".BASE.NNN.airlock-prev") a killed split left while replacing a set, as the
 * part paths they stand for; NULL-terminated, malloc'd. */
static char **twins_in(DIR *d, const char *dir, const char *prefix)
{
    char **out = NULL;
    size_t n = 0, plen = strlen(prefix), tlen = strlen(SPLIT_TWIN);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name, *q = nm + plen;
        size_t len = strlen(nm);
        if (strncmp(nm, prefix, plen) || len <= plen + tlen || strcmp(nm + len - tlen, SPLIT_TWIN))
            continue;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q != nm + len - tlen || q - (nm + plen) < 3)
            continue;
        char **g = realloc(out, (n + 2) * sizeof(*g));
        if (!g)
            break;
        out = g;
        /* "<dir>/<base>.<digits>": the name without its leading dot and the twin suffix */
        if (asprintf(&out[n], "%s/%.*s", dir, (int)(len - tlen - 1), nm + 1) < 0)
            break;
        out[++n] = NULL;
    }
    return out;
}

static char **list_twins(const char *base)
{
    char *a = strdup(base), *b = strdup(base), *prefix = NULL, **out = NULL;
    if (a && b && asprintf(&prefix, ".%s.", basename(b)) >= 0) {
        const char *dir = dirname(a);
        DIR *d = opendir(dir);
        if (d) {
            out = twins_in(d, dir, prefix);
            closedir(d);
        }
        free(prefix);
    }
    free(a);
    free(b);
    return out;
}

/* Finishes or undoes the replacement of a set that a kill interrupted (see SPLIT_TWIN): when
 * the parts under their names make a whole set, the new one was all in place and the twins
 * go; otherwise every twin goes back under its name, which makes the earlier set whole. */
static int recover_twins(const char *base, struct airlock_error **err)
{
    char **parts = list_twins(base);
    if (!parts)
        return 0;
    int whole = 1;
    for (size_t i = 0; parts[i] && whole; i++) {
        struct stat st;
        whole = stat(parts[i], &st) == 0;
    }
    if (whole) {
        struct airlock_bundle *o = NULL;
        whole = !bundle_open(&o, parts[0], BUNDLE_OPEN_NO_PREV, NULL, NULL) && o->split &&
                split_complete(o);
        airlock_bundle_free(o);
    }
    int rc = 0;
    for (size_t i = 0; parts[i]; i++) {
        char *twin = split_twin_path(parts[i]);
        if (!twin)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else if (whole ? unlink(twin) < 0 && errno != ENOENT : rename(twin, parts[i]) < 0)
            rc = rc ? rc : airlock_error_set_errno(err, AIRLOCK_EOS, errno,
                                                   "restore '%s' from '%s'", parts[i], twin);
        free(twin);
        free(parts[i]);
    }
    free(parts);
    return rc;
}

int airlock_split_writer_new(struct airlock_split_writer **out, const char *base,
                             uint64_t part_size, const struct airlock_split_blob *blobs, size_t n,
                             const char *index_json, size_t index_len, const char *what,
                             struct airlock_error **err)
{
    /* what the parts will hold: the layers once, the small blobs and index.json in each part */
    uint64_t layers = 0, metas = index_len;
    for (size_t i = 0; i < n; i++)
        *(blobs[i].meta ? &metas : &layers) += blobs[i].size;
    uint64_t parts = part_size ? layers / part_size + 1 : 1;
    char *first = NULL;
    int src = asprintf(&first, "%s.001", base) < 0 ? -1 : 0;
    src = src ? airlock_error_set(err, AIRLOCK_EOS, "out of memory")
              : airlock_space_check(first, layers + metas * parts, err);
    free(first);
    if (src)
        return src;
    struct airlock_split_writer *sw = calloc(1, sizeof(*sw));
    char *copy = strdup(base);
    int rc = 0;
    if (sw)
        sw->lock_fd = -1;
    if (!sw || !copy || !(sw->base = strdup(base)) || !(sw->name = strdup(basename(copy))) ||
        !(sw->what = strdup(what ? what : base)) || !(sw->index = malloc(index_len + 1))) {
        free(copy);
        airlock_split_writer_free(sw);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    free(copy);
    memcpy(sw->index, index_json, index_len);
    sw->index[index_len] = '\0';
    sw->index_len = index_len;
    sw->part_size = part_size;
    sw->sp.what = sw->what;
    /* the set's lock; with it held, what killed runs left (".BASE.NNN.airlock-XXXXXX") goes,
     * and a replacement a kill interrupted is finished or undone */
    if ((rc = layout_dest_lock(&sw->lock_fd, &sw->lock_path, base, LAYOUT_LOCK_PARTS, err)) ||
        (rc = recover_twins(base, err))) {
        airlock_split_writer_free(sw);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (airlock_digest_check(blobs[i].digest, err) ||
            !plan_add(&sw->sp, blobs[i].digest, blobs[i].size, blobs[i].meta))
            rc = err && *err ? (*err)->code : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    /* the description grows with the pieces a plan cuts: plan again with room for it */
    for (uint64_t room = 0, tries = 0; !rc; tries++) {
        if (!room)
            room = desc_need(&sw->sp);
        if ((rc = plan_parts(&sw->sp, part_size, index_len, room, err)))
            break;
        uint64_t need = desc_need(&sw->sp);
        if (need <= room)
            break;
        plan_reset(&sw->sp);
        room = need + need / 4;
        if (tries > 8)
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': no plan fits parts of %llu bytes",
                                   sw->what, (unsigned long long)part_size);
    }
    if (!rc && sw->sp.parts > 1000)
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': parts of %llu bytes make a set of %u parts: choose parts "
                               "large enough for at most 1000",
                               sw->what, (unsigned long long)part_size, sw->sp.parts);
    if (!rc) { /* the set's identity: its index and its part size */
        struct airlock_buf id = AIRLOCK_BUF_INIT(SIZE_MAX);
        airlock_buf_append(&id, index_json, index_len);
        airlock_buf_printf(&id, "\n%llu\n", (unsigned long long)part_size);
        airlock_sha256_digest(sw->set, id.data, id.len, NULL);
        airlock_buf_release(&id);
        sw->sp.w = calloc(sw->sp.parts, sizeof(*sw->sp.w));
        sw->sp.paths = calloc(sw->sp.parts, sizeof(*sw->sp.paths));
        if (!sw->sp.w || !sw->sp.paths)
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (unsigned p = 0; p < sw->sp.parts && !rc; p++) {
        if (!(sw->sp.paths[p] = split_part_path(base, p + 1, sw->sp.parts)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else
            rc = writer_new_locked(&sw->sp.w[p], sw->sp.paths[p], AIRLOCK_FORMAT_TAR, err);
    }
    if (rc) {
        airlock_split_writer_free(sw);
        return rc;
    }
    *out = sw;
    return 0;
}

unsigned airlock_split_writer_parts(const struct airlock_split_writer *sw) { return sw->sp.parts; }

static struct pblob *planned(struct airlock_split_writer *sw, const char *digest)
{
    size_t *at = core_dmap_get(&sw->sp.seen, digest);
    return at ? &sw->sp.blobs[*at - 1] : NULL;
}

int airlock_split_writer_is_meta(struct airlock_split_writer *sw, const char *digest)
{
    struct pblob *b = planned(sw, digest);
    return b && b->meta;
}

int airlock_split_writer_meta(struct airlock_split_writer *sw, const char *digest,
                              const void *data, size_t len, struct airlock_error **err)
{
    struct pblob *b = planned(sw, digest);
    if (!b || !b->meta)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': blob '%s' is not planned as metadata",
                                 sw->what, digest);
    if (len != b->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': blob '%s' has %zu bytes, its descriptor says %llu", sw->what,
                                 digest, len, (unsigned long long)b->size);
    int rc = 0;
    for (unsigned p = 0; p < sw->sp.parts && !rc; p++)
        rc = airlock_writer_add_bytes(sw->sp.w[p], data, len, digest, NULL, err);
    return rc;
}

void airlock_split_sink_free(struct airlock_split_sink *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n_slots; i++)
        airlock_writer_slot_free(k->slots[i]);
    free(k->slots);
    airlock_sha256_free(k->whole);
    airlock_sha256_free(k->piece);
    free(k);
}

int airlock_split_writer_sink(struct airlock_split_writer *sw, const char *digest,
                              struct airlock_split_sink **out, struct airlock_error **err)
{
    struct pblob *b = planned(sw, digest);
    if (!b || b->meta)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': blob '%s' is not planned as a layer",
                                 sw->what, digest);
    struct airlock_split_sink *k = calloc(1, sizeof(*k));
    size_t n = b->part ? 1 : b->n_pieces;
    if (!k || !(k->slots = calloc(n, sizeof(*k->slots)))) {
        free(k);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    k->sw = sw;
    k->b = b;
    int rc = 0;
    if (b->part)
        rc = airlock_writer_slot_open(sw->sp.w[b->part - 1], digest, b->size, &k->slots[0], err);
    else if (!(rc = airlock_sha256_new(&k->whole, err)) && !(rc = airlock_sha256_new(&k->piece, err)))
        for (size_t i = 0; i < n && !rc; i++) {
            char name[120];
            snprintf(name, sizeof(name), "%s%s.%zu", SPLIT_DIR, airlock_digest_hex(digest), i + 1);
            rc = writer_slot_open_extra(sw->sp.w[b->piece_part[i] - 1], name, b->piece_size[i],
                                        &k->slots[i], err);
            k->n_slots = i + (rc ? 0 : 1);
        }
    if (b->part && !rc)
        k->n_slots = 1;
    if (rc) {
        airlock_split_sink_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

int airlock_split_sink_data(void *ctx, const void *p, size_t n, struct airlock_error **err)
{
    struct airlock_split_sink *k = ctx;
    struct pblob *b = k->b;
    if (b->part)
        return airlock_writer_slot_data(k->slots[0], p, n, err);
    const char *c = p;
    while (n) {
        if (k->k >= b->n_pieces)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': more than %llu bytes",
                                     b->digest, (unsigned long long)b->size);
        uint64_t room = b->piece_size[k->k] - k->in_piece;
        size_t m = n < room ? n : (size_t)room;
        airlock_sha256_update(k->whole, c, m);
        airlock_sha256_update(k->piece, c, m);
        int rc = airlock_writer_slot_data(k->slots[k->k], c, m, err);
        if (rc)
            return rc;
        c += m;
        n -= m;
        k->in_piece += m;
        if (k->in_piece == b->piece_size[k->k]) { /* this piece is complete */
            airlock_sha256_final(k->piece, b->piece_digest[k->k]);
            k->k++;
            k->in_piece = 0;
        }
    }
    return 0;
}

int airlock_split_sink_close(struct airlock_split_sink *k, struct airlock_error **err)
{
    struct pblob *b = k->b;
    int rc = 0;
    if (!b->part) { /* pieces are stored unchecked: the whole must match */
        char actual[AIRLOCK_DIGEST_SIZE];
        if (k->k != b->n_pieces)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': shorter than %llu bytes",
                                     b->digest, (unsigned long long)b->size);
        airlock_sha256_final(k->whole, actual);
        if (strcmp(actual, b->digest))
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "blob '%s' is corrupt (content hashes to '%s')", b->digest,
                                     actual);
    }
    for (size_t i = 0; i < k->n_slots && !rc; i++)
        rc = airlock_writer_slot_close(k->slots[i], err);
    if (!rc)
        b->written = 1;
    return rc;
}

int airlock_split_writer_commit(struct airlock_split_writer *sw,
                                struct airlock_split_result **res, struct airlock_error **err)
{
    struct splitter *sp = &sw->sp;
    int rc = 0;
    for (size_t i = 0; !rc && i < sp->n; i++) /* every planned blob went somewhere */
        if (sp->blobs[i].meta ? !airlock_writer_has(sp->w[0], sp->blobs[i].digest)
                              : !sp->blobs[i].written)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' was not written",
                                   sw->what, sp->blobs[i].digest);
    for (unsigned p = 0; p < sp->parts && !rc; p++) {
        char *desc = describe(sp, sw->set, p + 1, sw->name, sw->part_size);
        if (!desc) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        rc = writer_extra_begin(sp->w[p], SPLIT_JSON, strlen(desc), err);
        if (!rc)
            rc = airlock_writer_blob_data(sp->w[p], desc, strlen(desc), err);
        if (!rc)
            rc = airlock_writer_blob_end(sp->w[p], err);
        free(desc);
    }
    /* every part finished, synced and measured before any is renamed: a failure leaves an
     * earlier set under this name as it was */
    for (unsigned p = 0; p < sp->parts && !rc; p++) {
        uint64_t size = 0;
        if ((rc = writer_finish(sp->w[p], sw->index, sw->index_len, &size, err)))
            break;
        if (size > sw->part_size) /* the promise: no part above the size */
            rc = airlock_error_set(err, AIRLOCK_EOS, "'%s' came out at %llu bytes, over %llu",
                                   sp->paths[p], (unsigned long long)size,
                                   (unsigned long long)sw->part_size);
    }
    /* published part by part, each earlier part kept as its twin until the whole new set is
     * in place: a kill at any point leaves the old or the new set whole for a reader, and
     * the next run finishes or undoes the swap (recover_twins) */
    if (!rc && !(sw->had_old = calloc(sp->parts, 1)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (unsigned p = 0; p < sp->parts && !rc; p++) {
        struct stat st;
        char *twin = split_twin_path(sp->paths[p]);
        if (!twin) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        sw->committed = p + 1;
        if (lstat(sp->paths[p], &st) == 0) {
            unlink(twin);
            /* a hard link keeps the name filled; media without them (FAT) move it aside */
            if (link(sp->paths[p], twin) < 0 && rename(sp->paths[p], twin) < 0)
                rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "keep '%s' as '%s'",
                                             sp->paths[p], twin);
            else
                sw->had_old[p] = 1;
        }
        free(twin);
        if (!rc)
            rc = writer_publish(sp->w[p], err);
    }
    if (rc)
        return rc;
    if (sp->parts) { /* the new set is in place, durably, before the twins go */
        char *copy = strdup(sp->paths[0]);
        int dfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(copy);
    }
    for (unsigned p = 0; p < sp->parts; p++) {
        char *twin = sw->had_old[p] ? split_twin_path(sp->paths[p]) : NULL;
        if (twin)
            unlink(twin);
        free(twin);
    }
    /* parts of an earlier split under this name that the new set does not have */
    for (unsigned k = sp->parts + 1; k < 100000; k++) {
        char *old = split_part_path(sw->base, k, sp->parts);
        struct stat st;
        int gone = !old || stat(old, &st) < 0;
        if (!gone)
            unlink(old);
        free(old);
        if (gone)
            break;
    }
    struct airlock_split_result *r = calloc(1, sizeof(*r));
    if (!r || !(r->parts = calloc(sp->parts, sizeof(*r->parts))) ||
        !(r->sizes = calloc(sp->parts, sizeof(*r->sizes)))) {
        airlock_split_result_free(r);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    for (unsigned p = 0; p < sp->parts; p++) {
        struct stat st;
        r->parts[p] = steal_pointer(&sp->paths[p]);
        r->sizes[p] = stat(r->parts[p], &st) == 0 ? (uint64_t)st.st_size : 0;
        r->n++;
    }
    sw->committed = 0; /* the set stands */
    *res = r;
    return 0;
}

/* ---- splitting a bundle ------------------------------------------------------------------------ */

struct from_bundle {
    struct airlock_split_writer *sw;
    struct airlock_bundle *src;
    struct core_dmap sinks; /* digest -> index + 1 */
    struct airlock_split_sink **sink;
    airlock_progress_fn progress;
    void *progress_ctx;
};

static int want_blob(void *ctx, const char *digest, uint64_t size)
{
    (void)size;
    struct from_bundle *f = ctx;
    return planned(f->sw, digest) != NULL;
}

static int take_blob(void *ctx, const char *digest, uint64_t size, airlock_read_fn read,
                     void *read_ctx, struct airlock_error **err)
{
    struct from_bundle *f = ctx;
    struct pblob *b = planned(f->sw, digest);
    struct airlock_progress_reader pr = {read, read_ctx, f->progress, f->progress_ctx, "write",
                                         digest, size, 0, 0};
    if (f->progress) {
        read = airlock_progress_read;
        read_ctx = &pr;
    }
    if (size != b->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' has %llu bytes, its "
                                 "descriptor says %llu", f->src->path, digest,
                                 (unsigned long long)size, (unsigned long long)b->size);
    if (b->meta) { /* small: every part gets a copy */
        struct airlock_buf buf = AIRLOCK_BUF_INIT((size_t)size);
        int rc = 0;
        char chunk[65536];
        for (uint64_t left = size; left && !rc;) {
            size_t got = 0;
            rc = read(read_ctx, chunk, left < sizeof(chunk) ? (size_t)left : sizeof(chunk), &got,
                      err);
            if (!rc && !got)
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is truncated",
                                       f->src->path, digest);
            if (!rc && airlock_buf_append(&buf, chunk, got))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            left -= got;
        }
        if (!rc)
            rc = airlock_split_writer_meta(f->sw, digest, buf.data ? buf.data : "", buf.len, err);
        airlock_buf_release(&buf);
        return rc;
    }
    struct airlock_split_sink *k = f->sink[*core_dmap_get(&f->sinks, digest) - 1];
    unsigned char *chunk = malloc(1u << 20);
    int rc = chunk ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (uint64_t left = size; left && !rc;) {
        size_t got = 0;
        rc = read(read_ctx, chunk, left < (1u << 20) ? (size_t)left : (1u << 20), &got, err);
        if (!rc && !got)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is truncated",
                                   f->src->path, digest);
        if (!rc)
            rc = airlock_split_sink_data(k, chunk, got, err);
        left -= got;
    }
    free(chunk);
    return rc ? rc : airlock_split_sink_close(k, err);
}

/* A delta bundle's record, when it is true of the bundle (as verify and push judge it): the
 * layers it omits are left out of the plan. A record that lies about the bundle is refused
 * here, not carried into every part. *out stays NULL for a bundle without one. */
static int split_delta(struct airlock_delta **out, struct airlock_bundle *src,
                       const struct airlock_catalog *cat, struct airlock_error **err)
{
    char **found = NULL;
    size_t n = 0;
    int rc = airlock_delta_load(out, src, err);
    if (rc == AIRLOCK_ENOTFOUND)
        return 0;
    if (!rc)
        rc = airlock_delta_check(&found, &n, *out, src, cat->graph, err);
    if (!rc && n)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "delta bundle '%s': %s%s; nothing was written",
                               airlock_bundle_path(src), found[0],
                               n > 1 ? " (and more: see airlock verify)" : "");
    for (size_t i = 0; i < n; i++)
        free(found[i]);
    free(found);
    return rc;
}

int airlock_split(struct airlock_split_result **res, struct airlock_bundle *src, const char *base,
                  uint64_t part_size, airlock_progress_fn progress, void *progress_ctx,
                  struct airlock_error **err)
{
    struct splitter plan;
    memset(&plan, 0, sizeof(plan));
    struct from_bundle f;
    memset(&f, 0, sizeof(f));
    f.src = src;
    f.progress = progress;
    f.progress_ctx = progress_ctx;
    struct airlock_catalog *cat = NULL;
    struct airlock_delta *delta = NULL;
    struct airlock_split_blob *list = NULL;
    size_t index_len = 0, n_sinks = 0;
    const char *index = airlock_bundle_index(src, &index_len);
    int rc = airlock_bundle_split_check_whole(src, err); /* a set split again: all of it */
    if (!rc && !index)
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': no index.json", src->path);
    if (!rc)
        rc = airlock_catalog_load(&cat, src, err);
    if (!rc)
        rc = split_delta(&delta, src, cat, err);
    plan.delta = delta;
    for (size_t i = 0; !rc && i < cat->n; i++)
        rc = plan_walk(&plan, src, &cat->entries[i].desc,
                       cat->entries[i].role != AIRLOCK_ROLE_IMAGE, 0, err);
    airlock_catalog_free(cat);
    if (!rc && !(list = calloc(plan.n + 1, sizeof(*list))))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; !rc && i < plan.n; i++) {
        memcpy(list[i].digest, plan.blobs[i].digest, AIRLOCK_DIGEST_SIZE);
        list[i].size = plan.blobs[i].size;
        list[i].meta = plan.blobs[i].meta;
    }
    if (!rc)
        rc = airlock_split_writer_new(&f.sw, base, part_size, list, plan.n, index, index_len,
                                      src->path, err);
    /* every layer's place is reserved first (in plan order), then the source is read once */
    if (!rc && !(f.sink = calloc(plan.n + 1, sizeof(*f.sink))))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; !rc && i < plan.n; i++) {
        if (plan.blobs[i].meta)
            continue;
        rc = airlock_split_writer_sink(f.sw, plan.blobs[i].digest, &f.sink[n_sinks], err);
        if (!rc && core_dmap_put(&f.sinks, plan.blobs[i].digest, ++n_sinks))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!rc && progress) {
        struct airlock_progress ev = {"plan", NULL, plan.n, 0};
        for (size_t i = 0; i < plan.n; i++)
            ev.total += plan.blobs[i].size;
        progress(progress_ctx, &ev);
    }
    if (!rc)
        rc = airlock_bundle_blob_stream(src, want_blob, take_blob, &f, err);
    if (!rc)
        rc = airlock_split_writer_commit(f.sw, res, err);
    for (size_t i = 0; i < n_sinks; i++)
        airlock_split_sink_free(f.sink[i]);
    free(f.sink);
    core_dmap_release(&f.sinks);
    airlock_split_writer_free(f.sw);
    plan_free(&plan);
    airlock_delta_free(delta);
    free(list);
    return rc;
}

/* Hashes the pieces of a cut blob that part k holds (k = 0: every part present) and lists the
 * parts whose piece does not match the description. */
static int hash_piece(const struct airlock_bundle *pb, int64_t off, uint64_t size,
                      char out[AIRLOCK_DIGEST_SIZE])
{
    struct airlock_sha256 *h = NULL;
    unsigned char *buf = malloc(1u << 20);
    int rc = buf ? airlock_sha256_new(&h, NULL) : -1;
    while (!rc && size) {
        size_t want = size < (1u << 20) ? (size_t)size : (1u << 20);
        ssize_t n = pread(pb->fd, buf, want, (off_t)off);
        if (n <= 0)
            rc = -1;
        else {
            airlock_sha256_update(h, buf, (size_t)n);
            off += n;
            size -= (uint64_t)n;
        }
    }
    if (!rc)
        airlock_sha256_final(h, out);
    airlock_sha256_free(h);
    free(buf);
    return rc;
}

int airlock_bundle_split_check_pieces(const struct airlock_bundle *b, const char *digest,
                                      unsigned only_part, unsigned bad[], size_t max,
                                      uint64_t *checked, uint64_t *bytes)
{
    const struct bundle_split *s = b->split;
    size_t n = 0;
    for (size_t i = 0; s && i < s->n_blobs; i++) {
        const struct split_blob *sb = &s->blobs[i];
        if (sb->part || (digest && strcmp(sb->digest, digest)))
            continue;
        for (size_t k = 0; k < sb->n_pieces; k++) {
            unsigned p = sb->pieces[k].part;
            if ((only_part && p != only_part) || !s->present[p - 1])
                continue;
            const struct airlock_bundle *pb = part_bundle(b, p);
            const struct piece_ent *pe = pb ? find_piece(pb, airlock_digest_hex(sb->digest),
                                                         (unsigned)k + 1)
                                            : NULL;
            char actual[AIRLOCK_DIGEST_SIZE];
            int ok = pe && pe->size == sb->pieces[k].size &&
                     !hash_piece(pb, pe->offset, pe->size, actual) &&
                     !strcmp(actual, sb->pieces[k].digest);
            if (checked)
                (*checked)++;
            if (bytes && pe)
                *bytes += pe->size;
            if (!ok) {
                if (n < max)
                    bad[n] = p;
                n++;
            }
        }
    }
    return (int)n;
}

/* ---- the paths a command was given ----------------------------------------------------------- */

/* What a path is, for grouping: a part of a split set (its set, part and parts), or not. Only
 * a plain tar can be a part; it is indexed alone (its headers and description), not kept. */
struct probe {
    int is_part;
    char set[AIRLOCK_DIGEST_SIZE];
    unsigned part, parts;
    dev_t dev;
    ino_t ino;
};

static void probe_path(struct probe *pr, const char *path)
{
    struct stat st;
    int compressed = 1;
    memset(pr, 0, sizeof(*pr));
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !arch_is_tar(path, &compressed) ||
        compressed)
        return;
    struct airlock_bundle *x = NULL;
    if (bundle_open(&x, path, BUNDLE_OPEN_NO_SIBLINGS, NULL, NULL))
        return;
    if (x->split) {
        pr->is_part = 1;
        memcpy(pr->set, x->split->set, AIRLOCK_DIGEST_SIZE);
        pr->part = x->split->part;
        pr->parts = x->split->parts;
        pr->dev = st.st_dev;
        pr->ino = st.st_ino;
    }
    airlock_bundle_free(x);
}

void airlock_bundle_inputs_free(struct airlock_bundle_inputs *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n; i++) {
        free(in->v[i].paths);
        free(in->v[i].part);
    }
    free(in->v);
    free(in);
}

int airlock_bundle_inputs_group(struct airlock_bundle_inputs **out, const char *const *paths,
                                size_t n, struct airlock_error **err)
{
    struct airlock_bundle_inputs *in = calloc(1, sizeof(*in));
    struct probe *pr = calloc(n + 1, sizeof(*pr));
    size_t *first = calloc(n + 1, sizeof(*first)); /* per input: the path that started it */
    int rc = 0;
    if (!in || !pr || !first || !(in->v = calloc(n + 1, sizeof(*in->v)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        probe_path(&pr[i], paths[i]);
    for (size_t i = 0; i < n && !rc; i++) {
        struct airlock_bundle_input *v = NULL;
        for (size_t g = 0; pr[i].is_part && g < in->n && !v; g++) {
            const struct probe *q = &pr[first[g]];
            if (q->is_part && !strcmp(q->set, pr[i].set) && q->parts == pr[i].parts)
                v = &in->v[g];
        }
        if (!v) {
            v = &in->v[in->n];
            first[in->n++] = i;
            if (!(v->paths = calloc(n, sizeof(*v->paths))) ||
                (pr[i].is_part && !(v->part = calloc(n, sizeof(*v->part))))) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            if (pr[i].is_part) {
                memcpy(v->set, pr[i].set, AIRLOCK_DIGEST_SIZE);
                v->parts = pr[i].parts;
            }
        }
        int again = 0; /* the same part named before: the same file counts once */
        for (size_t k = 0; pr[i].is_part && k < v->n && !again && !rc; k++) {
            if (v->part[k] != pr[i].part)
                continue;
            size_t j = 0; /* the path that named it */
            while (strcmp(paths[j], v->paths[k]))
                j++;
            if (pr[j].dev == pr[i].dev && pr[j].ino == pr[i].ino)
                again = 1;
            else
                rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                       "'%s' and '%s' are both part %u of the set: name each "
                                       "part once",
                                       v->paths[k], paths[i], pr[i].part);
        }
        if (rc || again)
            continue;
        if (v->part)
            v->part[v->n] = pr[i].part;
        v->paths[v->n++] = paths[i];
    }
    if (!rc)
        *out = steal_pointer(&in);
out:
    airlock_bundle_inputs_free(in);
    free(pr);
    free(first);
    return rc;
}

/* Opens the parts of one set, named one by one: the first, then the others as its siblings. */
static int open_parts(struct airlock_bundle **out, const char *const *paths, size_t n,
                      unsigned flags, struct airlock_error **err)
{
    if (n <= 1)
        return airlock_bundle_open(out, paths[0], flags, err);
    struct airlock_bundle *b = NULL;
    int rc = bundle_open(&b, paths[0], flags | BUNDLE_OPEN_DEFER_SPLIT, NULL, err);
    if (rc)
        return rc;
    if (!b->have_split) {
        airlock_bundle_free(b);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s' is not a part of a split set: give one bundle, or the "
                                 "parts of one set", paths[0]);
    }
    b->given = paths + 1;
    b->n_given = n - 1;
    rc = split_attach(b, err);
    b->given = NULL;
    b->n_given = 0;
    if (rc) {
        airlock_bundle_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int airlock_bundle_input_open(struct airlock_bundle **out, const struct airlock_bundle_input *in,
                              unsigned flags, struct airlock_error **err)
{
    return open_parts(out, in->paths, in->n, flags, err);
}

int airlock_bundle_open_set(struct airlock_bundle **out, const char *const *paths, size_t n,
                            unsigned flags, struct airlock_error **err)
{
    if (n <= 1)
        return airlock_bundle_open(out, paths[0], flags, err);
    struct airlock_bundle_inputs *in = NULL;
    int rc = airlock_bundle_inputs_group(&in, paths, n, err);
    if (rc)
        return rc;
    /* one set: its parts in the order named. Several inputs: opened all as parts of the first,
     * so that the first path that is not one is named, with what it is instead */
    if (in->n == 1)
        rc = airlock_bundle_input_open(out, &in->v[0], flags, err);
    else
        rc = open_parts(out, paths, n, flags, err);
    airlock_bundle_inputs_free(in);
    return rc;
}
