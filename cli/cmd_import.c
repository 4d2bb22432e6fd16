#include "args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static struct airlock_import_opts io = AIRLOCK_IMPORT_OPTS_INIT;
static const char *out;
static int quiet, json;

static int format_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)name;
    (void)cmd;
    struct airlock_error *err = NULL;
    return airlock_format_parse(ctx, arg, &err) ? cli_fail(err) : 0;
}

static const struct cli_opt opts[] = {
    {CLI_STR, "output", 'o', &out, "BUNDLE",
     "the bundle to write (required): DIR/, FILE.tar or\nFILE.tar.zst", 0, 0, NULL},
    {CLI_CALL, "format", 0, &io.format, "FORMAT", "dir, tar or tar.zst (default: from the path)",
     0, 0, format_opt},
    {CLI_STR, "name", 0, &io.name, "REF",
     "reference for images an input does not name (e.g. an\noci-archive tagged only 'latest'); a "
     "bare tag in the\ninput is kept when REF has none",
     0, 0, NULL},
    {CLI_FLAG, "json", 0, &json, NULL, "print the result as JSON", 0, 0, NULL},
    {CLI_END, NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
static const struct cli_opt *const tables[] = {opts, NULL};

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
            "Layers are copied byte for byte: every digest is preserved. A delta bundle\n"
            "(export --have, --since) is refused as an input and as BUNDLE: the layers it\n"
            "leaves out are not there to copy; push, verify, sign and split take it as it is.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, tables);
}

static int import_run(const struct cli_list *ins)
{
    struct airlock_error *err = NULL;
    if (!out)
        return cli_usage_error("import", "missing -o BUNDLE");
    if (!ins->n)
        return cli_usage_error("import", "no input given");
    if (io.name) {
        struct airlock_ref r;
        if (airlock_ref_parse(&r, io.name, &err))
            return cli_fail(err);
        airlock_ref_release(&r);
    }
    struct airlock_import_result *res = NULL;
    struct cli_bar bar;
    cli_bar_start(&bar, json);
    io.progress = cli_progress;
    io.progress_ctx = &bar;
    int rc = airlock_import(&res, out, ins->v, ins->n, &io, &err);
    cli_bar_end(&bar);
    if (rc)
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

int cmd_import(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("import", argc, argv, tables, &ins, help);
    if (!rc)
        rc = import_run(&ins);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
