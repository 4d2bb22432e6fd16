/* Base64 (standard alphabet, '=' padding) and PEM blocks. */
#include "airlock/sign.h"
#include "core_int.h"

#include <stdio.h>
#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *airlock_b64_encode(const void *p, size_t n)
{
    const unsigned char *s = p;
    char *o = malloc(((n + 2) / 3) * 4 + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        o[j++] = B64[(v >> 18) & 63];
        o[j++] = B64[(v >> 12) & 63];
        o[j++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        o[j++] = i + 2 < n ? B64[v & 63] : '=';
    }
    o[j] = '\0';
    return o;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int airlock_b64_decode(unsigned char **out, size_t *out_len, const char *s, size_t n,
                       struct airlock_error **err)
{
    if (n % 4)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "invalid base64: length %zu", n);
    unsigned char *o = malloc(n / 4 * 3 + 1);
    if (!o)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t j = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val(s[i + k])) < 0) {
                airlock_wipe(o, j);
                free(o);
                return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                         "invalid base64 at character %zu", i + (size_t)k);
            }
        }
        unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        o[j++] = (unsigned char)(x >> 16);
        if (pad < 2)
            o[j++] = (unsigned char)(x >> 8);
        if (pad < 1)
            o[j++] = (unsigned char)x;
    }
    *out = o;
    *out_len = j;
    return 0;
}

int core_pem_decode(unsigned char **der, size_t *len, char label[64], const char *pem, size_t n,
                    const char *what, struct airlock_error **err)
{
    const char *end = pem + n;
    const char *b = memmem(pem, n, "-----BEGIN ", 11);
    if (!b)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': not a PEM file", what);
    const char *le = memmem(b + 11, (size_t)(end - b - 11), "-----", 5);
    if (!le || le - (b + 11) >= 63)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': malformed PEM header", what);
    size_t ll = (size_t)(le - (b + 11));
    memcpy(label, b + 11, ll);
    label[ll] = '\0';
    char endmark[96];
    snprintf(endmark, sizeof(endmark), "-----END %s-----", label);
    const char *body = le + 5;
    const char *e = memmem(body, (size_t)(end - body), endmark, strlen(endmark));
    if (!e)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': PEM block '%s' has no end", what,
                                 label);
    char *b64 = malloc((size_t)(e - body) + 1);
    if (!b64)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t k = 0;
    for (const char *p = body; p < e; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
            b64[k++] = *p;
    int rc = airlock_b64_decode(der, len, b64, k, err);
    airlock_wipe(b64, k); /* it may be an unencrypted private key */
    free(b64);
    if (rc)
        airlock_error_wrap(err, "'%s'", what);
    return rc;
}

char *core_pem_encode(const char *label, const unsigned char *der, size_t len)
{
    char *b64 = airlock_b64_encode(der, len);
    if (!b64)
        return NULL;
    size_t bl = strlen(b64);
    struct airlock_buf o = AIRLOCK_BUF_INIT(1u << 20);
    int rc = airlock_buf_printf(&o, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; !rc && i < bl; i += 64) {
        rc = airlock_buf_append(&o, b64 + i, bl - i < 64 ? bl - i : 64);
        if (!rc)
            rc = airlock_buf_append(&o, "\n", 1);
    }
    if (!rc)
        rc = airlock_buf_printf(&o, "-----END %s-----\n", label);
    free(b64);
    if (rc) {
        airlock_buf_release(&o);
        return NULL;
    }
    return airlock_buf_detach(&o, NULL);
}
