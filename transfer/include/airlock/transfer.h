/* airlock transfer: the registry client (OCI distribution-spec 1.1, FORMATS.md section 5) and
 * the moves between bundles and registries: push, export, verify in the registry.
 *
 * Same conventions as core.h. libcurl is touched in one file (src/http.c). Every request of
 * every code path goes through the same connection settings (CA file, client certificate,
 * plain HTTP, insecure TLS) and the same authentication (Basic or Bearer tokens, with
 * credentials from docker/containers auth files, credential helpers or explicit options).
 */
#ifndef AIRLOCK_TRANSFER_H
#define AIRLOCK_TRANSFER_H

#include "airlock/core.h"
#include "airlock/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The moves below report progress (struct airlock_progress, core.h) as "plan", "upload",
 * "download", "skip", "mount" and "manifest" events. */

struct airlock_registry_opts {
    const char *ca_file;      /* trust these CAs (also for the token realm) */
    const char *client_cert;  /* mTLS */
    const char *client_key;
    int plain_http;           /* http:// instead of https:// */
    int insecure;             /* skip TLS verification */
    const char *username;     /* explicit credentials (override auth files) */
    const char *password;
    const char *auth_file;    /* instead of $REGISTRY_AUTH_FILE, containers and docker files */
    int parallel;             /* concurrent blob transfers (default 4) */
    int retries;              /* attempts on connection errors, 5xx, 408, 429 (default 5) */
    int stall_seconds;        /* a transfer moving no byte for this long fails (default 60) */
    uint64_t chunk_size;      /* larger blobs go up in PATCH chunks of this size, each of which
                                 can resume (default 32 MiB) */
    airlock_progress_fn progress;
    void *progress_ctx;
    const char *trust_realm;  /* an origin ("https://auth.example.com[:port]") whose token realm
                                 may get the credentials although it is not the registry's own
                                 origin (scheme, host and port): by default credentials go to the
                                 registry's origin only (and docker.io's to https://auth.docker.io) */
};
#define AIRLOCK_REGISTRY_OPTS_INIT                                                                 \
    {NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, 4, 5, 60, 0, NULL, NULL, NULL}

struct airlock_registry;

/* A client for one registry host ("registry.internal", "127.0.0.1:5000"). */
int airlock_registry_new(struct airlock_registry **out, const char *host,
                         const struct airlock_registry_opts *opts, struct airlock_error **err);
void airlock_registry_free(struct airlock_registry *r);
/* GET /v2/ with the auth flow (Basic, or a Bearer token for no repository), as docker login
 * checks credentials: 0 when the registry answers 200; AIRLOCK_EUSAGE when it refuses them. */
int airlock_registry_ping(struct airlock_registry *r, struct airlock_error **err);

/* The containers auth.json (containers-auth.json(5)) that login writes: path if given, else
 * $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else
 * /run/containers/$UID/auth.json. *out is malloc'd. */
int airlock_auth_file_path(char **out, const char *path, struct airlock_error **err);
/* Sets auths.<host>.auth to base64(user:pass) (host may be "host/namespace": then the entry
 * is for the repositories under it) in the auth file at path, keeping every other
 * member and entry; written atomically (temporary file, fsync, rename), mode 0600, parent
 * directories made 0700. A file that is not a JSON object is refused, not replaced. */
int airlock_auth_file_store(const char *path, const char *host, const char *user,
                            const char *pass, struct airlock_error **err);
/* Removes the entries the credential lookup would read for host the same way: for a
 * registry every spelling of it (host, https://host, http://host, Docker Hub's names and
 * https://index.docker.io/v1/), for "host/namespace" that entry; with host NULL every entry
 * of "auths". AIRLOCK_ENOTFOUND when there is none (with NULL: when the file is not there,
 * which is then not created). */
int airlock_auth_file_erase(const char *path, const char *host, struct airlock_error **err);

/* Fetches a manifest or index by tag or digest. *media_type and *digest describe it; the raw
 * bytes are kept as served. AIRLOCK_ENOTFOUND if it does not exist. */
int airlock_registry_manifest_get(struct airlock_registry *r, const char *repo, const char *ref,
                                  struct airlock_buf *out, char **media_type,
                                  char digest[AIRLOCK_DIGEST_SIZE], struct airlock_error **err);
int airlock_registry_manifest_put(struct airlock_registry *r, const char *repo, const char *ref,
                                  const char *media_type, const void *data, size_t len,
                                  struct airlock_error **err);
/* 1 if present (and *size), 0 if not. */
int airlock_registry_blob_exists(struct airlock_registry *r, const char *repo, const char *digest,
                                 uint64_t *size, struct airlock_error **err);
/* Small blobs (payloads, configs), checked against digest. */
int airlock_registry_blob_get(struct airlock_registry *r, const char *repo, const char *digest,
                              size_t max, struct airlock_buf *out, struct airlock_error **err);

/* The tags of repo in the registry's order, following tags/list pagination: page > 0 asks
 * for pages of that many (?n=), and every Link rel="next" is followed (RFC 5988; the
 * distribution spec's n/last). A Link to another origin than the registry's is refused, and
 * so is a listing past 100000 tags or 10000 pages, a page that adds nothing, or one that
 * repeats tags (a loop). AIRLOCK_ENOTFOUND naming the repository when it does not exist.
 * *tags (*n strings and a NULL) is malloc'd: free each and the array. */
int airlock_registry_tags_list(struct airlock_registry *r, const char *repo, size_t page,
                               char ***tags, size_t *n, struct airlock_error **err);

/* The tags of repo that f admits (airlock_tags_filter over airlock_registry_tags_list).
 * A filter that admits nothing is AIRLOCK_ENOTFOUND naming the repository, not an empty
 * list. Free *out as airlock_tags_filter's. */
int airlock_tags_select(char ***out, size_t *n, int *by_semver, struct airlock_registry *r,
                        const char *repo, size_t page, const struct airlock_tag_filter *f,
                        struct airlock_error **err);

/* ---- push ----------------------------------------------------------------------------------- */

struct airlock_push_opts {
    const struct airlock_pubkey *key; /* verify signatures before and after; NULL: --no-verify */
    const char *identity;
    const struct airlock_annotation *annotations;
    size_t n_annotations;
    const char *const *map; /* "SRC=DST" repository renames */
    size_t n_map;
    int allow_unsigned;     /* images with no signature at all go up too (marked unverified
                               in the result); a bad signature still stops the push */
    int identity_any;       /* --identity-check any: a verified signature may name any
                               reference (cosign's rule). Otherwise, with a key and no
                               identity, the destination rule (struct airlock_sig_check_opts
                               dest) holds for every image and platform manifest, before
                               anything goes up and again in the registry */
    const struct airlock_policy *policy; /* a containers/image policy every image and platform
                               manifest must pass at its reference in dest before any manifest
                               is pushed (airlock_bundle_check_policy); NULL: none */
    const char *const *attestations; /* each image needs a verified attestation of each of
                               these types (struct airlock_sig_check_opts attestations) */
    size_t n_attestations;
};

struct airlock_push_result {
    char **refs;     /* pushed images (DEST/...:tag or @digest) */
    char **digests;
    int *verified;   /* per image: 1 when a signature verified, before and in the registry;
                        0 when it went up unsigned (allow_unsigned, or no key) */
    size_t n;
    uint64_t blobs_uploaded, blobs_skipped, blobs_mounted, bytes_uploaded;
    size_t signatures_verified;
};

/* Pushes every image of the bundle, with its signatures, under dest ("host[/prefix]"): a
 * bundle image docker.io/library/nginx:1.27 goes to dest/library/nginx:1.27, or where a map
 * entry says. What goes up is what airlock_bundle_verify_signatures admits, judged from
 * content: every manifest PUT is in the graph of an admitted image or is an attachment of one
 * whose content is what its role says; anything else stops the push before any manifest is
 * PUT. Before any manifest is pushed the signatures are verified with opts->key and
 * every blob's digest is checked as it streams; blobs already there are skipped, blobs in
 * another repository of the registry are mounted; manifests go child-first, the index last,
 * then the signatures merged with those already at sha256-<hex>.sig. Finally each image and
 * its signatures are fetched back and verified with the key. */
int airlock_push(struct airlock_push_result **res, struct airlock_bundle *b, const char *dest,
                 const struct airlock_registry_opts *ro, const struct airlock_push_opts *po,
                 struct airlock_error **err);
void airlock_push_result_free(struct airlock_push_result *r);

/* Verifies an image in a registry as `cosign verify --key` does (plus identity and
 * annotations as in the bundle verify). The report has one image. */
int airlock_registry_verify(struct airlock_sig_report **out, const char *ref,
                            const struct airlock_registry_opts *ro,
                            const struct airlock_sig_check_opts *so, struct airlock_error **err);

/* ---- export --------------------------------------------------------------------------------- */

/* One image an export takes. */
struct airlock_export_item {
    const char *ref;       /* "host/repo:tag", "host/repo@sha256:...", or both: then the image
                              is fetched by digest, and a tag that now points elsewhere is
                              warned about, naming both */
    const char *name;      /* its name in the bundle; NULL: ref as given, normalized */
    const char *const *platforms; /* "os/arch[/variant]" of an index to keep; NULL: the
                              export's platform. One: that manifest alone; several: the whole
                              index when its platforms are all listed (a partial index would
                              have another digest than the one signed), else an error */
    size_t n_platforms;
    int no_attachments;    /* leave its .sig/.att/.sbom tags and referrers behind */
    const char *requested; /* what asked for it (a set's rule), for the record; NULL: ref */
};

/* What an export is about to do, told before any blob moves. */
struct airlock_export_plan_image {
    const char *name, *requested, *digest;
    uint64_t new_bytes;  /* of blobs this image brings first, not in the bundle yet */
    size_t new_blobs;
    int in_bundle;       /* the bundle being added to already has this digest */
};
struct airlock_export_plan {
    const struct airlock_export_plan_image *images;
    size_t n;
    size_t blobs_fetch, blobs_reused;   /* blobs to download, blobs the bundle already has */
    uint64_t bytes_fetch, bytes_reused;
};
typedef void (*airlock_export_plan_fn)(void *ctx, const struct airlock_export_plan *p);

struct airlock_export_opts {
    const char *platform; /* "os/arch[/variant]": keep only that manifest; NULL: everything */
    enum airlock_format format;
    uint64_t split_size;  /* > 0: write a split set out.001, ... of parts this large instead */
    airlock_export_plan_fn plan; /* called once everything is resolved, before any blob */
    void *plan_ctx;
    int dry_run;          /* stop after the plan: nothing is written (res lists the images) */
    const char *set_path; /* the set file the items came from (recorded), or NULL */
    const char *set_digest;
    /* a delta export: layer blobs the inventory lists are left out and recorded in index.json
     * (AIRLOCK_ANN_DELTA_RECORD) with the inventory's basis; manifests, configs and
     * attachments always travel. Writes a new bundle only. NULL: a full export. */
    const struct airlock_inventory *have;
};

/* Pulls images (with their .sig/.att/.sbom tags and OCI referrers) into the bundle at out,
 * adding to it if it exists. Written atomically, like import. Everything is resolved first;
 * blobs shared by several images are fetched once. The bundle's index.json records, in its
 * annotation AIRLOCK_ANN_SET_RECORD, each export: the set file (path and digest), the time,
 * and per image what was requested, the tag it had and the digest taken (see
 * airlock_set_record_lock); entries of earlier exports that this one does not replace are
 * kept. */
int airlock_export_items(struct airlock_import_result **res,
                         const struct airlock_export_item *items, size_t n_items, const char *out,
                         const struct airlock_registry_opts *ro,
                         const struct airlock_export_opts *eo, struct airlock_error **err);
/* airlock_export_items with one item per reference. */
int airlock_export(struct airlock_import_result **res, const char *const *refs, size_t n_refs,
                   const char *out, const struct airlock_registry_opts *ro,
                   const struct airlock_export_opts *eo, struct airlock_error **err);

/* ---- image sets ----------------------------------------------------------------------------- */

/* index.json's top-level annotation holding the export record (JSON text). A top-level
 * annotation, not an entry of "manifests": verify, sign, push and split judge and move
 * entries only, so the record can never be taken for an image; split copies index.json
 * whole into every part, sign edits only "manifests", import writes a new bundle (and so a
 * new record only when it exports). */
#define AIRLOCK_ANN_SET_RECORD "dev.airlock.set.record"

struct airlock_set_repo {
    char *registry, *name; /* host, repository path */
    char **tags, **digests, **allow, **deny, **platforms; /* NULL-terminated */
    size_t n_tags, n_digests, n_allow, n_deny, n_platforms, latest;
    char *semver;
    int attachments;       /* default 1 */
};
struct airlock_set_image {
    char *ref;
    char *name;            /* a lock's bundle name, or NULL */
    char **platforms;      /* NULL-terminated */
    size_t n_platforms;
    int attachments;
};
struct airlock_image_set {
    char *path;
    char digest[AIRLOCK_DIGEST_SIZE]; /* of the file as read */
    int lock;                         /* kind ImageSetLock: every image pinned by digest */
    struct airlock_set_repo *repos;
    size_t n_repos;
    struct airlock_set_image *images;
    size_t n_images;
};
/* Reads a set file (YAML, or JSON when it starts with '{'; at most 4 MiB; format in
 * samples/site.yaml and `airlock export --help`). Every member is checked for its type; an
 * unknown member, a bad range or regex, a repository that names no tag, digest or filter is
 * AIRLOCK_EUSAGE naming the file and the repository. */
int airlock_image_set_load(struct airlock_image_set **out, const char *path,
                           struct airlock_error **err);
/* The same on text (the fuzz target). */
int airlock_image_set_parse(struct airlock_image_set **out, const char *text, size_t len,
                            const char *path, struct airlock_error **err);
void airlock_image_set_free(struct airlock_image_set *s);

/* The images a set names now: each repository's tags listed and filtered (a filter that
 * admits nothing is an error naming the repository), explicit tags and digests, then the
 * images list; each image once. *items and the strings they point to live in *arena: free
 * with airlock_export_items_free. */
struct airlock_set_items;
int airlock_image_set_resolve(struct airlock_set_items **out, const struct airlock_image_set *s,
                              const struct airlock_registry_opts *ro, struct airlock_error **err);
const struct airlock_export_item *airlock_set_items_list(const struct airlock_set_items *it,
                                                         size_t *n);
void airlock_set_items_free(struct airlock_set_items *it);

/* The lock file of a bundle: its index.json's record as a set file of kind ImageSetLock (JSON)
 * naming each image the bundle still holds as "host/repo:tag@digest", with its platform and
 * attachments choice, so that export --set LOCK takes exactly the same digests again.
 * AIRLOCK_ENOTFOUND when the bundle holds no record (not made by export). *out malloc'd. */
int airlock_set_record_lock(char **out, struct airlock_bundle *b, struct airlock_error **err);

/* ---- inventories and delta exports (inventory.c) ---------------------------------------- */

/* What a registry holds, as `airlock inventory` writes it: one line
 * {"digest":"sha256:<of BODY>","inventory":BODY}, BODY listing the repositories, and the
 * manifest and blob digests present, sorted without repeats (format in inventory.c). */
struct airlock_inventory;

struct airlock_inventory_opts {
    const char *const *repos; /* repositories (under the prefix) to list; none: the catalog's */
    size_t n_repos;
    size_t page;              /* > 0: ask for pages of this many (catalog and tags/list) */
    int full_paths;           /* repos are whole paths in the registry (as airlock_ref_destination
                               * gives them), not under the prefix */
};
struct airlock_inventory_result {
    char *text; /* the file's content */
    size_t len;
    char digest[AIRLOCK_DIGEST_SIZE]; /* of its body: what a delta export records as basis */
    size_t repositories, tags, manifests, blobs;
};
/* Takes the inventory of where, "host[/prefix]": every repository of the catalog (followed
 * through its pages) equal to or under prefix, or those opts names, each tag's manifest and
 * what it references (the one manifest graph: each digest read once). Free with
 * airlock_inventory_result_free. */
int airlock_inventory_take(struct airlock_inventory_result **res, const char *where,
                           const struct airlock_inventory_opts *opts,
                           const struct airlock_registry_opts *ro, struct airlock_error **err);
void airlock_inventory_result_free(struct airlock_inventory_result *r);
/* Reads an inventory file: its digest must match its body (a cut-off or edited file is
 * AIRLOCK_EINTEGRITY naming both digests), lists sorted without repeats, sizes capped. */
int airlock_inventory_load(struct airlock_inventory **out, const char *path,
                           struct airlock_error **err);
int airlock_inventory_parse(struct airlock_inventory **out, const char *text, size_t len,
                            const char *path, struct airlock_error **err);
/* The blobs of every image of a lock file (kind ImageSetLock: images pinned by digest), read
 * from their registries, as an inventory with basis "lock" (the lock file's digest). */
int airlock_inventory_from_lock(struct airlock_inventory **out, const char *lock_path,
                                const struct airlock_registry_opts *ro,
                                struct airlock_error **err);
void airlock_inventory_free(struct airlock_inventory *inv);
/* 1 when the inventory lists the blob (*from: a repository holding it, or NULL), else 0. */
int airlock_inventory_has(const struct airlock_inventory *inv, const char *digest,
                          const char **from);
/* The repositories that hold the blob, as the inventory lists them (sorted): the count, the
 * first max of them in names. */
size_t airlock_inventory_holders(const struct airlock_inventory *inv, const char *digest,
                                 const char **names, size_t max);
/* Its basis: "inventory" or "lock", the digest, the registry (NULL for a lock). */
const char *airlock_inventory_basis(const struct airlock_inventory *inv, const char **digest,
                                    const char **registry);
size_t airlock_inventory_blob_count(const struct airlock_inventory *inv);
/* For a basis "lock": AIRLOCK_EUSAGE naming the lock file unless one of items is in a
 * repository of one of the lock's images (a lock of other images is a mix-up, not a delta);
 * 0 for an inventory. */
int airlock_inventory_lock_check(const struct airlock_inventory *inv,
                                 const struct airlock_export_item *items, size_t n,
                                 struct airlock_error **err);

/* ---- sync ----------------------------------------------------------------------------------- */

/* What a sync job does (airlock sync): rules for the bundles that arrive in an inbox. */
struct airlock_sync_config;
/* From a JSON file:
 *   {"inbox": DIR, "done": DIR, "failed": DIR (default: inside the inbox),
 *    "settleSeconds": 30, "keepDays": 0, "report": FILE, "auditLog": FILE
 *      (default: INBOX/airlock-audit.log),
 *    "rules": [{"match": GLOB (default "*"), "to": "host[/prefix]",
 *               "keys": [PUB...] (all required), "identity": REF, "annotations": {K: V},
 *               "map": {SRC: DST}, "registry": {"caFile", "clientCert", "clientKey",
 *               "authFile", "plainHttp", "insecure", "parallel", "retries", "trustRealm"},
 *               "identityCheck": "destination" (default: push's destination rule, for
 *               every key) or "any" (a signature may name any reference)}]}
 *   "lockTimeoutSeconds": 21600: a lock held longer is reported (see airlock_sync_run).
 * Every member is checked for its type and range; an unknown or repeated member (a typo such
 * as "keepdays") is an error too. Problems in it are AIRLOCK_EUSAGE naming the file, the
 * rule and the member. */
int airlock_sync_config_load(struct airlock_sync_config **out, const char *path,
                             struct airlock_error **err);
/* One rule for every bundle of inbox (the command-line form). settle < 0: the default. */
int airlock_sync_config_simple(struct airlock_sync_config **out, const char *inbox,
                               const char *to, const char *const *keys, size_t n_keys,
                               const char *identity, const char *const *map, size_t n_map,
                               const struct airlock_registry_opts *ro, int settle,
                               struct airlock_error **err);
void airlock_sync_config_free(struct airlock_sync_config *c);
/* --identity-check any: every rule's signatures may name any reference. */
void airlock_sync_config_identity_any(struct airlock_sync_config *c);
/* The "to" of the first rule that accepts any identity ("identityCheck": "any"), or NULL. */
const char *airlock_sync_config_relaxed(const struct airlock_sync_config *c);

struct airlock_sync_result {
    size_t pushed, failed, waiting, skipped;
    int busy;     /* another run held the inbox's lock: this one did nothing */
    char *report; /* the run's JSON report (when busy: who holds the lock, for how long) */
    char *lock_error; /* busy, and the lock was held longer than lockTimeoutSeconds: says
                         which lock, by whom, for how long (the caller reports a failure) */
};
/* One run over the inbox: every bundle, directory bundle or complete split set that has
 * settled (not modified for settleSeconds) and matches a rule is verified (every blob, every
 * signature with every key of the rule), pushed, verified in the registry, and moved with a
 * NAME.report.json beside it to done/ or failed/. Incomplete split sets and bundles still
 * arriving are left for the next run. Each pushed image and each failure is appended to the
 * audit log (one JSON line: time, host, user, event, bundle, ref, digest). Bundles in done/
 * older than keepDays are removed. A failing bundle does not stop the run; the return value
 * is non-zero only when the run could not happen (no inbox). */
int airlock_sync_run(struct airlock_sync_result **out, const struct airlock_sync_config *c,
                     struct airlock_error **err);
void airlock_sync_result_free(struct airlock_sync_result *r);

#ifdef __cplusplus
}
#endif
#endif
