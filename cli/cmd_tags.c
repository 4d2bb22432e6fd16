/* airlock tags, airlock digest: what a registry holds, for writing image sets. */
#include "args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static struct cli_registry cr;
static const char *semver;
static struct cli_list allow, deny;
static int latest, page, json;

static const struct cli_opt tags_opts[] = {
    {CLI_STR, "semver", 0, &semver, "RANGE",
     "versions in RANGE: '>=1.29 <1.30', '~1.29', '^1.2', '1.29.x', alternatives with '||'; a "
     "leading 'v' is accepted; pre-releases only when RANGE names one",
     0, 0, NULL},
    {CLI_LIST, "filter", 0, &allow, "REGEX",
     "tags matching REGEX (POSIX extended, unanchored; repeatable: any of them)", 0, 64, NULL},
    {CLI_LIST, "deny", 0, &deny, "REGEX", "and none matching REGEX (repeatable)", 0, 64, NULL},
    {CLI_INT, "latest", 0, &latest, "N", "only the last N of what is left", 1, 100000, NULL},
    {CLI_INT, "page-size", 0, &page, "N", "ask for pages of N tags (default: the registry's)", 1,
     100000, NULL},
    CLI_OPT_JSON(&json, "print {\"repository\", \"order\", \"tags\": [...]}"),
    CLI_OPT_END};
static const struct cli_opt *const tags_own[] = {tags_opts, NULL};

static void tags_help(FILE *f)
{
    fprintf(f,
            "usage: airlock tags [options] REGISTRY/REPO\n"
            "\n"
            "Lists the tags of a repository, one a line, following the registry's tags/list\n"
            "pagination (n/last, Link headers). With filters, only the tags they admit; a\n"
            "filter that admits nothing is an error naming the repository. cosign's and the\n"
            "referrers fallback's sha256-<hex>[.sig|.att|.sbom] tags are left out. When every\n"
            "admitted tag is a version the list is in version order (and --latest takes the\n"
            "highest), else in the registry's order (--latest takes the last ones).\n"
            "\n"
            "options:\n");
    cli_opts_help(f, tags_own);
    cli_registry_help_print(f);
}

static int tags_run(const struct cli_list *ops)
{
    struct airlock_tag_filter f = {semver, allow.v, allow.n, deny.v, deny.n, (size_t)latest};
    int rc = EXIT_OK;
    if (ops->n != 1)
        return cli_usage_error("tags", "give one REGISTRY/REPO");
    const char *arg = cli_registry_ref(ops->v[0]);
    const char *last = strrchr(arg, '/');
    if (strchr(arg, '@') || strchr(last ? last : arg, ':'))
        return cli_usage_error("tags", "'%s': give a repository, without tag or digest", arg);
    struct airlock_ref ref = {0};
    struct airlock_error *perr = NULL;
    if (airlock_ref_parse(&ref, arg, &perr))
        return cli_fail(perr);
    if ((rc = cli_registry_finish(&cr, "tags"))) {
        airlock_ref_release(&ref);
        return rc;
    }
    struct airlock_error *err = NULL;
    struct airlock_registry *reg = NULL;
    char **tags = NULL;
    size_t n = 0;
    int by_semver = 0;
    if (airlock_registry_new(&reg, ref.domain, &cr.o, &err) ||
        airlock_tags_select(&tags, &n, &by_semver, reg, ref.path, (size_t)page, &f, &err))
        rc = cli_fail(err);
    else if (json) {
        char *repo = airlock_ref_repository(&ref);
        cli_printf(stdout, "{\"repository\":");
        cli_json_str(stdout, repo ? repo : "");
        cli_printf(stdout, ",\"order\":\"%s\",\"tags\":[", by_semver ? "semver" : "registry");
        for (size_t i = 0; i < n; i++) {
            if (i)
                cli_printf(stdout, ",");
            cli_json_str(stdout, tags[i]);
        }
        cli_printf(stdout, "]}\n");
        free(repo);
    } else
        for (size_t i = 0; i < n; i++)
            cli_printf(stdout, "%s\n", tags[i]);
    for (size_t i = 0; i < n; i++)
        free(tags[i]);
    free(tags);
    airlock_registry_free(reg);
    airlock_ref_release(&ref);
    cli_registry_release(&cr);
    return rc;
}

int cmd_tags(int argc, char **argv)
{
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {tags_opts, cli_registry_table(&cr), NULL};
    struct cli_list ops = {0};
    int rc = cli_parse("tags", argc, argv, tables, &ops, tags_help);
    if (!rc)
        rc = tags_run(&ops);
    cli_list_release(&ops);
    cli_list_release(&allow);
    cli_list_release(&deny);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

static const struct cli_opt digest_opts[] = {
    CLI_OPT_JSON(&json, "print [{\"ref\", \"digest\", \"mediaType\", \"size\"}]"),
    CLI_OPT_END};
static const struct cli_opt *const digest_own[] = {digest_opts, NULL};

static void digest_help(FILE *f)
{
    fprintf(f,
            "usage: airlock digest [options] REGISTRY/REPO[:TAG]...\n"
            "\n"
            "Prints the digest each reference names in the registry now (the manifest or\n"
            "index as served, checked), one \"DIGEST<TAB>REFERENCE\" a line.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, digest_own);
    cli_registry_help_print(f);
}

static int digest_run(const struct cli_list *ops)
{
    int rc = EXIT_OK;
    if (!ops->n)
        return cli_usage_error("digest", "no image reference given");
    if ((rc = cli_registry_finish(&cr, "digest")))
        return rc;
    if (json)
        cli_printf(stdout, "[");
    for (size_t i = 0; i < ops->n && !rc; i++) {
        const char *arg = cli_registry_ref(ops->v[i]);
        struct airlock_ref ref = {0};
        struct airlock_error *err = NULL;
        struct airlock_registry *reg = NULL;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        char dg[AIRLOCK_DIGEST_SIZE];
        char *mt = NULL;
        int r = airlock_ref_parse(&ref, arg, &err);
        if (!r)
            r = airlock_registry_new(&reg, ref.domain, &cr.o, &err);
        if (!r) {
            r = airlock_registry_manifest_get(reg, ref.path, ref.digest ? ref.digest : ref.tag,
                                              &raw, &mt, dg, &err);
            if (r == AIRLOCK_ENOTFOUND && !err)
                airlock_error_set(&err, r, "'%s' is not in the registry", arg);
        }
        if (r)
            rc = cli_fail(err);
        else if (json) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, arg);
            cli_printf(stdout, ",\"digest\":\"%s\",\"mediaType\":", dg);
            cli_json_str(stdout, mt ? mt : "");
            cli_printf(stdout, ",\"size\":%zu}", raw.len);
        } else
            cli_printf(stdout, "%s\t%s\n", dg, arg);
        free(mt);
        airlock_buf_release(&raw);
        airlock_registry_free(reg);
        airlock_ref_release(&ref);
    }
    if (json && !rc)
        cli_printf(stdout, "]\n");
    cli_registry_release(&cr);
    return rc;
}

int cmd_digest(int argc, char **argv)
{
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {digest_opts, cli_registry_table(&cr), NULL};
    struct cli_list ops = {0};
    int rc = cli_parse("digest", argc, argv, tables, &ops, digest_help);
    if (!rc)
        rc = digest_run(&ops);
    cli_list_release(&ops);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
