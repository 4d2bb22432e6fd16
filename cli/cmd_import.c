#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock import [options] -o BUNDLE INPUT...\n"
            "\n"
            "Reads image archives and layouts and writes one deduplicated bundle. Inputs:\n"
            "  docker save archives (legacy and OCI style), skopeo oci-archive: and\n"
            "  docker-archive: tars, OCI layout directories (umoci, cosign save, oras),\n"
            "  hauler haul.tar.zst stores, and other airlock bundles (merged). The parts of\n"
            "  a split set named one by one (in any order, e.g. from two sticks) are one\n"
            "  input; a part alone brings the parts beside it. A set must be whole: a missing\n"
            "  part is named and nothing is written.\n"
            "If BUNDLE already exists, its images are kept and the inputs are added; a\n"
            "reference given again is replaced. The bundle appears complete or not at all.\n"
            "Layers are copied byte for byte: every digest is preserved.\n"
            "\n"
            "options:\n"
            "  -o, --output BUNDLE   the bundle to write (required): DIR/, FILE.tar or\n"
            "                        FILE.tar.zst\n"
            "      --format FORMAT   dir, tar or tar.zst (default: from the path)\n"
            "      --name REF        reference for images an input does not name (e.g. an\n"
            "                        oci-archive tagged only 'latest'); a bare tag in the\n"
            "                        input is kept when REF has none\n"
            "  -q, --quiet           print nothing on success\n"
            "      --json            print the result as JSON\n"
            "  -h, --help            show this help\n");
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"name", required_argument, NULL, 'n'},   {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct airlock_import_opts io = AIRLOCK_IMPORT_OPTS_INIT;
    const char *out = NULL;
    int quiet = 0, json = 0, c;
    struct airlock_error *err = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'f':
            if (airlock_format_parse(&io.format, optarg, &err))
                return cli_fail(err);
            break;
        case 'n':
            io.name = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("import", "invalid option");
        }
    }
    if (!out)
        return cli_usage_error("import", "missing -o BUNDLE");
    if (optind >= argc)
        return cli_usage_error("import", "no input given");
    if (io.name) {
        struct airlock_ref r;
        if (airlock_ref_parse(&r, io.name, &err))
            return cli_fail(err);
        airlock_ref_release(&r);
    }
    struct airlock_import_result *res = NULL;
    if (airlock_import(&res, out, (const char *const *)argv + optind, (size_t)(argc - optind), &io,
                       &err))
        return cli_fail(err);
    for (size_t i = 0; i < res->n_warnings; i++)
        cli_printf(stderr, "airlock: warning: %s\n", res->warnings[i]);
    if (json) {
        cli_printf(stdout, "{\"bundle\":");
        cli_json_str(stdout, out);
        cli_printf(stdout, ",\"blobs\":%llu,\"bytes\":%llu,\"images\":[",
               (unsigned long long)res->blobs_written, (unsigned long long)res->bytes_written);
        for (size_t i = 0; i < res->n; i++) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\"}", res->digests[i]);
        }
        cli_printf(stdout, "]}\n");
    } else if (!quiet) {
        for (size_t i = 0; i < res->n; i++)
            cli_printf(stdout, "%s\t%s\n", res->digests[i], res->refs[i]);
        char sz[16];
        airlock_format_size(sz, res->bytes_written);
        cli_printf(stderr, "wrote '%s': %zu references, %llu blobs, %s\n", out, res->n,
                (unsigned long long)res->blobs_written, sz);
    }
    airlock_import_result_free(res);
    return EXIT_OK;
}
