/* Fuzzes what airlock serve parses itself from a request: the Range header against blob sizes
 * (0, 1, a small one, the largest) and the routes of a /v2/ path. Checks that a satisfiable
 * range lies inside the blob and that a route splits its path into name, kind and rest. */
#include "serve_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    static const uint64_t sizes[] = {0, 1, 1000, UINT64_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t a = 0, b = 0;
        int r = serve_range_parse(s, sizes[i], &a, &b);
        if (r < -1 || r > 1 || (r == 0 && !(a < b && b <= sizes[i])))
            abort();
    }
    static const char *const kinds[] = {"/manifests/", "/blobs/", "/referrers/"};
    for (size_t k = 0; k < 3 && !strncmp(s, "/v2/", 4); k++) {
        const char *rest = NULL;
        char *name = serve_route_split(s, kinds[k], &rest);
        if (name) {
            size_t nl = strlen(name), kl = strlen(kinds[k]);
            if (!nl || !rest || !*rest || strchr(rest, '/') || strncmp(s + 4, name, nl) ||
                strncmp(s + 4 + nl, kinds[k], kl) || s + 4 + nl + kl != rest)
                abort();
            free(name);
        }
    }
    free(s);
    return 0;
}
