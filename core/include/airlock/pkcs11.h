/* airlock core: keys held by PKCS#11 tokens (HSMs, smart cards, YubiKeys, SoftHSM).
 * Same conventions as core.h.
 *
 * A token key is another kind of struct airlock_key (sign.h): airlock_key_sign, the public
 * key, the hint and every signature format work with it unchanged, the signature being made
 * by the token (CKM_ECDSA over the SHA-256 digest, its raw r||s turned into DER). Only ECDSA
 * P-256 keys are taken. The private key never leaves the token: airlock_key_encrypt refuses a
 * token key. The module is loaded with dlopen through the standard PKCS#11 API; no vendor
 * SDK. PINs are never part of an error message and are wiped after use.
 *
 * Key URIs are RFC 7512, as cosign writes them:
 *   pkcs11:token=release;object=airlock?module-path=/usr/lib/softhsm/libsofthsm2.so
 * Path attributes: token, manufacturer, model, serial (which token), slot-id (decimal),
 * object (CKA_LABEL), id (CKA_ID, percent-encoded bytes), type (only "private" or "public").
 * Query attributes: module-path, pin-value, pin-source. Values are percent-decoded; any other
 * attribute, one given twice, or a bad slot-id is refused naming it (never a PIN's value).
 */
#ifndef AIRLOCK_PKCS11_H
#define AIRLOCK_PKCS11_H

#include "airlock/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct airlock_key; /* sign.h */

#define AIRLOCK_PKCS11_MAX_URI 4096
#define AIRLOCK_PKCS11_MAX_PIN 256
/* The module loaded when a URI names none and AIRLOCK_PKCS11_MODULE is unset. */
#define AIRLOCK_PKCS11_DEFAULT_MODULE "p11-kit-proxy.so"

struct airlock_pkcs11_uri {
    char *token, *manufacturer, *model, *serial; /* CK_TOKEN_INFO fields, NULL: any */
    char *object;                                /* CKA_LABEL, NULL: any */
    unsigned char *id;                           /* CKA_ID (id_len bytes), NULL: any */
    size_t id_len;
    int has_slot_id;
    unsigned long slot_id;
    char *module_path; /* NULL: none given */
    char *pin_value;   /* a secret: wiped by airlock_pkcs11_uri_release */
    size_t pin_value_len;
    char *pin_source; /* a file name ("file:" prefix dropped) */
};

/* 1 if s is a PKCS#11 URI (starts with "pkcs11:", scheme case-insensitive). */
int airlock_pkcs11_uri_is(const char *s);
/* Parses an RFC 7512 URI into out (zeroed first). AIRLOCK_EUSAGE on any defect. Release with
 * airlock_pkcs11_uri_release even on failure. */
int airlock_pkcs11_uri_parse(struct airlock_pkcs11_uri *out, const char *s,
                             struct airlock_error **err);
void airlock_pkcs11_uri_release(struct airlock_pkcs11_uri *u);
/* The module a URI loads: its module-path, else $AIRLOCK_PKCS11_MODULE, else p11-kit's
 * proxy. Not allocated. */
const char *airlock_pkcs11_module_of(const struct airlock_pkcs11_uri *u);

/* The private key the URI names, found on the one token it matches (logged in with pin, which
 * may be NULL for a token that needs no login). Exactly one private key must match; a public
 * key object with the same CKA_ID (or label) gives the public half, else CKA_EC_POINT of the
 * private key. Errors: a wrong PIN AIRLOCK_EUSAGE naming CKR_PIN_INCORRECT and the token; no
 * such token or key AIRLOCK_ENOTFOUND; an RSA or other non-P-256 key AIRLOCK_EUSAGE. Free
 * with airlock_key_free (logs out, unloads the module). */
int airlock_pkcs11_key_open(struct airlock_key **out, const struct airlock_pkcs11_uri *u,
                            const char *pin, size_t pin_len, struct airlock_error **err);
/* Generates an ECDSA P-256 key pair on the token (CKM_EC_KEY_PAIR_GEN): a private key that is
 * sensitive and not extractable, labelled with the URI's object and given its id (or a
 * random 16-byte id). Refuses when a key with that label or id exists (AIRLOCK_EEXISTS). */
int airlock_pkcs11_key_generate(struct airlock_key **out, const struct airlock_pkcs11_uri *u,
                                const char *pin, size_t pin_len, struct airlock_error **err);

/* *needs: the token u matches wants a PIN typed in (CKF_LOGIN_REQUIRED without a PIN pad);
 * so that a caller asks only then. The token not found: as airlock_pkcs11_key_open. */
int airlock_pkcs11_token_needs_pin(int *needs, const struct airlock_pkcs11_uri *u,
                                   struct airlock_error **err);

struct airlock_pkcs11_token {
    unsigned long slot_id;
    char slot[65];                    /* slot description */
    char label[33], manufacturer[33]; /* blank-padded fields, trimmed */
    char model[17], serial[17];
    int present, initialized, login_required;
};
/* The slots of a module and their tokens (present == 0: an empty slot). *out is malloc'd. */
int airlock_pkcs11_tokens_list(struct airlock_pkcs11_token **out, size_t *n,
                               const char *module_path, struct airlock_error **err);

struct airlock_pkcs11_object {
    char *label;           /* may be "" */
    char *id_hex;          /* CKA_ID in hex, may be "" */
    const char *kind;      /* "private key", "public key", "certificate", "secret key", ... */
    const char *key_type;  /* "EC P-256", "EC (other curve)", "RSA", ... or "" */
    int usable;            /* an EC P-256 private key airlock can sign with */
    int sensitive, extractable;
    char *uri;             /* a pkcs11: URI naming it (token, object, id), for --key */
};
/* The objects on the token u matches (logged in with pin when not NULL: private keys are
 * listed only then). *out is malloc'd; free with airlock_pkcs11_objects_free. */
int airlock_pkcs11_keys_list(struct airlock_pkcs11_object **out, size_t *n,
                             const struct airlock_pkcs11_uri *u, const char *pin, size_t pin_len,
                             struct airlock_error **err);
void airlock_pkcs11_objects_free(struct airlock_pkcs11_object *o, size_t n);

/* The name of a PKCS#11 return value ("CKR_PIN_INCORRECT"), or "CKR_0x..." for one unknown.
 * buf holds the latter. */
const char *airlock_pkcs11_rv_name(unsigned long rv, char buf[24]);

#ifdef __cplusplus
}
#endif
#endif
