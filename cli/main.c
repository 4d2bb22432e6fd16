/* airlock: move container images across an air gap as verified OCI bundles. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "0.1.0"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"import", cmd_import, "build or extend a bundle from image archives and layouts"},
    {"inspect", cmd_inspect, "list the images of a bundle: references, platforms, sizes"},
    {"verify", cmd_verify, "check a bundle offline: every blob, and with --key every signature"},
    {"keygen", cmd_keygen, "make a cosign key pair (cosign.key, cosign.pub)"},
    {"generate-key-pair", cmd_keygen, NULL},
    {"public-key", cmd_public_key, "print the public key of a cosign private key"},
    {"import-key-pair", cmd_import_key_pair, "turn a PEM EC key into a cosign key pair"},
    {"sign", cmd_sign, "sign the images inside a bundle with a cosign key, offline"},
    {"attest", cmd_attest, "attest images inside a bundle (SBOM, provenance, ...), offline"},
    {"attestations", cmd_attestations, "list an image's attestations and print verified ones"},
    {"sbom", cmd_sbom, "print the SBOM that travels with an image (verified when signed)"},
    {"pkcs11", cmd_pkcs11, "list PKCS#11 tokens and their keys (sign with a key on a token)"},
    {"split", cmd_split, "cut a bundle into parts for size-limited media"},
    {"sync", cmd_sync, "push what arrives in an inbox, verified, with reports (unattended)"},
    {"export", cmd_export, "pull images (with signatures) from registries into a bundle"},
    {"push", cmd_push, "push a bundle into a registry, verify the signatures there"},
    {"serve", cmd_serve, "serve a bundle as a read-only registry (no registry needed)"},
    {"tags", cmd_tags, "list a repository's tags, filtered by semver, regex, latest N"},
    {"digest", cmd_digest, "print the digest a reference names in its registry now"},
    {"login", cmd_login, "check credentials with a registry, keep them in containers auth.json"},
    {"logout", cmd_logout, "remove a registry's credentials from containers auth.json"},
    {"version", cmd_version, "print the version, commit and library versions"},
    {"inventory", cmd_inventory, "list what a registry holds, for a delta export (--have)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: airlock <command> [options] [arguments]\n"
               "\n"
               "airlock moves container images across an air gap as OCI image layouts\n"
               "(\"bundles\": a directory, a .tar or a .tar.zst) and checks them on the way.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].summary)
            fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'generate-key-pair' is another name for 'keygen', as in cosign.\n");
    fprintf(f, "\n"
               "Run 'airlock <command> --help' for a command's options.\n"
               "\n"
               "Every command takes -q (stdout: only results; stderr: only errors and\n"
               "warnings) and, where it reports, --json (one JSON document on stdout, also on\n"
               "failure: {\"ok\": false, \"exit\": N, \"error\": {\"message\", \"code\"}}).\n"
               "Options take their value as --opt VALUE, --opt=VALUE, -o VALUE or -o=VALUE.\n"
               "Ctrl-C (SIGINT, SIGTERM) stops cleanly: one line says what was kept, exit 130.\n"
               "\n");
    cli_exit_help(f);
}

/* The first SIGINT or SIGTERM asks the operation to stop (airlock_cancel: it unwinds as on
 * any error, removing what it had half-written, and says what was kept); a second one, or
 * SIGHUP, removes the temporary files now and dies of the signal. */
static void on_signal(int sig)
{
    if (sig != SIGHUP && !airlock_cancelled()) {
        airlock_cancel();
        return;
    }
    airlock_layout_signal_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --json given to the command (before "--"): main buffers its stdout from the start, so a
 * usage error found before the parser reaches --json still ends as one document */
static int wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            char *sub[] = {argv[2], (char *)"--help", NULL};
            for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(commands[i].name, argv[2]))
                    return commands[i].fn(2, sub);
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version"))
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(commands[i].name, cmd)) {
            /* (serve's --json is its log, a stream of lines: not one document) */
            int json = strcmp(cmd, "serve") && wants_json(argc - 1, argv + 1);
            if (json)
                cli_json_begin();
            int rc = commands[i].fn(argc - 1, argv + 1);
            if (rc && rc != EXIT_INTERRUPTED && airlock_cancelled()) /* stopped by the signal */
                rc = EXIT_INTERRUPTED;
            return json ? cli_json_end(rc) : rc;
        }
    cli_printf(stderr, "airlock: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
