/* Fuzzes auth files (auth_creds_add_text and auth_creds_for: containers auth.json / docker
 * config.json with auths keyed by registry, namespace or repository, credHelpers, credsStore) and credential-helper answers (auth_helper_parse). Input: the auth
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
    static const char *repos[] = {NULL, "library/nginx", "ns/sub/repo", "ns", ""};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct auth_creds *c = NULL;
        struct airlock_error *err = NULL;
        if (auth_creds_new(&c, hosts[i], fake_helper, &err) ||
            auth_creds_add_text(c, text, "auth.json", &err)) {
            auth_creds_free(c);
            airlock_error_free(err);
            continue;
        }
        for (size_t k = 0; k < sizeof(repos) / sizeof(repos[0]); k++) {
            const char *user = NULL, *pass = NULL;
            int rc = auth_creds_for(c, repos[k], &user, &pass, &err);
            if (rc == 0 && (!user || !pass))
                abort();
            if (rc && (user || pass))
                abort(); /* no half answer */
            airlock_error_free(err);
            err = NULL;
        }
        auth_creds_free(c);
    }
    helper_out = NULL;
    free(text);
    return 0;
}
