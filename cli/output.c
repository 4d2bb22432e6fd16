#include "cli.h"


#include <stdarg.h>
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
    fprintf(stderr, "airlock: error: %s\n", err && err->msg ? err->msg : "unknown error");
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
