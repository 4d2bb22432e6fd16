/* Fuzzes auth files (auth_text_lookup: containers auth.json / docker config.json with auths,
 * credHelpers, credsStore) and credential-helper answers (auth_helper_parse). Input: the auth
 * file, optionally followed by "\n--helper--\n" and what docker-credential-<name> get prints;
 * no helper is run: a stand-in parses that output. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

static const char *helper_out;
static size_t helper_len;

static int fake_helper(char **user, char **pass, const char *helper, const char *host,
                       struct airlock_error **err)
{
    (void)helper;
    (void)host;
    (void)err;
    if (!helper_out)
        return AIRLOCK_ENOTFOUND;
    return auth_helper_parse(user, pass, helper_out, helper_len) ? AIRLOCK_ENOTFOUND : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n--helper--\n";
    if (size > 1 << 20) /* transfer_read_file's cap for an auth file */
        return 0;
    const char *in = (const char *)data;
    const char *s = memmem(in, size, sep, sizeof(sep) - 1);
    size_t flen = s ? (size_t)(s - in) : size;
    char *text = malloc(flen + 1);
    if (!text)
        return 0;
    memcpy(text, in, flen);
    text[flen] = '\0';
    helper_out = s ? s + sizeof(sep) - 1 : NULL;
    helper_len = s ? size - flen - (sizeof(sep) - 1) : 0;
    static const char *hosts[] = {"docker.io", "registry-1.docker.io", "ghcr.io",
                                  "registry.example:5000", ""};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char *user = NULL, *pass = NULL;
        struct airlock_error *err = NULL;
        int rc = auth_text_lookup(&user, &pass, text, "auth.json", hosts[i], fake_helper, &err);
        if (rc == 0 && (!user || !pass))
            abort();
        if (rc && (user || pass))
            abort(); /* no half answer */
        free(user);
        free(pass);
        airlock_error_free(err);
    }
    helper_out = NULL;
    free(text);
    return 0;
}
