#include "cli.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

/* The one exit code table: each library code, its exit code, its name in --json, and the
 * line of --help. */
static const struct exit_row {
    int code, exit;
    const char *name, *help;
} exit_table[] = {
    {AIRLOCK_OK, EXIT_OK, "ok", "success"},
    {AIRLOCK_EOS, EXIT_FAILURE_OP, "operational",
     "operational error (I/O, permissions, memory, network, a registry's refusal, a\n"
     "     destination that exists and is not a bundle, not enough free space)"},
    {AIRLOCK_ENOTFOUND, EXIT_FAILURE_OP, "notFound", NULL},
    {AIRLOCK_EEXISTS, EXIT_FAILURE_OP, "exists", NULL},
    {AIRLOCK_ENOSPACE, EXIT_FAILURE_OP, "noSpace", NULL},
    {AIRLOCK_EUSAGE, EXIT_USAGE, "usage",
     "usage error (bad option, argument or reference; wrong key password or\n"
     "     token PIN; a key that is not ECDSA P-256)"},
    {AIRLOCK_ESIGNATURE, EXIT_SIGNATURE, "signature", "signature verification failed"},
    {AIRLOCK_EINTEGRITY, EXIT_INTEGRITY, "integrity",
     "integrity failure: missing, corrupt, malformed or unsafe content"},
    {AIRLOCK_EAUTH, EXIT_AUTH, "auth",
     "authentication: the registry or its token server refused the credentials\n"
     "     (HTTP 401 or 403)"},
    {AIRLOCK_ECANCELLED, EXIT_INTERRUPTED, "interrupted",
     "interrupted (SIGINT, SIGTERM): nothing half-written was left; run again"},
};
#define N_EXIT (sizeof(exit_table) / sizeof(exit_table[0]))

int cli_exit_for(int code)
{
    for (size_t i = 0; i < N_EXIT; i++)
        if (exit_table[i].code == code)
            return exit_table[i].exit;
    return EXIT_FAILURE_OP;
}

void cli_exit_help(FILE *f)
{
    fprintf(f, "exit codes:\n");
    for (size_t i = 0; i < N_EXIT; i++)
        if (exit_table[i].help)
            fprintf(f, exit_table[i].exit < 100 ? "  %d  %s\n" : "  %d %s\n", exit_table[i].exit,
                    exit_table[i].help);
}

/* what --json reports on failure: the last error cli_fail or cli_usage_error saw */
static struct {
    int quiet, json, code, have_code;
    char msg[2048];
    void (*hint)(FILE *f, void *ctx);
    void *hint_ctx;
    int saved_stdout;
} st = {.saved_stdout = -1};

int cli_quiet(void) { return st.quiet; }
int cli_json(void) { return st.json; }
void cli_set_quiet(void) { st.quiet = 1; }
void cli_set_json(void) { st.json = 1; }

void cli_interrupt_hint(void (*fn)(FILE *f, void *ctx), void *ctx)
{
    st.hint = fn;
    st.hint_ctx = ctx;
}

int cli_fail(struct airlock_error *err)
{
    int code = err ? err->code : AIRLOCK_EOS;
    const char *msg = err && err->msg ? err->msg : "out of memory";
    if (!st.msg[0]) { /* the first failure is the cause */
        snprintf(st.msg, sizeof(st.msg), "%s", msg);
        st.code = code;
        st.have_code = 1;
    }
    if (code == AIRLOCK_ECANCELLED) {
        fputs("airlock: interrupted; ", stderr);
        if (st.hint)
            st.hint(stderr, st.hint_ctx);
        else
            fputs("nothing half-written was left; run the same command again", stderr);
        fputc('\n', stderr);
    } else
        cli_printf(stderr, "airlock: error: %s\n", msg);
    airlock_error_free(err);
    return cli_exit_for(code);
}

void cli_fail_note(int code, const char *fmt, ...)
{
    if (st.msg[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.msg, sizeof(st.msg), fmt, ap);
    va_end(ap);
    st.code = code;
    st.have_code = 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!st.msg[0]) {
        snprintf(st.msg, sizeof(st.msg), "%s", line);
        st.code = AIRLOCK_EUSAGE;
        st.have_code = 1;
    }
    cli_printf(stderr, "airlock %s: %s\nTry 'airlock %s --help'.\n", cmd, line, cmd);
    return EXIT_USAGE;
}

int cli_stdout_tty(void) { return isatty(STDOUT_FILENO); }

/* One code point of UTF-8 at p, strictly (shortest form, no surrogates, at most U+10FFFF):
 * its length, or 0 when the bytes there are not UTF-8. */
static int utf8_next(const unsigned char *p, unsigned *cp)
{
    int n = p[0] < 0x80 ? 0 : (p[0] & 0xe0) == 0xc0 ? 1 : (p[0] & 0xf0) == 0xe0 ? 2
                             : (p[0] & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0)
        return 0;
    unsigned c = n ? p[0] & (0x3f >> n) : p[0];
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n + 1;
}

/* Code points that move, hide or reorder what a terminal shows: controls (Cc), format
 * characters (Cf: bidi overrides and isolates, zero-width ones, the BOM) and the line and
 * paragraph separators (Zl, Zp). */
static int invisible(unsigned c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xad || c == 0x61c ||
           (c >= 0x600 && c <= 0x605) || c == 0x6dd || c == 0x70f || c == 0x180e ||
           (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
           (c >= 0xe0000 && c <= 0xe007f);
}

int cli_text_inert(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n;) {
        unsigned c = 0;
        unsigned char tmp[4] = {0, 0, 0, 0};
        size_t left = n - i < 4 ? n - i : 4;
        memcpy(tmp, b + i, left); /* utf8_next reads up to 4 bytes: never past the end */
        int k = utf8_next(tmp, &c);
        if (!k || (size_t)k > left || (invisible(c) && c != '\n' && c != '\t' && c != '\r'))
            return 0;
        i += (size_t)k;
    }
    return 1;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        unsigned c;
        int n = utf8_next(p, &c);
        if (!n) { /* not UTF-8 (names from archives): replaced */
            fputs("\\ufffd", f);
            p++;
        } else if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (invisible(c)) {
            if (c > 0xffff) /* as a surrogate pair */
                fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
                        0xdc00 + ((c - 0x10000) & 0x3ff));
            else
                fprintf(f, "\\u%04x", c);
        } else {
            fwrite(p, 1, (size_t)n, f);
        }
        p += n ? n : 0;
    }
    fputc('"', f);
}

/* One untrusted string made safe for a terminal or a line-oriented reader: the invisible code
 * points above and bytes that are not UTF-8 become \n, \t, \r, \xHH or \u{XXXX}, so a
 * name holding a newline, an escape sequence or a bidi override cannot forge, repaint or
 * reorder an output line. At most max bytes of s are taken, cut at a code point. */
static void escape_text(struct airlock_buf *t, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strnlen(s, max);
    while (p < end) {
        unsigned c;
        int n = utf8_next(p, &c);
        if (n && p + n > end)
            break; /* the precision ends inside this code point */
        if (!n)
            airlock_buf_printf(t, "\\x%02x", *p);
        else if (c == '\n')
            airlock_buf_append(t, "\\n", 2);
        else if (c == '\t')
            airlock_buf_append(t, "\\t", 2);
        else if (c == '\r')
            airlock_buf_append(t, "\\r", 2);
        else if (c == '\\')
            airlock_buf_append(t, "\\\\", 2);
        else if (c < 0x20 || c == 0x7f)
            airlock_buf_printf(t, "\\x%02x", c);
        else if (invisible(c))
            airlock_buf_printf(t, "\\u{%04X}", c);
        else
            airlock_buf_append(t, p, (size_t)n);
        p += n ? n : 1;
    }
}

/* Each spec below is one conversion cut out of a literal format that the format attribute
 * has checked at the call site. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int vprint(FILE *f, const char *fmt, va_list ap)
{
    int total = 0;
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            const char *q = strchr(p, '%');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            fwrite(p, 1, n, f);
            total += (int)n;
            p += n;
            continue;
        }
        /* one conversion: %[flags][width|*][.precision|.*][length]type, rebuilt with the
         * '*' values filled in */
        char spec[64];
        size_t k = 0;
        const char *q = p + 1;
        int width = -1, prec = -1;
        spec[k++] = '%';
        while (*q && strchr("-+ #0", *q) && k < 8)
            spec[k++] = *q++;
        if (*q == '*') {
            width = va_arg(ap, int);
            q++;
        } else
            while (*q >= '0' && *q <= '9')
                width = (width < 0 ? 0 : width * 10) + (*q++ - '0');
        if (*q == '.') {
            q++;
            prec = 0;
            if (*q == '*') {
                prec = va_arg(ap, int);
                q++;
            } else
                while (*q >= '0' && *q <= '9')
                    prec = prec * 10 + (*q++ - '0');
        }
        const char *len = q;
        while (*q && strchr("hljztL", *q))
            q++;
        size_t ll = (size_t)(q - len);
        char conv = *q;
        if (!conv || ll > 2) { /* not a conversion gcc accepts: print it as it stands */
            fputs(p, f);
            break;
        }
        p = q + 1;
        if (conv == 's' || conv == 'c') { /* untrusted text: escaped, precision first */
            char one[2] = {0, 0};
            const char *sv = conv == 'c' ? (one[0] = (char)va_arg(ap, int), one)
                                         : va_arg(ap, const char *);
            struct airlock_buf t = AIRLOCK_BUF_INIT(1u << 20);
            escape_text(&t, sv ? sv : "(null)", prec >= 0 ? (size_t)prec : SIZE_MAX);
            k += (size_t)snprintf(spec + k, sizeof(spec) - k, "*s");
            total += fprintf(f, spec, width < 0 ? 0 : width, t.data ? t.data : "");
            airlock_buf_release(&t);
            continue;
        }
        if (conv == '%') {
            fputc('%', f);
            total++;
            continue;
        }
        k += (size_t)snprintf(spec + k, sizeof(spec) - k, "*.*%.*s%c", (int)ll, len, conv);
        int w = width < 0 ? 0 : width, pr = prec;
        if (conv == 'f' || conv == 'g' || conv == 'e') {
            if (*len == 'L')
                total += fprintf(f, spec, w, pr, va_arg(ap, long double));
            else
                total += fprintf(f, spec, w, pr, va_arg(ap, double));
        } else if (conv == 'p') {
            total += fprintf(f, spec, w, pr, va_arg(ap, void *));
        } else if (ll == 2 && len[0] == 'l') {
            total += fprintf(f, spec, w, pr, va_arg(ap, long long));
        } else if (*len == 'l') {
            total += fprintf(f, spec, w, pr, va_arg(ap, long));
        } else if (*len == 'z') {
            total += fprintf(f, spec, w, pr, va_arg(ap, size_t));
        } else if (*len == 'j') {
            total += fprintf(f, spec, w, pr, va_arg(ap, intmax_t));
        } else if (*len == 't') {
            total += fprintf(f, spec, w, pr, va_arg(ap, ptrdiff_t));
        } else { /* int, and what promotes to it (hh, h) */
            total += fprintf(f, spec, w, pr, va_arg(ap, int));
        }
    }
    return total;
}
#pragma GCC diagnostic pop

/* With -q, stderr keeps only the lines that are errors or warnings (and the line that says
 * an interrupted run stopped); progress, plans, summaries and notices go. A line is judged
 * by how it starts, across calls. */
static int quiet_keep(const char *p, size_t n)
{
    static const char *const keep[] = {"airlock: error", "airlock: warning", "airlock: WARNING",
                                       "airlock: interrupted"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (n >= strlen(keep[i]) && !strncmp(p, keep[i], strlen(keep[i])))
            return 1;
    /* a usage error: "airlock CMD: ..." and its "Try 'airlock CMD --help'." */
    const char *colon = n > 8 && !strncmp(p, "airlock ", 8) ? memchr(p + 8, ':', n - 8) : NULL;
    if (colon && colon > p + 8 && !memchr(p + 8, ' ', (size_t)(colon - p - 8)))
        return 1;
    return n >= 4 && !strncmp(p, "Try ", 4);
}

static void quiet_write(const char *p, size_t n)
{
    static int at_start = 1, keeping = 0;
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t l = nl ? (size_t)(nl - p) + 1 : n;
        if (at_start)
            keeping = quiet_keep(p, l);
        if (keeping)
            fwrite(p, 1, l, stderr);
        at_start = nl != NULL;
        p += l;
        n -= l;
    }
}

int cli_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int total;
    if (f == stderr) { /* filtered by -q; an error line printed here is what --json says */
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        total = m ? vprint(m, fmt, ap) : 0;
        if (m && fclose(m) == 0 && buf) {
            static const char pre[] = "airlock: error: ";
            if (!st.msg[0] && len > sizeof(pre) && !strncmp(buf, pre, sizeof(pre) - 1))
                snprintf(st.msg, sizeof(st.msg), "%.*s", (int)strcspn(buf + sizeof(pre) - 1, "\n"),
                         buf + sizeof(pre) - 1);
            if (st.quiet)
                quiet_write(buf, len);
            else
                fwrite(buf, 1, len, stderr);
        }
        free(buf);
    } else
        total = vprint(f, fmt, ap);
    va_end(ap);
    return total;
}

/* ---- --json: one document on stdout, on success and on failure ---- */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

void cli_json_begin(void)
{
    st.json = 1;
    fflush(stdout);
    int fd = -1;
    FILE *t = tmpfile(); /* unlinked: nothing is left behind */
    if (t)
        fd = dup(fileno(t));
    if (t)
        fclose(t);
    if (fd < 0)
        return; /* unbuffered: the command's own output stands */
    st.saved_stdout = dup(STDOUT_FILENO);
    if (st.saved_stdout < 0 || dup2(fd, STDOUT_FILENO) < 0) {
        if (st.saved_stdout >= 0)
            close(st.saved_stdout);
        st.saved_stdout = -1;
    }
    close(fd);
}

static char *read_back(size_t *len)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT((size_t)1 << 30);
    char chunk[65536];
    ssize_t n;
    *len = 0;
    if (lseek(STDOUT_FILENO, 0, SEEK_SET) < 0)
        return NULL;
    while ((n = read(STDOUT_FILENO, chunk, sizeof(chunk))) > 0)
        if (airlock_buf_append(&b, chunk, (size_t)n))
            break;
    airlock_buf_append(&b, "", 0);
    *len = b.len;
    return b.data;
}

/* the name of the failure in --json: the library code's, else the exit code's */
static const char *code_name(int rc)
{
    for (size_t i = 0; i < N_EXIT; i++)
        if (st.have_code ? exit_table[i].code == st.code : exit_table[i].exit == rc)
            return exit_table[i].name;
    return "operational";
}

/* the failure's message: the one noted, else (the command said why on stderr only) the
 * exit code table's words */
static const char *fail_message(int rc, char *dflt, size_t size)
{
    const char *msg = st.msg;
    if (!*msg) {
        snprintf(dflt, size, "failed (exit %d)", rc);
        for (size_t i = 0; i < N_EXIT; i++)
            if (exit_table[i].exit == rc && exit_table[i].help) {
                snprintf(dflt, size, "%.*s", (int)strcspn(exit_table[i].help, "(\n:"),
                         exit_table[i].help);
                size_t l = strlen(dflt);
                while (l && dflt[l - 1] == ' ')
                    dflt[--l] = '\0';
                break;
            }
        msg = dflt;
    }
    return msg;
}

static void json_error_fields(int rc)
{
    const char *name = code_name(rc);
    char dflt[200];
    printf("\"exit\":%d,\"error\":{\"message\":", rc);
    cli_json_str(stdout, fail_message(rc, dflt, sizeof(dflt)));
    printf(",\"code\":\"%s\"}", name);
}

int cli_json_end(int rc)
{
    if (st.saved_stdout < 0)
        return rc;
    fflush(stdout);
    size_t len = 0;
    char *out = read_back(&len);
    dup2(st.saved_stdout, STDOUT_FILENO);
    close(st.saved_stdout);
    st.saved_stdout = -1;
    const char *b = out ? out : "", *e = b + len;
    b = ws(b, e);
    while (e > b && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    /* what the command printed is one JSON document, by cJSON's parser, or it is text */
    const char *end = NULL;
    cJSON *doc = b < e ? cJSON_ParseWithLengthOpts(b, (size_t)(e - b), &end, 0) : NULL;
    int valid = doc && ws(end, e) == e, keys = 0;
    if (valid && cJSON_IsObject(doc))
        keys = (cJSON_GetObjectItemCaseSensitive(doc, "ok") ? 1 : 0) |
               (cJSON_GetObjectItemCaseSensitive(doc, "exit") ? 2 : 0) |
               (cJSON_GetObjectItemCaseSensitive(doc, "error") ? 4 : 0);
    cJSON_Delete(doc);
    if (valid && *b == '{') { /* the command's own object, with "ok" (and why) added */
        const char *rest = ws(b + 1, e); /* after the '{': its members and the '}' */
        int n = 0;
        putchar('{');
        if (!(keys & 1))
            n += printf("\"ok\":%s", rc ? "false" : "true") > 0;
        if (rc && !(keys & 2))
            n += printf("%s\"exit\":%d", n ? "," : "", rc) > 0;
        if (rc && !(keys & 4)) {
            printf("%s\"error\":{\"message\":", n ? "," : "");
            char dflt[200];
            cli_json_str(stdout, fail_message(rc, dflt, sizeof(dflt)));
            printf(",\"code\":\"%s\"}", code_name(rc));
            n++;
        }
        if (n && *rest != '}')
            putchar(',');
        fwrite(rest, 1, (size_t)(e - rest), stdout);
        putchar('\n');
    } else if (valid && !rc) {
        fwrite(b, 1, (size_t)(e - b), stdout); /* an array (digest --json): as it was */
        putchar('\n');
    } else {
        printf("{\"ok\":%s", rc ? "false" : "true");
        if (rc) {
            putchar(',');
            json_error_fields(rc);
        }
        if (valid) {
            printf(",\"result\":");
            fwrite(b, 1, (size_t)(e - b), stdout);
        } else if (b < e) { /* text, or a document the failure cut short */
            printf(",\"output\":");
            char *text = strndup(b, (size_t)(e - b));
            cli_json_str(stdout, text ? text : "");
            free(text);
        }
        printf("}\n");
    }
    fflush(stdout);
    free(out);
    return rc;
}
