/* Fuzzes the attestation parsers: a bare DSSE envelope (an .att layer), and the predicate
 * taken back out of a statement by its bytes (core/src/attest.c). */
#include "airlock/sign.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct airlock_dsse d;
    if (airlock_dsse_envelope_parse(&d, (const char *)data, size, "fuzz", NULL) == 0) {
        char *p = NULL;
        size_t n = 0;
        int is_string = 0;
        if (airlock_intoto_predicate(&p, &n, &is_string, (const char *)d.payload, d.payload_len,
                                     NULL) == 0)
            free(p);
        airlock_dsse_release(&d);
    }
    char *p = NULL;
    size_t n = 0;
    int is_string = 0;
    if (airlock_intoto_predicate(&p, &n, &is_string, (const char *)data, size, NULL) == 0) {
        if (!is_string && n > size)
            abort(); /* the bytes come from the input */
        free(p);
    }
    return 0;
}
