/* The one option parser (args.h), on getopt_long. */
#include "args.h"
#include "cli.h"
#include "examples.h"
#include "airlock/sign.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void cli_list_release(struct cli_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int list_add(struct cli_list *l, const char *s)
{
    const char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return -1;
    v[l->n++] = s;
    l->v = v;
    return 0;
}

/* Every option of the tables once (an earlier table's wins), in table order. */
static size_t gather(const struct cli_opt *const *tables, const struct cli_opt **out, size_t cap)
{
    size_t n = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const struct cli_opt *o = tables[t]; o->kind != CLI_END; o++) {
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++)
                dup = !strcmp(out[k]->name, o->name);
            if (!dup && n < cap)
                out[n++] = o;
        }
    return n;
}

#define MAX_OPTS 96

/* The option an alias names (itself for the others); NULL when no table has it. */
static const struct cli_opt *resolve(const struct cli_opt *o, const struct cli_opt *const *all,
                                     size_t n)
{
    if (o->kind != CLI_ALIAS)
        return o;
    for (size_t i = 0; o->arg && i < n; i++)
        if (all[i]->kind != CLI_ALIAS && !strcmp(all[i]->name, o->arg))
            return all[i];
    return NULL;
}

/* The options every command has, from this one table (after the command's own; args.h):
 * -q's meaning is cli_quiet's (cli.h). serve keeps its own -q (its access log). */
static int shared_quiet;
static const struct cli_opt shared[] = {
    CLI_OPT_QUIET(&shared_quiet, "only results on stdout and errors and warnings on stderr: no "
                                 "progress, plan, summary or notice"),
    CLI_OPT_END};

/* tables with the shared ones after them, in out (cap entries) */
static const struct cli_opt *const *with_shared(const struct cli_opt *const *tables,
                                                const struct cli_opt **out, size_t cap)
{
    size_t n = 0;
    while (tables[n] && n + 2 < cap) {
        out[n] = tables[n];
        n++;
    }
    out[n++] = shared;
    out[n] = NULL;
    return out;
}

static int takes_arg(const struct cli_opt *o)
{
    return o->kind != CLI_FLAG && o->kind != CLI_BOOL && !(o->kind == CLI_CALL && !o->arg);
}

/* Go's strconv.ParseBool, which cosign's and skopeo's flags use: 1 true, 0 false, -1 neither */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcmp(s, yes[i]))
            return 1;
        if (!strcmp(s, no[i]))
            return 0;
    }
    return -1;
}

static int take(const char *cmd, const struct cli_opt *o, const char *arg)
{
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dest = 1;
        if (o->dest == &shared_quiet)
            cli_set_quiet();
        else if (!strcmp(o->name, "json"))
            cli_set_json();
        return 0;
    case CLI_STR:
        *(const char **)o->dest = arg;
        return 0;
    case CLI_LIST:
        if (o->max && ((struct cli_list *)o->dest)->n >= (size_t)o->max)
            return cli_usage_error(cmd, "at most %lld --%s", o->max, o->name);
        if (list_add(o->dest, arg)) {
            cli_printf(stderr, "airlock: error: out of memory\n");
            return EXIT_FAILURE_OP;
        }
        return 0;
    case CLI_SIZE: {
        uint64_t v = 0;
        if (airlock_parse_size(arg, &v) || v < (uint64_t)o->min || (o->max && v > (uint64_t)o->max))
            return o->min ? cli_usage_error(cmd, "bad --%s '%s' (at least %lldk)", o->name, arg,
                                            o->min / 1024)
                          : cli_usage_error(cmd, "bad --%s '%s'", o->name, arg);
        *(uint64_t *)o->dest = v;
        return 0;
    }
    case CLI_INT: {
        char *end = NULL;
        long long v = strtoll(arg, &end, 10);
        if (!*arg || *end || v < o->min || v > o->max)
            return cli_usage_error(cmd, "bad --%s '%s' (%lld to %lld)", o->name, arg, o->min,
                                   o->max);
        *(int *)o->dest = (int)v;
        return 0;
    }
    case CLI_CHOICE: {
        int i = 1;
        for (const char *p = o->arg; *p; i++) {
            size_t l = strcspn(p, "|");
            if (strlen(arg) == l && !strncmp(p, arg, l)) {
                *(int *)o->dest = i;
                return 0;
            }
            p += l + (p[l] == '|');
        }
        char list[200] = ""; /* "a, b or c" */
        size_t ll = 0;
        for (const char *p = o->arg; *p && ll < sizeof(list);) {
            size_t l = strcspn(p, "|");
            int last = !p[l], next_last = !last && !strchr(p + l + 1, '|');
            ll += (size_t)snprintf(list + ll, sizeof(list) - ll, "%.*s%s", (int)l, p,
                                   last ? "" : next_last ? " or " : ", ");
            p += l + !last;
        }
        return cli_usage_error(cmd, "bad value '%s' for --%s (%s)", arg, o->name, list);
    }
    case CLI_CALL:
        return o->call(o->dest, arg, o->name, cmd);
    case CLI_BOOL: {
        int v = arg ? parse_bool(arg) : 1;
        if (v < 0)
            return cli_usage_error(cmd, "bad value '%s' for --%s (true or false)", arg, o->name);
        if (o->call)
            return o->call(o->dest, v ? "true" : "false", o->name, cmd);
        *(int *)o->dest = v;
        return 0;
    }
    case CLI_ALIAS: /* resolved before */
    case CLI_END:
        break;
    }
    return 0;
}

int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *const *tables,
              struct cli_list *operands, void (*help)(FILE *f))
{
    const struct cli_opt *all[MAX_OPTS], *named[MAX_OPTS], *tl[16];
    size_t n = gather(with_shared(tables, tl, 16), named, MAX_OPTS);
    for (size_t i = 0; i < n; i++) /* an alias is parsed as what it names */
        all[i] = resolve(named[i], named, n);
    struct option longopts[MAX_OPTS + 2];
    char shorts[2 * MAX_OPTS + 8] = "-:h";
    size_t sl = strlen(shorts);
    for (size_t i = 0; i < n; i++) {
        if (!all[i]) { /* an alias of nothing: a table's mistake, shown as unknown */
            all[i] = named[i];
            longopts[i].name = "";
        } else
            longopts[i].name = named[i]->name;
        longopts[i].has_arg = all[i]->kind == CLI_BOOL ? optional_argument
                              : takes_arg(all[i])     ? required_argument
                                                      : no_argument;
        longopts[i].flag = NULL;
        longopts[i].val = 256 + (int)i;
        if (all[i] == named[i] && all[i]->letter) {
            shorts[sl++] = all[i]->letter;
            if (takes_arg(all[i]))
                shorts[sl++] = ':';
        }
    }
    shorts[sl] = '\0';
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    const char *bare = NULL; /* the bool option just given without "=VALUE" */
    while (!rc && (c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const char *was = bare;
        bare = c >= 256 && (size_t)(c - 256) < n && all[c - 256]->kind == CLI_BOOL && !optarg
                   ? named[c - 256]->name
                   : NULL;
        if (c == 1 && was && parse_bool(optarg) >= 0) /* "--x false": true, and an operand */
            return cli_usage_error(cmd, "'--%s %s': write --%s=%s (a bool option takes its value "
                                        "after '=' only; '--' before '%s' if it is an operand)",
                                   was, optarg, was, optarg, optarg);
        if (c == 1) { /* an operand, in order */
            if (!operands)
                return cli_usage_error(cmd, "unexpected argument '%s'", optarg);
            if (list_add(operands, optarg)) {
                cli_printf(stderr, "airlock: error: out of memory\n");
                return EXIT_FAILURE_OP;
            }
        } else if (c == 'h') {
            help(stdout), cli_examples_print(stdout, cmd);
            return CLI_PARSE_HELP;
        } else if (c == ':') {
            return cli_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
        } else if (c == '?') {
            if (optopt >= 256 && (size_t)(optopt - 256) < n) /* "--json=1" */
                return cli_usage_error(cmd, "option '--%s' takes no argument",
                                       named[optopt - 256]->name);
            if (optopt && optopt < 256)
                return cli_usage_error(cmd, "unknown option '-%c'", optopt);
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        } else if (c >= 256 && (size_t)(c - 256) < n) {
            rc = take(cmd, all[c - 256], optarg);
        } else {
            const struct cli_opt *hit = NULL;
            for (size_t i = 0; i < n && !hit; i++)
                if (all[i] == named[i] && all[i]->letter == c)
                    hit = all[i];
            /* "-o=json" as cosign's (pflag) users write it: the value after the '=' (a value
             * in a word of its own, "-o =x", is taken as written) */
            const char *val = optarg;
            if (val && val != argv[optind - 1] && *val == '=')
                val++;
            rc = hit ? take(cmd, hit, val) : cli_usage_error(cmd, "invalid option");
        }
    }
    for (int i = optind; !rc && i < argc; i++) { /* after "--" */
        if (!operands)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        if (list_add(operands, argv[i])) {
            cli_printf(stderr, "airlock: error: out of memory\n");
            return EXIT_FAILURE_OP;
        }
    }
    return rc;
}

#define HELP_COLUMN 24
#define HELP_WIDTH 80

/* "  -k, --key FILE" and the text beside it from column HELP_COLUMN, its words wrapped to
 * lines of HELP_WIDTH ("\n" in the text: a new line here) */
static void help_line(FILE *f, char letter, const char *name, const char *arg, const char *text)
{
    char head[128];
    int w = snprintf(head, sizeof(head), "  %c%c%s--%s%s%s", letter ? '-' : ' ',
                     letter ? letter : ' ', letter ? ", " : "  ", name,
                     arg && *arg != '[' ? " " : "", arg ? arg : "");
    fputs(head, f);
    if (w >= HELP_COLUMN - 1) { /* too long for the column: the text on the next line */
        fputc('\n', f);
        w = 0;
    }
    fprintf(f, "%*s", HELP_COLUMN - w, "");
    int col = HELP_COLUMN;
    for (const char *p = text; *p;) {
        if (*p == '\n' || *p == ' ') {
            if (*p == '\n' && p[1]) {
                fprintf(f, "\n%*s", HELP_COLUMN, "");
                col = HELP_COLUMN;
            }
            p++;
            continue;
        }
        int l = (int)strcspn(p, " \n");
        if (col > HELP_COLUMN && col + 1 + l > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        }
        if (col > HELP_COLUMN)
            fputc(' ', f), col++;
        fprintf(f, "%.*s", l, p);
        col += l;
        p += l;
    }
    fputc('\n', f);
}

void cli_opts_lines(FILE *f, const struct cli_opt *const *tables)
{
    const struct cli_opt *all[MAX_OPTS];
    size_t n = gather(tables, all, MAX_OPTS);
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = all[i], *t = resolve(o, all, n);
        if (o->kind == CLI_ALIAS && t) { /* "--allow-http-registry  the same as --plain-http" */
            char text[400];
            snprintf(text, sizeof(text), "the same as --%s%s%s%s", t->name, o->help ? " (" : "",
                     o->help ? o->help : "", o->help ? ")" : "");
            help_line(f, 0, o->name, t->kind == CLI_BOOL ? "[=BOOL]" : t->arg, text);
        } else if (o->help && o->kind != CLI_ALIAS)
            help_line(f, o->letter, o->name, o->kind == CLI_BOOL ? "[=BOOL]" : o->arg, o->help);
    }
}

void cli_opts_help(FILE *f, const struct cli_opt *const *tables)
{
    const struct cli_opt *tl[16];
    cli_opts_lines(f, with_shared(tables, tl, 16));
    help_line(f, 'h', "help", NULL, "show this help");
}

/* ---- shared options ---- */

int cli_map_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    struct cli_list *l = ctx;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return cli_usage_error(cmd, "--%s wants SRC=DST, not '%s'", name, arg);
    if (l->n >= CLI_MAP_MAX)
        return cli_usage_error(cmd, "at most %d --%s", CLI_MAP_MAX, name);
    if (list_add(l, arg)) {
        cli_printf(stderr, "airlock: error: out of memory\n");
        return EXIT_FAILURE_OP;
    }
    return 0;
}

int cli_attestation_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    struct cli_list *l = ctx;
    if (!airlock_predicate_type_uri(arg, NULL))
        return cli_usage_error(cmd, "--%s '%s' is neither a cosign predicate type nor a URI",
                               name, arg);
    if (l->n >= CLI_ATTESTATION_MAX)
        return cli_usage_error(cmd, "at most %d --%s", CLI_ATTESTATION_MAX, name);
    if (list_add(l, arg)) {
        cli_printf(stderr, "airlock: error: out of memory\n");
        return EXIT_FAILURE_OP;
    }
    return 0;
}

int cli_annotation_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)name;
    struct cli_annotations *a = ctx;
    return cli_annotation_add(&a->v, &a->n, arg, cmd);
}

void cli_annotations_release(struct cli_annotations *a)
{
    cli_annotations_free(a->v, a->n);
    a->v = NULL;
    a->n = 0;
}

int cli_no_tlog_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)ctx;
    const char *want = !strcmp(name, "insecure-ignore-tlog") ? "true" : "false";
    if (strcmp(arg, want))
        return cli_usage_error(cmd,
                               "--%s=%s: airlock never uses a transparency log (Rekor) or a "
                               "signing config (Fulcio, Rekor, TSA): it signs and verifies "
                               "offline with a key; only --%s=%s is accepted",
                               name, arg, name, want);
    cli_printf(stderr, "airlock: note: --%s=%s: accepted as cosign's; airlock never uses a "
                       "transparency log or a signing config (offline keys only)\n",
               name, arg);
    return 0;
}

int cli_new_bundle_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)cmd;
    int bundle = !strcmp(arg, "true");
    *(int *)ctx = bundle ? 2 : 1; /* --signature-format bundle, simplesigning */
    cli_printf(stderr, "airlock: note: --%s=%s: writing only the %s, as cosign does (without it "
                       "airlock writes both formats; see --signature-format)\n",
               name, arg, bundle ? "sigstore bundle (referrer)" : "legacy format (simplesigning: "
                                                                   ".sig, .att)");
    return 0;
}
