/* Fuzzes the token server's answer (auth_token_parse): {"token": .., "access_token": ..,
 * "expires_in": .., "issued_at": ..}. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) /* http.c keeps at most this much of a body */
        return 0;
    char *t = NULL;
    auth_token_parse(&t, size ? (const char *)data : "", size);
    free(t);
    return 0;
}
