/* Fuzzes the manifest/index parser and the image summary walk over parsed descriptors. */
#include "airlock/core.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct airlock_oci *m = NULL;
    if (airlock_oci_parse(&m, (const char *)data, size, "fuzz", NULL) == 0) {
        for (size_t i = 0; i < m->n_layers; i++) {
            struct airlock_descriptor c;
            if (airlock_descriptor_copy(&c, &m->layers[i], NULL) == 0)
                airlock_descriptor_release(&c);
        }
        airlock_oci_free(m);
    }
    return 0;
}
