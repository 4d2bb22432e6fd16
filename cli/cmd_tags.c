/* airlock tags, airlock digest: what a registry holds, for writing image sets. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
            "options:\n"
            "      --semver RANGE      versions in RANGE: '>=1.29 <1.30', '~1.29', '^1.2',\n"
            "                          '1.29.x', alternatives with '||'; a leading 'v' is\n"
            "                          accepted; pre-releases only when RANGE names one\n"
            "      --filter REGEX      tags matching REGEX (POSIX extended, unanchored;\n"
            "                          repeatable: any of them)\n"
            "      --deny REGEX        and none matching REGEX (repeatable)\n"
            "      --latest N          only the last N of what is left\n"
            "      --page-size N       ask for pages of N tags (default: the registry's)\n"
            "      --json              print {\"repository\", \"order\", \"tags\": [...]}\n"
            "%s",
            cli_registry_help);
}

int cmd_tags(int argc, char **argv)
{
    static const struct option opts[] = {{"semver", required_argument, NULL, 's'},
                                         {"filter", required_argument, NULL, 'F'},
                                         {"deny", required_argument, NULL, 'D'},
                                         {"latest", required_argument, NULL, 'l'},
                                         {"page-size", required_argument, NULL, 'P'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry cr;
    cli_registry_init(&cr, 1);
    const char *allow[64], *deny[64];
    struct airlock_tag_filter f = {NULL, allow, 0, deny, 0, 0};
    size_t page = 0;
    int json = 0, c, rc = EXIT_OK;
    char *end = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_registry_opt(c, optarg, &cr);
        if (r < 0)
            return cli_usage_error("tags", "bad value '%s' for --%s", optarg,
                                   cli_registry_optname(c));
        if (r)
            continue;
        switch (c) {
        case 's':
            f.semver = optarg;
            break;
        case 'F':
        case 'D':
            if ((c == 'F' ? f.n_allow : f.n_deny) == 64)
                return cli_usage_error("tags", "more than 64 --%s", c == 'F' ? "filter" : "deny");
            if (c == 'F')
                allow[f.n_allow++] = optarg;
            else
                deny[f.n_deny++] = optarg;
            break;
        case 'l':
        case 'P': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || !v || v > 100000)
                return cli_usage_error("tags", "bad --%s '%s' (1 to 100000)",
                                       c == 'l' ? "latest" : "page-size", optarg);
            if (c == 'l')
                f.latest = v;
            else
                page = v;
            break;
        }
        case 'J':
            json = 1;
            break;
        case 'h':
            tags_help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("tags", "invalid option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("tags", "give one REGISTRY/REPO");
    const char *last = strrchr(argv[optind], '/');
    if (strchr(argv[optind], '@') || strchr(last ? last : argv[optind], ':'))
        return cli_usage_error("tags", "'%s': give a repository, without tag or digest",
                               argv[optind]);
    struct airlock_ref ref = {0};
    struct airlock_error *perr = NULL;
    if (airlock_ref_parse(&ref, argv[optind], &perr))
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
        airlock_tags_select(&tags, &n, &by_semver, reg, ref.path, page, &f, &err))
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

static void digest_help(FILE *f)
{
    fprintf(f,
            "usage: airlock digest [options] REGISTRY/REPO[:TAG]...\n"
            "\n"
            "Prints the digest each reference names in the registry now (the manifest or\n"
            "index as served, checked), one \"DIGEST<TAB>REFERENCE\" a line.\n"
            "\n"
            "options:\n"
            "      --json              print [{\"ref\", \"digest\", \"mediaType\", \"size\"}]\n"
            "%s",
            cli_registry_help);
}

int cmd_digest(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry cr;
    cli_registry_init(&cr, 1);
    int json = 0, c, rc = EXIT_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int r = cli_registry_opt(c, optarg, &cr);
        if (r < 0)
            return cli_usage_error("digest", "bad value '%s' for --%s", optarg,
                                   cli_registry_optname(c));
        if (r)
            continue;
        switch (c) {
        case 'J':
            json = 1;
            break;
        case 'h':
            digest_help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("digest", "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("digest", "no image reference given");
    if ((rc = cli_registry_finish(&cr, "digest")))
        return rc;
    if (json)
        cli_printf(stdout, "[");
    for (int i = optind; i < argc && !rc; i++) {
        struct airlock_ref ref = {0};
        struct airlock_error *err = NULL;
        struct airlock_registry *reg = NULL;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        char dg[AIRLOCK_DIGEST_SIZE];
        char *mt = NULL;
        int r = airlock_ref_parse(&ref, argv[i], &err);
        if (!r)
            r = airlock_registry_new(&reg, ref.domain, &cr.o, &err);
        if (!r) {
            r = airlock_registry_manifest_get(reg, ref.path, ref.digest ? ref.digest : ref.tag,
                                              &raw, &mt, dg, &err);
            if (r == AIRLOCK_ENOTFOUND && !err)
                airlock_error_set(&err, r, "'%s' is not in the registry", argv[i]);
        }
        if (r)
            rc = cli_fail(err);
        else if (json) {
            cli_printf(stdout, "%s{\"ref\":", i > optind ? "," : "");
            cli_json_str(stdout, argv[i]);
            cli_printf(stdout, ",\"digest\":\"%s\",\"mediaType\":", dg);
            cli_json_str(stdout, mt ? mt : "");
            cli_printf(stdout, ",\"size\":%zu}", raw.len);
        } else
            cli_printf(stdout, "%s\t%s\n", dg, argv[i]);
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
