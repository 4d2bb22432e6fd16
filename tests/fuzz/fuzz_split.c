/* Fuzzes the description of a split set every part carries (split_parse of
 * airlock-split.json: set, part, parts, partSize, blobs with parts or pieces, contents). */
#include "layout_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    char *text = malloc(size + 1); /* bundle_load_small_at NUL-terminates what it reads */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct bundle_split *s = NULL;
    struct airlock_error *err = NULL;
    if (split_parse(&s, text, size, "release.tar.001", &err) == 0)
        split_free(s);
    airlock_error_free(err);
    free(text);
    return 0;
}
