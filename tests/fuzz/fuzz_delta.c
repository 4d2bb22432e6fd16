/* Fuzzes the two delta parsers: a bundle's delta record (airlock_delta_parse, then lookups of
 * each entry) and an inventory file (airlock_inventory_parse: checksum, sorted lists). The
 * first byte picks which. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    const char *text = (const char *)data + 1;
    struct airlock_error *e = NULL;
    if (data[0] & 1) {
        struct airlock_inventory *inv = NULL;
        if (!airlock_inventory_parse(&inv, text, size - 1, "fuzz.json", &e)) {
            const char *from = NULL;
            airlock_inventory_has(inv, "sha256:0000000000000000000000000000000000000000000000000000000000000000", &from);
            const char *names[4];
            airlock_inventory_holders(inv, "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", names, 4);
            airlock_inventory_free(inv);
        }
    } else {
        struct airlock_delta *d = NULL;
        if (!airlock_delta_parse(&d, text, size - 1, "fuzz", &e)) {
            for (size_t i = 0; i < d->n; i++)
                if (airlock_delta_find(d, d->omitted[i].digest) != &d->omitted[i])
                    __builtin_trap();
            free(airlock_delta_format(d));
            airlock_delta_free(d);
        }
    }
    airlock_error_free(e);
    return 0;
}
