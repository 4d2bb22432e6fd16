#include "airlock/core.h"
#include "core_int.h"

#include <string.h>

static size_t dmap_hash(const char *d)
{
    /* Digests are uniformly distributed: 16 hex digits of the hash are plenty. */
    size_t h = 0;
    for (int i = 7; i < 23 && d[i]; i++)
        h = h * 16 + (size_t)(d[i] <= '9' ? d[i] - '0' : (d[i] | 0x20) - 'a' + 10);
    return h;
}

size_t *core_dmap_get(const struct core_dmap *m, const char *digest)
{
    if (!m->cap)
        return NULL;
    for (size_t i = dmap_hash(digest) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].key[0])
            return NULL;
        if (!strcmp(m->slots[i].key, digest))
            return &m->slots[i].value;
    }
}

int core_dmap_put(struct core_dmap *m, const char *digest, size_t value)
{
    size_t *v = core_dmap_get(m, digest);
    if (v) {
        *v = value;
        return 0;
    }
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct core_dmap_slot *s = calloc(cap, sizeof(*s));
        if (!s)
            return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].key[0])
                continue;
            size_t j = dmap_hash(m->slots[i].key) & (cap - 1);
            while (s[j].key[0])
                j = (j + 1) & (cap - 1);
            s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->cap = cap;
    }
    size_t j = dmap_hash(digest) & (m->cap - 1);
    while (m->slots[j].key[0])
        j = (j + 1) & (m->cap - 1);
    strncpy(m->slots[j].key, digest, AIRLOCK_DIGEST_SIZE - 1);
    m->slots[j].key[AIRLOCK_DIGEST_SIZE - 1] = '\0';
    m->slots[j].value = value;
    m->n++;
    return 0;
}

void core_dmap_release(struct core_dmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}
