/* airlock_doc: the man pages and shell completions of airlock, made at build time from the
 * --help text of the airlock binary it is given (one source: what a command prints for
 * --help, its option lines drawn from the parser's own tables, is what the man page and the
 * completion say; there is no second copy to drift). Not installed.
 *
 *   airlock_doc AIRLOCK VERSION man [CMD]   roff: airlock(1), or airlock-CMD(1)
 *   airlock_doc AIRLOCK VERSION bash        bash completion
 *   airlock_doc AIRLOCK VERSION zsh         zsh completion (_airlock)
 *   airlock_doc AIRLOCK VERSION all DIR     all of them into DIR (the build's step)
 *
 * The help text's shape it reads (cli/args.c, the commands' help functions): a "usage:"
 * block up to the first blank line; prose; "name:" headers (options:, registry connection:,
 * examples:); option lines "  -k, --key FILE   text" / "      --json   text" with their text
 * continued from column 24; "exit codes: ..." paragraphs. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELP_MAX (1 << 20)
#define TEXT_COLUMN 24

static const char *airlock_path;

/* The stdout of "AIRLOCK args..." (capped at HELP_MAX); exits on failure (a build step). */
static char *run_help(char *const args[])
{
    int fd[2];
    if (pipe(fd)) {
        perror("airlock_doc: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("airlock_doc: fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(airlock_path, args);
        fprintf(stderr, "airlock_doc: '%s': %s\n", airlock_path, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char *buf = malloc(HELP_MAX + 1);
    size_t n = 0;
    ssize_t r;
    if (!buf) {
        fprintf(stderr, "airlock_doc: out of memory\n");
        exit(1);
    }
    while (n < HELP_MAX && (r = read(fd[0], buf + n, HELP_MAX - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            perror("airlock_doc: read");
            exit(1);
        }
        n += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == HELP_MAX) {
        fprintf(stderr, "airlock_doc: '%s %s %s' failed\n", airlock_path, args[1],
                args[2] ? args[2] : "");
        exit(1);
    }
    buf[n] = '\0';
    return buf;
}

static char *cmd_help(const char *cmd)
{
    char *args[] = {(char *)"airlock", (char *)cmd, (char *)"--help", NULL};
    return run_help(args);
}

static char *top_help(void)
{
    char *args[] = {(char *)"airlock", (char *)"--help", NULL};
    return run_help(args);
}

/* ---- the text, cut into lines ---- */

struct lines {
    char **v;
    size_t n;
};

static struct lines split_lines(char *text)
{
    struct lines l = {NULL, 0};
    for (char *p = text; *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        char **v = realloc(l.v, (l.n + 1) * sizeof(*v));
        if (!v) {
            fprintf(stderr, "airlock_doc: out of memory\n");
            exit(1);
        }
        l.v = v;
        l.v[l.n++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    return l;
}

static size_t indent_of(const char *s)
{
    return strspn(s, " ");
}

/* "options:", "registry connection:", "examples:": a header line */
static int is_header(const char *s)
{
    size_t l = strlen(s);
    if (l < 2 || l > 40 || s[l - 1] != ':' || !islower((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i + 1 < l; i++)
        if (!islower((unsigned char)s[i]) && s[i] != ' ')
            return 0;
    return 1;
}

/* An option line: "  -k, --key FILE   text" or "      --json   text". Fills letter, name
 * (without "--"), arg (may be empty) and text (the rest, may be empty); 0 if it is not one. */
struct optline {
    char letter;
    char name[64], arg[64];
    const char *text;
};

static int parse_opt(const char *s, struct optline *o)
{
    memset(o, 0, sizeof(*o));
    const char *p;
    if (s[0] == ' ' && s[1] == ' ' && s[2] == '-' && isalpha((unsigned char)s[3]) && s[4] == ',' &&
        s[5] == ' ' && s[6] == '-' && s[7] == '-') {
        o->letter = s[3];
        p = s + 8;
    } else if (!strncmp(s, "      --", 8)) {
        p = s + 8;
    } else {
        return 0;
    }
    size_t l = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if (!l || l >= sizeof(o->name))
        return 0;
    memcpy(o->name, p, l);
    p += l;
    if (*p == ' ' && p[1] != ' ' && p[1]) {
        p++;
        size_t a = strcspn(p, " ");
        if (a >= sizeof(o->arg))
            return 0;
        memcpy(o->arg, p, a);
        p += a;
    }
    o->text = p + strspn(p, " ");
    return 1;
}

/* ---- roff ---- */

/* s as roff text: backslashes and minus signs escaped, a leading '.' or '\'' guarded */
static void roff(FILE *f, const char *s, size_t n, int line_start)
{
    if (line_start && n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", f);
        else if (s[i] == '-')
            fputs("\\-", f);
        else
            fputc(s[i], f);
    }
}

static void roff_line(FILE *f, const char *s)
{
    roff(f, s, strlen(s), 1);
    fputc('\n', f);
}

static void section(FILE *f, const char *hdr)
{
    fputs(".SH \"", f);
    for (const char *p = hdr; *p && *p != ':'; p++)
        fputc(toupper((unsigned char)*p), f);
    fputs("\"\n", f);
}

static void opt_head(FILE *f, const struct optline *o)
{
    fputs(".TP\n", f);
    if (o->letter)
        fprintf(f, "\\fB\\-%c\\fR, ", o->letter);
    fputs("\\fB\\-\\-", f);
    roff(f, o->name, strlen(o->name), 0);
    fputs("\\fR", f);
    if (o->arg[0]) {
        fputs(" \\fI", f);
        roff(f, o->arg, strlen(o->arg), 0);
        fputs("\\fR", f);
    }
    fputc('\n', f);
}

enum mode { PROSE, PRE, OPTS, EXAMPLES, COMMANDS };

/* The body of a page: every line after the usage block. */
static void body(FILE *f, struct lines *l, size_t from, int top)
{
    enum mode m = PROSE;
    int sect = 0, para = 1, in_pre = 0, in_opt = 0;
    for (size_t i = from; i < l->n; i++) {
        const char *s = l->v[i];
        if (in_pre && (!*s || !indent_of(s) || m == OPTS || m == COMMANDS)) {
            fputs(".fi\n.RE\n", f);
            in_pre = 0;
        }
        if (!*s) {
            para = 1;
            in_opt = 0;
            if (m != EXAMPLES)
                m = PROSE;
            continue;
        }
        if (is_header(s)) {
            section(f, s);
            sect = 1;
            para = 1;
            in_opt = 0;
            m = !strcmp(s, "examples:") ? EXAMPLES
                : !strcmp(s, "commands:") && top ? COMMANDS
                : !strcmp(s, "exit codes:") ? PROSE
                                            : OPTS;
            if (!strcmp(s, "exit codes:"))
                fputs(".PP\n", f), para = 0;
            continue;
        }
        if (!strncmp(s, "exit codes: ", 12)) {
            fputs(".SH \"EXIT STATUS\"\n.PP\n", f);
            sect = 1;
            para = 0;
            m = PROSE;
            roff_line(f, s + 12);
            continue;
        }
        if (!sect) {
            fputs(".SH DESCRIPTION\n", f);
            sect = 1;
        }
        struct optline o;
        if (m == OPTS && parse_opt(s, &o)) {
            opt_head(f, &o);
            if (*o.text)
                roff_line(f, o.text);
            in_opt = 1;
            continue;
        }
        if (m == OPTS && in_opt && indent_of(s) >= TEXT_COLUMN) {
            roff_line(f, s + indent_of(s));
            continue;
        }
        if (m == COMMANDS && indent_of(s) == 2) {
            const char *name = s + 2;
            size_t nl = strcspn(name, " ");
            const char *sum = name + nl + strspn(name + nl, " ");
            fputs(".TP\n\\fBairlock ", f);
            roff(f, name, nl, 0);
            fputs("\\fR\n", f);
            roff_line(f, sum);
            continue;
        }
        if (m == EXAMPLES) { /* "# what" as text, the command lines after it as written */
            const char *t = s + 2;
            if (t[0] == '#' && t[1] == ' ') {
                fputs(".PP\n", f);
                roff_line(f, t + 2);
            } else {
                fputs(".PP\n.RS 4\n.nf\n", f);
                for (; i < l->n && indent_of(l->v[i]) >= 2 && l->v[i][2] != '#'; i++)
                    roff_line(f, l->v[i] + 2);
                i--;
                fputs(".fi\n.RE\n", f);
            }
            continue;
        }
        if (in_opt)
            in_opt = 0;
        if (m == OPTS)
            m = PROSE;
        if (indent_of(s)) { /* an indented block (a list, commands): kept as written */
            if (!in_pre) {
                fputs(para ? ".PP\n.RS 2\n.nf\n" : ".RS 2\n.nf\n", f);
                in_pre = 1;
                para = 0;
            }
            roff_line(f, s + 2);
            continue;
        }
        if (para) {
            fputs(".PP\n", f);
            para = 0;
        }
        roff_line(f, s);
    }
    if (in_pre)
        fputs(".fi\n.RE\n", f);
}

/* "usage: airlock x ...", "       airlock x ..." and wrapped continuations: the SYNOPSIS */
static size_t synopsis(FILE *f, struct lines *l)
{
    size_t i = 0;
    fputs(".SH SYNOPSIS\n", f);
    for (; i < l->n && *l->v[i]; i++) {
        const char *s = l->v[i];
        if (!strncmp(s, "usage: ", 7))
            s += 7;
        s += indent_of(s);
        int cont = strncmp(s, "airlock", 7) != 0;
        if (!cont && i)
            fputs(".br\n", f);
        if (!cont)
            fputs(".in +4n\n.ti -4n\n", f);
        roff_line(f, s);
        if (i + 1 >= l->n || !*l->v[i + 1] ||
            !strncmp(l->v[i + 1] + indent_of(l->v[i + 1]), "airlock", 7))
            fputs(".in -4n\n", f);
    }
    return i;
}

/* name and summary of every command in the top-level help's "commands:" block */
struct command {
    char *name, *summary;
};

static size_t commands_of(struct lines *top, struct command *out, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < top->n && strcmp(top->v[i], "commands:"))
        i++;
    for (i++; i < top->n && *top->v[i] && n < cap; i++) {
        char *s = top->v[i];
        if (indent_of(s) != 2)
            break;
        s += 2;
        size_t nl = strcspn(s, " ");
        out[n].name = strndup(s, nl);
        out[n].summary = s + nl + strspn(s + nl, " ");
        if (!out[n].name) {
            fprintf(stderr, "airlock_doc: out of memory\n");
            exit(1);
        }
        n++;
    }
    /* "'generate-key-pair' is another name for 'keygen', ...": a page and completion too */
    size_t listed = n;
    for (; i < top->n && n < cap; i++) {
        char alias[64], of[64];
        if (sscanf(top->v[i], "'%63[a-z0-9-]' is another name for '%63[a-z0-9-]'", alias, of) != 2)
            continue;
        for (size_t k = 0; k < listed; k++) {
            if (strcmp(out[k].name, of))
                continue;
            out[n].name = strdup(alias);
            out[n].summary = out[k].summary;
            if (!out[n].name) {
                fprintf(stderr, "airlock_doc: out of memory\n");
                exit(1);
            }
            n++;
            break;
        }
    }
    return n;
}

#define MAX_COMMANDS 64

static int man_page(FILE *f, const char *version, const char *cmd)
{
    struct command cmds[MAX_COMMANDS];
    char *toptext = top_help();
    struct lines top = split_lines(toptext);
    size_t nc = commands_of(&top, cmds, MAX_COMMANDS);
    const char *summary = NULL;
    for (size_t i = 0; cmd && i < nc; i++)
        if (!strcmp(cmds[i].name, cmd))
            summary = cmds[i].summary;
    if (cmd && !summary) {
        fprintf(stderr, "airlock_doc: '%s' is not in 'airlock --help'\n", cmd);
        return 1;
    }
    char *text = cmd ? cmd_help(cmd) : NULL;
    struct lines l = cmd ? split_lines(text) : top;
    fputs(".\\\" Generated by airlock_doc from 'airlock", f);
    if (cmd)
        fprintf(f, " %s", cmd);
    fputs(" --help'; do not edit.\n", f);
    fputs(".TH \"AIRLOCK", f);
    if (cmd) {
        fputs("\\-", f);
        for (const char *p = cmd; *p; p++)
            fputc(*p == '-' ? '-' : toupper((unsigned char)*p), f);
    }
    fprintf(f, "\" 1 \"\" \"airlock %s\" \"airlock manual\"\n.nh\n.ad l\n", version);
    fputs(".SH NAME\n", f);
    if (cmd) {
        fputs("airlock\\-", f);
        roff(f, cmd, strlen(cmd), 0);
        fputs(" \\- ", f);
        roff_line(f, summary);
    } else {
        fputs("airlock \\- move container images across an air gap as verified OCI bundles\n", f);
    }
    size_t from = synopsis(f, &l);
    body(f, &l, from, !cmd);
    fputs(".SH \"SEE ALSO\"\n", f);
    if (cmd) {
        fputs(".BR airlock (1)\n", f);
    } else {
        for (size_t i = 0; i < nc; i++)
            fprintf(f, ".BR airlock\\-%s (1)%s\n", cmds[i].name, i + 1 < nc ? "," : "");
    }
    for (size_t i = 0; i < nc; i++)
        free(cmds[i].name);
    if (cmd)
        free(l.v);
    free(top.v);
    free(text);
    free(toptext);
    return 0;
}

/* ---- completion ---- */

/* an option's argument completes as a file name */
static int file_arg(const char *arg)
{
    static const char *const words[] = {"FILE", "BUNDLE", "DIR", "KEY", "PATH", "MODULE",
                                        "PREFIX", "BASE", "SET", "LOCK", "INBOX", "PEM", NULL};
    for (size_t i = 0; words[i]; i++)
        if (strstr(arg, words[i]))
            return 1;
    return 0;
}

/* A choice argument "a|b|c" (lowercase words joined by '|'). */
static int choice_arg(const char *arg)
{
    return strchr(arg, '|') && strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-.|") ==
                                   strlen(arg);
}

static void words_of_choice(FILE *f, const char *arg)
{
    for (const char *p = arg; *p; p++)
        fputc(*p == '|' ? ' ' : *p, f);
}

/* The first clause of an option's text, for zsh's [description]: no brackets, quotes,
 * colons or backslashes. */
static void zsh_desc(FILE *f, const char *t)
{
    size_t n = 0;
    for (const char *p = t; *p && n < 70; p++, n++) {
        if (*p == ';' || (*p == ':' && p[1] == ' ') || (*p == ',' && n > 40))
            break;
        char c = *p;
        if (c == '[' || c == '(')
            c = '<';
        else if (c == ']' || c == ')')
            c = '>';
        else if (c == '\'' || c == ':' || c == '\\' || c == '`' || c == '"' || c == '$')
            c = ' ';
        fputc(c, f);
    }
}

static void zsh_quote(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else if (*s == ':')
            fputs("\\:", f);
        else
            fputc(*s, f);
    }
}

static int completion(FILE *f, int zsh)
{
    struct command cmds[MAX_COMMANDS];
    char *toptext = top_help();
    struct lines top = split_lines(toptext);
    size_t nc = commands_of(&top, cmds, MAX_COMMANDS);
    if (zsh) {
        fputs("#compdef airlock\n"
              "# zsh completion for airlock, generated from its --help by airlock_doc\n"
              "_airlock() {\n"
              "    local -a cmds\n"
              "    cmds=(\n",
              f);
        for (size_t i = 0; i < nc; i++) {
            fprintf(f, "        '%s:", cmds[i].name);
            zsh_quote(f, cmds[i].summary);
            fputs("'\n", f);
        }
        fputs("    )\n"
              "    if (( CURRENT == 2 )); then\n"
              "        _describe -t commands 'airlock command' cmds\n"
              "        return\n"
              "    fi\n"
              "    local cmd=${words[2]}\n"
              "    shift words\n"
              "    (( CURRENT-- ))\n"
              "    case $cmd in\n",
              f);
    } else {
        fputs("# bash completion for airlock, generated from its --help by airlock_doc\n"
              "_airlock() {\n"
              "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
              "    local opts='' args='' choices=''\n"
              "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
              "        COMPREPLY=($(compgen -W '",
              f);
        for (size_t i = 0; i < nc; i++)
            fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
        fputs("' -- \"$cur\"))\n"
              "        return\n"
              "    fi\n"
              "    case ${COMP_WORDS[1]} in\n",
              f);
    }
    for (size_t c = 0; c < nc; c++) {
        char *text = cmd_help(cmds[c].name);
        struct lines l = split_lines(text);
        fprintf(f, "    %s)\n", cmds[c].name);
        if (zsh) {
            fputs("        _arguments -s -S", f);
        }
        struct optline o;
        /* bash: opts (every form), args (forms taking an argument), choices */
        for (int pass = 0; pass < (zsh ? 1 : 3); pass++) {
            if (!zsh)
                fputs(pass == 0 ? "        opts='" : pass == 1 ? "        args='"
                                                               : "        case $prev in\n",
                      f);
            int first = 1;
            for (size_t i = 0; i < l.n && strcmp(l.v[i], "examples:"); i++) {
                if (!parse_opt(l.v[i], &o))
                    continue;
                if (zsh) {
                    fputs(" \\\n            '*'", f);
                    if (o.letter)
                        fprintf(f, "{-%c,--%s}'", o.letter, o.name);
                    else
                        fprintf(f, "'--%s", o.name);
                    fputc('[', f);
                    const char *t = o.text;
                    if (!*t && i + 1 < l.n)
                        t = l.v[i + 1] + indent_of(l.v[i + 1]);
                    zsh_desc(f, t);
                    fputc(']', f);
                    if (o.arg[0]) {
                        fputc(':', f);
                        zsh_desc(f, o.arg);
                        if (choice_arg(o.arg)) {
                            fputs(":(", f);
                            words_of_choice(f, o.arg);
                            fputc(')', f);
                        } else {
                            fputs(file_arg(o.arg) ? ":_files" : ": ", f);
                        }
                    }
                    fputc('\'', f);
                    continue;
                }
                if (pass == 1 && !o.arg[0])
                    continue;
                if (pass == 2) {
                    if (!choice_arg(o.arg))
                        continue;
                    fprintf(f, "        --%s) choices='", o.name);
                    words_of_choice(f, o.arg);
                    fputs("' ;;\n", f);
                    continue;
                }
                if (o.letter)
                    fprintf(f, "%s-%c", first ? "" : " ", o.letter);
                fprintf(f, "%s--%s", first && !o.letter ? "" : " ", o.name);
                first = 0;
            }
            if (!zsh)
                fputs(pass == 2 ? "        esac\n" : "'\n", f);
        }
        if (zsh)
            fputs(" \\\n            '*:file:_files'\n", f);
        fputs("        ;;\n", f);
        free(l.v);
        free(text);
    }
    if (zsh) {
        fputs("    esac\n"
              "}\n"
              "_airlock \"$@\"\n",
              f);
    } else {
        fputs("    *) return ;;\n"
              "    esac\n"
              "    if [ -n \"$choices\" ]; then\n"
              "        COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
              "    elif [[ \" $args \" == *\" $prev \"* ]] || [[ $cur != -* ]]; then\n"
              "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
              "    else\n"
              "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
              "    fi\n"
              "}\n"
              "complete -o filenames -o bashdefault -F _airlock airlock\n",
              f);
    }
    for (size_t i = 0; i < nc; i++)
        free(cmds[i].name);
    free(top.v);
    free(toptext);
    return 0;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "airlock_doc: '%s': %s\n", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *name)
{
    if (fflush(f) || ferror(f)) {
        fprintf(stderr, "airlock_doc: write '%s': %s\n", name, strerror(errno));
        fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

/* Every page (airlock.1, airlock-CMD.1 for each command 'airlock --help' lists) and both
 * completions (airlock.bash, _airlock) into dir. */
static int all(const char *dir, const char *version)
{
    struct command cmds[MAX_COMMANDS];
    char *toptext = top_help();
    struct lines top = split_lines(toptext);
    size_t nc = commands_of(&top, cmds, MAX_COMMANDS);
    int rc = 0;
    for (size_t i = 0; i <= nc && !rc; i++) {
        char name[128];
        snprintf(name, sizeof(name), i < nc ? "airlock-%s.1" : "airlock.1",
                 i < nc ? cmds[i].name : "");
        FILE *f = open_out(dir, name);
        rc = !f || man_page(f, version, i < nc ? cmds[i].name : NULL) || close_out(f, name);
    }
    for (int zsh = 0; zsh < 2 && !rc; zsh++) {
        const char *name = zsh ? "_airlock" : "airlock.bash";
        FILE *f = open_out(dir, name);
        rc = !f || completion(f, zsh) || close_out(f, name);
    }
    for (size_t i = 0; i < nc; i++)
        free(cmds[i].name);
    free(top.v);
    free(toptext);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[3], "man") && strcmp(argv[3], "bash") &&
                     strcmp(argv[3], "zsh") && (strcmp(argv[3], "all") || argc != 5))) {
        fprintf(stderr, "usage: airlock_doc AIRLOCK VERSION man [CMD] | bash | zsh | all DIR\n");
        return 2;
    }
    airlock_path = argv[1];
    if (!strcmp(argv[3], "all"))
        return all(argv[4], argv[2]);
    int rc = !strcmp(argv[3], "man")    ? man_page(stdout, argv[2], argc > 4 ? argv[4] : NULL)
             : !strcmp(argv[3], "bash") ? completion(stdout, 0)
                                        : completion(stdout, 1);
    if (fflush(stdout) || ferror(stdout)) {
        perror("airlock_doc: write");
        return 1;
    }
    return rc;
}
