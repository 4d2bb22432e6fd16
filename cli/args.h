/* The one option parser of the airlock command: each command describes its options in a
 * table (name, letter, kind, where the value goes, help text) and cli_parse does the rest
 * for all of them: long and short forms, "--opt=value", values checked by kind, repeated
 * options collected, operands kept in order, -h/--help, and the "options:" block of --help
 * printed from the same table, so the help cannot drift from what is parsed. */
#ifndef AIRLOCK_CLI_ARGS_H
#define AIRLOCK_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_kind {
    CLI_END = 0, /* ends a table */
    CLI_FLAG,    /* int *: set to 1 */
    CLI_STR,     /* const char **: the argument; given again, the last one wins */
    CLI_LIST,    /* struct cli_list *: every occurrence, in order (at most max, 0: any) */
    CLI_SIZE,    /* uint64_t *: "4095M", "25G" (k, M, G, T: powers of 1024), at least min */
    CLI_INT,     /* int *: decimal in [min, max] */
    CLI_CHOICE,  /* int *: 1 + the index of the argument among arg's "a|b|c" (0: not given) */
    CLI_CALL,    /* call(ctx, arg, name, cmd): 0, or an exit code after printing why; arg
                  * NULL in the table: the option takes no argument (call gets NULL) */
    CLI_BOOL,    /* int *: "--x" and "--x=true" set 1, "--x=false" 0 (also 1/0, t/f, TRUE/
                  * FALSE, True/False, as Go's strconv.ParseBool: cosign's and skopeo's
                  * flags); "--x false" is not a value. With call: call(ctx, "true" or
                  * "false", name, cmd) instead. Shown as "--x[=BOOL]" */
    CLI_ALIAS,   /* another name of the option named by arg (in any of the tables): parsed
                  * as that one, listed in --help as "the same as --arg" plus help */
};

/* A growing list of arguments (pointers into argv). Release with cli_list_release. */
struct cli_list {
    const char **v;
    size_t n;
};
void cli_list_release(struct cli_list *l);

struct cli_opt {
    enum cli_opt_kind kind;
    const char *name; /* the long name, without "--" */
    char letter;      /* the short option, or 0 */
    void *dest;       /* where the value goes (by kind); CLI_CALL: its ctx */
    const char *arg;  /* the argument's name in --help ("SIZE"); NULL: it takes none (a flag,
                       * a CALL without argument); CLI_CHOICE: the choices, "a|b|c" */
    const char *help; /* the help text, its words wrapped to 80 columns ("\n": a new line
                       * here); NULL: not shown */
    long long min, max; /* CLI_INT, CLI_SIZE bounds (max 0: none); CLI_LIST: max occurrences */
    int (*call)(void *ctx, const char *arg, const char *name, const char *cmd);
};
#define CLI_OPT_END {CLI_END, NULL, 0, NULL, NULL, NULL, 0, 0, NULL}
/* --name as another name of --target (why: "cosign's name"; may be NULL) */
#define CLI_OPT_ALIAS(name, target, why) {CLI_ALIAS, name, 0, NULL, target, why, 0, 0, NULL}

/* Parses argv[1..argc-1] for command cmd with the tables (a NULL-terminated list, each table
 * ending with kind CLI_END; an option name in an earlier table wins). Options and operands
 * may mix ("--" ends the options); operands are collected into *operands (may be NULL: then
 * an operand is a usage error). -h/--help calls help(stdout) and returns CLI_PARSE_HELP.
 * Returns 0, CLI_PARSE_HELP, or an exit code after printing a usage error. */
#define CLI_PARSE_HELP (-1)
int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *const *tables,
              struct cli_list *operands, void (*help)(FILE *f));

/* The option lines of --help for the tables, aligned, "-h, --help" last. */
void cli_opts_help(FILE *f, const struct cli_opt *const *tables);
/* The same without the "-h, --help" line. */
void cli_opts_lines(FILE *f, const struct cli_opt *const *tables);

/* ---- the options several commands share: one meaning, one check, one message ---- */

/* --map SRC=DST (repeatable, at most CLI_MAP_MAX): ctx a struct cli_list; SRC and DST must
 * both be there ("--map wants SRC=DST, not '...'"). */
#define CLI_MAP_MAX 64
int cli_map_opt(void *ctx, const char *arg, const char *name, const char *cmd);
#define CLI_OPT_MAP(list, help) {CLI_CALL, "map", 0, list, "SRC=DST", help, 0, 0, cli_map_opt}

/* --attestation TYPE (repeatable, at most CLI_ATTESTATION_MAX): ctx a struct cli_list; TYPE a
 * cosign predicate type name or a URI (airlock_predicate_type_uri), checked as it is parsed. */
#define CLI_ATTESTATION_MAX 16
int cli_attestation_opt(void *ctx, const char *arg, const char *name, const char *cmd);
#define CLI_OPT_ATTESTATION(list, help)                                                           \
    {CLI_CALL, "attestation", 0, list, "TYPE", help, 0, 0, cli_attestation_opt}

/* -a, --annotation K=V (repeatable; a key given again replaces its value) into ctx, a
 * struct cli_annotations (cli_annotation_add). Release with cli_annotations_release. */
struct airlock_annotation;
struct cli_annotations {
    struct airlock_annotation *v;
    size_t n;
};
int cli_annotation_opt(void *ctx, const char *arg, const char *name, const char *cmd);
void cli_annotations_release(struct cli_annotations *a);
#define CLI_OPT_ANNOTATION(anns, help)                                                            \
    {CLI_CALL, "annotation", 'a', anns, "K=V", help, 0, 0, cli_annotation_opt}

/* --json, -q/--quiet, -j/--threads N (1 to 64), --identity-check destination|any (int *:
 * 0 not given, 1 destination, 2 any). */
#define CLI_OPT_JSON(flag, help) {CLI_FLAG, "json", 0, flag, NULL, help, 0, 0, NULL}
#define CLI_OPT_QUIET(flag, help) {CLI_FLAG, "quiet", 'q', flag, NULL, help, 0, 0, NULL}
#define CLI_OPT_THREADS(n, help) {CLI_INT, "threads", 'j', n, "N", help, 1, 64, NULL}
enum { CLI_IDENTITY_DESTINATION = 1, CLI_IDENTITY_ANY = 2 };
#define CLI_OPT_IDENTITY_CHECK(v, help)                                                           \
    {CLI_CHOICE, "identity-check", 0, v, "destination|any", help, 0, 0, NULL}

/* cosign's transparency-log and signing-config flags, which airlock accepts for habit's sake
 * and explains in one line on stderr (it never uses a transparency log, a signing config,
 * Fulcio or a TSA: keys only, offline): --tlog-upload=false, --use-signing-config=false,
 * --insecure-ignore-tlog[=true]. The value that would ask for the log or the services is
 * refused (exit 2) with that reason. */
int cli_no_tlog_opt(void *ctx, const char *arg, const char *name, const char *cmd);
#define CLI_OPT_NO_TLOG(name, help) {CLI_BOOL, name, 0, NULL, NULL, help, 0, 0, cli_no_tlog_opt}

/* cosign 3's --new-bundle-format[=BOOL], ctx an int * set as --signature-format's CLI_CHOICE
 * "simplesigning|bundle|both" sets it: true 2 (the sigstore bundle only), false 1 (the legacy
 * .sig or .att only), as cosign writes; said on stderr (airlock's default writes both). */
int cli_new_bundle_opt(void *ctx, const char *arg, const char *name, const char *cmd);

/* The cosign flags that sign and attest take alike (cosign's sign and attest have them all),
 * one set of entries for both tables: --new-bundle-format into format (the int of the
 * command's --signature-format, so the last of the two wins), --tlog-upload=false,
 * --use-signing-config=false, -y/--yes into yes (airlock never asks). */
#define CLI_OPTS_COSIGN_WRITE(format, yes)                                                        \
    {CLI_BOOL, "new-bundle-format", 0, format, NULL,                                              \
     "cosign's: true writes only the sigstore bundle, false only the legacy format (.sig, .att; " \
     "said on stderr)", 0, 0, cli_new_bundle_opt},                                               \
    CLI_OPT_NO_TLOG("tlog-upload",                                                                \
                    "cosign's; only =false (airlock never uses a transparency log)"),             \
    CLI_OPT_NO_TLOG("use-signing-config", "cosign's; only =false (airlock uses no signing "       \
                                          "config: no Fulcio, Rekor, TSA)"),                      \
    {CLI_FLAG, "yes", 'y', yes, NULL, "cosign's; airlock never asks for a confirmation", 0, 0, NULL}

/* The registry options (regopts.c) as a table bound to cr (kept in cr: call after
 * cli_registry_init). */
struct cli_registry;
const struct cli_opt *cli_registry_table(struct cli_registry *cr);
/* Their "registry connection:" block of --help, from the same table. */
void cli_registry_help_print(FILE *f);

#endif
