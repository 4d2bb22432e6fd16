#include "airlock/core.h"

#include <ftw.h>
#include <sys/stat.h>
#include "core_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

char *core_strdup0(const char *s) { return s ? strdup(s) : NULL; }

int core_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int core_pread_all(int fd, void *p, size_t n, off_t off)
{
    char *c = p;
    while (n) {
        ssize_t r = pread(fd, c, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO; /* short file: the caller reports truncation */
        c += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

void airlock_format_size(char out[16], uint64_t n)
{
    static const char *u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    int i = 0;
    while (v >= 1000.0 && i < 5) {
        v /= 1000.0;
        i++;
    }
    if (i == 0)
        snprintf(out, 16, "%llu B", (unsigned long long)n);
    else
        snprintf(out, 16, "%.1f %s", v, u[i]);
}

int airlock_parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    int shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    case 'b': case 'B': case '\0': break;
    default: return -1;
    }
    if (shift) {
        s++;
        if (*s == 'i')
            s++;
        if (*s == 'B' || *s == 'b')
            s++;
    } else if (*s)
        s++;
    if (*s || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = v << shift;
    return 0;
}

void airlock_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void airlock_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int airlock_mem_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    (void)err;
    struct airlock_mem_reader *m = ctx;
    size_t n = cap < m->len - m->pos ? cap : m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = n;
    return 0;
}

static void tell(struct airlock_progress_reader *p, uint64_t done)
{
    struct airlock_progress ev = {p->what, p->digest, done, p->total};
    p->fn(p->fn_ctx, &ev);
}

int airlock_progress_read(void *ctx, void *buf, size_t cap, size_t *got,
                          struct airlock_error **err)
{
    struct airlock_progress_reader *p = ctx;
    if (!p->state) {
        p->state = 1;
        tell(p, 0);
    }
    int rc = p->read(p->read_ctx, buf, cap, got, err);
    if (rc || p->state == 2)
        return rc;
    p->done += *got;
    if (*got && p->done < p->total) {
        tell(p, p->done);
    } else { /* the end: the blob is done, once */
        p->state = 2;
        tell(p, p->total);
    }
    return 0;
}

int airlock_mem_seek(void *ctx, uint64_t offset, struct airlock_error **err)
{
    struct airlock_mem_reader *m = ctx;
    if (offset > m->len)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "seek past the end of %zu bytes", m->len);
    m->pos = (size_t)offset;
    return 0;
}
