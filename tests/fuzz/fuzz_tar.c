/* Fuzzes tar entry handling end to end: the input is written to a file and opened as a bundle
 * (plain or compressed, whatever libarchive detects), then verified. */
#include "airlock/layout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/airlock-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct airlock_bundle *b = NULL;
    if (airlock_bundle_open(&b, path, AIRLOCK_OPEN_HASH, NULL) == 0) {
        struct airlock_verify_report *r = NULL;
        struct airlock_verify_opts o = {1, NULL, NULL};
        if (airlock_bundle_verify(&r, b, &o, NULL) == 0)
            airlock_verify_report_free(r);
        struct airlock_catalog *c = NULL;
        if (airlock_catalog_load(&c, b, NULL) == 0)
            airlock_catalog_free(c);
        airlock_bundle_free(b);
    }
    unlink(path);
    return 0;
}
