/* --policy: a containers/image policy.json checked for a bundle, reported per image, platform
 * and requirement (verify, push). */
#include "cli.h"

#include <string.h>

int cli_policy_load(struct airlock_policy **out, const char *path)
{
    struct airlock_error *err = NULL;
    if (airlock_policy_load(out, path, &err))
        return cli_fail(err);
    return EXIT_OK;
}

/* ,"policy":{...} (after the caller's preceding member) */
void cli_policy_json(const char *file, const struct airlock_policy_report *r)
{
    cli_printf(stdout, ",\"policy\":{\"file\":");
    cli_json_str(stdout, file);
    cli_printf(stdout, ",\"ok\":%s,\"targets\":[", r->ok ? "true" : "false");
    for (size_t i = 0; i < r->n; i++) {
        const struct airlock_policy_target *t = &r->targets[i];
        cli_printf(stdout, "%s{\"image\":", i ? "," : "");
        if (t->image)
            cli_json_str(stdout, t->image);
        else
            cli_printf(stdout, "null");
        cli_printf(stdout, ",\"digest\":\"%s\",\"platform\":", t->digest);
        if (t->platform)
            cli_json_str(stdout, t->platform);
        else
            cli_printf(stdout, "null");
        cli_printf(stdout, ",\"manifest\":\"%s\",\"ref\":", t->manifest);
        if (t->ref)
            cli_json_str(stdout, t->ref);
        else
            cli_printf(stdout, "null");
        cli_printf(stdout, ",\"pulledBy\":\"%s\",\"ok\":%s,\"scope\":",
                   t->by_digest ? "digest" : "tag", !t->error && t->result.ok ? "true" : "false");
        if (t->result.scope)
            cli_json_str(stdout, t->result.scope);
        else
            cli_printf(stdout, "null");
        if (t->error) {
            cli_printf(stdout, ",\"error\":");
            cli_json_str(stdout, t->error);
        }
        cli_printf(stdout, ",\"requirements\":[");
        for (size_t k = 0; k < t->result.n_checks; k++) {
            const struct airlock_policy_check *c = &t->result.checks[k];
            cli_printf(stdout, "%s{\"requirement\":", k ? "," : "");
            cli_json_str(stdout, c->requirement);
            cli_printf(stdout, ",\"ok\":%s,\"reason\":", c->ok ? "true" : "false");
            cli_json_str(stdout, c->reason);
            cli_printf(stdout, "}");
        }
        cli_printf(stdout, "]}");
    }
    cli_printf(stdout, "]}");
}

/* One line per target on stdout; each failing requirement on stderr. */
void cli_policy_text(const struct airlock_policy_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct airlock_policy_target *t = &r->targets[i];
        int ok = !t->error && t->result.ok;
        const char *name = t->image ? t->image : t->digest;
        if (t->error)
            cli_printf(stderr, "airlock: error: policy: image '%s': %s\n", name, t->error);
        for (size_t k = 0; !ok && k < t->result.n_checks; k++)
            if (!t->result.checks[k].ok)
                cli_printf(stderr,
                           "airlock: error: policy: image '%s'%s%s%s pulled as '%s' (scope %s): "
                           "requirement %s: %s\n",
                           name, t->platform ? " platform '" : "", t->platform ? t->platform : "",
                           t->platform ? "'" : "", t->ref ? t->ref : "?",
                           t->result.scope ? t->result.scope : "-",
                           t->result.checks[k].requirement, t->result.checks[k].reason);
        cli_printf(stdout, "policy %-6s %s %s%s%s%s\n", ok ? "ok" : "FAILED", t->manifest,
                   t->ref ? t->ref : name, t->platform ? " (" : "",
                   t->platform ? t->platform : "", t->platform ? ")" : "");
    }
}
