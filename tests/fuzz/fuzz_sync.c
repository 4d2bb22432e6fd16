/* Fuzzes the sync job's configuration (sync_config_parse, what airlock_sync_config_load reads
 * from sync.json). Runs in a scratch directory holding "cosign.pub" (a valid public key), so
 * rules with "keys": ["cosign.pub"] get past the key and on to the rest of the rule. */
#include "transfer_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char pub[] = "-----BEGIN PUBLIC KEY-----\n"
                          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECYtspttZZ7e9PMd8wyU2CWDlpEXN\n"
                          "bqTve0ZBuOXu9xTjtm7Z107cVLCCk96Ma4D0tesnKeCPwrcspLz7GNZJSw==\n"
                          "-----END PUBLIC KEY-----\n";
static char scratch[] = "/tmp/airlock-fuzz-sync-XXXXXX";

static void cleanup(void)
{
    char path[sizeof(scratch) + 16];
    snprintf(path, sizeof(path), "%s/cosign.pub", scratch);
    unlink(path);
    rmdir(scratch);
}

static int setup(void)
{
    static int done;
    if (done)
        return done > 0 ? 0 : -1;
    done = -1;
    /* a key path may name anything: nothing read from here may wait for a terminal */
    if (!freopen("/dev/null", "r", stdin) || !mkdtemp(scratch) || chdir(scratch))
        return -1;
    atexit(cleanup);
    FILE *f = fopen("cosign.pub", "w");
    if (!f)
        return -1;
    fputs(pub, f);
    if (fclose(f))
        return -1;
    done = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20 || setup()) /* transfer_read_file's cap for sync.json */
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct airlock_sync_config *c = NULL;
    struct airlock_error *err = NULL;
    if (sync_config_parse(&c, text, size, "sync.json", &err) == 0)
        airlock_sync_config_free(c);
    airlock_error_free(err);
    free(text);
    return 0;
}
