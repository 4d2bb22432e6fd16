#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock sync --key cosign.pub --to DEST [options] INBOX\n"
            "       airlock sync --config sync.json [--json]\n"
            "\n"
            "One unattended run over an inbox (for cron or a systemd timer): every bundle,\n"
            "directory bundle or complete split set that has arrived is verified (every\n"
            "blob; every image signed by every --key), pushed to DEST, verified in the\n"
            "registry, and moved to INBOX/done/ or INBOX/failed/ with NAME.report.json\n"
            "beside it. A bundle modified in the last --settle seconds, or a split set\n"
            "whose parts have not all arrived, is left for the next run. Each pushed image\n"
            "and each failure is appended to INBOX/airlock-audit.log (JSON lines). Two runs\n"
            "at once: the second does nothing (a lock), so nothing is pushed twice; a lock\n"
            "held longer than lockTimeoutSeconds (default 6 hours) is an error (exit 1).\n"
            "Nothing in the inbox is followed: a symbolic link or FIFO as a bundle is\n"
            "skipped; as done/, failed/, the audit log, lock or report it stops the run.\n"
            "\n"
            "options:\n"
            "  -k, --key FILE        a cosign public key every image must be signed with\n"
            "                        (repeatable: all are required)\n"
            "      --to DEST         registry host[/prefix] to push to\n"
            "      --identity REF    required signed docker-reference (as verify --identity)\n"
            "                        instead of push's destination rule: every image and\n"
            "                        platform manifest signed with its reference at DEST\n"
            "                        (see 'airlock push --help'); a bundle that fails it\n"
            "                        goes to failed/ with the identities in its report\n"
            "      --identity-check destination|any\n"
            "                        any: accept any signed identity on purpose (a rule's\n"
            "                        \"identityCheck\": \"any\" in --config)\n"
            "      --map SRC=DST     push repository SRC to DST (repeatable)\n"
            "      --settle SECS     leave bundles modified this recently (default 30)\n"
            "      --config FILE     rules from a JSON file instead (see README: sync); a\n"
            "                        rule's \"policy\": \"FILE\" member makes push check that\n"
            "                        containers/image policy.json for every image and platform\n"
            "                        at its destination before anything goes up (as push\n"
            "                        --policy); with it, \"keys\" may be left out\n"
            "      --json            print the run's report as JSON on stdout\n"
            "  -q, --quiet           print nothing; the exit code tells\n"
            "%s"
            "\n"
            "exit codes: 0 every bundle pushed (or nothing to do, or another run busy),\n"
            "1 some bundles failed (see failed/ and the report) or the lock is held too long,\n"
            "2 bad options or config, 4 a symbolic link or special file where sync keeps\n"
            "its own files (done/, failed/, audit log, lock, report).\n",
            cli_registry_help);
}

int cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"to", required_argument, NULL, 'T'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"map", required_argument, NULL, 'm'},
                                         {"identity-check", required_argument, NULL, 'I'},
                                         {"settle", required_argument, NULL, 's'},
                                         {"config", required_argument, NULL, 'C'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry cr;
    cli_registry_init(&cr, 1); /* no progress line: sync runs unattended */
    const char *keys[16], *maps[64], *to = NULL, *identity = NULL, *config = NULL;
    size_t n_keys = 0, n_maps = 0;
    int settle = -1, json = 0, quiet = 0, any = 0, c, rc;
    struct airlock_error *err = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:qh", opts, NULL)) != -1) {
        int r = cli_registry_opt(c, optarg, &cr);
        if (r < 0)
            return cli_usage_error("sync", "bad value '%s' for --%s", optarg,
                                   cli_registry_optname(c));
        if (r)
            continue;
        switch (c) {
        case 'k':
            if (n_keys == 16)
                return cli_usage_error("sync", "at most 16 --key");
            keys[n_keys++] = optarg;
            break;
        case 'T':
            to = optarg;
            break;
        case 'i':
            identity = optarg;
            break;
        case 'm':
            if (n_maps == 64 || !strchr(optarg, '='))
                return cli_usage_error("sync", "--map wants SRC=DST (at most 64)");
            maps[n_maps++] = optarg;
            break;
        case 's': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 86400)
                return cli_usage_error("sync", "--settle wants seconds (0 to 86400)");
            settle = (int)v;
            break;
        }
        case 'C':
            config = optarg;
            break;
        case 'I':
            if (strcmp(optarg, "any") && strcmp(optarg, "destination"))
                return cli_usage_error("sync", "bad value '%s' for --identity-check "
                                               "(destination or any)", optarg);
            any = !strcmp(optarg, "any");
            break;
        case 'J':
            json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("sync", "invalid option");
        }
    }
    struct airlock_sync_config *cfg = NULL;
    if (config) {
        if (optind != argc || to || n_keys || any)
            return cli_usage_error("sync", "--config holds the inbox, keys, destinations and "
                                           "identityCheck");
        if (airlock_sync_config_load(&cfg, config, &err))
            return cli_fail(err);
        if (!quiet && airlock_sync_config_relaxed(cfg))
            cli_printf(stderr, "airlock: warning: '%s': a rule has \"identityCheck\": \"any\": "
                               "signatures are not checked to name each image's reference at "
                               "'%s'\n", config, airlock_sync_config_relaxed(cfg));
    } else {
        if (optind + 1 != argc)
            return cli_usage_error("sync", "expected exactly one INBOX (or --config)");
        if (!to || !n_keys)
            return cli_usage_error("sync", "needs --to DEST and --key (every bundle must be "
                                           "signed)");
        if ((rc = cli_registry_finish(&cr, "sync")))
            return rc;
        rc = airlock_sync_config_simple(&cfg, argv[optind], to, keys, n_keys, identity, maps,
                                        n_maps, &cr.o, settle, &err);
        if (rc) {
            cli_registry_release(&cr);
            return cli_fail(err);
        }
        if (any) {
            airlock_sync_config_identity_any(cfg);
            if (!quiet)
                cli_printf(stderr, "airlock: warning: --identity-check any: signatures are not "
                                   "checked to name each image's reference at '%s'\n", to);
        }
    }
    struct airlock_sync_result *res = NULL;
    rc = airlock_sync_run(&res, cfg, &err);
    if (rc) {
        rc = cli_fail(err);
        rc = rc == EXIT_FAILURE_OP ? EXIT_USAGE : rc; /* no inbox: the configuration's fault */
    } else {
        if (json && res->report)
            fprintf(stdout, "%s\n", res->report); /* JSON: escaped by cJSON */
        if (res->lock_error)
            cli_printf(stderr, "airlock: error: %s\n", res->lock_error); /* even with -q */
        else if (!quiet && res->busy)
            cli_printf(stderr, "airlock sync: another run holds the inbox; nothing done\n");
        else if (!quiet)
            cli_printf(stderr, "airlock sync: %zu pushed, %zu failed, %zu waiting, %zu skipped\n",
                    res->pushed, res->failed, res->waiting, res->skipped);
        rc = res->failed || res->lock_error ? EXIT_FAILURE_OP : EXIT_OK;
    }
    airlock_sync_result_free(res);
    airlock_sync_config_free(cfg);
    cli_registry_release(&cr);
    return rc;
}
