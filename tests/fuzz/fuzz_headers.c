/* Fuzzes response header handling: the input is a header block (one header a line, as libcurl
 * hands them over one by one), taken by http_header_line; then what the upload path makes of
 * Location (abs_url) and Range (upload_range_offset), and the challenge's parameters. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct http_response r;
    memset(&r, 0, sizeof(r));
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        /* libcurl's buffer is not NUL-terminated: give the line its own allocation */
        char *line = malloc(n ? n : 1);
        if (!line)
            break;
        memcpy(line, p, n);
        http_header_line(&r, line, n);
        free(line);
        p += n;
    }
    int64_t off = upload_range_offset(r.range);
    if (off < -1)
        abort();
    struct airlock_registry reg;
    memset(&reg, 0, sizeof(reg));
    reg.base = "https://registry.example:5000";
    char *u = abs_url(&reg, r.location);
    free(u);
    if (r.link) /* tags/list pagination */
        free(registry_link_next(r.link));
    if (r.www_authenticate) {
        free(auth_param(r.www_authenticate, "realm"));
        free(auth_param(r.www_authenticate, "error"));
    }
    http_response_release(&r);
    return 0;
}
