/* The libarchive adapter: every call into libarchive lives in this file. */
#include "layout_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct arch_reader {
    struct archive *a;
    const char *path;
    const char *entry;
    uint64_t left;
};

int arch_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    struct arch_reader *r = ctx;
    *got = 0;
    if (airlock_cancelled()) /* SIGINT: stop between chunks, unwind as on any error */
        return airlock_cancel_check(err);
    if (r->left == 0)
        return 0;
    if (cap > r->left)
        cap = (size_t)r->left;
    la_ssize_t n = archive_read_data(r->a, buf, cap);
    if (n < 0)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry '%s': %s", r->path,
                                 r->entry, archive_error_string(r->a));
    if (n == 0)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry '%s': truncated",
                                 r->path, r->entry);
    r->left -= (uint64_t)n;
    *got = (size_t)n;
    return 0;
}

int arch_name_normalize(char **out, const char *raw, const char *archive,
                        struct airlock_error **err)
{
    if (raw[0] == '/')
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s': entry '%.200s': absolute path refused", archive, raw);
    size_t n = strlen(raw);
    if (n > 4096)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry name too long", archive);
    char *o = malloc(n + 1);
    if (!o)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t len = 0;
    const char *p = raw;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t cl = e ? (size_t)(e - p) : strlen(p);
        if (cl == 2 && p[0] == '.' && p[1] == '.') {
            free(o);
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "'%s': entry '%.200s': '..' in path refused", archive, raw);
        }
        if (cl && !(cl == 1 && p[0] == '.')) {
            if (len)
                o[len++] = '/';
            memcpy(o + len, p, cl);
            len += cl;
        }
        p += cl;
        if (*p == '/')
            p++;
    }
    o[len] = '\0';
    *out = o;
    return 0;
}

static struct archive *new_reader(void)
{
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    return a;
}

int arch_is_tar(const char *path, int *compressed)
{
    return arch_probe(path, compressed, NULL, 0);
}

int arch_probe(const char *path, int *compressed, char *filter, size_t filter_len)
{
    struct archive *a = new_reader();
    if (!a)
        return 0;
    int ok = 0;
    struct archive_entry *ae;
    _cleanup_close_ int fd = -1;
    if (layout_open_regular(AT_FDCWD, path, LAYOUT_OPEN_FOLLOW, path, &fd, NULL, NULL)) {
        archive_read_free(a);
        return 0;
    }
    if (archive_read_open_fd(a, fd, 1 << 16) == ARCHIVE_OK) {
        int r = archive_read_next_header(a, &ae);
        ok = r == ARCHIVE_OK || r == ARCHIVE_WARN || r == ARCHIVE_EOF;
        if (compressed)
            *compressed = archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE;
        if (filter && filter_len) {
            const char *n = archive_filter_name(a, 0);
            snprintf(filter, filter_len, "%s", n ? n : "?");
        }
    }
    archive_read_free(a);
    return ok;
}

static enum arch_type entry_type(struct archive_entry *ae)
{
    if (archive_entry_hardlink(ae))
        return ARCH_HARDLINK;
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        return ARCH_REG;
    case AE_IFDIR:
        return ARCH_DIR;
    case AE_IFLNK:
        return ARCH_SYMLINK;
    default:
        return ARCH_OTHER;
    }
}

int arch_walk(const char *path, unsigned flags, arch_entry_fn fn, void *ctx, int *compressed,
              struct airlock_error **err)
{
    _cleanup_close_ int fd = -1;
    struct stat st;
    int orc = layout_open_regular(AT_FDCWD, path, LAYOUT_OPEN_FOLLOW, path, &fd, &st, err);
    if (orc)
        return orc;
    struct archive *a = new_reader();
    if (!a)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = 0, first = 1, comp = 0;
    uint64_t count = 0;
    struct archive_entry *ae;
    if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': not a readable archive: %s", path,
                               archive_error_string(a));
        goto out;
    }
    for (;;) {
        int r = archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char *m = archive_error_string(a);
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s%s", path,
                                   first ? "not a tar archive: " : "damaged or truncated: ",
                                   m ? m : "unknown error");
            goto out;
        }
        if (first) {
            comp = archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE;
            if (compressed)
                *compressed = comp;
            if (comp && (flags & ARCH_SEEKABLE)) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': compressed, not a plain tar",
                                       path);
                goto out;
            }
            first = 0;
        }
        if (++count > ARCH_MAX_ENTRIES) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': more than %d entries", path,
                                   ARCH_MAX_ENTRIES);
            goto out;
        }
        const char *raw = archive_entry_pathname(ae);
        if (!raw)
            raw = archive_entry_pathname_utf8(ae);
        if (!raw) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry %llu has no name", path,
                                   (unsigned long long)count);
            goto out;
        }
        if (archive_entry_sparse_count(ae) > 0) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s': entry '%.200s': sparse entries are not supported", path,
                                   raw);
            goto out;
        }
        _cleanup_free_ char *name = NULL;
        if ((rc = arch_name_normalize(&name, raw, path, err)))
            goto out;
        la_int64_t sz = archive_entry_size(ae);
        struct arch_entry e = {
            .name = name,
            .raw_name = raw,
            .type = entry_type(ae),
            .size = sz > 0 ? (uint64_t)sz : 0,
            .offset = -1,
            .link = archive_entry_hardlink(ae) ? archive_entry_hardlink(ae)
                                               : archive_entry_symlink(ae),
        };
        if (e.type != ARCH_REG)
            e.size = 0;
        if (flags & ARCH_SEEKABLE) {
            e.offset = archive_filter_bytes(a, 0);
            if (e.offset < 0 || (uint64_t)e.offset + e.size > (uint64_t)st.st_size) {
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "'%s': entry '%.200s': truncated (archive ends before its "
                                       "%llu bytes of data)",
                                       path, raw, (unsigned long long)e.size);
                goto out;
            }
        }
        if (comp && e.size > ARCH_RATIO_FLOOR &&
            e.size / ARCH_MAX_RATIO > (uint64_t)st.st_size) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "'%s': entry '%.200s' claims %llu bytes, more than %d times "
                                   "the archive's size (a decompression bomb?)",
                                   path, raw, (unsigned long long)e.size, ARCH_MAX_RATIO);
            goto out;
        }
        struct arch_reader rd = {a, path, raw, e.size};
        if ((rc = fn(ctx, &e, &rd, err)))
            goto out;
        if (comp) {
            la_int64_t out_bytes = archive_filter_bytes(a, 0);
            la_int64_t in_bytes = archive_filter_bytes(a, -1);
            if ((uint64_t)out_bytes > ARCH_RATIO_FLOOR && in_bytes > 0 &&
                out_bytes / in_bytes > ARCH_MAX_RATIO) {
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "'%s': decompresses more than %d times its size "
                                       "(a decompression bomb?)",
                                       path, ARCH_MAX_RATIO);
                goto out;
            }
        }
    }
out:
    archive_read_free(a);
    return rc;
}
