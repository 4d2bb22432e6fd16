/* Fuzzes WWW-Authenticate challenge parsing (auth_param): the parameters airlock reads from a
 * registry's 401 (realm, service, scope, error), as fetch_token and registry_status_error do. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *ch = malloc(size + 1);
    if (!ch)
        return 0;
    memcpy(ch, data, size);
    ch[size] = '\0';
    static const char *names[] = {"realm", "service", "scope", "error", "Realm", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *v = auth_param(ch, names[i]);
        if (v && strlen(v) > size)
            abort(); /* a value is a piece of the challenge */
        free(v);
    }
    free(ch);
    return 0;
}
