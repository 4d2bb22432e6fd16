/* The parts of a request serve parses itself (libmicrohttpd parses HTTP): the Range header
 * and the route of a /v2/ path. No libmicrohttpd here, so the fuzz target links it alone. */
#include "serve_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "bytes=A-B", "bytes=A-", "bytes=-N": 0 and [start, end); 1 when unsatisfiable; -1 to ignore
 * (absent, malformed, several ranges: the whole blob is sent) */
int serve_range_parse(const char *h, uint64_t size, uint64_t *start, uint64_t *end)
{
    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return -1;
    const char *p = h + 6;
    char *e;
    if (*p == '-') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        errno = 0;
        unsigned long long n = strtoull(p + 1, &e, 10);
        if (*e || errno)
            return -1;
        if (!n || !size)
            return 1;
        *start = n >= size ? 0 : size - n;
        *end = size;
        return 0;
    }
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    unsigned long long a = strtoull(p, &e, 10);
    if (*e != '-' || errno)
        return -1;
    unsigned long long b = size ? size - 1 : 0;
    if (e[1]) {
        char *e2;
        if (e[1] < '0' || e[1] > '9')
            return -1;
        b = strtoull(e + 1, &e2, 10);
        if (*e2 || errno || b < a)
            return -1;
        if (b >= size)
            b = size ? size - 1 : 0;
    }
    if (a >= size)
        return 1;
    *start = a;
    *end = b + 1;
    return 0;
}

/* path = /v2/<name>/<kind>/<rest>: the name (malloc'd) and rest, when rest has no '/' */
char *serve_route_split(const char *path, const char *kind, const char **rest)
{
    const char *p = path + 4, *hit = NULL, *k;
    size_t kl = strlen(kind);
    for (const char *at = p; (k = strstr(at, kind)); at = k + 1)
        hit = k;
    if (!hit || hit == p || strchr(hit + kl, '/') || !hit[kl])
        return NULL;
    *rest = hit + kl;
    return strndup(p, (size_t)(hit - p));
}

