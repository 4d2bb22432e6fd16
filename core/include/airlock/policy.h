/* airlock core: containers/image signature policies, policy.json (containers-policy.json(5),
 * ../shared/FORMATS.md section 6). Same conventions as core.h.
 *
 * The check at the gap is the check podman, CRI-O and skopeo make at run time: for an image at
 * the reference it will be pulled by (its destination), the requirements of the scope
 * containers/image picks must all hold. airlock reads the policy as strictly as
 * containers/image does and evaluates it offline:
 *
 * Parsing (airlock_policy_parse): the document is an object with "default" (required, a
 * non-empty requirement list) and "transports" (optional: transport name -> scope ->
 * requirement list; "" is a transport's own default scope). Every transport is kept; only
 * "docker" is consulted (images in a registry). Unknown members, a member given twice, a
 * value of the wrong type, an unknown requirement or identity type, a missing or extra key
 * source, an invalid reference or prefix are refused with AIRLOCK_EUSAGE naming the file and
 * the member path ("policy '/etc/containers/policy.json': transports.docker[\"reg.example\"]
 * [0].signedIdentity: unknown member 'prefx'").
 *
 * Requirement types: insecureAcceptAnything (holds), reject (fails), signedBy (GPG: parsed
 * and reported "not checkable by airlock (GPG)", failing), signedBaseLayer (not implemented
 * by containers/image either: failing), sigstoreSigned with exactly one of keyPath, keyPaths,
 * keyData, keyDatas, fulcio, pki, at most one rekorPublicKey* source, and a signedIdentity
 * (default matchRepoDigestOrExact). fulcio, pki and rekorPublicKey* need certificates or a
 * transparency log airlock does not check offline: such a requirement fails, reported by
 * name. Key files (keyPath, keyPaths; a relative path from the working directory, as
 * containers/image reads it) are read when the policy is parsed; one that cannot be
 * read or is no P-256 public key makes its requirement fail with that reason (containers/image
 * reads them when the requirement is evaluated, with the same outcome), not the parse.
 *
 * A sigstoreSigned requirement holds when any one signature of the manifest digest verifies
 * with one of its keys (ECDSA over the stored payload bytes), its payload parses strictly as
 * containers/image parses it, names this manifest digest, and its docker-reference satisfies
 * the signedIdentity. No signature at all: "A signature was required, but no signature
 * exists", as containers/image says it.
 */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include "airlock/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIRLOCK_MAX_POLICY (1u << 20)      /* a policy.json document */
#define AIRLOCK_MAX_POLICY_KEY (64u << 10) /* a keyPath file */

/* ---- signed identities (signedIdentity) ---------------------------------------------------- */

enum airlock_identity_type {
    AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT = 0, /* the default */
    AIRLOCK_IDENTITY_MATCH_EXACT,
    AIRLOCK_IDENTITY_MATCH_REPOSITORY,
    AIRLOCK_IDENTITY_EXACT_REFERENCE,  /* ref: dockerReference */
    AIRLOCK_IDENTITY_EXACT_REPOSITORY, /* ref: dockerRepository */
    AIRLOCK_IDENTITY_REMAP,            /* prefix, signed_prefix */
};

struct airlock_signed_identity {
    enum airlock_identity_type type;
    const char *ref;
    const char *prefix, *signed_prefix;
};

/* 1 when a signature whose docker-reference is signed_ref is accepted for the image pulled as
 * image (a reference with a tag or a digest; name-only is allowed here and never matches an
 * exact rule), by containers/image's rules: references compare normalized (busybox is
 * docker.io/library/busybox); a name-only signed reference never satisfies an exact rule; by
 * tag matchRepoDigestOrExact wants the same tag (and digest when the image has both), by
 * digest only the same repository. remapIdentity first rewrites image's repository when it is
 * prefix or below it ('/' follows; prefixes compare against the normalized name, so
 * "docker.io/library", not "library") to signed_prefix, then matches as
 * matchRepoDigestOrExact; a rewrite that is not a canonical reference never matches. Anything
 * unparsable: 0. */
int airlock_signed_identity_match(const struct airlock_signed_identity *id, const char *image,
                                  const char *signed_ref);

/* remapIdentity's rewrite of image (a reference) alone: *out (malloc'd) gets the rewritten
 * reference, or image normalized when prefix does not match. AIRLOCK_EUSAGE when the rewrite
 * is no canonical reference ("mirror.example/ns/image:tag" -> "notlocalhost:tag"). */
int airlock_policy_remap(char **out, const char *prefix, const char *signed_prefix,
                         const char *image, struct airlock_error **err);

/* 1 when s is a valid remapIdentity prefix: a host[:port], or a repository name that starts
 * with a host and '/'. */
int airlock_policy_prefix_valid(const char *s);

/* ---- policies ------------------------------------------------------------------------------ */

struct airlock_policy;

/* Parses a policy document (capped by AIRLOCK_MAX_POLICY). what names it in messages (the
 * file). Free with airlock_policy_free. */
int airlock_policy_parse(struct airlock_policy **out, const char *json, size_t len,
                         const char *what, struct airlock_error **err);
/* Reads and parses the policy file at path. */
int airlock_policy_load(struct airlock_policy **out, const char *path,
                        struct airlock_error **err);
void airlock_policy_free(struct airlock_policy *p);

/* The scope containers/image picks for the docker image ref (with a tag or a digest, not
 * both): the docker transport's scope named by the full reference ("host/ns/repo:tag" or
 * "...@sha256:..."), else the repository, else each parent namespace up to the host[:port],
 * else each wildcard "*.domain" of the host (port dropped), else the transport's "" scope;
 * NULL means the policy's "default". Points into p. */
const char *airlock_policy_scope(const struct airlock_policy *p, const char *ref);

/* A signature candidate of a manifest: the exact payload bytes (NULL when they could not be
 * read) and the signature annotation (base64; NULL when the layer had none). */
struct airlock_policy_sig {
    const char *payload;
    size_t payload_len;
    const char *signature;
};

/* Gives the signatures stored for digest in the image's repository: *sigs points at n of
 * them, owned by ctx and valid until the next call. Called at most once per evaluation, and
 * only when a requirement needs signatures. Non-zero: the evaluation fails with that error. */
typedef int (*airlock_policy_sigs_fn)(void *ctx, const char *digest,
                                      const struct airlock_policy_sig **sigs, size_t *n,
                                      struct airlock_error **err);

struct airlock_policy_check {
    char *requirement; /* "sigstoreSigned (keyPath /etc/pki/k.pub, matchRepoDigestOrExact)" */
    int ok;
    char *reason;      /* why it holds or fails: "signature verified for identity '...'", ... */
};

struct airlock_policy_result {
    int ok;      /* every requirement holds */
    char *scope; /* "docker:<scope>", "docker:\"\"" or "default" */
    struct airlock_policy_check *checks;
    size_t n_checks;
};

/* Evaluates p for the image ref (docker transport, with a tag or a digest) whose manifest
 * digest is digest, with its signatures from sigs(ctx, ...). Pure: the same inputs give the
 * same result. Errors (AIRLOCK_EUSAGE: ref has neither or both of tag and digest or is not a
 * reference; AIRLOCK_EOS) only when evaluation could not run; a failing requirement is a
 * result (ok 0) with its reason. Release out with airlock_policy_result_release. */
int airlock_policy_evaluate(struct airlock_policy_result *out, const struct airlock_policy *p,
                            const char *ref, const char *digest, airlock_policy_sigs_fn sigs,
                            void *ctx, struct airlock_error **err);
void airlock_policy_result_release(struct airlock_policy_result *r);

#ifdef __cplusplus
}
#endif
#endif
