/* Fuzzes registry error handling (registry_status_error): a distribution error body
 * {"errors":[{"code":..,"message":..,"detail":..}]} with a status and a WWW-Authenticate
 * challenge. Input: one status byte, then the challenge up to the first newline (empty: none),
 * then the body. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long status[] = {400, 401, 403, 404, 405, 409, 412, 416, 429, 500, 502, 503, 200,
                                  202, 0, 999};
    if (size < 1 || size > 1 << 17)
        return 0;
    struct http_response r;
    memset(&r, 0, sizeof(r));
    r.status = status[data[0] % (sizeof(status) / sizeof(status[0]))];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl && nl > p)
        r.www_authenticate = strndup(p, (size_t)(nl - p));
    if (nl)
        p = nl + 1;
    else
        p = end;
    r.body.max = 65536;
    /* a body larger than http.c keeps is cut there */
    if (p < end && airlock_buf_append(&r.body, p, (size_t)(end - p) < 65536 ? (size_t)(end - p) : 65536))
        abort();
    struct airlock_error *err = NULL;
    int rc = registry_status_error(&err, &r, "push manifest 'sha256:0' to 'reg/repo'");
    if (!rc || !err || err->code != rc)
        abort(); /* always an error, and the one it says */
    airlock_error_free(err);
    http_response_release(&r);
    return 0;
}
