/* Fuzzes image reference parsing: a parsed reference must format and re-parse to itself. */
#include "airlock/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct airlock_ref r;
    if (airlock_ref_parse(&r, s, NULL) == 0) {
        char *f = airlock_ref_format(&r);
        struct airlock_ref r2;
        if (f && airlock_ref_parse(&r2, f, NULL) == 0) {
            char *f2 = airlock_ref_format(&r2);
            if (!f2 || strcmp(f, f2))
                abort(); /* normalization must be idempotent */
            free(f2);
            airlock_ref_release(&r2);
        } else if (f)
            abort();
        free(f);
        airlock_ref_release(&r);
    }
    free(s);
    return 0;
}
