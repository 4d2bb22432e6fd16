#include "args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int settle = -1, json, quiet, identity_check;
static const char *to, *identity, *config;
static struct cli_list keys, maps;

static const struct cli_opt opts[] = {
    {CLI_LIST, "key", 'k', &keys, "FILE",
     "a cosign public key every image must be signed with (repeatable: all are required)", 0,
     16, NULL},
    {CLI_STR, "to", 0, &to, "DEST", "registry host[/prefix] to push to", 0, 0, NULL},
    {CLI_STR, "identity", 0, &identity, "REF",
     "required signed docker-reference (as verify --identity) instead of push's destination "
     "rule: every image and platform manifest signed with its reference at DEST (see 'airlock "
     "push --help'); a bundle that fails it goes to failed/ with the identities in its report",
     0, 0, NULL},
    CLI_OPT_IDENTITY_CHECK(&identity_check, "any: accept any signed identity on purpose (a "
                                            "rule's \"identityCheck\": \"any\" in --config)"),
    CLI_OPT_MAP(&maps, "push repository SRC to DST (repeatable)"),
    {CLI_INT, "settle", 0, &settle, "SECS",
     "leave bundles modified this recently (default 30)", 0, 86400, NULL},
    {CLI_STR, "config", 0, &config, "FILE",
     "rules from a JSON file instead (see README: sync); a rule's \"policy\": \"FILE\" member "
     "makes push check that containers/image policy.json for every image and platform at its "
     "destination before anything goes up (as push --policy); with it, \"keys\" may be left out",
     0, 0, NULL},
    CLI_OPT_JSON(&json, "print the run's report as JSON on stdout"),
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

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
            "options:\n");
    cli_opts_help(f, own);
    cli_registry_help_print(f);
    fprintf(f,
            "\n"
            "exit codes: 0 every bundle pushed (or nothing to do, or another run busy),\n"
            "1 some bundles failed (see failed/ and the report) or the lock is held too long,\n"
            "2 bad options or config, 4 a symbolic link or special file where sync keeps\n"
            "its own files (done/, failed/, audit log, lock, report).\n");
}

/* after "airlock: interrupted; " (cli_interrupt_hint) */
static void interrupted(FILE *f, void *ctx)
{
    (void)ctx;
    fputs("the bundle being pushed stays in the inbox (what went up of it is kept, nothing is "
          "tagged half-pushed); the next run takes it again", f);
}

static int sync_run(const struct cli_list *ins, struct cli_registry *cr)
{
    cli_interrupt_hint(interrupted, NULL);
    struct airlock_error *err = NULL;
    int rc, any = identity_check == CLI_IDENTITY_ANY;
    struct airlock_sync_config *cfg = NULL;
    if (config) {
        if (ins->n || to || keys.n || any)
            return cli_usage_error("sync", "--config holds the inbox, keys, destinations and "
                                           "identityCheck");
        if (airlock_sync_config_load(&cfg, config, &err))
            return cli_fail(err);
        if (!quiet && airlock_sync_config_relaxed(cfg))
            cli_printf(stderr, "airlock: warning: '%s': a rule has \"identityCheck\": \"any\": "
                               "signatures are not checked to name each image's reference at "
                               "'%s'\n", config, airlock_sync_config_relaxed(cfg));
    } else {
        if (ins->n != 1)
            return cli_usage_error("sync", "expected exactly one INBOX (or --config)");
        if (!to || !keys.n)
            return cli_usage_error("sync", "needs --to DEST and --key (every bundle must be "
                                           "signed)");
        if ((rc = cli_dest_check("sync", cli_registry_ref(to))) ||
            (rc = cli_registry_finish(cr, "sync")))
            return rc;
        rc = airlock_sync_config_simple(&cfg, ins->v[0], cli_registry_ref(to), keys.v, keys.n,
                                        identity, maps.v, maps.n, &cr->o, settle, &err);
        if (rc)
            return cli_fail(err);
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
        if (res->lock_error)
            cli_fail_note(AIRLOCK_EOS, "%s", res->lock_error);
        else if (res->failed)
            cli_fail_note(AIRLOCK_EOS, "%zu bundle%s of the inbox failed (see bundles[].error)",
                          res->failed, res->failed == 1 ? "" : "s");
        rc = res->failed || res->lock_error ? EXIT_FAILURE_OP : EXIT_OK;
    }
    airlock_sync_result_free(res);
    airlock_sync_config_free(cfg);
    return rc;
}

int cmd_sync(int argc, char **argv)
{
    struct cli_list ins = {0};
    struct cli_registry cr;
    cli_registry_init(&cr, 1); /* no progress line: sync runs unattended */
    const struct cli_opt *const tables[] = {opts, cli_registry_table(&cr), NULL};
    int rc = cli_parse("sync", argc, argv, tables, &ins, help);
    if (!rc)
        rc = sync_run(&ins, &cr);
    cli_registry_release(&cr);
    cli_list_release(&ins);
    cli_list_release(&keys);
    cli_list_release(&maps);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
