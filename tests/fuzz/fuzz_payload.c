/* Fuzzes signature payload parsing (strict and lenient) and identity matching. */
#include "airlock/sign.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int strict = 0; strict < 2; strict++) {
        struct airlock_sig_payload p;
        if (airlock_sig_payload_parse(&p, (const char *)data, size, strict, NULL) == 0) {
            airlock_identity_matches(p.identity, "registry.internal/devops/nginx");
            airlock_identity_matches(p.identity, "registry.internal/devops/nginx:1.27");
            airlock_sig_payload_release(&p);
        }
    }
    return 0;
}
