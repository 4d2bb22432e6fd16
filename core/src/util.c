#include "airlock/core.h"
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

void airlock_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}
