#include "args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static uint64_t size;
static const char *out;
static int json, quiet;

static const struct cli_opt opts[] = {
    {CLI_SIZE, "size", 0, &size, "SIZE",
     "largest part, e.g. 4095M, 700M, 25G (k, M, G, T: powers\nof 1024)", 65536, 0, NULL},
    {CLI_STR, "output", 'o', &out, "BASE", "name the parts BASE.001, ... (default: BUNDLE)", 0, 0,
     NULL},
    {CLI_FLAG, "json", 0, &json, NULL, "print the parts as JSON", 0, 0, NULL},
    {CLI_END, NULL, 0, NULL, NULL, NULL, 0, 0, NULL}};
static const struct cli_opt *const tables[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock split --size SIZE [-o BASE] BUNDLE\n"
            "       airlock split --size SIZE [-o BASE] PART... (the parts of one split set)\n"
            "\n"
            "Cuts a bundle into parts no larger than SIZE for size-limited media: BASE.001,\n"
            "BASE.002, ... (BASE defaults to BUNDLE's path). Each part is a bundle of its\n"
            "own: it carries index.json, every manifest, config and signature, its share of\n"
            "the layers and a description of the whole set, so any part verifies alone\n"
            "(verify --part-only) and a missing or damaged part is named. A layer is only cut\n"
            "when it alone is larger than a part. BUNDLE may itself be a part of a set: the\n"
            "set (all of it: a missing part is named) is split again for other media. Every\n"
            "command that reads a bundle takes any part and finds the others beside it, or\n"
            "takes the parts named one by one, in any order (parts on different media).\n"
            "A delta bundle's omitted layers are in no part; every part carries its record.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, tables);
}

static int split_run(const struct cli_list *ins, struct airlock_error **err)
{
    if (!size)
        return cli_usage_error("split", "missing --size");
    if (!ins->n)
        return cli_usage_error("split", "expected a BUNDLE (or the parts of one split set)");
    const char *in = ins->v[0];
    char *base = NULL;
    if (!out) { /* a part given: the set's own name */
        size_t n = strlen(in);
        while (n && in[n - 1] >= '0' && in[n - 1] <= '9')
            n--;
        base = n && n < strlen(in) && in[n - 1] == '.' ? strndup(in, n - 1) : strdup(in);
        while (base && strlen(base) > 1 && base[strlen(base) - 1] == '/')
            base[strlen(base) - 1] = '\0';
        out = base;
    }
    struct airlock_bundle *b = NULL;
    struct airlock_split_result *r = NULL;
    /* what the media cannot hold is refused before anything is written */
    char *first = NULL, *why = NULL;
    if (asprintf(&first, "%s.001", out) >= 0)
        why = airlock_media_warning(first, size);
    free(first);
    if (why) {
        cli_printf(stderr, "airlock: error: %s\n", why);
        free(why);
        free(base);
        return EXIT_USAGE;
    }
    struct cli_bar bar;
    cli_bar_start(&bar, json);
    int rc = airlock_bundle_open_set(&b, ins->v, ins->n, 0, err);
    if (!rc)
        rc = airlock_split(&r, b, out, size, cli_progress, &bar, err);
    cli_bar_end(&bar);
    if (rc) {
        rc = cli_fail(*err);
        if (ins->n == 1)
            cli_short_name_hint(ins->v[0]);
    } else if (json) {
        cli_printf(stdout, "{\"parts\":[");
        for (size_t i = 0; i < r->n; i++) {
            cli_printf(stdout, "%s{\"path\":", i ? "," : "");
            cli_json_str(stdout, r->parts[i]);
            cli_printf(stdout, ",\"size\":%llu}", (unsigned long long)r->sizes[i]);
        }
        cli_printf(stdout, "]}\n");
    } else if (!quiet) {
        for (size_t i = 0; i < r->n; i++) {
            char sz[16];
            airlock_format_size(sz, r->sizes[i]);
            cli_printf(stdout, "%s\t%s\n", r->parts[i], sz);
        }
    }
    airlock_split_result_free(r);
    airlock_bundle_free(b);
    free(base);
    return rc;
}

int cmd_split(int argc, char **argv)
{
    struct cli_list ins = {0};
    struct airlock_error *err = NULL;
    int rc = cli_parse("split", argc, argv, tables, &ins, help);
    if (!rc)
        rc = split_run(&ins, &err);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
