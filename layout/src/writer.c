/* Writing bundles atomically: everything goes to a temporary name beside the destination
 * (".<name>.airlock-XXXXXX"), is synced, and is renamed into place by commit. */
#include "layout_int.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define COPY_CHUNK (1u << 20)
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

/* Temporary files of live writers, so a signal handler can remove them (a split writes one
 * per part at once). */
#define MAX_TEMPS 1024
static char temp_paths[MAX_TEMPS][4096];
static volatile sig_atomic_t temp_used[MAX_TEMPS];

/* Interrupts held back while a temporary file is created and registered for the signal
 * handler (a signal in between would leave the file behind), and let through again. */
static void signals_hold(sigset_t *was)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, was);
}

static void signals_release(const sigset_t *was) { pthread_sigmask(SIG_SETMASK, was, NULL); }

static void temp_register(const char *p)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (!temp_used[i] && strlen(p) < sizeof(temp_paths[i])) {
            strcpy(temp_paths[i], p);
            temp_used[i] = 1;
            return;
        }
}

static void temp_unregister(const char *p)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i] && !strcmp(temp_paths[i], p))
            temp_used[i] = 0;
}

void airlock_layout_signal_cleanup(void)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i])
            unlink(temp_paths[i]); /* async-signal-safe; a temporary directory stays */
}

struct cur_blob;

struct airlock_writer {
    char *path;
    char *tmp;
    enum airlock_format fmt;
    int fd;        /* tar: the temporary file; dir: the temporary directory */
    struct tarw *t;
    struct core_dmap added; /* digests written so far */
    struct cur_blob *cur;   /* the blob being written in push mode */
    int lock_held;          /* the caller holds the destination's locks (sign, import, split) */
    unsigned char *buf;
    int committed;
    int resumable;          /* tmp is ".<name>.airlock-partial": kept when not committed */
    int finished;           /* writer_finish: complete and synced, not yet renamed */
    int lock_fd;            /* ".<name>.airlock-lock", held while writing (unless lock_held) */
    char *lock_path;
    uint64_t done;          /* blobs complete in tmp (recovered ones included) */
    uint64_t recovered, recovered_bytes;
};

void writer_lock_held(struct airlock_writer *w) { w->lock_held = 1; }

int airlock_writer_has(const struct airlock_writer *w, const char *digest)
{
    return core_dmap_get(&w->added, digest) != NULL;
}



static char *temp_name(const char *path, const char *suffix)
{
    char *a = strdup(path), *b = strdup(path), *out = NULL;
    if (a && b) {
        size_t n = strlen(b);
        while (n > 1 && b[n - 1] == '/')
            b[--n] = '\0';
        while (n > 1 && a[n - 1] == '/')
            a[--n] = '\0';
        if (asprintf(&out, "%s/.%s.airlock-%s", dirname(a), basename(b), suffix) < 0)
            out = NULL;
    }
    free(a);
    free(b);
    return out;
}

/* True for "<prefix>airlock-XXXXXX" (six letters or digits: mkstemp's and mkdtemp's) and, with
 * parts, for "<prefix><digits>.airlock-XXXXXX" (the parts of a split set). */
static int own_temp_name(const char *name, const char *prefix, size_t plen, int parts)
{
    if (strncmp(name, prefix, plen))
        return 0;
    const char *p = name + plen;
    if (parts) {
        const char *q = p;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q - p >= 3 && *q == '.')
            p = q + 1;
    }
    if (strncmp(p, "airlock-", 8))
        return 0;
    p += 8;
    for (int i = 0; i < 6; i++, p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    return *p == '\0';
}

/* Removes temporaries of earlier runs on path killed before they could (".NAME.airlock-XXXXXX"
 * files and directories, ours only; never the resumable ".NAME.airlock-partial"). Called with
 * the destination's lock held, so none of them belongs to a live run. */
static void remove_stale_in(const char *dir, const char *prefix, int parts)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t plen = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!own_temp_name(de->d_name, prefix, plen, parts) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != geteuid())
            continue;
        char *full = NULL;
        if (!S_ISDIR(st.st_mode))
            unlinkat(dirfd(d), de->d_name, 0);
        else if (asprintf(&full, "%s/%s", dir, de->d_name) >= 0) {
            airlock_remove_tree(full); /* does not follow links */
            free(full);
        }
    }
    closedir(d);
}

static void remove_stale_temps(const char *path, int parts)
{
    char *a = strdup(path), *b = strdup(path), *prefix = NULL;
    if (a && b) {
        size_t n = strlen(a);
        while (n > 1 && a[n - 1] == '/') {
            a[n - 1] = b[n - 1] = '\0';
            n--;
        }
        if (asprintf(&prefix, ".%s.", basename(b)) >= 0) {
            remove_stale_in(dirname(a), prefix, parts);
            free(prefix);
        }
    }
    free(a);
    free(b);
}

int layout_dest_lock(int *fd_out, char **lock_path_out, const char *path, unsigned flags,
                     struct airlock_error **err)
{
    *fd_out = -1;
    *lock_path_out = NULL;
    char *lp = temp_name(path, "lock");
    if (!lp)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    /* between creating the lock file and registering it for the signal handler, an
     * interrupt would leave it behind */
    sigset_t was;
    signals_hold(&was);
    for (int tries = 0;; tries++) {
        int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
        if (fd < 0) {
            int rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s'", lp);
            signals_release(&was);
            free(lp);
            return rc;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(fd);
            int rc = e == EWOULDBLOCK
                         ? airlock_error_set(err, AIRLOCK_EUSAGE,
                                             "another airlock is writing '%s' (%s is locked)",
                                             path, lp)
                         : airlock_error_set_errno(err, AIRLOCK_EOS, e, "lock '%s'", lp);
            signals_release(&was);
            free(lp);
            return rc;
        }
        /* the holder before us removes the file as it lets go: locked, it must still be there */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && lstat(lp, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev && S_ISREG(b.st_mode)) {
            *fd_out = fd;
            *lock_path_out = lp;
            temp_register(lp); /* removed by a signal handler too, as it exits */
            break;
        }
        close(fd);
        if (tries >= 100) {
            int rc = airlock_error_set(err, AIRLOCK_EOS, "'%s' keeps changing: cannot lock it", lp);
            signals_release(&was);
            free(lp);
            return rc;
        }
    }
    signals_release(&was);
    remove_stale_temps(path, (flags & LAYOUT_LOCK_PARTS) != 0);
    return 0;
}

void layout_dest_unlock(int fd, char *lock_path)
{
    if (fd >= 0) {
        if (lock_path) {
            unlink(lock_path); /* while still locked: a waiter notices and opens a new one */
            temp_unregister(lock_path);
        }
        close(fd);
    }
    free(lock_path);
}

static int writer_alloc(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                        const char *suffix, struct airlock_error **err)
{
    struct airlock_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    w->fd = -1;
    w->lock_fd = -1;
    w->fmt = fmt == AIRLOCK_FORMAT_AUTO ? airlock_format_for_path(path) : fmt;
    w->path = strdup(path);
    w->tmp = temp_name(path, suffix);
    w->buf = malloc(COPY_CHUNK);
    *out = w;
    if (!w->path || !w->tmp || !w->buf)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* The directory form's skeleton in w->fd (blobs/sha256 may already be there). */
static int dir_skeleton(struct airlock_writer *w, struct airlock_error **err)
{
    if ((mkdirat(w->fd, "blobs", 0755) < 0 && errno != EEXIST) ||
        (mkdirat(w->fd, "blobs/sha256", 0755) < 0 && errno != EEXIST))
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/blobs'", w->tmp);
    mode_t um = umask(0);
    umask(um);
    fchmod(w->fd, 0777 & ~um);
    return 0;
}

/* The tar form's first entries. */
static int tar_start(struct airlock_writer *w, struct airlock_error **err)
{
    mode_t um = umask(0);
    umask(um);
    fchmod(w->fd, 0666 & ~um);
    int rc = tarw_new(&w->t, w->fd, w->fmt == AIRLOCK_FORMAT_TAR_ZST, w->path, err);
    if (rc)
        return rc;
    /* oci-layout first, so a reader learns early what this is. */
    size_t ll = strlen(OCI_LAYOUT_JSON);
    if ((rc = tarw_file_begin(w->t, "oci-layout", ll, err)) ||
        (rc = tarw_file_data(w->t, OCI_LAYOUT_JSON, ll, err)) ||
        (rc = tarw_file_end(w->t, err)) || (rc = tarw_dir(w->t, "blobs/", err)) ||
        (rc = tarw_dir(w->t, "blobs/sha256/", err)))
        return rc;
    return 0;
}

static int writer_new(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                      int held, struct airlock_error **err)
{
    struct airlock_writer *w = NULL;
    int rc = writer_alloc(&w, path, fmt, "XXXXXX", err);
    if (rc)
        goto fail;
    /* one run per destination, and what a killed run left beside it goes */
    if (held)
        w->lock_held = 1;
    else if ((rc = layout_dest_lock(&w->lock_fd, &w->lock_path, path, 0, err)))
        goto fail;
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        if (!mkdtemp(w->tmp)) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create directory '%s'", w->tmp);
            goto fail;
        }
        w->fd = open(w->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->fd < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s'", w->tmp);
            goto fail;
        }
        if ((rc = dir_skeleton(w, err)))
            goto fail;
    } else {
        sigset_t was;
        signals_hold(&was);
        w->fd = mkostemp(w->tmp, O_CLOEXEC);
        int e = errno;
        if (w->fd >= 0)
            temp_register(w->tmp);
        signals_release(&was);
        if (w->fd < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, e, "create '%s'", w->tmp);
            goto fail;
        }
        if ((rc = tar_start(w, err)))
            goto fail;
    }
    *out = w;
    return 0;
fail:
    airlock_writer_free(w);
    return rc;
}

int airlock_writer_new(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                       struct airlock_error **err)
{
    return writer_new(out, path, fmt, 0, err);
}

int writer_new_locked(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                      struct airlock_error **err)
{
    return writer_new(out, path, fmt, 1, err);
}

/* ---- resuming ----------------------------------------------------------------------------- */

/* Hashes n bytes from read into actual. */
static int hash_stream(struct airlock_writer *w, airlock_read_fn read, void *ctx,
                       char actual[AIRLOCK_DIGEST_SIZE], struct airlock_error **err)
{
    struct airlock_sha256 *h = NULL;
    int rc = airlock_sha256_new(&h, err);
    for (;;) {
        size_t got = 0;
        if (rc || (rc = airlock_cancel_check(err)) ||
            (rc = read(ctx, w->buf, COPY_CHUNK, &got, err)) || !got)
            break;
        airlock_sha256_update(h, w->buf, got);
    }
    if (!rc)
        airlock_sha256_final(h, actual);
    airlock_sha256_free(h);
    return rc;
}

static int fd_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    ssize_t n;
    do
        n = read(*(int *)ctx, buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "read");
    *got = (size_t)n;
    return 0;
}

/* A partial directory: keeps the blobs whose content matches their name, drops the rest. */
static int adopt_dir(struct airlock_writer *w, struct airlock_error **err)
{
    int dfd = openat(w->fd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int bfd = dfd < 0 ? -1 : openat(dfd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0)
        close(dfd);
    if (bfd < 0)
        return errno == ELOOP || errno == ENOTDIR
                   ? airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "'%s/blobs': a link, not a directory: refused", w->tmp)
                   : 0;
    DIR *d = fdopendir(bfd);
    if (!d) {
        close(bfd);
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "read '%s/blobs/sha256'", w->tmp);
    }
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char digest[AIRLOCK_DIGEST_SIZE], actual[AIRLOCK_DIGEST_SIZE];
        snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
        int keep = 0;
        struct stat st;
        if (strlen(de->d_name) == 64 && !airlock_digest_check(digest, NULL)) {
            int fd = -1; /* a FIFO planted in a shared folder must not block */
            if (!layout_open_regular(bfd, de->d_name, 0, de->d_name, &fd, &st, NULL) &&
                !hash_stream(w, fd_read, &fd, actual, NULL) && !strcmp(actual, digest))
                keep = 1;
            if (fd >= 0)
                close(fd);
        }
        if (!keep)
            unlinkat(bfd, de->d_name, 0);
        else if (core_dmap_put(&w->added, digest, 1))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        else {
            w->recovered++;
            w->recovered_bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    unlinkat(w->fd, "index.json", 0);
    return rc;
}

/* A partial tar (any compression): pass one hashes every blob entry up to where it breaks
 * off, pass two copies the good ones into the new partial. */
struct adopt_tar {
    struct airlock_writer *w;
    struct core_dmap good;
    size_t n_good, copied;
    int copy;
};

static int adopt_entry(void *ctx, const struct arch_entry *e, struct arch_reader *r,
                       struct airlock_error **err)
{
    struct adopt_tar *a = ctx;
    char digest[AIRLOCK_DIGEST_SIZE], actual[AIRLOCK_DIGEST_SIZE];
    if (e->type != ARCH_REG || strncmp(e->name, "blobs/sha256/", 13) || strlen(e->name) != 77)
        return 0;
    snprintf(digest, sizeof(digest), "sha256:%s", e->name + 13);
    if (airlock_digest_check(digest, NULL))
        return 0;
    if (!a->copy) {
        int rc = hash_stream(a->w, arch_read, r, actual, NULL);
        if (rc)
            return 1; /* broken off here */
        if (!strcmp(actual, digest) && !core_dmap_get(&a->good, digest)) {
            if (core_dmap_put(&a->good, digest, 1))
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            a->n_good++;
        }
        return 0;
    }
    if (!core_dmap_get(&a->good, digest) || airlock_writer_has(a->w, digest))
        return 0;
    int rc = airlock_writer_add_blob(a->w, digest, e->size, arch_read, r, err);
    if (rc)
        return rc;
    a->w->recovered++;
    a->w->recovered_bytes += e->size;
    return ++a->copied == a->n_good ? 1 : 0; /* stop before any broken end */
}

static int adopt_tar(struct airlock_writer *w, const char *old, struct airlock_error **err)
{
    struct adopt_tar a;
    memset(&a, 0, sizeof(a));
    a.w = w;
    int rc = arch_walk(old, 0, adopt_entry, &a, NULL, NULL);
    (void)rc; /* a partial tar ends wherever it broke off */
    rc = 0;
    if (a.n_good) {
        a.copy = 1;
        rc = arch_walk(old, 0, adopt_entry, &a, NULL, err);
        if (rc == 1)
            rc = 0;
    }
    core_dmap_release(&a.good);
    return rc;
}

struct airlock_dest_lock {
    int fd;
    char *path;
};

int airlock_dest_lock(struct airlock_dest_lock **out, const char *path,
                      struct airlock_error **err)
{
    struct airlock_dest_lock *l = calloc(1, sizeof(*l));
    if (!l)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = layout_dest_lock(&l->fd, &l->path, path, 0, err);
    if (rc) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void airlock_dest_lock_free(struct airlock_dest_lock *l)
{
    if (!l)
        return;
    layout_dest_unlock(l->fd, l->path);
    free(l);
}

static int writer_new_resumable(struct airlock_writer **out, const char *path,
                                enum airlock_format fmt, int held, struct airlock_error **err);

int airlock_writer_new_resumable(struct airlock_writer **out, const char *path,
                                 enum airlock_format fmt, struct airlock_error **err)
{
    return writer_new_resumable(out, path, fmt, 0, err);
}

int airlock_writer_new_resumable_locked(struct airlock_writer **out, const char *path,
                                        enum airlock_format fmt, struct airlock_error **err)
{
    return writer_new_resumable(out, path, fmt, 1, err);
}

static int writer_new_resumable(struct airlock_writer **out, const char *path,
                                enum airlock_format fmt, int held, struct airlock_error **err)
{
    struct airlock_writer *w = NULL;
    char *old = NULL;
    struct stat st;
    int exists = 0;
    int rc = writer_alloc(&w, path, fmt, "partial", err);
    if (w)
        w->resumable = 1; /* from here on, failing never removes the partial */
    if (rc)
        goto fail;
    /* the lock comes first, on a name nobody renames: the partial itself is renamed below */
    if (held)
        w->lock_held = 1;
    else if ((rc = layout_dest_lock(&w->lock_fd, &w->lock_path, path, 0, err)))
        goto fail;
    exists = lstat(w->tmp, &st) == 0;
    if (exists && st.st_uid != geteuid()) { /* someone else's, in a shared folder */
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s' belongs to another user: remove it or write elsewhere",
                               w->tmp);
        goto fail;
    }
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        if (exists && !S_ISDIR(st.st_mode))
            unlink(w->tmp);
        if ((!exists || !S_ISDIR(st.st_mode)) && mkdir(w->tmp, 0700) < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create directory '%s'", w->tmp);
            goto fail;
        }
        w->fd = open(w->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else {
        /* the old partial becomes the source; a ".old" left by a crash here wins */
        if (asprintf(&old, "%s.old", w->tmp) < 0) {
            old = NULL;
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto fail;
        }
        if (lstat(old, &st) == 0)
            unlink(w->tmp);
        else if (exists && rename(w->tmp, old) < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "rename '%s'", w->tmp);
            goto fail;
        }
        w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (w->fd < 0) {
        rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open '%s'", w->tmp);
        goto fail;
    }
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        if ((rc = dir_skeleton(w, err)) || (rc = adopt_dir(w, err)))
            goto fail;
    } else {
        if ((rc = tar_start(w, err)))
            goto fail;
        if (lstat(old, &st) == 0) {
            if ((rc = adopt_tar(w, old, err)))
                goto fail;
            unlink(old);
        }
    }
    w->done = w->recovered;
    free(old);
    *out = w;
    return 0;
fail:
    free(old);
    airlock_writer_free(w);
    return rc;
}

const char *airlock_writer_partial(const struct airlock_writer *w, uint64_t *blobs,
                                   uint64_t *recovered, uint64_t *recovered_bytes)
{
    if (blobs)
        *blobs = w->done;
    if (recovered)
        *recovered = w->recovered;
    if (recovered_bytes)
        *recovered_bytes = w->recovered_bytes;
    return w->resumable ? w->tmp : NULL;
}

/* The blob being written (push mode): a file of the directory form, or a tar entry. */
struct cur_blob {
    int active;
    int extra; /* not a blob: no digest check, not in the table */
    int fd;
    char name[100];
    char part[110]; /* the directory form writes here, renamed to name once complete */
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size, have;
    struct airlock_sha256 *h;
};

static void blob_abort(struct airlock_writer *w)
{
    struct cur_blob *c = w->cur;
    if (!c || !c->active)
        return;
    if (c->fd >= 0) {
        close(c->fd);
        unlinkat(w->fd, c->part, 0);
    }
    airlock_sha256_free(c->h);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

int airlock_writer_blob_begin(struct airlock_writer *w, const char *digest, uint64_t size,
                              struct airlock_error **err)
{
    int rc = airlock_digest_check(digest, err);
    if (rc)
        return rc;
    if (!w->cur && !(w->cur = calloc(1, sizeof(*w->cur))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct cur_blob *c = w->cur;
    blob_abort(w);
    c->fd = -1;
    snprintf(c->name, sizeof(c->name), "blobs/sha256/%s", airlock_digest_hex(digest));
    snprintf(c->part, sizeof(c->part), "%s.part", c->name);
    memcpy(c->digest, digest, AIRLOCK_DIGEST_SIZE);
    c->size = size;
    c->have = 0;
    if ((rc = airlock_sha256_new(&c->h, err)))
        return rc;
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        c->fd = openat(w->fd, c->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->fd < 0) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/%s'", w->tmp,
                                         c->name);
            airlock_sha256_free(c->h);
            c->h = NULL;
            return rc;
        }
    } else if ((rc = tarw_file_begin(w->t, c->name, size, err))) {
        airlock_sha256_free(c->h);
        c->h = NULL;
        return rc;
    }
    c->active = 1;
    return 0;
}

int writer_extra_begin(struct airlock_writer *w, const char *name, uint64_t size,
                       struct airlock_error **err)
{
    if (w->fmt == AIRLOCK_FORMAT_DIR)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': extra entries are for tars", w->path);
    if (!w->cur && !(w->cur = calloc(1, sizeof(*w->cur))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct cur_blob *c = w->cur;
    blob_abort(w);
    c->fd = -1;
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->digest, sizeof(c->digest), "%s", name);
    c->size = size;
    c->have = 0;
    int rc = airlock_sha256_new(&c->h, err);
    if (!rc && (rc = tarw_file_begin(w->t, c->name, size, err))) {
        airlock_sha256_free(c->h);
        c->h = NULL;
    }
    if (rc)
        return rc;
    c->active = 1;
    c->extra = 1;
    return 0;
}

int airlock_writer_blob_data(void *ctx, const void *p, size_t n, struct airlock_error **err)
{
    struct airlock_writer *w = ctx;
    struct cur_blob *c = w->cur;
    if (!c || !c->active)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "no blob is being written");
    if (airlock_cancelled()) /* SIGINT: stop between chunks, unwind as on any error */
        return airlock_cancel_check(err);
    if (c->have + n > c->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': more than its declared %llu bytes",
                                 c->digest, (unsigned long long)c->size);
    airlock_sha256_update(c->h, p, n);
    c->have += n;
    if (c->fd >= 0) {
        int r = core_write_all(c->fd, p, n);
        return r ? airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s/%s'", w->tmp, c->name)
                 : 0;
    }
    return tarw_file_data(w->t, p, n, err);
}

int airlock_writer_blob_end(struct airlock_writer *w, struct airlock_error **err)
{
    struct cur_blob *c = w->cur;
    int rc = 0;
    char actual[AIRLOCK_DIGEST_SIZE];
    if (!c || !c->active)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "no blob is being written");
    if (c->have != c->size) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': %llu bytes, expected %llu",
                               c->digest, (unsigned long long)c->have,
                               (unsigned long long)c->size);
        goto out;
    }
    airlock_sha256_final(c->h, actual);
    if (c->extra) {
        if ((rc = tarw_file_end(w->t, err)))
            goto out;
        airlock_sha256_free(c->h);
        memset(c, 0, sizeof(*c));
        c->fd = -1;
        return 0;
    }
    if (strcmp(actual, c->digest)) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "blob '%s': content does not match its digest (hashes to '%s')",
                               c->digest, actual);
        goto out;
    }
    if (c->fd >= 0 && (fsync(c->fd) < 0 || renameat(w->fd, c->part, w->fd, c->name) < 0)) {
        rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "sync '%s/%s'", w->tmp, c->name);
        goto out;
    }
    if (c->fd < 0 && (rc = tarw_file_end(w->t, err)))
        goto out;
    if (core_dmap_put(&w->added, c->digest, 1))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    else
        w->done++;
out:
    if (rc) {
        blob_abort(w);
        return rc;
    }
    if (c->fd >= 0)
        close(c->fd);
    airlock_sha256_free(c->h);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    return 0;
}

int airlock_writer_add_blob(struct airlock_writer *w, const char *digest, uint64_t size,
                            airlock_read_fn read, void *read_ctx, struct airlock_error **err)
{
    int rc = airlock_digest_check(digest, err);
    if (rc)
        return rc;
    if (airlock_writer_has(w, digest))
        return 0;
    if ((rc = airlock_writer_blob_begin(w, digest, size, err)))
        return rc;
    for (;;) {
        size_t got = 0;
        if ((rc = airlock_cancel_check(err)) ||
            (rc = read(read_ctx, w->buf, COPY_CHUNK, &got, err)))
            break;
        if (!got)
            break;
        if ((rc = airlock_writer_blob_data(w, w->buf, got, err)))
            break;
    }
    if (rc) {
        blob_abort(w);
        return rc;
    }
    return airlock_writer_blob_end(w, err);
}

/* ---- parallel slots ----------------------------------------------------------------------- */

struct airlock_writer_slot {
    struct airlock_writer *w;
    int fd;          /* tar: the bundle (not ours); dir: the blob's file */
    int own_fd;
    uint64_t offset; /* tar: where the data goes */
    char name[100];
    char part[110];
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size, have;
    struct airlock_sha256 *h;
    int extra; /* not a blob: checked for its size only */
};

int airlock_writer_parallel(const struct airlock_writer *w)
{
    return w->fmt == AIRLOCK_FORMAT_DIR || w->fmt == AIRLOCK_FORMAT_TAR;
}

int airlock_writer_slot_open(struct airlock_writer *w, const char *digest, uint64_t size,
                             struct airlock_writer_slot **out, struct airlock_error **err)
{
    int rc = airlock_digest_check(digest, err);
    if (rc)
        return rc;
    if (!airlock_writer_parallel(w))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': this form is written in order",
                                 w->path);
    struct airlock_writer_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    s->w = w;
    s->fd = -1;
    snprintf(s->name, sizeof(s->name), "blobs/sha256/%s", airlock_digest_hex(digest));
    snprintf(s->part, sizeof(s->part), "%s.part", s->name);
    memcpy(s->digest, digest, AIRLOCK_DIGEST_SIZE);
    s->size = size;
    if ((rc = airlock_sha256_new(&s->h, err)))
        goto fail;
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        s->own_fd = 1; /* its file is made by the first write: not thousands open at once */
    } else {
        if ((rc = tarw_reserve(w->t, s->name, size, &s->offset, err)))
            goto fail;
        s->fd = w->fd;
    }
    if (core_dmap_put(&w->added, digest, 1)) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    airlock_writer_slot_free(s);
    return rc;
}

int writer_slot_open_extra(struct airlock_writer *w, const char *name, uint64_t size,
                           struct airlock_writer_slot **out, struct airlock_error **err)
{
    if (w->fmt != AIRLOCK_FORMAT_TAR)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': extra entries are for plain tars",
                                 w->path);
    struct airlock_writer_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    s->w = w;
    s->extra = 1;
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->digest, sizeof(s->digest), "%s", name);
    s->size = size;
    int rc = airlock_sha256_new(&s->h, err);
    if (!rc)
        rc = tarw_reserve(w->t, s->name, size, &s->offset, err);
    if (rc) {
        airlock_writer_slot_free(s);
        return rc;
    }
    s->fd = w->fd;
    *out = s;
    return 0;
}

int airlock_writer_slot_data(void *ctx, const void *p, size_t n, struct airlock_error **err)
{
    struct airlock_writer_slot *s = ctx;
    if (s->have + n > s->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': more than its declared %llu bytes",
                                 s->digest, (unsigned long long)s->size);
    if (s->own_fd && s->fd < 0 &&
        (s->fd = openat(s->w->fd, s->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/%s'", s->w->tmp,
                                       s->part);
    airlock_sha256_update(s->h, p, n);
    const char *c = p;
    size_t left = n;
    while (left) {
        ssize_t k = s->own_fd ? write(s->fd, c, left)
                              : pwrite(s->fd, c, left, (off_t)(s->offset + s->have));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return airlock_error_set_errno(err, AIRLOCK_EOS, k < 0 ? errno : EIO, "write '%s%s%s'",
                                           s->w->tmp, s->own_fd ? "/" : "",
                                           s->own_fd ? s->name : "");
        c += k;
        left -= (size_t)k;
        s->have += (uint64_t)k;
    }
    return 0;
}

int airlock_writer_slot_close(struct airlock_writer_slot *s, struct airlock_error **err)
{
    char actual[AIRLOCK_DIGEST_SIZE];
    if (s->have != s->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': %llu bytes, expected %llu",
                                 s->digest, (unsigned long long)s->have,
                                 (unsigned long long)s->size);
    airlock_sha256_final(s->h, actual);
    if (s->extra)
        return 0;
    if (strcmp(actual, s->digest))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "blob '%s': content does not match its digest (hashes to '%s')",
                                 s->digest, actual);
    if (s->own_fd && s->fd < 0 && /* an empty blob */
        (s->fd = openat(s->w->fd, s->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/%s'", s->w->tmp,
                                       s->part);
    if (s->own_fd && (fsync(s->fd) < 0 || renameat(s->w->fd, s->part, s->w->fd, s->name) < 0))
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "sync '%s/%s'", s->w->tmp,
                                       s->name);
    __atomic_add_fetch(&s->w->done, 1, __ATOMIC_RELAXED);
    return 0;
}

void airlock_writer_slot_free(struct airlock_writer_slot *s)
{
    if (!s)
        return;
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    airlock_sha256_free(s->h);
    free(s);
}

int airlock_writer_add_bytes(struct airlock_writer *w, const void *p, size_t n, const char *digest,
                             char out_digest[AIRLOCK_DIGEST_SIZE], struct airlock_error **err)
{
    char d[AIRLOCK_DIGEST_SIZE];
    int rc;
    if (digest)
        memcpy(d, digest, AIRLOCK_DIGEST_SIZE);
    else if ((rc = airlock_sha256_digest(d, p, n, err)))
        return rc;
    struct airlock_mem_reader m = {p, n, 0};
    if ((rc = airlock_writer_add_blob(w, d, n, airlock_mem_read, &m, err)))
        return rc;
    if (out_digest)
        memcpy(out_digest, d, AIRLOCK_DIGEST_SIZE);
    return 0;
}

static int write_dir_file(struct airlock_writer *w, const char *name, const char *p, size_t n,
                          struct airlock_error **err)
{
    _cleanup_close_ int fd = openat(w->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s/%s'", w->tmp, name);
    int r = core_write_all(fd, p, n);
    if (!r && fsync(fd) < 0)
        r = -errno;
    return r ? airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s/%s'", w->tmp, name) : 0;
}

static int sync_parent(const char *path)
{
    char *c = strdup(path);
    if (!c)
        return -1;
    int fd = open(dirname(c), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(c);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int writer_finish(struct airlock_writer *w, const char *index_json, size_t len,
                  uint64_t *size, struct airlock_error **err)
{
    if (w->fmt == AIRLOCK_FORMAT_DIR)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': finish is for tars", w->path);
    int rc;
    if ((rc = tarw_file_begin(w->t, "index.json", len, err)) ||
        (rc = tarw_file_data(w->t, index_json, len, err)) || (rc = tarw_file_end(w->t, err)) ||
        (rc = tarw_finish(w->t, err)))
        return rc;
    if (fsync(w->fd) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "sync '%s'", w->tmp);
    struct stat st;
    if (fstat(w->fd, &st) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "stat '%s'", w->tmp);
    *size = (uint64_t)st.st_size;
    w->finished = 1;
    return 0;
}

int writer_publish(struct airlock_writer *w, struct airlock_error **err)
{
    if (!w->finished)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s' is not finished", w->path);
    if (rename(w->tmp, w->path) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "rename '%s' to '%s'", w->tmp,
                                       w->path);
    temp_unregister(w->tmp);
    sync_parent(w->path);
    w->committed = 1;
    return 0;
}

int airlock_writer_commit(struct airlock_writer *w, const char *index_json, size_t len,
                          struct airlock_error **err)
{
    int rc;
    if (w->fmt == AIRLOCK_FORMAT_DIR) {
        if ((rc = write_dir_file(w, "oci-layout", OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), err)) ||
            (rc = write_dir_file(w, "index.json", index_json, len, err)))
            return rc;
        int bfd = openat(w->fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd >= 0) {
            fsync(bfd);
            close(bfd);
        }
        fsync(w->fd);
        struct stat st;
        if (lstat(w->path, &st) == 0) {
            /* Swap the new tree in atomically, then remove the old one. */
            if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->path, RENAME_EXCHANGE) < 0)
                return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "replace '%s'", w->path);
            airlock_remove_tree(w->tmp);
        } else if (rename(w->tmp, w->path) < 0)
            return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "rename '%s' to '%s'", w->tmp,
                                           w->path);
    } else {
        /* a signer appending in place holds this lock: wait for it, then replace */
        int dfd = w->lock_held ? -1 : open(w->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (dfd >= 0)
            flock(dfd, LOCK_EX);
        rc = 0;
        if ((rc = tarw_file_begin(w->t, "index.json", len, err)) ||
            (rc = tarw_file_data(w->t, index_json, len, err)) || (rc = tarw_file_end(w->t, err)) ||
            (rc = tarw_finish(w->t, err))) {
            if (dfd >= 0)
                close(dfd);
            return rc;
        }
        if (!rc && fsync(w->fd) < 0)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "sync '%s'", w->tmp);
        if (!rc && rename(w->tmp, w->path) < 0)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "rename '%s' to '%s'", w->tmp,
                                         w->path);
        if (dfd >= 0)
            close(dfd);
        if (rc)
            return rc;
        temp_unregister(w->tmp);
    }
    sync_parent(w->path);
    w->committed = 1;
    return 0;
}

void airlock_writer_free(struct airlock_writer *w)
{
    if (!w)
        return;
    if (!w->committed && w->tmp && !w->resumable) {
        if (w->fmt == AIRLOCK_FORMAT_DIR)
            airlock_remove_tree(w->tmp);
        else if (w->fd >= 0) {
            unlink(w->tmp);
            temp_unregister(w->tmp);
        }
    }
    blob_abort(w);
    free(w->cur);
    tarw_free(w->t);
    if (w->fd >= 0)
        close(w->fd);
    core_dmap_release(&w->added);
    layout_dest_unlock(w->lock_fd, w->lock_path);
    free(w->buf);
    free(w->tmp);
    free(w->path);
    free(w);
}

/* ---- forms -------------------------------------------------------------------------------- */

int airlock_format_parse(enum airlock_format *out, const char *s, struct airlock_error **err)
{
    if (!strcmp(s, "dir"))
        *out = AIRLOCK_FORMAT_DIR;
    else if (!strcmp(s, "tar"))
        *out = AIRLOCK_FORMAT_TAR;
    else if (!strcmp(s, "tar.zst") || !strcmp(s, "zst") || !strcmp(s, "tzst"))
        *out = AIRLOCK_FORMAT_TAR_ZST;
    else
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "unknown format '%s' (want dir, tar or tar.zst)", s);
    return 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

enum airlock_format airlock_format_for_path(const char *path)
{
    struct stat st;
    if (ends_with(path, "/") || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return AIRLOCK_FORMAT_DIR;
    if (ends_with(path, ".tar.zst") || ends_with(path, ".tzst") || ends_with(path, ".zst"))
        return AIRLOCK_FORMAT_TAR_ZST;
    if (ends_with(path, ".tar"))
        return AIRLOCK_FORMAT_TAR;
    return AIRLOCK_FORMAT_TAR;
}

const char *airlock_format_name(enum airlock_format f)
{
    switch (f) {
    case AIRLOCK_FORMAT_DIR:
        return "dir";
    case AIRLOCK_FORMAT_TAR:
        return "tar";
    case AIRLOCK_FORMAT_TAR_ZST:
        return "tar.zst";
    default:
        return "auto";
    }
}

int airlock_space_check(const char *dest, uint64_t need, struct airlock_error **err)
{
    char *copy = strdup(dest), *dir = copy ? dirname(copy) : NULL;
    struct stat st;
    struct statvfs vfs;
    /* a directory bundle that exists is written inside itself */
    const char *at = stat(dest, &st) == 0 && S_ISDIR(st.st_mode) ? dest : dir;
    int rc = 0;
    if (at && statvfs(at, &vfs) == 0) {
        uint64_t free_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
        uint64_t want = need + AIRLOCK_SPACE_MARGIN(need);
        if (free_bytes < want) {
            char a[16], b[16];
            airlock_format_size(a, want);
            airlock_format_size(b, free_bytes);
            rc = airlock_error_set(err, AIRLOCK_ENOSPACE,
                                   "not enough free space for '%s': it needs %s (%llu bytes, with "
                                   "a margin), '%s' has %s (%llu bytes) free; nothing was written",
                                   dest, a, (unsigned long long)want, at, b,
                                   (unsigned long long)free_bytes);
        }
    }
    free(copy);
    return rc;
}
