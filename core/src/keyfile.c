/* cosign's encrypted private key files: PEM around compact JSON, scrypt for the key,
 * XSalsa20-Poly1305 secretbox around a PKCS#8 key (FORMATS.md section 2). The only file that
 * touches libsodium. */
#include "airlock/sign.h"
#include "core_int.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int b64_field(unsigned char **out, size_t *len, const cJSON *obj, const char *key,
                     const char *what, struct airlock_error **err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': key file has no '%s'", what, key);
    if (airlock_b64_decode(out, len, v->valuestring, strlen(v->valuestring), NULL))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': '%s' is not valid base64", what,
                                 key);
    return 0;
}

int airlock_key_decrypt(struct airlock_key **out, const char *pem, size_t len,
                        const char *password, size_t password_len, const char *what,
                        struct airlock_error **err)
{
    if (sodium_init() < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "cannot initialise libsodium");
    unsigned char *body = NULL, *salt = NULL, *nonce = NULL, *ct = NULL, *plain = NULL;
    size_t bl = 0, saltl = 0, noncel = 0, ctl = 0;
    unsigned char key[crypto_secretbox_KEYBYTES];
    char label[64];
    cJSON *j = NULL;
    const cJSON *kdf, *params, *cipher, *N, *r, *p;
    const char *kname, *cname;
    int rc = core_pem_decode(&body, &bl, label, pem, len, what, err);
    if (rc)
        return rc;
    if (strcmp(label, AIRLOCK_KEY_LABEL_SIGSTORE) && strcmp(label, AIRLOCK_KEY_LABEL_COSIGN)) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': PEM block '%s' is not a cosign private key (want '%s' or "
                               "'%s')",
                               what, label, AIRLOCK_KEY_LABEL_SIGSTORE, AIRLOCK_KEY_LABEL_COSIGN);
        goto out;
    }
    if (airlock_json_check((const char *)body, bl, what, NULL) ||
        !(j = core_json_parse((const char *)body, bl, NULL))) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': key file body is not JSON", what);
        goto out;
    }
    kdf = cJSON_GetObjectItemCaseSensitive(j, "kdf");
    params = cJSON_GetObjectItemCaseSensitive(kdf, "params");
    cipher = cJSON_GetObjectItemCaseSensitive(j, "cipher");
    kname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(kdf, "name"));
    cname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cipher, "name"));
    N = cJSON_GetObjectItemCaseSensitive(params, "N");
    r = cJSON_GetObjectItemCaseSensitive(params, "r");
    p = cJSON_GetObjectItemCaseSensitive(params, "p");
    if (!kname || strcmp(kname, "scrypt") || !cname || strcmp(cname, "nacl/secretbox")) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': unsupported key encryption (want scrypt and nacl/secretbox)",
                               what);
        goto out;
    }
    /* Only cosign's parameter sets: anything else is a way to make us spin or eat memory. */
    if (!cJSON_IsNumber(N) || !cJSON_IsNumber(r) || !cJSON_IsNumber(p) ||
        !(N->valuedouble == 32768 || N->valuedouble == 65536 || N->valuedouble == 131072) ||
        r->valuedouble != 8 || p->valuedouble != 1) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': scrypt parameters other than N=32768/65536/131072, r=8, "
                               "p=1 are refused",
                               what);
        goto out;
    }
    if ((rc = b64_field(&salt, &saltl, kdf, "salt", what, err)) ||
        (rc = b64_field(&nonce, &noncel, cipher, "nonce", what, err)) ||
        (rc = b64_field(&ct, &ctl, j, "ciphertext", what, err)))
        goto out;
    if (noncel != crypto_secretbox_NONCEBYTES || ctl <= crypto_secretbox_MACBYTES ||
        saltl < 8 || ctl > 4096) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': malformed key file", what);
        goto out;
    }
    if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, password_len, salt,
                                              saltl, (uint64_t)N->valuedouble, 8, 1, key,
                                              sizeof(key)) != 0) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "'%s': scrypt failed (out of memory?)", what);
        goto out;
    }
    plain = sodium_malloc(ctl);
    if (!plain) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if (crypto_secretbox_open_easy(plain, ct, ctl, nonce, key) != 0) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "'%s': wrong password, or the key file is damaged", what);
        goto out;
    }
    rc = ecdsa_key_from_der(out, plain, ctl - crypto_secretbox_MACBYTES, 1, what, err);
out:
    sodium_memzero(key, sizeof(key));
    if (plain)
        sodium_free(plain); /* zeroes it */
    cJSON_Delete(j);
    free(body);
    free(salt);
    free(nonce);
    free(ct);
    return rc;
}

int airlock_key_encrypt(char **out, const struct airlock_key *k, const char *password,
                        size_t password_len, unsigned scrypt_n, const char *label,
                        struct airlock_error **err)
{
    if (sodium_init() < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "cannot initialise libsodium");
    if (scrypt_n != 32768 && scrypt_n != 65536 && scrypt_n != 131072)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "scrypt N must be 32768, 65536 or 131072 (not %u)", scrypt_n);
    unsigned char salt[32], nonce[crypto_secretbox_NONCEBYTES], key[crypto_secretbox_KEYBYTES];
    unsigned char *der = NULL, *ct = NULL;
    size_t dl = 0;
    char *s_salt = NULL, *s_nonce = NULL, *s_ct = NULL, *json = NULL;
    int rc = ecdsa_key_to_pkcs8(&der, &dl, k, err);
    if (rc)
        return rc;
    randombytes_buf(salt, sizeof(salt));
    randombytes_buf(nonce, sizeof(nonce));
    if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, password_len, salt,
                                              sizeof(salt), scrypt_n, 8, 1, key,
                                              sizeof(key)) != 0) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "scrypt failed (out of memory?)");
        goto out;
    }
    ct = malloc(dl + crypto_secretbox_MACBYTES);
    if (!ct) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    crypto_secretbox_easy(ct, der, dl, nonce, key);
    s_salt = airlock_b64_encode(salt, sizeof(salt));
    s_nonce = airlock_b64_encode(nonce, sizeof(nonce));
    s_ct = airlock_b64_encode(ct, dl + crypto_secretbox_MACBYTES);
    /* compact JSON, members in cosign's order */
    if (!s_salt || !s_nonce || !s_ct ||
        asprintf(&json,
                 "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":%u,\"r\":8,\"p\":1},"
                 "\"salt\":\"%s\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"%s\"},"
                 "\"ciphertext\":\"%s\"}",
                 scrypt_n, s_salt, s_nonce, s_ct) < 0) {
        json = NULL;
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    *out = core_pem_encode(label ? label : AIRLOCK_KEY_LABEL_SIGSTORE, (unsigned char *)json,
                           strlen(json));
    if (!*out)
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
out:
    sodium_memzero(key, sizeof(key));
    if (der) {
        sodium_memzero(der, dl);
        free(der);
    }
    free(ct);
    free(s_salt);
    free(s_nonce);
    free(s_ct);
    free(json);
    return rc;
}
