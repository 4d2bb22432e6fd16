/* airlock core: cosign-compatible keys and "simple signing" signatures
 * (../shared/FORMATS.md sections 2 and 3). Same conventions as core.h.
 *
 * Keys are ECDSA P-256. Private keys live in cosign's encrypted key files (scrypt +
 * NaCl secretbox around a PKCS#8 DER key); public keys are SPKI PEM. Key material and
 * passwords are wiped before their memory is freed and never appear in error messages.
 */
#ifndef AIRLOCK_SIGN_H
#define AIRLOCK_SIGN_H

#include "airlock/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- base64 and PEM ---------------------------------------------------------------------- */

/* Standard alphabet with '=' padding. Returns a NUL-terminated malloc'd string. */
char *airlock_b64_encode(const void *p, size_t n);
/* Strict decode (standard alphabet, padding required); out is malloc'd. */
int airlock_b64_decode(unsigned char **out, size_t *out_len, const char *s, size_t n,
                       struct airlock_error **err);

/* ---- keys -------------------------------------------------------------------------------- */

struct airlock_key;    /* a private key (P-256) */
struct airlock_pubkey; /* a public key (P-256) */

#define AIRLOCK_KEY_LABEL_SIGSTORE "ENCRYPTED SIGSTORE PRIVATE KEY" /* cosign >= 2.1 */
#define AIRLOCK_KEY_LABEL_COSIGN "ENCRYPTED COSIGN PRIVATE KEY"     /* every reader */

int airlock_key_generate(struct airlock_key **out, struct airlock_error **err);
/* Reads a cosign encrypted key file. Only scrypt N in {32768, 65536, 131072} with r=8, p=1 is
 * accepted; the plaintext must be PKCS#8 (an SEC1 plaintext is refused, as cosign does).
 * A wrong password fails with AIRLOCK_EUSAGE. what names the file in messages. */
int airlock_key_decrypt(struct airlock_key **out, const char *pem, size_t len,
                        const char *password, size_t password_len, const char *what,
                        struct airlock_error **err);
/* Writes a cosign encrypted key file (PEM, 64-column lines). scrypt_n 65536 with the
 * SIGSTORE label is cosign >= 2.2's form; 32768 with the COSIGN label is read by every
 * cosign and containers/image version. *out is malloc'd and NUL-terminated. */
int airlock_key_encrypt(char **out, const struct airlock_key *k, const char *password,
                        size_t password_len, unsigned scrypt_n, const char *label,
                        struct airlock_error **err);
/* Reads an unencrypted PEM private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"),
 * for import-key-pair. RSA and Ed25519 are refused with a message saying so. */
int airlock_key_import_pem(struct airlock_key **out, const char *pem, size_t len,
                           const char *what, struct airlock_error **err);
/* The public half as "-----BEGIN PUBLIC KEY-----" PEM (178 bytes for P-256), malloc'd. */
int airlock_key_public_pem(char **out, const struct airlock_key *k, struct airlock_error **err);
void airlock_key_free(struct airlock_key *k);

int airlock_pubkey_parse(struct airlock_pubkey **out, const char *pem, size_t len,
                         const char *what, struct airlock_error **err);
int airlock_pubkey_from_key(struct airlock_pubkey **out, const struct airlock_key *k,
                            struct airlock_error **err);
void airlock_pubkey_free(struct airlock_pubkey *k);

/* ECDSA P-256 over SHA-256 of payload; *sig_b64 gets the ASN.1 DER signature in base64. */
int airlock_key_sign(char **sig_b64, const struct airlock_key *k, const void *payload, size_t n,
                     struct airlock_error **err);
/* 0 if sig_b64 (DER, or raw r||s) is a valid signature of payload; AIRLOCK_ESIGNATURE if
 * not (with a reason). */
int airlock_pubkey_verify(const struct airlock_pubkey *k, const void *payload, size_t n,
                          const char *sig_b64, struct airlock_error **err);

/* ---- simple signing payloads ------------------------------------------------------------- */

#define AIRLOCK_SIG_TYPE "cosign container image signature"
#define AIRLOCK_MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define AIRLOCK_ANN_SIGNATURE "dev.cosignproject.cosign/signature"

/* The exact payload bytes cosign writes: compact JSON, members in cosign's order, optional
 * null without annotations or an object with keys sorted. Malloc'd, not NUL-counted. */
int airlock_sig_payload_build(char **out, size_t *len, const char *identity, const char *digest,
                              const struct airlock_annotation *ann, size_t n_ann,
                              struct airlock_error **err);

struct airlock_sig_payload {
    char *identity; /* critical.identity.docker-reference */
    char *digest;   /* critical.image.docker-manifest-digest */
    char *type;     /* critical.type */
    struct airlock_annotation *optional; /* string values of "optional" */
    size_t n_optional;
};
/* Parses a payload. strict: containers/image's rules (exactly these members, the type
 * exact, optional present); otherwise cosign's lenient reading. */
int airlock_sig_payload_parse(struct airlock_sig_payload *out, const char *p, size_t n,
                              int strict, struct airlock_error **err);
void airlock_sig_payload_release(struct airlock_sig_payload *p);
/* Appends to out the payload p as `cosign verify -o json` prints it: Go's json.Unmarshal
 * into payload.SimpleContainerImage, then json.Marshal (critical{identity{docker-reference},
 * image{docker-manifest-digest},type},optional; optional's keys sorted, floats in Go's
 * shortest form, <>& escaped). Fails where cosign's decoding fails. */
int airlock_sig_payload_cosign_json(struct airlock_buf *out, const char *p, size_t n,
                                    struct airlock_error **err);

/* Does a payload's docker-reference satisfy the identity asked for? With a tag or digest in
 * want: the same reference; without: the same repository (containers/image matchRepository).
 * Both sides are normalized as Docker does. */
int airlock_identity_matches(const char *payload_ref, const char *want);

/* containers/image's matchRepoDigestOrExact (FORMATS.md section 3): does a payload's
 * docker-reference accept the image pulled as pulled ("name:tag", "name@digest" or
 * "name:tag@digest")? Both are normalized as Docker does (docker.io/library/x), but no tag is
 * added to the payload's: pulled with a tag, the payload's reference must be the same
 * reference (a payload without a tag never matches); pulled by digest alone, the same
 * repository. A pulled name with neither tag nor digest matches nothing. */
int airlock_identity_match_pulled(const char *payload_ref, const char *pulled);

/* ---- the .sig manifest ------------------------------------------------------------------- */

/* Builds the config and the manifest of a legacy cosign signature image holding the given
 * layers (each a simple-signing payload descriptor with its annotations), byte for byte as
 * cosign >= 2.2 writes them: descriptor members mediaType, size, digest, annotations (keys
 * sorted), Go's JSON escaping. All outputs malloc'd. */
int airlock_sig_manifest_build(char **manifest, size_t *manifest_len, char **config,
                               size_t *config_len, const struct airlock_descriptor *layers,
                               size_t n_layers, struct airlock_error **err);

/* ---- sigstore bundles (cosign 3, FORMATS.md section 4) ------------------------------------ */

#define AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"
#define AIRLOCK_MT_SIGSTORE_BUNDLE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"
#define AIRLOCK_DSSE_TYPE_INTOTO "application/vnd.in-toto+json"
#define AIRLOCK_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define AIRLOCK_MAX_SIGSTORE_BUNDLE (8u << 20) /* a bundle or DSSE envelope (SBOMs are large) */
#define AIRLOCK_MAX_DSSE_SIGNATURES 16
#define AIRLOCK_MAX_INTOTO_SUBJECTS 1024

/* The DSSE envelope of a sigstore bundle: payload decoded, signatures kept in base64. */
struct airlock_dsse {
    char *payload_type;
    unsigned char *payload; /* the exact signed bytes (NUL-terminated, not counted) */
    size_t payload_len;
    char **sigs; /* base64 signatures, DER or raw r||s */
    size_t n_sigs;
    int not_for_keys; /* set when parsing failed because the bundle is keyless or a
                         messageSignature: a signature, just not one a key can check */
};

/* Parses a sigstore bundle (capped by AIRLOCK_MAX_SIGSTORE_BUNDLE): media type v0.3 or later
 * (".v0.3+json" or "+json;version=0.3"; v0.1 and v0.2 are refused by name), with
 * verificationMaterial and content. Only a DSSE envelope verifiable with a public key is
 * taken: a messageSignature bundle, or one whose verification material is a certificate
 * (keyless), fails with AIRLOCK_ESIGNATURE saying it is not verifiable with a key. Any other
 * defect: AIRLOCK_ESIGNATURE with the reason. what names the input. Release with
 * airlock_dsse_release. */
int airlock_sigstore_bundle_parse(struct airlock_dsse *out, const char *p, size_t n,
                                  const char *what, struct airlock_error **err);
void airlock_dsse_release(struct airlock_dsse *d);

/* DSSE's pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(payload)> <payload>"
 * with decimal byte lengths. *out is malloc'd. */
int airlock_dsse_pae(unsigned char **out, size_t *out_len, const char *type,
                     const void *payload, size_t n, struct airlock_error **err);

struct airlock_intoto_subject {
    char *name;   /* may be NULL */
    char *sha256; /* digest.sha256 (hex), may be NULL */
    struct airlock_annotation *annotations; /* string values only (others never match) */
    size_t n_annotations;
};

struct airlock_intoto_statement {
    char *predicate_type;
    struct airlock_intoto_subject *subjects;
    size_t n_subjects;
};

/* Parses an in-toto v1 statement (parsed, never byte-compared: protojson spacing varies).
 * Duplicate keys are refused (ambiguous). Release with airlock_intoto_statement_release. */
int airlock_intoto_statement_parse(struct airlock_intoto_statement *out, const void *p, size_t n,
                                   struct airlock_error **err);
void airlock_intoto_statement_release(struct airlock_intoto_statement *s);

/* What a verified bundle says about the image. */
struct airlock_sigstore_claim {
    char *predicate_type;
    struct airlock_annotation *annotations; /* the matching subject's */
    size_t n_annotations;
    int not_for_keys; /* on failure: as in struct airlock_dsse */
    char *statement;  /* the verified statement's exact bytes (NUL-terminated, not counted) */
    size_t statement_len;
};

/* Verifies a sigstore bundle for the image digest ("sha256:<hex>") as cosign 3 verify --key
 * does: some DSSE signature over the PAE verifies with key, the payload type is in-toto, the
 * statement parses and a subject's digest.sha256 is the image's. 0 and *out filled (release
 * with airlock_sigstore_claim_release), or AIRLOCK_ESIGNATURE with the reason. */
int airlock_sigstore_verify(struct airlock_sigstore_claim *out, const char *bundle, size_t n,
                            const struct airlock_pubkey *key, const char *digest,
                            const char *what, struct airlock_error **err);
void airlock_sigstore_claim_release(struct airlock_sigstore_claim *c);

/* ---- writing sigstore bundles as cosign 3 does (FORMATS.md section 4) ----------------------- */

#define AIRLOCK_PREDICATE_COSIGN_SIGN "https://sigstore.dev/cosign/sign/v1"
#define AIRLOCK_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define AIRLOCK_OCI_EMPTY_DIGEST \
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" /* "{}" */
#define AIRLOCK_ANN_BUNDLE_CONTENT "dev.sigstore.bundle.content"
#define AIRLOCK_ANN_BUNDLE_PREDICATE "dev.sigstore.bundle.predicateType"
#define AIRLOCK_ANN_CREATED "org.opencontainers.image.created"

/* The in-toto v1 statement cosign 3 signs for an image digest ("sha256:<hex>"): one subject
 * with digest.sha256 and the annotations ({} when none; keys sorted), the predicateType and
 * an empty predicate. Compact JSON, Go's escaping. *out is malloc'd (NUL-terminated, not
 * counted in *len). */
int airlock_intoto_statement_build(char **out, size_t *len, const char *digest,
                                   const char *predicate_type,
                                   const struct airlock_annotation *ann, size_t n_ann,
                                   struct airlock_error **err);

/* cosign's public key hint: standard base64 of sha256 over the key's SPKI DER. Malloc'd. */
int airlock_key_hint(char **out, const struct airlock_key *k, struct airlock_error **err);

/* A v0.3 sigstore bundle: a DSSE envelope (payloadType in-toto, no keyid) around the exact
 * statement bytes, signed with k over the PAE, with the key's hint as verification material
 * and no tlog entries or timestamps (offline). *out is malloc'd (NUL-terminated). */
int airlock_sigstore_bundle_build(char **out, size_t *len, const struct airlock_key *k,
                                  const void *statement, size_t n, struct airlock_error **err);

/* The OCI 1.1 referrer manifest cosign 3 attaches a bundle with, member for member: the empty
 * config (artifactType the bundle's), the bundle as the one layer, the dev.sigstore.bundle.*
 * annotations and created (RFC 3339 UTC, e.g. "2026-12-03T15:30:44Z"), the subject's
 * descriptor (media type, size, digest) and artifactType. *out is malloc'd. */
int airlock_sigstore_referrer_build(char **out, size_t *len,
                                    const struct airlock_descriptor *bundle,
                                    const struct airlock_descriptor *subject,
                                    const char *predicate_type, const char *created,
                                    struct airlock_error **err);

/* The referrers tag schema's index (distribution-spec 1.1): old (NULL: none yet) with the
 * referrer manifest's descriptor added (mediaType, size, digest, artifactType and a copy of
 * its annotations), every existing entry kept. *added is 0 when the digest was listed
 * already (then *out is a copy of old). old must be an index (AIRLOCK_EINTEGRITY if not,
 * naming what). *out is malloc'd. */
int airlock_referrers_index_add(char **out, size_t *len, int *added, const char *old,
                                size_t old_len, const char *manifest, size_t manifest_len,
                                const char *what, struct airlock_error **err);

/* ---- attestations (cosign attest / verify-attestation) -------------------------------------- */

#define AIRLOCK_MT_DSSE_ENVELOPE "application/vnd.dsse.envelope.v1+json" /* an .att layer */
#define AIRLOCK_ANN_PREDICATE_TYPE "predicateType" /* an .att layer's annotation */
#define AIRLOCK_INTOTO_STATEMENT_V01 "https://in-toto.io/Statement/v0.1" /* cosign 2's */
#define AIRLOCK_PREDICATE_SPDX "https://spdx.dev/Document"
#define AIRLOCK_PREDICATE_CYCLONEDX "https://cyclonedx.org/bom"
#define AIRLOCK_PREDICATE_CUSTOM "https://cosign.sigstore.dev/attestation/v1"

/* How a predicate file goes into the statement (as cosign attest puts it there). */
enum airlock_predicate_form {
    AIRLOCK_PREDICATE_JSON = 0, /* the document itself, byte for byte; it must be JSON */
    AIRLOCK_PREDICATE_STRING,   /* spdx (tag-value): a JSON string of its bytes */
    AIRLOCK_PREDICATE_WRAPPED,  /* custom: {"Data":"<its bytes>","Timestamp":"<RFC 3339>"} */
};

/* cosign's --type names (slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx,
 * spdxjson, cyclonedx, vuln, openvex, custom) to their predicateType URI, a URI
 * ("scheme:..." without spaces) to itself (form JSON); NULL for anything else. form may be
 * NULL. The returned string is static, or name itself. */
const char *airlock_predicate_type_uri(const char *name, enum airlock_predicate_form *form);
/* Is the predicateType an SBOM's (SPDX or CycloneDX, any version suffix)? */
int airlock_predicate_is_sbom(const char *uri);

/* The in-toto statement cosign attest signs: _type statement_type (AIRLOCK_INTOTO_STATEMENT_V1
 * or _V01), one subject (name when not NULL, digest.sha256 of digest "sha256:<hex>"), the
 * predicateType of type (a name or URI, see airlock_predicate_type_uri) and, last, the
 * predicate in its form: a JSON predicate is put in byte for byte (so airlock_intoto_predicate
 * gives the file back exactly). A predicate that is not what its type needs (not JSON, not
 * valid UTF-8 text for a string, over AIRLOCK_MAX_SIGSTORE_BUNDLE / 2 - 4096 bytes) fails with
 * AIRLOCK_EUSAGE naming what. created: RFC 3339, for custom's Timestamp. *out malloc'd. */
int airlock_intoto_attestation_build(char **out, size_t *len, const char *statement_type,
                                     const char *digest, const char *name, const char *type,
                                     const void *predicate, size_t n, const char *created,
                                     const char *what, struct airlock_error **err);

/* The predicate of a statement (malloc'd into *out, NUL-terminated, not counted): a string
 * predicate decoded (*is_string 1), any other its exact bytes in the statement (leading
 * whitespace left out). AIRLOCK_ENOTFOUND when the statement has none at its top level. */
int airlock_intoto_predicate(char **out, size_t *len, int *is_string, const char *statement,
                             size_t n, struct airlock_error **err);

/* RFC 3339 ("2026-12-03T15:30:44Z", "2026-12-03T17:30:44.5+02:00") to seconds since 1970
 * UTC and nanoseconds: 0, or -1 when s is not one. */
int airlock_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec);
/* When an SBOM document says it was made, as it writes it (malloc'd), or NULL: SPDX 2 JSON's
 * creationInfo.created, CycloneDX's metadata.timestamp, SPDX tag-value's "Created:" line. */
char *airlock_sbom_created(const char *doc, size_t n);
/* The org.opencontainers.image.created annotation of a statement's subject (in-toto v1
 * ResourceDescriptor annotations; the first subject that has one), malloc'd, or NULL. */
char *airlock_intoto_statement_created(const char *statement, size_t n);

/* A bare DSSE envelope, an .att layer as cosign writes it: payloadType in-toto, the base64
 * statement, one signature over the PAE with an empty keyid. *out malloc'd (NUL-terminated). */
int airlock_dsse_envelope_build(char **out, size_t *len, const struct airlock_key *k,
                                const void *statement, size_t n, struct airlock_error **err);
/* Parses a bare DSSE envelope (members in any order, keyid optional), capped by
 * AIRLOCK_MAX_SIGSTORE_BUNDLE; AIRLOCK_ESIGNATURE with the reason. Release with
 * airlock_dsse_release. */
int airlock_dsse_envelope_parse(struct airlock_dsse *out, const char *p, size_t n,
                                const char *what, struct airlock_error **err);
/* Verifies a parsed envelope as cosign verify-attestation --key does (the checks of
 * airlock_sigstore_verify after parsing): one signature over the PAE verifies with key, the
 * payload is an in-toto statement (v1, or cosign 2's v0.1) with a subject of digest. *out as
 * there, with the statement. */
int airlock_dsse_verify(struct airlock_sigstore_claim *out, const struct airlock_dsse *d,
                        const struct airlock_pubkey *key, const char *digest, const char *what,
                        struct airlock_error **err);

#ifdef __cplusplus
}
#endif
#endif
