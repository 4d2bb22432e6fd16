#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f, "usage: airlock verify [options] BUNDLE\n"
               "\n"
               "Checks, offline and without writing anything, that every blob referenced from\n"
               "index.json down (indexes, manifests, configs, layers) is present with the\n"
               "right size and sha256, and lists blobs nothing references. Works on read-only\n"
               "media. Exit code 4 when anything is missing, corrupt, malformed or unsafe.\n"
               "\n"
               "options:\n"
               "      --json        machine-readable report on stdout\n"
               "  -j, --threads N   hashing threads (default: one per core)\n"
               "  -q, --quiet       print nothing; the exit code tells\n"
               "  -h, --help        show this help\n");
}

static void json_list(const char *name, char **v, size_t n)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++)
        printf("%s", i ? "," : ""), cli_json_str(stdout, v[i]);
    printf("]");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'J'},
                                         {"threads", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, quiet = 0, c;
    struct airlock_verify_opts vo = AIRLOCK_VERIFY_OPTS_INIT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'J':
            json = 1;
            break;
        case 'j': {
            char *end;
            long t = strtol(optarg, &end, 10);
            if (*end || t < 1 || t > 64)
                return cli_usage_error("verify", "--threads wants a number from 1 to 64");
            vo.threads = (int)t;
            break;
        }
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("verify", "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("verify", "expected exactly one BUNDLE");
    const char *path = argv[optind];
    struct airlock_error *err = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_verify_report *r = NULL;
    if (airlock_bundle_open(&b, path, AIRLOCK_OPEN_HASH, &err) ||
        airlock_bundle_verify(&r, b, &vo, &err)) {
        airlock_bundle_free(b);
        if (json && err) {
            printf("{\"ok\":false,\"bundle\":");
            cli_json_str(stdout, path);
            printf(",\"error\":");
            cli_json_str(stdout, err->msg);
            printf(",\"blobs\":{\"checked\":0,\"missing\":[],\"corrupt\":[]},\"images\":[]}\n");
        }
        if (quiet) {
            int code = cli_exit_for(err ? err->code : AIRLOCK_EOS);
            airlock_error_free(err);
            return code;
        }
        return cli_fail(err);
    }
    if (json) {
        printf("{\"ok\":%s,\"bundle\":", r->ok ? "true" : "false");
        cli_json_str(stdout, path);
        printf(",\"format\":\"%s\",\"blobs\":{\"checked\":%llu,\"bytes\":%llu",
               airlock_bundle_format_label(b), (unsigned long long)r->checked,
               (unsigned long long)r->bytes);
        json_list("missing", r->missing, r->n_missing);
        json_list("corrupt", r->corrupt, r->n_corrupt);
        json_list("unreferenced", r->unreferenced, r->n_unreferenced);
        printf("},\"images\":[");
        for (size_t i = 0; i < r->n_images; i++) {
            printf("%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, r->images[i].ref);
            printf(",\"digest\":\"%s\",\"kind\":", r->images[i].digest);
            cli_json_str(stdout, r->images[i].kind);
            printf(",\"ok\":%s}", r->images[i].ok ? "true" : "false");
        }
        printf("]");
        json_list("problems", r->problems, r->n_problems);
        printf("}\n");
    } else if (!quiet) {
        for (size_t i = 0; i < r->n_problems; i++)
            fprintf(stderr, "airlock: error: %s\n", r->problems[i]);
        for (size_t i = 0; i < r->n_unreferenced; i++)
            fprintf(stderr, "airlock: warning: blob '%s' is not referenced by any image\n",
                    r->unreferenced[i]);
        for (size_t i = 0; i < airlock_bundle_warning_count(b); i++)
            fprintf(stderr, "airlock: warning: %s\n", airlock_bundle_warning(b, i));
        for (size_t i = 0; i < r->n_images; i++)
            printf("%-7s %s %s\n", r->images[i].ok ? "ok" : "FAILED", r->images[i].digest,
                   r->images[i].ref ? r->images[i].ref : "(unnamed)");
        char sz[16];
        airlock_format_size(sz, r->bytes);
        fprintf(stderr, "%s: %llu blobs checked (%s), %zu missing, %zu corrupt\n",
                r->ok ? "verified" : "FAILED", (unsigned long long)r->checked, sz, r->n_missing,
                r->n_corrupt);
    }
    int rc = r->ok ? EXIT_OK : EXIT_INTEGRITY;
    airlock_verify_report_free(r);
    airlock_bundle_free(b);
    return rc;
}
