#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock export [options] REF... -o BUNDLE\n"
            "\n"
            "Pulls images from registries into a bundle: tags are resolved to digests, the\n"
            "whole index (every platform) is kept unless --platform is given, and what travels\n"
            "with each image comes along: its sha256-<hex>.sig, .att and .sbom tags and its\n"
            "OCI 1.1 referrers (signatures, attestations, SBOMs, sigstore bundles; from the\n"
            "referrers API when the registry serves it, else the sha256-<hex> fallback tag),\n"
            "for an index also those of each platform manifest, listed in the bundle under\n"
            "REPO:sha256-<hex>. Blobs are fetched in parallel straight into the\n"
            "bundle, each digest checked as the bytes arrive; a dropped download continues\n"
            "with Range. Adding to an existing bundle reuses the blobs it has. An export\n"
            "that fails or is killed keeps what it fetched in .BUNDLE.airlock-partial beside\n"
            "the destination: the same export again fetches only the rest.\n"
            "\n"
            "options:\n"
            "  -o, --output BUNDLE     DIR/, FILE.tar or FILE.tar.zst (required)\n"
            "      --format FORMAT     dir, tar or tar.zst (default: from the path)\n"
            "      --platform P        keep only os/arch[/variant] of a multi-arch image\n"
            "      --split SIZE        write the bundle as parts BUNDLE.001, ... no larger than\n"
            "                          SIZE (as 'airlock split' cuts them), straight away: no\n"
            "                          whole copy is ever made (a split export does not\n"
            "                          resume: an interrupted one starts again)\n"
            "      --json              print the result as JSON\n"
            "  -q, --quiet             no progress\n"
            "%s",
            cli_registry_help);
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"split", required_argument, NULL, 'S'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry cr;
    cli_registry_init(&cr, 0);
    struct airlock_export_opts eo = {NULL, AIRLOCK_FORMAT_AUTO, 0};
    const char *out = NULL;
    uint64_t split = 0;
    size_t n_parts = 0;
    char parts_label[64] = "";
    int json = 0, c, rc = EXIT_OK;
    struct airlock_error *err = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        int r = cli_registry_opt(c, optarg, &cr);
        if (r < 0)
            return cli_usage_error("export", "bad value '%s' for --%s", optarg, cli_registry_optname(c));
        if (r)
            continue;
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'f':
            if (airlock_format_parse(&eo.format, optarg, &err))
                return cli_fail(err);
            break;
        case 'p':
            eo.platform = optarg;
            break;
        case 'S':
            if (airlock_parse_size(optarg, &split) || split < 65536)
                return cli_usage_error("export", "bad --split '%s' (at least 64k)", optarg);
            break;
        case 'J':
            json = 1;
            break;
        case 'q':
            cr.quiet = 1;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("export", "invalid option");
        }
    }
    if (!out)
        return cli_usage_error("export", "missing -o BUNDLE");
    if (optind >= argc)
        return cli_usage_error("export", "no image reference given");
    if (json)
        cr.quiet = 1;
    if (split && airlock_format_for_path(out) == AIRLOCK_FORMAT_DIR)
        return cli_usage_error("export", "--split writes .tar parts: give -o NAME.tar");
    if ((rc = cli_registry_finish(&cr, "export")))
        return rc;
    struct airlock_import_result *res = NULL;
    eo.split_size = split;
    rc = airlock_export(&res, (const char *const *)argv + optind, (size_t)(argc - optind), out,
                        &cr.o, &eo, &err);
    cli_registry_release(&cr);
    for (size_t i = 0; !rc && i < res->n_warnings; i++)
        cli_printf(stderr, "airlock: warning: %s\n", res->warnings[i]);
    if (!rc && res->n_parts) {
        n_parts = res->n_parts;
        snprintf(parts_label, sizeof(parts_label), ".001 to .%03zu", res->n_parts);
    }
    if (rc)
        rc = cli_fail(err);
    else if (json) {
        cli_printf(stdout, "{\"bundle\":");
        cli_json_str(stdout, out);
        cli_printf(stdout, ",\"blobs\":%llu,\"bytes\":%llu,\"images\":[", (unsigned long long)res->blobs_written,
               (unsigned long long)res->bytes_written);
        for (size_t i = 0; i < res->n; i++) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\"}", res->digests[i]);
        }
        cli_printf(stdout, "],\"warnings\":[");
        for (size_t i = 0; i < res->n_warnings; i++) {
            if (i)
                putchar(',');
            cli_json_str(stdout, res->warnings[i]);
        }
        cli_printf(stdout, "],\"parts\":[");
        for (size_t i = 0; i < res->n_parts; i++) {
            cli_printf(stdout, "%s{\"path\":", i ? "," : "");
            cli_json_str(stdout, res->parts[i]);
            cli_printf(stdout, ",\"size\":%llu}", (unsigned long long)res->part_sizes[i]);
        }
        cli_printf(stdout, "]}\n");
    } else {
        for (size_t i = 0; i < res->n; i++)
            cli_printf(stdout, "%s\t%s\n", res->digests[i], res->refs[i]);
        if (!cr.quiet) {
            char sz[16];
            airlock_format_size(sz, res->bytes_written);
            cli_printf(stderr, "wrote '%s'%s%s: %zu references, %llu blobs fetched (%s)\n", out,
                    n_parts ? " in parts " : "", n_parts ? parts_label : "", res->n,
                    (unsigned long long)res->blobs_written, sz);
        }
    }
    airlock_import_result_free(res);
    cli_registry_release(&cr);
    return rc;
}
