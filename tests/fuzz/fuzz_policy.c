/* Fuzzes policy.json parsing and, for what parses, scope selection and evaluation. */
#include "airlock/policy.h"

#include <stdint.h>
#include <string.h>

static const char payload[] =
    "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.internal/devops/nginx:1.27\"},"
    "\"image\":{\"docker-manifest-digest\":\"sha256:"
    "0123456789abcdef0123456789abcdef0123456789abcdef"
    "0123456789abcdef\"},\"type\":\"cosign container image signature\"},\"optional\":null}";

static int sigs(void *ctx, const char *digest, const struct airlock_policy_sig **out, size_t *n,
                struct airlock_error **err)
{
    (void)digest;
    (void)err;
    *out = ctx;
    *n = 2;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const refs[] = {
        "registry.internal/devops/nginx:1.27",
        "registry.internal:5000/a/b/"
        "c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "busybox:latest",
        "x.example.com/ns/img:1",
    };
    struct airlock_policy_sig v[2] = {{payload, sizeof(payload) - 1, "MEUCIQ=="},
                                      {payload, sizeof(payload) - 1, NULL}};
    struct airlock_policy *p = NULL;
    if (airlock_policy_parse(&p, (const char *)data, size, "fuzz", NULL))
        return 0;
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        struct airlock_policy_result r;
        (void)airlock_policy_scope(p, refs[i]);
        if (!airlock_policy_evaluate(
                &r, p, refs[i],
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", sigs, v,
                NULL))
            airlock_policy_result_release(&r);
    }
    airlock_policy_free(p);
    return 0;
}
