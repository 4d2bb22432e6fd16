#include "cli.h"


#include <stdarg.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int cli_exit_for(int code)
{
    switch (code) {
    case AIRLOCK_OK:
        return EXIT_OK;
    case AIRLOCK_EUSAGE:
        return EXIT_USAGE;
    case AIRLOCK_ESIGNATURE:
        return EXIT_SIGNATURE;
    case AIRLOCK_EINTEGRITY:
        return EXIT_INTEGRITY;
    default:
        return EXIT_FAILURE_OP;
    }
}

int cli_fail(struct airlock_error *err)
{
    int code = err ? err->code : AIRLOCK_EOS;
    cli_printf(stderr, "airlock: error: %s\n", err && err->msg ? err->msg : "unknown error");
    airlock_error_free(err);
    return cli_exit_for(code);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "airlock %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'airlock %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_stdout_tty(void) { return isatty(STDOUT_FILENO); }

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20) {
                fprintf(f, "\\u%04x", *p);
            } else if (*p < 0x80) {
                fputc(*p, f);
            } else {
                /* Pass valid UTF-8 through; replace anything else (names from archives). */
                int n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
                int ok = n > 0;
                for (int i = 1; ok && i <= n; i++)
                    ok = (p[i] & 0xc0) == 0x80;
                if (ok) {
                    fwrite(p, 1, (size_t)n + 1, f);
                    p += n;
                } else
                    fputs("\\ufffd", f);
            }
        }
    }
    fputc('"', f);
}

/* One untrusted string made safe for a terminal or a line-oriented reader: control characters
 * (C0, DEL, C1) and bytes that are not UTF-8 become \n, \t, \r or \xHH, so a name holding a
 * newline or an escape sequence cannot forge or repaint a line. */
static void escape_text(struct airlock_buf *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            airlock_buf_append(t, "\\n", 2);
        else if (*p == '\t')
            airlock_buf_append(t, "\\t", 2);
        else if (*p == '\r')
            airlock_buf_append(t, "\\r", 2);
        else if (*p == '\\')
            airlock_buf_append(t, "\\\\", 2);
        else if (*p < 0x20 || *p == 0x7f)
            airlock_buf_printf(t, "\\x%02x", *p);
        else if (*p < 0x80)
            airlock_buf_append(t, p, 1);
        else {
            int n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
            int ok = n > 0 && !(*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f); /* C1 controls */
            for (int i = 1; ok && i <= n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (ok) {
                airlock_buf_append(t, p, (size_t)n + 1);
                p += n;
            } else
                airlock_buf_printf(t, "\\x%02x", *p);
        }
    }
}

/* Each spec below is one conversion cut out of a literal format that the format attribute
 * has checked at the call site. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int cli_printf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
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
        /* one conversion: flags, width, precision, length, type */
        char spec[32];
        size_t n = strspn(p + 1, "-+ #0123456789.");
        size_t len = strspn(p + 1 + n, "hlzjt");
        char conv = p[1 + n + len];
        if (!conv || n + len + 3 > sizeof(spec))
            break; /* not a format this file writes */
        memcpy(spec, p, n + len + 2);
        spec[n + len + 2] = '\0';
        p += n + len + 2;
        const char *lm = spec + 1 + n;
        if (conv == '%') {
            fputc('%', f);
            total++;
        } else if (conv == 's') {
            const char *s = va_arg(ap, const char *);
            struct airlock_buf t = AIRLOCK_BUF_INIT(1u << 20);
            escape_text(&t, s ? s : "(null)");
            total += fprintf(f, spec, t.data ? t.data : "");
            airlock_buf_release(&t);
        } else if (conv == 'c') {
            total += fprintf(f, spec, va_arg(ap, int));
        } else if (conv == 'f' || conv == 'g' || conv == 'e') {
            total += fprintf(f, spec, va_arg(ap, double));
        } else if (!strncmp(lm, "ll", 2)) {
            total += fprintf(f, spec, va_arg(ap, long long));
        } else if (*lm == 'l') {
            total += fprintf(f, spec, va_arg(ap, long));
        } else if (*lm == 'z') {
            total += fprintf(f, spec, va_arg(ap, size_t));
        } else {
            total += fprintf(f, spec, va_arg(ap, int));
        }
    }
    va_end(ap);
    return total;
}
#pragma GCC diagnostic pop
