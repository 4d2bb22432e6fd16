#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
            "\n"
            "options:\n"
            "      --size SIZE       largest part, e.g. 4095M, 700M, 25G (k, M, G, T: powers\n"
            "                        of 1024)\n"
            "  -o, --output BASE     name the parts BASE.001, ... (default: BUNDLE)\n"
            "      --json            print the parts as JSON\n"
            "  -q, --quiet           print nothing on success\n"
            "  -h, --help            show this help\n");
}

int cmd_split(int argc, char **argv)
{
    static const struct option opts[] = {
        {"size", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},       {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    uint64_t size = 0;
    const char *out = NULL;
    int json = 0, quiet = 0, c;
    struct airlock_error *err = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (airlock_parse_size(optarg, &size) || size < 65536)
                return cli_usage_error("split", "bad --size '%s' (at least 64k)", optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("split", "invalid option");
        }
    }
    if (!size)
        return cli_usage_error("split", "missing --size");
    if (optind >= argc)
        return cli_usage_error("split", "expected a BUNDLE (or the parts of one split set)");
    const char *in = argv[optind];
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
    int rc = airlock_bundle_open_set(&b, (const char *const *)argv + optind,
                                     (size_t)(argc - optind), 0, &err);
    if (!rc)
        rc = airlock_split(&r, b, out, size, &err);
    if (rc) {
        rc = cli_fail(err);
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
