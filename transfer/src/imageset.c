/* Image sets: which tags of which repositories an export takes (airlock tags, export --set),
 * the set file (YAML through yaml.c, or JSON) and the record of what was resolved. */
#include "transfer_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int airlock_tags_select(char ***out, size_t *n, int *by_semver, struct airlock_registry *r,
                        const char *repo, size_t page, const struct airlock_tag_filter *f,
                        struct airlock_error **err)
{
    char **all = NULL;
    size_t n_all = 0;
    *out = NULL;
    *n = 0;
    int rc = airlock_registry_tags_list(r, repo, page, &all, &n_all, err);
    if (rc)
        return rc;
    rc = airlock_tags_filter(out, n, by_semver, (const char *const *)all, n_all, f, err);
    for (size_t i = 0; i < n_all; i++)
        free(all[i]);
    free(all);
    if (rc)
        return airlock_error_wrap(err, "'%s/%s'", r->host, repo);
    int filtered = f->semver || f->n_allow || f->n_deny || f->latest;
    if (!*n && filtered) {
        free(*out);
        *out = NULL;
        char what[300] = "";
        snprintf(what, sizeof(what), "%s%s%s%s%s%s", f->semver ? "semver '" : "",
                 f->semver ? f->semver : "", f->semver ? "'" : "",
                 f->n_allow ? (f->semver ? ", allow '" : "allow '") : "",
                 f->n_allow ? f->allow[0] : "", f->n_allow ? "'" : "");
        return airlock_error_set(err, AIRLOCK_ENOTFOUND,
                                 "no tag of '%s/%s' (%zu listed) passes the filters%s%s", r->host,
                                 repo, n_all, *what ? ": " : "", what);
    }
    return 0;
}
