/* Reading bundles: a directory in place, a plain tar by offset after one index pass, a
 * compressed tar as one stream. */
#include "layout_int.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LAYOUT_MAX_FILE 4096             /* oci-layout */
#define RETAIN_TOTAL_MAX (512ull << 20)  /* JSON kept from a streamed bundle, all referenced */
#define RETAIN_FIRST_MAX (16ull << 20)   /* JSON kept on the first pass, before we know what is */
#define RETAIN_PASSES 8                  /* more passes for referenced JSON not kept at first */
#define IO_CHUNK (1u << 20)

int64_t bundle_tar_end(const struct airlock_bundle *b) { return b->tar_end; }
int bundle_dir_fd(const struct airlock_bundle *b) { return b->fd; }

enum airlock_format airlock_bundle_format(const struct airlock_bundle *b) { return b->fmt; }
const char *airlock_bundle_format_label(const struct airlock_bundle *b)
{
    return b->label[0] ? b->label : airlock_format_name(b->fmt);
}
const char *airlock_bundle_path(const struct airlock_bundle *b) { return b->path; }
const char *airlock_bundle_index(const struct airlock_bundle *b, size_t *len)
{
    if (len)
        *len = b->index_len;
    return b->index;
}
size_t airlock_bundle_warning_count(const struct airlock_bundle *b) { return b->n_warn; }
const char *airlock_bundle_warning(const struct airlock_bundle *b, size_t i)
{
    return i < b->n_warn ? b->warnings[i] : NULL;
}
size_t airlock_bundle_blob_count(const struct airlock_bundle *b) { return b->n; }
const char *airlock_bundle_blob_digest(const struct airlock_bundle *b, size_t i, uint64_t *size)
{
    if (i >= b->n)
        return NULL;
    if (size)
        *size = b->blobs[i].size;
    return b->blobs[i].digest;
}

void bundle_warn(struct airlock_bundle *b, const char *fmt, ...)
{
    if (b->n_warn >= 100)
        return;
    char **w = realloc(b->warnings, (b->n_warn + 1) * sizeof(*w));
    if (!w)
        return;
    b->warnings = w;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&w[b->n_warn], fmt, ap) >= 0)
        b->n_warn++;
    va_end(ap);
}

int bundle_classify(const char *name, char digest[AIRLOCK_DIGEST_SIZE], const char *what,
                    struct airlock_error **err)
{
    if (!strncmp(name, SPLIT_DIR, sizeof(SPLIT_DIR) - 1))
        return 3;
    if (!*name || !strcmp(name, "oci-layout") || !strcmp(name, "index.json") ||
        !strcmp(name, LAYOUT_PADDING_NAME) || !strcmp(name, SPLIT_JSON) ||
        !strcmp(name, "blobs") || !strcmp(name, "blobs/sha256"))
        return 0;
    if (!strncmp(name, "blobs/sha256/", 13)) {
        char d[AIRLOCK_DIGEST_SIZE + 8];
        if (strlen(name + 13) != 64)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': entry '%.200s': not named by a sha256 digest", what,
                                     name);
        snprintf(d, sizeof(d), "sha256:%s", name + 13);
        if (airlock_digest_check(d, NULL))
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': entry '%.200s': not named by a sha256 digest", what,
                                     name);
        memcpy(digest, d, AIRLOCK_DIGEST_SIZE);
        return 1;
    }
    if (!strncmp(name, "blobs/", 6))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': entry '%.200s': unsupported digest algorithm (only sha256)",
                                 what, name);
    return 2;
}

static int cmp_digest(const void *a, const void *b)
{
    return strcmp(((const struct blob_ent *)a)->digest, ((const struct blob_ent *)b)->digest);
}

static struct blob_ent *find(const struct airlock_bundle *b, const char *digest)
{
    struct blob_ent key;
    if (!b->n || strlen(digest) != AIRLOCK_DIGEST_LEN)
        return NULL;
    memcpy(key.digest, digest, AIRLOCK_DIGEST_SIZE);
    return bsearch(&key, b->blobs, b->n, sizeof(key), cmp_digest);
}

struct blob_ent *bundle_add_blob(struct airlock_bundle *b, const char *digest)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct blob_ent *n = realloc(b->blobs, cap * sizeof(*n));
        if (!n)
            return NULL;
        b->blobs = n;
        b->cap = cap;
    }
    struct blob_ent *e = &b->blobs[b->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->digest, digest, AIRLOCK_DIGEST_SIZE);
    e->offset = -1;
    return e;
}

/* Sorts by digest and keeps the last copy of each duplicate (highest seq). */
void bundle_finish_table(struct airlock_bundle *b)
{
    if (b->n)
        qsort(b->blobs, b->n, sizeof(*b->blobs), cmp_digest);
    size_t o = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (o && !strcmp(b->blobs[o - 1].digest, b->blobs[i].digest)) {
            struct blob_ent *keep = &b->blobs[o - 1];
            if (b->blobs[i].seq > keep->seq) {
                free(keep->data);
                *keep = b->blobs[i];
            } else
                free(b->blobs[i].data);
            continue;
        }
        b->blobs[o++] = b->blobs[i];
    }
    b->n = o;
}

static int read_stream_small(struct arch_reader *r, uint64_t size, size_t max, char **out,
                             const char *path, const char *entry, struct airlock_error **err)
{
    if (size > max)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry '%s': larger than %zu bytes",
                                 path, entry, max);
    char *d = malloc((size_t)size + 1);
    if (!d)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t have = 0;
    while (have < size) {
        size_t got;
        int rc = arch_read(r, d + have, (size_t)size - have, &got, err);
        if (rc) {
            free(d);
            return rc;
        }
        have += got;
    }
    d[size] = '\0';
    *out = d;
    return 0;
}

struct open_ctx {
    struct airlock_bundle *b;
    struct airlock_sha256 *h;
    unsigned char *buf;
    struct airlock_error *unsafe; /* first unsafe entry; reported once we know it is a layout */
    int unsafe_code;
};

static int on_entry(void *vctx, const struct arch_entry *e, struct arch_reader *r,
                    struct airlock_error **err)
{
    struct open_ctx *c = vctx;
    struct airlock_bundle *b = c->b;
    char digest[AIRLOCK_DIGEST_SIZE];
    b->seq++;
    if (e->offset >= 0) {
        uint64_t end = (uint64_t)e->offset + ((e->size + 511) & ~(uint64_t)511);
        if ((int64_t)end > b->tar_end)
            b->tar_end = (int64_t)end;
    }
    if (e->type == ARCH_DIR)
        return 0;
    if (e->type != ARCH_REG) {
        const char *kind = e->type == ARCH_SYMLINK    ? "symbolic link"
                           : e->type == ARCH_HARDLINK ? "hard link"
                                                      : "device or special file";
        (void)err;
        if (c->unsafe)
            return 0;
        c->unsafe_code = airlock_error_set(&c->unsafe, AIRLOCK_EINTEGRITY,
                                 "'%s': entry '%.200s': %s refused (a bundle holds only regular "
                                 "files)",
                                 b->path, e->raw_name, kind);
        return 0;
    }
    struct airlock_error *cerr = NULL;
    int cls = bundle_classify(e->name, digest, b->path, &cerr);
    if (cls < 0) {
        if (!c->unsafe) {
            c->unsafe = cerr;
            c->unsafe_code = cls;
        } else
            airlock_error_free(cerr);
        return 0;
    }
    if (cls == 2) {
        bundle_warn(b, "ignored entry '%.200s' (not part of an OCI layout)", e->raw_name);
        return 0;
    }
    if (cls == 3 || (cls == 0 && !strcmp(e->name, SPLIT_JSON))) { /* a part of a split set */
        if (e->offset < 0) {
            bundle_warn(b, "ignored entry '%.200s' (split sets are plain tars)", e->raw_name);
            return 0;
        }
        if (cls == 0) {
            b->split_off = e->offset;
            b->split_size = e->size;
            b->have_split = 1;
            return 0;
        }
        const char *p = e->name + sizeof(SPLIT_DIR) - 1;
        char *end = NULL;
        unsigned long k = strlen(p) > 65 && p[64] == '.' ? strtoul(p + 65, &end, 10) : 0;
        if (!k || !end || *end || k > 100000) {
            bundle_warn(b, "ignored entry '%.200s' (not a piece of a split blob)", e->raw_name);
            return 0;
        }
        struct piece_ent *pe = realloc(b->pents, (b->n_pents + 1) * sizeof(*pe));
        if (!pe)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        b->pents = pe;
        pe += b->n_pents++;
        memcpy(pe->hex, p, 64);
        pe->hex[64] = '\0';
        pe->k = (unsigned)k;
        pe->offset = e->offset;
        pe->size = e->size;
        return 0;
    }
    if (cls == 0) {
        int is_index = !strcmp(e->name, "index.json");
        int is_layout = !strcmp(e->name, "oci-layout");
        if (!is_index && !is_layout)
            return 0;
        if (e->offset >= 0) {
            if (is_index) {
                b->index_off = e->offset;
                b->index_size = e->size;
                b->have_index = 1;
            } else {
                b->layout_off = e->offset;
                b->layout_size = e->size;
                b->have_layout = 1;
            }
            return 0;
        }
        char *d = NULL;
        int rc = read_stream_small(r, e->size, is_index ? AIRLOCK_MAX_INDEX_JSON : LAYOUT_MAX_FILE,
                                   &d, b->path, e->raw_name, err);
        if (rc)
            return rc;
        if (is_index) {
            free(b->index);
            b->index = d;
            b->index_len = (size_t)e->size;
            b->have_index = 1;
        } else {
            free(b->layout);
            b->layout = d;
            b->layout_size = e->size;
            b->have_layout = 1;
        }
        return 0;
    }
    struct blob_ent *be = bundle_add_blob(b, digest);
    if (!be)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    be->size = e->size;
    be->offset = e->offset;
    be->seq = b->seq;
    if (e->offset >= 0)
        return 0;
    /* Streamed: keep small JSON blobs (manifests, indexes, configs) up to a small total,
     * hash if asked. What nothing references is dropped after the walk (stream_settle), and
     * referenced JSON not kept here is fetched by another pass: memory stays a small constant
     * plus the referenced metadata, however much JSON-looking data the stream holds. */
    int want_hash = (b->flags & AIRLOCK_OPEN_HASH) != 0;
    int may_keep = e->size > 0 && e->size <= AIRLOCK_MAX_MANIFEST;
    int store = may_keep && b->retained + e->size <= RETAIN_FIRST_MAX;
    if (!want_hash && !may_keep)
        return 0;
    struct airlock_buf keep = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    uint64_t left = e->size;
    int rc = 0;
    while (left) {
        size_t got;
        if ((rc = arch_read(r, c->buf, IO_CHUNK, &got, err)))
            break;
        if (may_keep) {
            if (keep.len == 0) {
                size_t i = 0;
                while (i < got && strchr(" \t\r\n", c->buf[i]))
                    i++;
                if (i < got && c->buf[i] != '{')
                    may_keep = 0;
            }
            if (may_keep && store && airlock_buf_append(&keep, c->buf, got))
                may_keep = 0;
        }
        if (want_hash)
            airlock_sha256_update(c->h, c->buf, got);
        left -= got;
        if (!want_hash && (!may_keep || !store))
            break;
    }
    if (rc) {
        airlock_buf_release(&keep);
        return rc;
    }
    if (want_hash && !left) {
        airlock_sha256_final(c->h, be->actual);
        be->hashed = 1;
    }
    if (may_keep && store && keep.len == e->size) {
        b->retained += keep.len;
        be->data = airlock_buf_detach(&keep, NULL);
    } else {
        airlock_buf_release(&keep);
        be->maybe_json = may_keep;
    }
    return 0;
}

/* ---- streamed bundles: keep only the JSON the walk from index.json needs ------------------ */

struct settle {
    struct airlock_bundle *b;
    struct core_dmap need;   /* reached from index.json */
    struct core_dmap fetch;  /* reached, JSON-looking, not kept by the first pass */
    char (*queue)[AIRLOCK_DIGEST_SIZE];
    size_t nq, capq;
    uint64_t seq;
};

static int settle_push(struct settle *st, const char *digest)
{
    if (strlen(digest) != AIRLOCK_DIGEST_LEN || core_dmap_get(&st->need, digest))
        return 0;
    if (st->nq == st->capq) {
        size_t cap = st->capq ? st->capq * 2 : 64;
        char(*q)[AIRLOCK_DIGEST_SIZE] = realloc(st->queue, cap * sizeof(*q));
        if (!q)
            return -1;
        st->queue = q;
        st->capq = cap;
    }
    memcpy(st->queue[st->nq++], digest, AIRLOCK_DIGEST_SIZE);
    return core_dmap_put(&st->need, digest, 1);
}

/* Queues what a manifest or index (or index.json) points at; anything else has no children. */
static int settle_children(struct settle *st, const char *raw, size_t len)
{
    struct airlock_oci *m = NULL;
    if (airlock_oci_parse(&m, raw, len, "metadata", NULL))
        return 0;
    int rc = 0;
    if (m->kind == AIRLOCK_OCI_MANIFEST)
        rc |= settle_push(st, m->config.digest);
    for (size_t i = 0; i < m->n_layers; i++)
        rc |= settle_push(st, m->layers[i].digest);
    if (m->subject)
        rc |= settle_push(st, m->subject->digest);
    airlock_oci_free(m);
    return rc;
}

static int settle_entry(void *vctx, const struct arch_entry *e, struct arch_reader *r,
                        struct airlock_error **err)
{
    struct settle *st = vctx;
    struct airlock_bundle *b = st->b;
    char digest[AIRLOCK_DIGEST_SIZE];
    st->seq++;
    if (e->type != ARCH_REG || bundle_classify(e->name, digest, b->path, NULL) != 1 ||
        !core_dmap_get(&st->fetch, digest))
        return 0;
    struct blob_ent *be = find(b, digest);
    if (!be || be->seq != st->seq || be->data) /* the last copy counts */
        return 0;
    if (b->retained + be->size > RETAIN_TOTAL_MAX)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': more than %llu MiB of referenced JSON metadata", b->path,
                                 RETAIN_TOTAL_MAX >> 20);
    char *d = NULL;
    int rc = read_stream_small(r, be->size, AIRLOCK_MAX_MANIFEST, &d, b->path, e->raw_name, err);
    if (rc)
        return rc;
    be->data = d;
    be->maybe_json = 0;
    b->retained += be->size;
    return 0;
}

/* After the first pass over a streamed bundle: walks index.json down through the kept JSON,
 * fetches what it reaches but the first pass did not keep (more passes, as deep as the
 * references go), and drops every kept blob it does not reach. */
static int stream_settle(struct airlock_bundle *b, struct airlock_error **err)
{
    struct settle st;
    memset(&st, 0, sizeof(st));
    st.b = b;
    int rc = 0;
    if (b->index && settle_children(&st, b->index, b->index_len))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (int pass = 0; !rc && st.nq; pass++) {
        size_t nfetch = 0;
        while (!rc && st.nq) {
            char d[AIRLOCK_DIGEST_SIZE];
            memcpy(d, st.queue[--st.nq], sizeof(d));
            struct blob_ent *be = find(b, d);
            if (!be)
                continue;
            if (be->data) {
                if (settle_children(&st, be->data, (size_t)be->size))
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            } else if (be->maybe_json && !core_dmap_get(&st.fetch, d)) {
                if (core_dmap_put(&st.fetch, d, 1))
                    rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                nfetch++;
            }
        }
        if (rc || !nfetch || pass >= RETAIN_PASSES)
            break;
        st.seq = 0;
        if ((rc = arch_walk(b->path, 0, settle_entry, &st, NULL, err)))
            break;
        /* what was fetched now: queue its children */
        for (size_t i = 0; i < st.fetch.cap && !rc; i++) {
            const char *d = st.fetch.slots[i].key;
            if (!d[0] || st.fetch.slots[i].value != 1)
                continue;
            st.fetch.slots[i].value = 2; /* done */
            struct blob_ent *be = find(b, d);
            if (be && be->data && settle_children(&st, be->data, (size_t)be->size))
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
    }
    if (!rc)
        for (size_t i = 0; i < b->n; i++)
            if (b->blobs[i].data && !core_dmap_get(&st.need, b->blobs[i].digest)) {
                b->retained -= b->blobs[i].size;
                free(b->blobs[i].data);
                b->blobs[i].data = NULL;
            }
    core_dmap_release(&st.need);
    core_dmap_release(&st.fetch);
    free(st.queue);
    return rc;
}

int layout_open_regular(int dirfd, const char *name, unsigned flags, const char *shown, int *out,
                        struct stat *st_out, struct airlock_error **err)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever */
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
                                     (flags & LAYOUT_OPEN_FOLLOW ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        if (errno == ELOOP)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': symbolic link refused",
                                     shown);
        if (errno == ENXIO) /* a socket, or a device with nothing behind it */
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': not a regular file", shown);
        return airlock_error_set_errno(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EOS,
                                       errno, "open '%s'", shown);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "stat '%s'", shown);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': not a regular file (a bundle holds only regular files)",
                                 shown);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "open '%s'", shown);
    }
    if (st_out)
        *st_out = st;
    *out = fd;
    return 0;
}

static int read_dir_file(int dirfd, const char *name, size_t max, char **out, size_t *len,
                         const char *path, struct airlock_error **err)
{
    char shown[4200];
    snprintf(shown, sizeof(shown), "%s/%s", path, name);
    _cleanup_close_ int fd = -1;
    struct stat st;
    int rc = layout_open_regular(dirfd, name, 0, shown, &fd, &st, err);
    if (rc)
        return rc;
    if ((uint64_t)st.st_size > max)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s/%s': larger than %zu bytes", path,
                                 name, max);
    char *d = malloc((size_t)st.st_size + 1);
    if (!d)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int r = core_pread_all(fd, d, (size_t)st.st_size, 0);
    if (r) {
        free(d);
        return airlock_error_set_errno(err, AIRLOCK_EOS, -r, "read '%s/%s'", path, name);
    }
    d[st.st_size] = '\0';
    *out = d;
    *len = (size_t)st.st_size;
    return 0;
}

static int open_dir(struct airlock_bundle *b, struct airlock_error **err)
{
    int rc;
    b->fd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b->fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s'", b->path);
    size_t len;
    if ((rc = read_dir_file(b->fd, "index.json", AIRLOCK_MAX_INDEX_JSON, &b->index, &b->index_len,
                            b->path, err)))
        return rc;
    b->have_index = 1;
    if ((rc = read_dir_file(b->fd, "oci-layout", LAYOUT_MAX_FILE, &b->layout, &len, b->path,
                            err)))
        return rc;
    b->layout_size = len;
    b->have_layout = 1;
    /* each component on its own, so that no symbolic link is followed */
    int top = openat(b->fd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0 && errno == ENOENT)
        return 0; /* an empty layout */
    if (top >= 0) {
        b->blobs_fd = openat(top, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(top);
        if (b->blobs_fd < 0 && errno == ENOENT)
            return 0;
    }
    if (top < 0 || b->blobs_fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EINTEGRITY, errno,
                                       "open '%s/blobs/sha256' (symbolic links are refused)",
                                       b->path);
    int bfd = dup(b->blobs_fd);
    if (bfd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s/blobs/sha256'", b->path);
    DIR *d = fdopendir(bfd);
    if (!d) {
        close(bfd);
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "read '%s/blobs/sha256'",
                                       b->path);
    }
    struct dirent *de;
    rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char name[300], digest[AIRLOCK_DIGEST_SIZE];
        snprintf(name, sizeof(name), "blobs/sha256/%s", de->d_name);
        if ((rc = bundle_classify(name, digest, b->path, err)) < 0)
            break;
        rc = 0;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "stat '%s/%s'", b->path, name);
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s/%s': not a regular file (links are refused)", b->path,
                                   name);
            break;
        }
        struct blob_ent *e = bundle_add_blob(b, digest);
        if (!e) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        e->size = (uint64_t)st.st_size;
    }
    closedir(d);
    return rc;
}

int bundle_load_small_at(struct airlock_bundle *b, int64_t off, uint64_t size, size_t max,
                         char **out, const char *name, struct airlock_error **err)
{
    if (size > max)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s larger than %zu bytes",
                                 b->path, name, max);
    char *d = malloc((size_t)size + 1);
    if (!d)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int r = core_pread_all(b->fd, d, (size_t)size, off);
    if (r) {
        free(d);
        return airlock_error_set_errno(err, AIRLOCK_EOS, -r, "read '%s': %s", b->path, name);
    }
    d[size] = '\0';
    *out = d;
    return 0;
}

static int check_layout_file(struct airlock_bundle *b, struct airlock_error **err)
{
    if (!b->have_layout)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': no 'oci-layout' file: not an OCI image layout", b->path);
    if (!b->have_index)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': no 'index.json'", b->path);
    if (!strstr(b->layout, "\"imageLayoutVersion\""))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': 'oci-layout' has no imageLayoutVersion", b->path);
    return 0;
}

int airlock_bundle_open(struct airlock_bundle **out, const char *path, unsigned flags,
                        struct airlock_error **err)
{
    return bundle_open(out, path, flags, NULL, err);
}

static int bundle_open_one(struct airlock_bundle **out, const char *path, unsigned flags,
                           int *not_layout, struct airlock_error **err);

/* A part of a split set whose replacement was interrupted: when the set it starts is not
 * whole (or the part is not there at all), the earlier part kept beside it as its twin is
 * read instead, if that one's set is whole (see SPLIT_TWIN). */
int bundle_open(struct airlock_bundle **out, const char *path, unsigned flags, int *not_layout,
                struct airlock_error **err)
{
    if (flags & (BUNDLE_OPEN_NO_PREV | BUNDLE_OPEN_NO_SIBLINGS | BUNDLE_OPEN_DEFER_SPLIT |
                 AIRLOCK_OPEN_PART))
        return bundle_open_one(out, path, flags, not_layout, err);
    struct stat st;
    char *twin = NULL;
    struct airlock_bundle *b = NULL, *t = NULL;
    int missing = stat(path, &st) < 0 && errno == ENOENT;
    int rc = missing ? AIRLOCK_ENOTFOUND : bundle_open_one(&b, path, flags, not_layout, err);
    if ((rc && !missing) || (!rc && split_complete(b)))
        goto done;
    if (!(twin = split_twin_path(path)) || lstat(twin, &st) < 0 ||
        bundle_open_one(&t, twin, flags, NULL, NULL) || !t->split || !split_complete(t)) {
        airlock_bundle_free(t);
        t = NULL;
        if (missing) /* the error as it would have been */
            rc = bundle_open_one(&b, path, flags, not_layout, err);
        goto done;
    }
    bundle_warn(t, "'%s' is%s part of a newer split that was interrupted: reading the earlier set "
                "(its part kept as '%s')", path, missing ? " missing, or" : "", twin);
    airlock_bundle_free(b);
    b = t;
    rc = 0;
done:
    free(twin);
    if (!rc)
        *out = b;
    return rc;
}

static int bundle_open_one(struct airlock_bundle **out, const char *path, unsigned flags,
                           int *not_layout, struct airlock_error **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return airlock_error_set_errno(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EOS,
                                       errno, "open bundle '%s'", path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) /* a FIFO would block every reader */
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': not a regular file or directory", path);
    struct airlock_bundle *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    b->fd = -1;
    b->blobs_fd = -1;
    b->flags = flags;
    int rc = 0;
    if (S_ISDIR(st.st_mode)) {
        b->fmt = AIRLOCK_FORMAT_DIR;
        rc = open_dir(b, err);
    } else {
        int compressed = 0;
        char filter[32] = "";
        if (!arch_probe(path, &compressed, filter, sizeof(filter))) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s': neither a directory nor a tar archive", path);
            goto done;
        }
        struct open_ctx c = {b, NULL, NULL, NULL, 0};
        if (compressed) {
            b->fmt = AIRLOCK_FORMAT_TAR_ZST;
            b->compressed = 1;
            if (strcmp(filter, "zstd"))
                snprintf(b->label, sizeof(b->label), "tar.%s",
                         !strcmp(filter, "gzip") ? "gz" : filter);
            c.buf = malloc(IO_CHUNK);
            if (!c.buf || airlock_sha256_new(&c.h, err)) {
                free(c.buf);
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto done;
            }
            rc = arch_walk(path, 0, on_entry, &c, NULL, err);
            free(c.buf);
            airlock_sha256_free(c.h);
        } else {
            b->fmt = AIRLOCK_FORMAT_TAR;
            rc = arch_walk(path, ARCH_SEEKABLE, on_entry, &c, NULL, err);
            if (!rc) {
                rc = layout_open_regular(AT_FDCWD, path, LAYOUT_OPEN_FOLLOW, path, &b->fd, NULL, err);
            }
            if (!rc && b->have_index)
                rc = bundle_load_small_at(b, b->index_off, b->index_size, AIRLOCK_MAX_INDEX_JSON,
                                   &b->index, "index.json", err);
            if (!rc && b->have_index)
                b->index_len = (size_t)b->index_size;
            if (!rc && b->have_layout)
                rc = bundle_load_small_at(b, b->layout_off, b->layout_size, LAYOUT_MAX_FILE, &b->layout,
                                   "oci-layout", err);
        }
        if (!rc && c.unsafe && b->have_layout) {
            rc = c.unsafe_code;
            if (err && !*err)
                *err = steal_pointer(&c.unsafe);
        }
        airlock_error_free(c.unsafe);
    }
    if (!rc && not_layout)
        *not_layout = !b->have_layout;
    if (!rc)
        rc = check_layout_file(b, err);
done:
    if (rc) {
        airlock_bundle_free(b);
        return rc;
    }
    bundle_finish_table(b);
    if (b->compressed && (rc = stream_settle(b, err))) {
        airlock_bundle_free(b);
        return rc;
    }
    if (b->have_split && !(flags & BUNDLE_OPEN_DEFER_SPLIT) && (rc = split_attach(b, err))) {
        airlock_bundle_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void airlock_bundle_free(struct airlock_bundle *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->blobs[i].data);
        free(b->blobs[i].pieces);
    }
    free(b->blobs);
    free(b->pents);
    split_free(b->split);
    for (size_t i = 0; i < b->n_warn; i++)
        free(b->warnings[i]);
    free(b->warnings);
    if (b->fd >= 0)
        close(b->fd);
    if (b->blobs_fd >= 0)
        close(b->blobs_fd);
    free(b->index);
    free(b->layout);
    free(b->path);
    free(b);
}

int airlock_bundle_blob_stat(const struct airlock_bundle *b, const char *digest, uint64_t *size)
{
    struct blob_ent *e = find(b, digest);
    if (!e)
        return AIRLOCK_ENOTFOUND;
    if (size)
        *size = e->size;
    return 0;
}

/* A reader over one blob of a random-access bundle. */
struct blob_reader {
    struct airlock_bundle *b;
    int fd;       /* dir: the blob file; tar: the bundle (or the part holding the blob) */
    int own_fd;
    uint64_t off; /* absolute position */
    uint64_t left;
    uint64_t start, size; /* where the blob begins, and its length */
    const char *digest;
    const struct bundle_piece *pieces; /* a blob cut over parts */
    size_t n_pieces;
    uint64_t pos; /* of the blob (pieces) */
};

/* Points a pieced reader at blob offset pos. */
static void piece_seek(struct blob_reader *r, uint64_t pos)
{
    uint64_t at = 0;
    r->pos = pos;
    r->left = r->size - pos;
    for (size_t i = 0; i < r->n_pieces; i++) {
        const struct bundle_piece *p = &r->pieces[i];
        if (pos < at + p->size || i + 1 == r->n_pieces) {
            r->fd = p->owner->fd;
            r->off = (uint64_t)p->offset + (pos - at);
            return;
        }
        at += p->size;
    }
}

static int blob_read_fn(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    struct blob_reader *r = ctx;
    *got = 0;
    if (airlock_cancelled()) /* SIGINT: stop between chunks, unwind as on any error */
        return airlock_cancel_check(err);
    if (!r->left)
        return 0;
    if (cap > r->left)
        cap = (size_t)r->left;
    if (r->n_pieces) { /* not past the end of the current piece */
        uint64_t at = 0;
        for (size_t i = 0; i < r->n_pieces; i++) {
            if (r->pos < at + r->pieces[i].size) {
                if (cap > at + r->pieces[i].size - r->pos)
                    cap = (size_t)(at + r->pieces[i].size - r->pos);
                break;
            }
            at += r->pieces[i].size;
        }
    }
    ssize_t n;
    do
        n = pread(r->fd, buf, cap, (off_t)r->off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "read '%s': blob '%s'",
                                       r->b->path, r->digest);
    if (n == 0)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is truncated",
                                 r->b->path, r->digest);
    r->off += (uint64_t)n;
    r->left -= (uint64_t)n;
    *got = (size_t)n;
    if (r->n_pieces) {
        r->pos += (uint64_t)n;
        if (r->left)
            piece_seek(r, r->pos);
    }
    return 0;
}

static int blob_reader_open(struct blob_reader *r, struct airlock_bundle *b,
                            const struct blob_ent *e, struct airlock_error **err)
{
    memset(r, 0, sizeof(*r));
    r->b = b;
    r->digest = e->digest;
    r->left = e->size;
    r->fd = -1;
    r->size = e->size;
    if (e->n_pieces) {
        r->pieces = e->pieces;
        r->n_pieces = e->n_pieces;
        piece_seek(r, 0);
        return 0;
    }
    if (b->fmt == AIRLOCK_FORMAT_TAR) {
        r->fd = e->owner ? e->owner->fd : b->fd;
        r->off = r->start = (uint64_t)e->offset;
        return 0;
    }
    if (b->fmt != AIRLOCK_FORMAT_DIR)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': a streamed bundle has no random access",
                                 b->path);
    char shown[4200];
    snprintf(shown, sizeof(shown), "%s/blobs/sha256/%s", b->path, airlock_digest_hex(e->digest));
    int rc = layout_open_regular(b->blobs_fd, airlock_digest_hex(e->digest), 0, shown, &r->fd, NULL,
                                 err);
    if (rc) {
        r->fd = -1;
        return rc;
    }
    r->own_fd = 1;
    return 0;
}

static void blob_reader_close(struct blob_reader *r)
{
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

int airlock_bundle_blob_read(struct airlock_bundle *b, const char *digest, size_t max,
                             struct airlock_buf *out, struct airlock_error **err)
{
    struct blob_ent *e = find(b, digest);
    if (!e)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is missing", b->path,
                                 digest);
    if (e->size > max)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': blob '%s' is larger than %zu bytes", b->path, digest, max);
    struct airlock_buf buf = AIRLOCK_BUF_INIT(max);
    int rc = 0;
    /* reserve the whole blob (size <= max) so the reads below go straight into it */
    char *room = malloc((size_t)e->size + 1);
    if (!room)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    buf.data = room;
    buf.cap = (size_t)e->size + 1;
    if (b->compressed) {
        if (!e->data) {
            airlock_buf_release(&buf);
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': blob '%s' is not JSON metadata", b->path, digest);
        }
        memcpy(buf.data, e->data, (size_t)e->size);
        buf.len = (size_t)e->size;
    } else {
        struct blob_reader r;
        if ((rc = blob_reader_open(&r, b, e, err))) {
            airlock_buf_release(&buf);
            return rc;
        }
        while (!rc && buf.len < e->size) {
            size_t got;
            rc = blob_read_fn(&r, buf.data + buf.len, (size_t)e->size - buf.len, &got, err);
            buf.len += got;
        }
        blob_reader_close(&r);
    }
    if (rc) {
        airlock_buf_release(&buf);
        return rc;
    }
    buf.data[buf.len] = '\0';
    char actual[AIRLOCK_DIGEST_SIZE];
    if ((rc = airlock_sha256_digest(actual, buf.data, buf.len, err))) {
        airlock_buf_release(&buf);
        return rc;
    }
    if (strcmp(actual, digest)) {
        airlock_buf_release(&buf);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': blob '%s' is corrupt (content hashes to '%s')", b->path,
                                 digest, actual);
    }
    *out = buf;
    return 0;
}

int airlock_bundle_blob_hash(struct airlock_bundle *b, const char *digest,
                             char actual[AIRLOCK_DIGEST_SIZE], struct airlock_error **err)
{
    struct blob_ent *e = find(b, digest);
    if (!e)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is missing", b->path,
                                 digest);
    if (b->compressed) {
        if (!e->hashed)
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "'%s': streamed bundle was not opened for hashing", b->path);
        memcpy(actual, e->actual, AIRLOCK_DIGEST_SIZE);
        return 0;
    }
    struct blob_reader r;
    int rc = blob_reader_open(&r, b, e, err);
    if (rc)
        return rc;
    struct airlock_sha256 *h = NULL;
    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf || (rc = airlock_sha256_new(&h, err))) {
        free(buf);
        blob_reader_close(&r);
        return rc ? rc : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (r.left > IO_CHUNK)
        posix_fadvise(r.fd, (off_t)r.off, (off_t)r.left, POSIX_FADV_SEQUENTIAL);
    while (r.left) {
        size_t got;
        if ((rc = blob_read_fn(&r, buf, IO_CHUNK, &got, err)))
            break;
        airlock_sha256_update(h, buf, got);
    }
    if (!rc)
        airlock_sha256_final(h, actual);
    airlock_sha256_free(h);
    free(buf);
    blob_reader_close(&r);
    return rc;
}

struct airlock_blob_reader {
    struct blob_reader r;
};

int airlock_bundle_blob_reader(struct airlock_blob_reader **out, struct airlock_bundle *b,
                               const char *digest, struct airlock_error **err)
{
    struct blob_ent *e = find(b, digest);
    if (!e)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': blob '%s' is missing", b->path,
                                 digest);
    struct airlock_blob_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = blob_reader_open(&r->r, b, e, err);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int airlock_blob_reader_read(void *ctx, void *buf, size_t cap, size_t *got,
                             struct airlock_error **err)
{
    struct airlock_blob_reader *r = ctx;
    return blob_read_fn(&r->r, buf, cap, got, err);
}

int airlock_blob_reader_seek(void *ctx, uint64_t offset, struct airlock_error **err)
{
    struct airlock_blob_reader *r = ctx;
    if (offset > r->r.size)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': blob '%s': offset %llu past its end",
                                 r->r.b->path, r->r.digest, (unsigned long long)offset);
    if (r->r.n_pieces) {
        piece_seek(&r->r, offset);
        return 0;
    }
    r->r.off = r->r.start + offset;
    r->r.left = r->r.size - offset;
    return 0;
}

void airlock_blob_reader_free(struct airlock_blob_reader *r)
{
    if (!r)
        return;
    blob_reader_close(&r->r);
    free(r);
}

/* ---- streaming every blob in storage order ------------------------------------------------- */

struct stream_ctx {
    struct airlock_bundle *b;
    airlock_blob_want_fn want;
    airlock_blob_take_fn take;
    void *ctx;
    uint64_t seq;
};

static int stream_entry(void *vctx, const struct arch_entry *e, struct arch_reader *r,
                        struct airlock_error **err)
{
    struct stream_ctx *s = vctx;
    char digest[AIRLOCK_DIGEST_SIZE];
    s->seq++;
    if (e->type != ARCH_REG || bundle_classify(e->name, digest, s->b->path, NULL) != 1)
        return 0;
    struct blob_ent *be = find(s->b, digest);
    if (!be || be->seq != s->seq || !s->want(s->ctx, digest, be->size))
        return 0;
    return s->take(s->ctx, digest, be->size, arch_read, r, err);
}

static int cmp_offset(const void *a, const void *b)
{
    const struct blob_ent *x = *(const struct blob_ent *const *)a;
    const struct blob_ent *y = *(const struct blob_ent *const *)b;
    uintptr_t ox = (uintptr_t)x->owner, oy = (uintptr_t)y->owner; /* split sets: part by part */
    if (ox != oy)
        return (ox > oy) - (ox < oy);
    return (x->offset > y->offset) - (x->offset < y->offset);
}

int airlock_bundle_blob_stream(struct airlock_bundle *b, airlock_blob_want_fn want,
                               airlock_blob_take_fn take, void *ctx, struct airlock_error **err)
{
    if (b->compressed) {
        struct stream_ctx s = {b, want, take, ctx, 0};
        return arch_walk(b->path, 0, stream_entry, &s, NULL, err);
    }
    struct blob_ent **order = malloc((b->n ? b->n : 1) * sizeof(*order));
    if (!order)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t i = 0; i < b->n; i++)
        order[i] = &b->blobs[i];
    if (b->fmt == AIRLOCK_FORMAT_TAR && b->n)
        qsort(order, b->n, sizeof(*order), cmp_offset);
    int rc = 0;
    for (size_t i = 0; i < b->n && !rc; i++) {
        struct blob_ent *e = order[i];
        if (!want(ctx, e->digest, e->size))
            continue;
        struct blob_reader r;
        if ((rc = blob_reader_open(&r, b, e, err)))
            break;
        rc = take(ctx, e->digest, e->size, blob_read_fn, &r, err);
        blob_reader_close(&r);
    }
    free(order);
    return rc;
}

int layout_stream_small(airlock_read_fn read, void *rctx, const char *digest, uint64_t size,
                        size_t max, struct airlock_buf *out, struct airlock_error **err)
{
    struct airlock_buf raw = AIRLOCK_BUF_INIT(max);
    char buf[4096], actual[AIRLOCK_DIGEST_SIZE];
    size_t got = 0;
    int rc = 0, big = size > max;
    while (!rc && !big && raw.len < size && !(rc = read(rctx, buf, sizeof(buf), &got, err)) &&
           got)
        big = airlock_buf_append(&raw, buf, got) != 0;
    if (!rc && !big && raw.len == size && !airlock_sha256_digest(actual, raw.data ? raw.data : "",
                                                                   raw.len, NULL) &&
        !strcmp(actual, digest)) {
        *out = raw;
        return 0;
    }
    airlock_buf_release(&raw);
    return rc ? rc : 1;
}
