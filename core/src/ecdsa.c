/* The mbedTLS adapter: every mbedTLS call of airlock lives in this file (ECDSA P-256 keys,
 * PKCS#8 and SPKI encodings, signatures). Debian's mbedTLS is 2.28: mbedtls_pk_sign takes no
 * signature size and writes at most MBEDTLS_PK_SIGNATURE_MAX_SIZE bytes. */
#include "airlock/sign.h"
#include "core_int.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <string.h>

/* A key file's key holds the private scalar in pk; a token's key (token != NULL) holds only
 * the public point there, and the token signs. */
struct airlock_key {
    mbedtls_pk_context pk;
    struct pkcs11_key *token;
    char *what; /* names a token key in messages */
};

struct airlock_pubkey {
    mbedtls_pk_context pk;
};

static int mbed_fail(struct airlock_error **err, int code, int mrc, const char *what)
{
    char buf[160];
    mbedtls_strerror(mrc, buf, sizeof(buf));
    return airlock_error_set(err, code, "%s: %s", what, buf);
}

/* A DRBG seeded from the system's entropy, for one operation. */
struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, struct airlock_error **err)
{
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    static const unsigned char pers[] = "airlock";
    int m = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, pers, sizeof(pers));
    return m ? mbed_fail(err, AIRLOCK_EOS, m, "seed random generator") : 0;
}

static void rng_free(struct rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

static int is_p256(const mbedtls_pk_context *pk)
{
    return mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY &&
           mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

int airlock_key_generate(struct airlock_key **out, struct airlock_error **err)
{
    struct airlock_key *k = calloc(1, sizeof(*k));
    if (!k)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    mbedtls_pk_init(&k->pk);
    struct rng r;
    int rc = rng_init(&r, err);
    int m = 0;
    if (!rc && ((m = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) ||
                (m = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
                                         mbedtls_ctr_drbg_random, &r.drbg))))
        rc = mbed_fail(err, AIRLOCK_EOS, m, "generate ECDSA P-256 key");
    rng_free(&r);
    if (rc) {
        airlock_key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void airlock_key_free(struct airlock_key *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk); /* zeroizes the private scalar */
    pkcs11_key_free(k->token);
    free(k->what);
    free(k);
}

void airlock_pubkey_free(struct airlock_pubkey *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk);
    free(k);
}

/* The algorithm a PKCS#8 PrivateKeyInfo names, for clear refusals. */
static const char *pkcs8_algorithm(const unsigned char *der, size_t len)
{
    static const unsigned char rsa[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    static const unsigned char ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    static const unsigned char ec[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    size_t lim = len < 40 ? len : 40;
    if (memmem(der, lim, rsa, sizeof(rsa)))
        return "RSA";
    if (memmem(der, lim, ed25519, sizeof(ed25519)))
        return "Ed25519";
    if (memmem(der, lim, ec, sizeof(ec)))
        return "EC";
    return "unknown";
}

/* PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0, SEQUENCE { algorithm }, OCTET STRING }.
 * SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING, ... }. */
static int is_pkcs8(const unsigned char *der, size_t len)
{
    size_t i = 0;
    if (len < 8 || der[i++] != 0x30)
        return 0;
    if (der[i] & 0x80)
        i += 1 + (der[i] & 0x7f);
    else
        i++;
    return i + 4 <= len && der[i] == 0x02 && der[i + 1] == 0x01 && der[i + 2] == 0x00 &&
           der[i + 3] == 0x30;
}

int ecdsa_key_from_der(struct airlock_key **out, const unsigned char *der, size_t len,
                       int require_pkcs8, const char *what, struct airlock_error **err)
{
    int pkcs8 = is_pkcs8(der, len);
    if (require_pkcs8 && !pkcs8)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s': the key inside is not PKCS#8 (an SEC1 EC key?); cosign "
                                 "refuses such files too",
                                 what);
    if (pkcs8) {
        const char *alg = pkcs8_algorithm(der, len);
        if (strcmp(alg, "EC"))
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "'%s': %s keys are not supported; airlock signs with ECDSA "
                                     "P-256 keys (cosign generate-key-pair)",
                                     what, alg);
    }
    struct airlock_key *k = calloc(1, sizeof(*k));
    if (!k)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    mbedtls_pk_init(&k->pk);
    int m = mbedtls_pk_parse_key(&k->pk, der, len, NULL, 0);
    if (m) {
        airlock_key_free(k);
        return mbed_fail(err, AIRLOCK_EUSAGE, m, what);
    }
    if (!is_p256(&k->pk)) {
        airlock_key_free(k);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s': not an ECDSA P-256 key (the only kind airlock signs with)",
                                 what);
    }
    *out = k;
    return 0;
}

/* DER length octets */
static size_t der_len(unsigned char *o, size_t n)
{
    if (n < 128) {
        o[0] = (unsigned char)n;
        return 1;
    }
    if (n < 256) {
        o[0] = 0x81;
        o[1] = (unsigned char)n;
        return 2;
    }
    o[0] = 0x82;
    o[1] = (unsigned char)(n >> 8);
    o[2] = (unsigned char)n;
    return 3;
}

int ecdsa_key_to_pkcs8(unsigned char **der, size_t *len, const struct airlock_key *k,
                       struct airlock_error **err)
{
    /* mbedTLS 2.28 writes SEC1; wrap it in a PKCS#8 PrivateKeyInfo as Go's
     * x509.MarshalPKCS8PrivateKey does. */
    if (k->token)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "%s: the private key is held by the token and never leaves it",
                                 k->what);
    static const unsigned char alg[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                        0x03, 0x01, 0x07};
    unsigned char buf[512];
    int n = mbedtls_pk_write_key_der((mbedtls_pk_context *)&k->pk, buf, sizeof(buf));
    if (n < 0)
        return mbed_fail(err, AIRLOCK_EOS, n, "encode private key");
    const unsigned char *sec1 = buf + sizeof(buf) - n;
    unsigned char octet_hdr[4], seq_hdr[4];
    size_t ol = der_len(octet_hdr + 1, (size_t)n) + 1;
    octet_hdr[0] = 0x04;
    size_t inner = 3 + sizeof(alg) + ol + (size_t)n;
    size_t sl = der_len(seq_hdr + 1, inner) + 1;
    seq_hdr[0] = 0x30;
    unsigned char *o = malloc(sl + inner);
    if (!o) {
        airlock_wipe(buf, sizeof(buf));
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    size_t p = 0;
    memcpy(o + p, seq_hdr, sl), p += sl;
    memcpy(o + p, "\x02\x01\x00", 3), p += 3;
    memcpy(o + p, alg, sizeof(alg)), p += sizeof(alg);
    memcpy(o + p, octet_hdr, ol), p += ol;
    memcpy(o + p, sec1, (size_t)n), p += (size_t)n;
    airlock_wipe(buf, sizeof(buf));
    *der = o;
    *len = p;
    return 0;
}

int airlock_key_import_pem(struct airlock_key **out, const char *pem, size_t len,
                           const char *what, struct airlock_error **err)
{
    unsigned char *der = NULL;
    size_t dl = 0;
    char label[64];
    int rc = core_pem_decode(&der, &dl, label, pem, len, what, err);
    if (rc)
        return rc;
    if (!strcmp(label, "ENCRYPTED PRIVATE KEY") || strstr(label, "ENCRYPTED"))
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': the key is encrypted ('%s'); give an unencrypted PEM key",
                               what, label);
    else if (!strcmp(label, "PRIVATE KEY"))
        rc = ecdsa_key_from_der(out, der, dl, 1, what, err);
    else if (!strcmp(label, "EC PRIVATE KEY"))
        rc = ecdsa_key_from_der(out, der, dl, 0, what, err);
    else if (!strcmp(label, "RSA PRIVATE KEY"))
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': RSA keys are not supported; airlock signs with ECDSA P-256 "
                               "keys",
                               what);
    else
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': unexpected PEM block '%s'", what,
                               label);
    airlock_wipe(der, dl);
    free(der);
    return rc;
}

int airlock_key_public_pem(char **out, const struct airlock_key *k, struct airlock_error **err)
{
    unsigned char buf[512];
    int m = mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk, buf, sizeof(buf));
    if (m)
        return mbed_fail(err, AIRLOCK_EOS, m, "encode public key");
    *out = strdup((char *)buf);
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

int airlock_pubkey_parse(struct airlock_pubkey **out, const char *pem, size_t len,
                         const char *what, struct airlock_error **err)
{
    struct airlock_pubkey *k = calloc(1, sizeof(*k));
    if (!k)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    mbedtls_pk_init(&k->pk);
    /* mbedTLS wants the PEM NUL-terminated, with the NUL counted */
    char *z = malloc(len + 1);
    if (!z) {
        airlock_pubkey_free(k);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    memcpy(z, pem, len);
    z[len] = '\0';
    int m = mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *)z, len + 1);
    free(z);
    if (m) {
        airlock_pubkey_free(k);
        return mbed_fail(err, AIRLOCK_EUSAGE, m, what);
    }
    if (!is_p256(&k->pk)) {
        airlock_pubkey_free(k);
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': not an ECDSA P-256 public key",
                                 what);
    }
    *out = k;
    return 0;
}

int airlock_pubkey_from_key(struct airlock_pubkey **out, const struct airlock_key *k,
                            struct airlock_error **err)
{
    char *pem = NULL;
    int rc = airlock_key_public_pem(&pem, k, err);
    if (rc)
        return rc;
    rc = airlock_pubkey_parse(out, pem, strlen(pem), "public key", err);
    free(pem);
    return rc;
}

static size_t raw_to_der(unsigned char *o, const unsigned char *raw);

int ecdsa_key_from_token(struct airlock_key **out, const unsigned char point[65],
                         struct pkcs11_key *t, const char *what, struct airlock_error **err)
{
    struct airlock_key *k = calloc(1, sizeof(*k));
    if (!k || !(k->what = strdup(what))) {
        free(k);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    mbedtls_pk_init(&k->pk);
    int m = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    mbedtls_ecp_keypair *ec = m ? NULL : mbedtls_pk_ec(k->pk);
    if (!m)
        m = mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1);
    if (!m)
        m = mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, 65);
    if (!m)
        m = mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q);
    if (m) {
        airlock_key_free(k);
        return mbed_fail(err, AIRLOCK_EUSAGE, m, what);
    }
    k->token = t;
    *out = k;
    return 0;
}

/* The token signs the digest; its signature is checked with the public half airlock found
 * for it before anyone sees it, so a mismatched public key object fails here, not later. */
static int token_sign(unsigned char *der, size_t *dl, const struct airlock_key *k,
                      const unsigned char hash[32], struct airlock_error **err)
{
    unsigned char raw[64];
    int rc = pkcs11_key_sign_raw(raw, k->token, hash, err);
    if (rc)
        return rc;
    *dl = raw_to_der(der, raw);
    if (mbedtls_pk_verify((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, 32, der, *dl))
        return airlock_error_set(err, AIRLOCK_EOS,
                                 "%s: the token's signature does not verify with the public key "
                                 "found for it (another key's public object under its id?)",
                                 k->what);
    return 0;
}

int airlock_key_sign(char **sig_b64, const struct airlock_key *k, const void *payload, size_t n,
                     struct airlock_error **err)
{
    unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sl = 0;
    mbedtls_sha256_ret(payload, n, hash, 0);
    if (k->token) {
        int rc = token_sign(sig, &sl, k, hash, err);
        if (rc)
            return rc;
        *sig_b64 = airlock_b64_encode(sig, sl);
        return *sig_b64 ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    struct rng r;
    int rc = rng_init(&r, err);
    if (rc)
        return rc;
    int m = mbedtls_pk_sign((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
                            sig, &sl, mbedtls_ctr_drbg_random, &r.drbg);
    rng_free(&r);
    if (m)
        return mbed_fail(err, AIRLOCK_EOS, m, "sign");
    *sig_b64 = airlock_b64_encode(sig, sl);
    return *sig_b64 ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

/* raw r||s (64 bytes) to DER */
static size_t raw_to_der(unsigned char *o, const unsigned char *raw)
{
    unsigned char ints[2][40];
    size_t il[2];
    for (int h = 0; h < 2; h++) {
        const unsigned char *v = raw + 32 * h;
        size_t s = 0;
        while (s < 31 && v[s] == 0)
            s++;
        size_t l = 0;
        if (v[s] & 0x80)
            ints[h][l++] = 0;
        memcpy(ints[h] + l, v + s, 32 - s);
        il[h] = l + 32 - s;
    }
    size_t p = 0;
    o[p++] = 0x30;
    o[p++] = (unsigned char)(4 + il[0] + il[1]);
    for (int h = 0; h < 2; h++) {
        o[p++] = 0x02;
        o[p++] = (unsigned char)il[h];
        memcpy(o + p, ints[h], il[h]);
        p += il[h];
    }
    return p;
}

int airlock_pubkey_verify(const struct airlock_pubkey *k, const void *payload, size_t n,
                          const char *sig_b64, struct airlock_error **err)
{
    unsigned char *sig = NULL;
    size_t sl = 0;
    if (!sig_b64 || airlock_b64_decode(&sig, &sl, sig_b64, strlen(sig_b64), NULL))
        return airlock_error_set(err, AIRLOCK_ESIGNATURE, "signature is not valid base64");
    unsigned char hash[32], der[80];
    mbedtls_sha256_ret(payload, n, hash, 0);
    int m = mbedtls_pk_verify((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
                              sig, sl);
    if (m && sl == 64) { /* raw r||s */
        size_t dl = raw_to_der(der, sig);
        m = mbedtls_pk_verify((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
                              der, dl);
    }
    free(sig);
    if (m)
        return airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                 "signature does not verify with the key");
    return 0;
}
