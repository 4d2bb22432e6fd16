/* SHA-256 through OpenSSL's EVP (SHA-NI where the CPU has it). The only file that touches
 * libcrypto. */
#include "airlock/core.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct airlock_sha256 {
    EVP_MD_CTX *ctx;
};

int airlock_digest_check(const char *s, struct airlock_error **err)
{
    if (!s)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "missing digest");
    if (strncmp(s, "sha256:", 7) != 0) {
        const char *colon = strchr(s, ':');
        if (colon && colon != s)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "digest '%.80s': unsupported algorithm (only sha256)", s);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "digest '%.80s': malformed", s);
    }
    const char *h = s + 7;
    size_t i;
    for (i = 0; h[i]; i++) {
        char c = h[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || i >= 64)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "digest '%.80s': not 64 lowercase hex digits", s);
    }
    if (i != 64)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "digest '%.80s': not 64 lowercase hex digits", s);
    return 0;
}

const char *airlock_digest_hex(const char *digest) { return digest + 7; }

int airlock_sha256_new(struct airlock_sha256 **out, struct airlock_error **err)
{
    struct airlock_sha256 *h = calloc(1, sizeof(*h));
    if (!h)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        airlock_sha256_free(h);
        return airlock_error_set(err, AIRLOCK_EOS, "cannot initialise sha256");
    }
    *out = h;
    return 0;
}

void airlock_sha256_update(struct airlock_sha256 *h, const void *p, size_t n)
{
    EVP_DigestUpdate(h->ctx, p, n);
}

void airlock_sha256_final(struct airlock_sha256 *h, char out[AIRLOCK_DIGEST_SIZE])
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hx[md[i] >> 4];
        out[8 + 2 * i] = hx[md[i] & 15];
    }
    out[AIRLOCK_DIGEST_LEN] = '\0';
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

int airlock_sha256_copy(struct airlock_sha256 *dst, const struct airlock_sha256 *src,
                        struct airlock_error **err)
{
    if (EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) != 1)
        return airlock_error_set(err, AIRLOCK_EOS, "cannot copy a sha256 state");
    return 0;
}

void airlock_sha256_free(struct airlock_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int airlock_sha256_digest(char out[AIRLOCK_DIGEST_SIZE], const void *p, size_t n,
                          struct airlock_error **err)
{
    struct airlock_sha256 *h = NULL;
    int rc = airlock_sha256_new(&h, err);
    if (rc)
        return rc;
    airlock_sha256_update(h, p, n);
    airlock_sha256_final(h, out);
    airlock_sha256_free(h);
    return 0;
}
