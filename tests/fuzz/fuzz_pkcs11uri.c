/* Fuzzes RFC 7512 key URI parsing (the input follows "pkcs11:"): a parsed URI's fields are
 * consistent, a refusal always says why. */
#include "airlock/pkcs11.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 8);
    if (!s)
        return 0;
    memcpy(s, "pkcs11:", 7);
    memcpy(s + 7, data, size);
    s[size + 7] = '\0';
    struct airlock_pkcs11_uri u;
    struct airlock_error *err = NULL;
    if (airlock_pkcs11_uri_parse(&u, s, &err) == 0) {
        if (!u.id && u.id_len)
            abort();
        if (u.pin_value && (strlen(u.pin_value) != u.pin_value_len ||
                            u.pin_value_len > AIRLOCK_PKCS11_MAX_PIN))
            abort(); /* text values never hold a NUL */
        if (u.pin_value && u.pin_source)
            abort();
    } else if (!err || !err->msg[0]) {
        abort();
    }
    airlock_error_free(err);
    airlock_pkcs11_uri_release(&u);
    free(s);
    return 0;
}
