#include "airlock/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int airlock_buf_append(struct airlock_buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return AIRLOCK_EINTEGRITY;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d;
        if (b->secret) { /* no realloc: it would leave the old copy behind unwiped */
            if ((d = malloc(cap)) && b->data) {
                memcpy(d, b->data, b->len);
                airlock_wipe(b->data, b->cap);
                free(b->data);
            }
        } else
            d = realloc(b->data, cap);
        if (!d)
            return AIRLOCK_EOS;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int airlock_buf_printf(struct airlock_buf *b, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AIRLOCK_EOS;
    int rc = airlock_buf_append(b, s, (size_t)n);
    free(s);
    return rc;
}

char *airlock_buf_detach(struct airlock_buf *b, size_t *len)
{
    char *d = b->data;
    if (!d)
        d = calloc(1, 1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void airlock_buf_release(struct airlock_buf *b)
{
    if (b->secret && b->data)
        airlock_wipe(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
