/* Internal helpers shared by airlock's libraries (not installed, not public API). */
#ifndef AIRLOCK_CORE_INT_H
#define AIRLOCK_CORE_INT_H

#include <stdlib.h>
#include <unistd.h>

/* Scope-bound cleanup (crun utils.h). Declare at the top of a block, initialized. */
static inline void core_freep(void *p) { free(*(void **)p); }
static inline void core_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(core_freep)))
#define _cleanup_close_ __attribute__((cleanup(core_closep)))

static inline void *core_steal(void *pp)
{
    void **p = (void **)pp;
    void *r = *p;
    *p = NULL;
    return r;
}
#define steal_pointer(pp) core_steal(pp)

/* Like strdup but aborts on OOM-free paths by returning NULL; callers check. */
char *core_strdup0(const char *s);

/* Full-length write/pread helpers: return 0 or -errno. */
int core_write_all(int fd, const void *p, size_t n);
int core_pread_all(int fd, void *p, size_t n, off_t off);

/* PEM: decode the first block (its label into label), encode a block with 64-column lines. */
int core_pem_decode(unsigned char **der, size_t *len, char label[64], const char *pem, size_t n,
                    const char *what, struct airlock_error **err);
char *core_pem_encode(const char *label, const unsigned char *der, size_t len);

/* ecdsa.c (the mbedTLS adapter): keys from and to DER. require_pkcs8 refuses SEC1. */
struct airlock_key;
int ecdsa_key_from_der(struct airlock_key **out, const unsigned char *der, size_t len,
                       int require_pkcs8, const char *what, struct airlock_error **err);
int ecdsa_key_to_pkcs8(unsigned char **der, size_t *len, const struct airlock_key *k,
                       struct airlock_error **err);
/* A key whose signatures the token makes (pkcs11.c): point is the public 04||X||Y; on
 * success the key owns t (freed by airlock_key_free). */
struct pkcs11_key;
int ecdsa_key_from_token(struct airlock_key **out, const unsigned char point[65],
                         struct pkcs11_key *t, const char *what, struct airlock_error **err);
/* pkcs11.c: the token's raw r||s over a SHA-256 digest; freeing logs out, unloads. */
int pkcs11_key_sign_raw(unsigned char raw[64], struct pkcs11_key *t, const unsigned char hash[32],
                        struct airlock_error **err);
void pkcs11_key_free(struct pkcs11_key *t);

/* json.c: cJSON's parser held to one document, as Go's encoding/json reads one: only white
 * space may follow it. (cJSON_ParseWithLength stops after the first value and ignores the
 * rest, so "{...}{...}" or "{...}garbage" read as the first where Go, containers/image and
 * cosign refuse the whole.) NULL on failure, and *bad_at (may be NULL) the offset where it
 * went wrong. Every JSON airlock reads goes through here. */
struct cJSON;
struct cJSON *core_json_parse(const char *p, size_t n, size_t *bad_at);
/* json.c: refuses a parsed document that Go's encoding/json would read differently: a member
 * given twice (exactly, or in structures case-insensitively as Go folds names), or a member
 * that folds to a known OCI member name without being it ("Layers"). Annotation maps keep
 * exact names. */
struct cJSON;
int core_json_keys_check(const struct cJSON *root, const char *what, struct airlock_error **err);
/* simplesign.c: a key given twice in one object anywhere below o (ambiguous: Go keeps the
 * last value, cJSON the first), or "(nesting too deep)"; NULL when there is none. Points into
 * o (or is static). */
const char *core_json_duplicate_key(const struct cJSON *o);
int core_json_has_duplicate_keys(const struct cJSON *o); /* one is there */
/* simplesign.c: a JSON string as Go's encoding/json writes it, and a map[string]string
 * (keys sorted); for the other documents airlock writes as cosign does. */
struct airlock_buf;
struct airlock_annotation;
int core_json_go_str(struct airlock_buf *b, const char *s);
int core_json_go_map(struct airlock_buf *b, const struct airlock_annotation *ann, size_t n);

/* A map from digest strings to size_t (open addressing; zero-initialize to use). */
struct core_dmap_slot {
    char key[72];
    size_t value;
};
struct core_dmap {
    struct core_dmap_slot *slots;
    size_t cap, n;
};
size_t *core_dmap_get(const struct core_dmap *m, const char *digest);
int core_dmap_put(struct core_dmap *m, const char *digest, size_t value); /* -1: no memory */
void core_dmap_release(struct core_dmap *m);

/* A repository path component as Docker's reference grammar has it:
 * [a-z0-9]+ ((?:[._]|__|-+) [a-z0-9]+)* (ref.c; the policy reader uses the same). */
int core_ref_valid_component(const char *s, size_t n);
/* A repository path (no domain, tag or digest): components as above joined by '/', at most
 * 255 bytes, so never '..', '?', '%' or an empty component in a URL built from it. */
int core_ref_valid_path(const char *s);

#endif
