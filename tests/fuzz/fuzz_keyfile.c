/* Fuzzes cosign key file reading (PEM, JSON, base64, parameters) and PEM key import. The
 * password is fixed; scrypt runs only for N values cosign uses, so inputs stay cheap enough
 * only when they fail before it: that is where the parsing lives. */
#include "airlock/sign.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct airlock_key *k = NULL;
    if (airlock_key_decrypt(&k, (const char *)data, size, "hello", 5, "fuzz", NULL) == 0)
        airlock_key_free(k);
    k = NULL;
    if (airlock_key_import_pem(&k, (const char *)data, size, "fuzz", NULL) == 0)
        airlock_key_free(k);
    struct airlock_pubkey *p = NULL;
    if (airlock_pubkey_parse(&p, (const char *)data, size, "fuzz", NULL) == 0)
        airlock_pubkey_free(p);
    return 0;
}
