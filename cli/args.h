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
    CLI_LIST,    /* struct cli_list *: every occurrence, in order */
    CLI_SIZE,    /* uint64_t *: "4095M", "25G" (k, M, G, T: powers of 1024), at least min */
    CLI_INT,     /* int *: decimal in [min, max] */
    CLI_CALL,    /* call(ctx, arg, name): 0, or an exit code after printing why */
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
    const char *arg;  /* the argument's name in --help ("SIZE"); NULL for a flag */
    const char *help; /* the help text ("\n" starts a continuation line); NULL: not shown */
    long long min, max; /* CLI_INT, CLI_SIZE bounds (max 0: none) */
    int (*call)(void *ctx, const char *arg, const char *name);
};

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

/* The registry options (regopts.c) as a table that fills cr, for command cmd. */
struct cli_registry;
const struct cli_opt *cli_registry_table(struct cli_registry *cr, const char *cmd);
/* Their "registry connection:" block of --help. */
void cli_registry_help_print(FILE *f);

#endif
