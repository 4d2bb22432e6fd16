#include "airlock/core.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

__attribute__((format(printf, 4, 0))) static int set_common(struct airlock_error **err, int code, int errnum, const char *fmt,
                      va_list ap)
{
    if (!err || *err)
        return code;
    struct airlock_error *e = calloc(1, sizeof(*e));
    if (!e)
        return code;
    e->code = code;
    e->sys_errno = errnum;
    char *m = vformat(fmt, ap);
    if (m && errnum) {
        char *full = NULL;
        if (asprintf(&full, "%s: %s", m, strerror(errnum)) >= 0) {
            free(m);
            m = full;
        }
    }
    e->msg = m ? m : strdup("out of memory");
    *err = e;
    return code;
}

int airlock_error_set(struct airlock_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_common(err, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int airlock_error_set_errno(struct airlock_error **err, int code, int errnum, const char *fmt,
                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_common(err, code, errnum, fmt, ap);
    va_end(ap);
    return code;
}

int airlock_error_wrap(struct airlock_error **err, const char *fmt, ...)
{
    if (!err || !*err)
        return AIRLOCK_EOS;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = vformat(fmt, ap);
    va_end(ap);
    char *full = NULL;
    if (ctx && asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
        free((*err)->msg);
        (*err)->msg = full;
    }
    free(ctx);
    return (*err)->code;
}

void airlock_error_free(struct airlock_error *err)
{
    if (!err)
        return;
    free(err->msg);
    free(err);
}

/* ---- cancellation (core.h) ---- */


static volatile sig_atomic_t cancel_flag;

void airlock_cancel(void) { cancel_flag = 1; }

int airlock_cancelled(void) { return cancel_flag != 0; }

int airlock_cancel_check(struct airlock_error **err)
{
    return cancel_flag ? airlock_error_set(err, AIRLOCK_ECANCELLED, "interrupted") : 0;
}
