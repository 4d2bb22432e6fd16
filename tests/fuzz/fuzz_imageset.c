/* Fuzzes the image set file parser (airlock_image_set_parse: YAML through libyaml, or JSON),
 * and the tag filter with each parsed repository's rules over a few tags. */
#include "transfer_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct airlock_image_set *s = NULL;
    struct airlock_error *e = NULL;
    if (!airlock_image_set_parse(&s, (const char *)data, size, "fuzz.yaml", &e)) {
        static const char *const tags[] = {"1.29.3", "v1.30.0-rc.1", "latest", "2.0"};
        for (size_t i = 0; i < s->n_repos; i++) {
            const struct airlock_set_repo *r = &s->repos[i];
            struct airlock_tag_filter f = {r->semver, (const char *const *)r->allow, r->n_allow,
                                           (const char *const *)r->deny, r->n_deny, r->latest};
            char **out = NULL;
            size_t n = 0;
            if (!airlock_tags_filter(&out, &n, NULL, tags, 4, &f, NULL)) {
                for (size_t k = 0; k < n; k++)
                    free(out[k]);
                free(out);
            }
        }
        airlock_image_set_free(s);
    }
    airlock_error_free(e);
    return 0;
}
