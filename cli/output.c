#include "cli.h"


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    va_end(ap);
    return total;
}
#pragma GCC diagnostic pop
