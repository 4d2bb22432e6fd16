#include "airlock/core.h"

#include <string.h>

int airlock_json_check(const char *p, size_t n, const char *what, struct airlock_error **err)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n || (p[i] != '{' && p[i] != '['))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: not a JSON object or array",
                                 what);
    if (memchr(p, '\0', n))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: contains a NUL byte", what);
    int depth = 0, in_str = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (++depth > AIRLOCK_MAX_JSON_DEPTH)
                return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                         "%s: JSON nested deeper than %d levels", what,
                                         AIRLOCK_MAX_JSON_DEPTH);
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 0;
}
