/* Fuzzes sigstore bundle parsing (media type, members, base64), the in-toto statement parser
 * on the envelope's payload and on the input itself, and the whole verification with a fixed
 * key (fails at the signature, after everything before it was parsed). */
#include "airlock/sign.h"

#include <stdint.h>
#include <string.h>

static const char pub[] = "-----BEGIN PUBLIC KEY-----\n"
                          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECYtspttZZ7e9PMd8wyU2CWDlpEXN\n"
                          "bqTve0ZBuOXu9xTjtm7Z107cVLCCk96Ma4D0tesnKeCPwrcspLz7GNZJSw==\n"
                          "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct airlock_dsse d;
    struct airlock_intoto_statement st;
    if (airlock_sigstore_bundle_parse(&d, (const char *)data, size, "fuzz", NULL) == 0) {
        if (airlock_intoto_statement_parse(&st, d.payload, d.payload_len, NULL) == 0)
            airlock_intoto_statement_release(&st);
        airlock_dsse_release(&d);
    }
    if (airlock_intoto_statement_parse(&st, data, size, NULL) == 0)
        airlock_intoto_statement_release(&st);
    static struct airlock_pubkey *k;
    if (!k && airlock_pubkey_parse(&k, pub, strlen(pub), "fuzz key", NULL))
        return 0;
    struct airlock_sigstore_claim c;
    if (airlock_sigstore_verify(&c, (const char *)data, size, k,
                                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                "fuzz", NULL) == 0)
        airlock_sigstore_claim_release(&c);
    return 0;
}
