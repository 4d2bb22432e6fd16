/* airlock core: errors, buffers, digests, the OCI model and image references.
 *
 * Conventions for every public function of every airlock library:
 *   int airlock_<module>_<noun>_<verb>(outputs..., inputs..., struct airlock_error **err)
 * returns 0 on success or a negative AIRLOCK_E* code; on failure *err (when err is not NULL)
 * receives an error the caller frees with airlock_error_free(). Outputs are only written on
 * success. Libraries never print and never exit.
 */
#ifndef AIRLOCK_CORE_H
#define AIRLOCK_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------------------- */

/* Error classes. The CLI maps each class to one exit code (see cli/main.c and README). */
enum airlock_code {
    AIRLOCK_OK = 0,
    AIRLOCK_EOS = -1,        /* operational: I/O, memory, network, permissions */
    AIRLOCK_EUSAGE = -2,     /* the caller asked for something that cannot be done */
    AIRLOCK_ESIGNATURE = -3, /* a signature did not verify */
    AIRLOCK_EINTEGRITY = -4, /* missing, corrupt, malformed or unsafe content */
    AIRLOCK_ENOTFOUND = -5,  /* a named thing does not exist (treated as operational) */
    AIRLOCK_EEXISTS = -6,    /* refusing to overwrite (treated as operational) */
    AIRLOCK_EAUTH = -7,      /* a registry or its token server refused the credentials (401/403) */
    AIRLOCK_ECANCELLED = -8, /* airlock_cancel() was called (SIGINT, SIGTERM): the operation
                              * stopped and cleaned up as on any error */
    AIRLOCK_ENOSPACE = -9,   /* the target file system cannot hold what would be written */
};

struct airlock_error {
    int code;       /* enum airlock_code */
    int sys_errno;  /* errno at the root cause, or 0 */
    char *msg;      /* "outer context: inner context: root cause" */
};

/* Set *err (if err is not NULL and *err is NULL) to a new error; returns code. */
int airlock_error_set(struct airlock_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, appending ": strerror(errnum)" and recording errnum. */
int airlock_error_set_errno(struct airlock_error **err, int code, int errnum, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));
/* Prefix context ("what we were doing") to an existing error; returns its code (or
 * AIRLOCK_EOS if there is none). */
int airlock_error_wrap(struct airlock_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void airlock_error_free(struct airlock_error *err);

/* ---- cancellation ---------------------------------------------------------------------- */

/* Asks every running operation to stop: async-signal-safe (it sets a flag), so a signal
 * handler may call it. The streaming loops (blob copies, uploads, downloads, splits,
 * verification) check it between chunks and fail with AIRLOCK_ECANCELLED, unwinding as on
 * any error (temporary files removed). */
void airlock_cancel(void);
/* Nonzero once airlock_cancel() was called. */
int airlock_cancelled(void);
/* AIRLOCK_ECANCELLED with the message "interrupted" when cancelled, else 0. */
int airlock_cancel_check(struct airlock_error **err);

/* ---- buffers --------------------------------------------------------------------------- */

/* A growable byte buffer with a hard cap (curl's dynbuf): appends beyond max fail with
 * AIRLOCK_EINTEGRITY, so sizes that come from input are bounded. Always NUL-terminated. */
struct airlock_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int secret; /* wipe every byte before memory is given back (growth included) */
};
#define AIRLOCK_BUF_INIT(maxlen) {NULL, 0, 0, (maxlen), 0}
#define AIRLOCK_BUF_SECRET(maxlen) {NULL, 0, 0, (maxlen), 1}
int airlock_buf_append(struct airlock_buf *b, const void *p, size_t n);
int airlock_buf_printf(struct airlock_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the data out (caller frees with free()) and resets the buffer. */
char *airlock_buf_detach(struct airlock_buf *b, size_t *len);
void airlock_buf_release(struct airlock_buf *b);

/* Caps on anything read from input and held in memory. */
#define AIRLOCK_MAX_MANIFEST (4u << 20)    /* a manifest, index or config blob */
#define AIRLOCK_MAX_INDEX_JSON (16u << 20) /* a layout's index.json */
#define AIRLOCK_MAX_JSON_DEPTH 64

/* ---- digests --------------------------------------------------------------------------- */

/* "sha256:" + 64 lowercase hex + NUL */
#define AIRLOCK_DIGEST_LEN 71
#define AIRLOCK_DIGEST_SIZE 72

/* Checks that s is "sha256:<64 lowercase hex>". Other algorithms and forms are refused
 * with AIRLOCK_EINTEGRITY naming the digest. */
int airlock_digest_check(const char *s, struct airlock_error **err);
/* The 64 hex characters of a checked digest. */
const char *airlock_digest_hex(const char *digest);

/* Streaming SHA-256 (OpenSSL EVP). */
struct airlock_sha256;
int airlock_sha256_new(struct airlock_sha256 **out, struct airlock_error **err);
void airlock_sha256_update(struct airlock_sha256 *h, const void *p, size_t n);
/* Writes "sha256:<hex>" into out (AIRLOCK_DIGEST_SIZE bytes) and resets the state. */
void airlock_sha256_final(struct airlock_sha256 *h, char out[AIRLOCK_DIGEST_SIZE]);
void airlock_sha256_free(struct airlock_sha256 *h);
/* Makes dst continue from where src is (a saved point to resume a transfer from). */
int airlock_sha256_copy(struct airlock_sha256 *dst, const struct airlock_sha256 *src,
                        struct airlock_error **err);
/* One-shot digest of a buffer. */
int airlock_sha256_digest(char out[AIRLOCK_DIGEST_SIZE], const void *p, size_t n,
                          struct airlock_error **err);

/* ---- JSON guard ------------------------------------------------------------------------ */

/* Rejects input that is not a JSON object or array, is nested deeper than AIRLOCK_MAX_JSON_DEPTH, or
 * contains NUL bytes, before any parser sees it. what names the input in the message. */
int airlock_json_check(const char *p, size_t n, const char *what, struct airlock_error **err);

/* ---- the OCI model --------------------------------------------------------------------- */

#define AIRLOCK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define AIRLOCK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define AIRLOCK_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define AIRLOCK_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define AIRLOCK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define AIRLOCK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

#define AIRLOCK_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define AIRLOCK_ANN_CONTAINERD_NAME "io.containerd.image.name"
#define AIRLOCK_ANN_KIND "kind"
#define AIRLOCK_KIND_IMAGE "dev.cosignproject.cosign/image"
#define AIRLOCK_KIND_INDEX "dev.cosignproject.cosign/imageIndex"
#define AIRLOCK_KIND_SIGS "dev.cosignproject.cosign/sigs"
#define AIRLOCK_KIND_ATTS "dev.cosignproject.cosign/atts"

struct airlock_annotation {
    char *key;
    char *value;
};

struct airlock_descriptor {
    char *media_type; /* may be NULL when the producer omitted it */
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    char *artifact_type;
    char *platform_os, *platform_arch, *platform_variant; /* NULL when absent */
    int has_urls;                                         /* foreign layer, not carried */
    struct airlock_annotation *annotations;
    size_t n_annotations;
};

enum airlock_oci_kind {
    AIRLOCK_OCI_MANIFEST = 1, /* OCI or Docker schema 2 image manifest */
    AIRLOCK_OCI_INDEX = 2,    /* OCI index or Docker manifest list */
};

/* A parsed manifest or index. The raw bytes stay with the caller: airlock never
 * re-serializes what it read. */
struct airlock_oci {
    enum airlock_oci_kind kind;
    char *media_type; /* from the document, or NULL (umoci omits it) */
    char *artifact_type;
    struct airlock_descriptor config; /* manifests only */
    struct airlock_descriptor *layers; /* manifests: layers; indexes: manifests */
    size_t n_layers;
    struct airlock_descriptor *subject; /* OCI 1.1 referrer subject, or NULL */
    struct airlock_annotation *annotations;
    size_t n_annotations;
};

/* Parses a manifest or index from raw bytes (capped by AIRLOCK_MAX_INDEX_JSON). Every
 * descriptor must carry a valid sha256 digest and a size. what names the input in errors.
 * Free with airlock_oci_free. */
int airlock_oci_parse(struct airlock_oci **out, const char *raw, size_t len, const char *what,
                      struct airlock_error **err);
void airlock_oci_free(struct airlock_oci *m);
/* Value of an annotation in a list, or NULL. */
const char *airlock_annotation_get(const struct airlock_annotation *a, size_t n,
                                   const char *key);
/* True if the media type (possibly NULL) names a manifest or index we descend into. */
int airlock_media_type_is_manifest(const char *mt);
int airlock_media_type_is_index(const char *mt);
void airlock_descriptor_release(struct airlock_descriptor *d);
/* Deep copy. */
int airlock_descriptor_copy(struct airlock_descriptor *dst, const struct airlock_descriptor *src,
                            struct airlock_error **err);

/* ---- the manifest graph ------------------------------------------------------------------ */

/* Reads a small blob by digest, checked against it (a bundle, a registry). */
typedef int (*airlock_blob_read_fn)(void *ctx, const char *digest, size_t max,
                                    struct airlock_buf *out, struct airlock_error **err);

/* What a node is, judged from its content where it was read. */
enum airlock_node_kind {
    AIRLOCK_NODE_BLOB = 0,   /* a config or layer (never read, never pushed as a manifest) */
    AIRLOCK_NODE_MANIFEST,   /* parsed: an image or artifact manifest */
    AIRLOCK_NODE_INDEX,      /* parsed: an image index */
    AIRLOCK_NODE_BAD,        /* should have been a manifest or index but could not be read,
                                parsed, or was nested too deep: why says */
};

struct airlock_graph_node {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;            /* as the first descriptor that reached it said */
    enum airlock_node_kind kind;
    int has_urls;             /* a foreign layer, fetched from its URLs, not carried */
    char *media_type;         /* manifests and indexes: the type to serve it as (the
                                 document's own, else the descriptor's); blobs: the
                                 descriptor's; may be NULL */
    char *declared_type;      /* manifests and indexes: the media type a descriptor gave it
                                 that differs from the document's own mediaType (the first
                                 such), else NULL */
    struct airlock_oci *doc;  /* manifests and indexes: the parsed document */
    size_t *kids;             /* node numbers: an index's manifests; a manifest's config, then
                                 its layers (each once) */
    size_t n_kids;
    char *why;                /* AIRLOCK_NODE_BAD: the reason */
    int size_conflict;        /* another descriptor declared another size: other_size */
    uint64_t other_size;
    int cut_at;               /* BAD because reached this deep (above the cap), or 0 */
};

/* The graph of manifests, indexes and blobs under a set of roots, one node per digest: each
 * digest is read and parsed at most once however often it is referenced, so the cost is
 * linear in distinct manifests and references. An index's children are read as manifests or
 * indexes (kind from their content, not their descriptor); a manifest's config and layers are
 * blobs and are never read. Indexes nest at most max_depth deep (0: AIRLOCK_GRAPH_MAX_DEPTH,
 * what a registry push or an import accepts; at most AIRLOCK_GRAPH_DEPTH_CAP); a deeper one is
 * a AIRLOCK_NODE_BAD node. Documents are read through read(ctx, ...) capped at
 * AIRLOCK_MAX_MANIFEST. */
#define AIRLOCK_GRAPH_MAX_DEPTH 16
#define AIRLOCK_GRAPH_DEPTH_CAP 256
struct airlock_graph;
int airlock_graph_new(struct airlock_graph **out, airlock_blob_read_fn read, void *ctx,
                      int max_depth, struct airlock_error **err);
void airlock_graph_free(struct airlock_graph *g);
/* Adds the graph under root d (an index.json entry; read as a manifest or index whatever its
 * media type says). *node gets its node number. A document that cannot be read or parsed is
 * a AIRLOCK_NODE_BAD node, not an error; errors are only AIRLOCK_EOS. */
int airlock_graph_add(struct airlock_graph *g, const struct airlock_descriptor *d, size_t *node,
                      struct airlock_error **err);
size_t airlock_graph_count(const struct airlock_graph *g);
const struct airlock_graph_node *airlock_graph_node(const struct airlock_graph *g, size_t i);
/* The node of a digest, or SIZE_MAX. */
size_t airlock_graph_find(const struct airlock_graph *g, const char *digest);
/* Visits root and the manifests and indexes below it through index edges, each once, children
 * before their parents (the order a registry accepts manifests in); a manifest's blobs are
 * its kids, not visited. fn returning non-zero stops the walk with that value. */
typedef int (*airlock_graph_visit_fn)(void *ctx, size_t node, struct airlock_error **err);
int airlock_graph_postorder(struct airlock_graph *g, size_t root, airlock_graph_visit_fn fn,
                            void *ctx, struct airlock_error **err);

/* ---- image references ------------------------------------------------------------------ */

/* A normalized reference, as Docker normalizes it: "nginx" is
 * docker.io/library/nginx:latest, "index.docker.io" becomes "docker.io". */
struct airlock_ref {
    char *domain; /* "docker.io", "registry.internal:5000" */
    char *path;   /* "library/nginx" */
    char *tag;    /* NULL when only a digest was given */
    char *digest; /* NULL or "sha256:..." */
};

/* Parses and normalizes s. A reference with neither tag nor digest gets tag "latest".
 * Malformed references fail with AIRLOCK_EUSAGE naming s. Release with airlock_ref_release. */
int airlock_ref_parse(struct airlock_ref *out, const char *s, struct airlock_error **err);
void airlock_ref_release(struct airlock_ref *r);
/* "domain/path[:tag][@digest]", malloc'd. */
char *airlock_ref_format(const struct airlock_ref *r);
/* "domain/path", malloc'd. */
char *airlock_ref_repository(const struct airlock_ref *r);

/* Where `push DEST` puts the image a bundle names src: DEST is "host[/prefix]", map holds
 * renames "SRC=DST" (SRC a repository, compared normalized; DST a repository path in host).
 * out gets domain host, path DST when a rename names src's repository, else prefix/path,
 * else path, and src's tag and digest; normalized and checked as airlock_ref_parse does.
 * This is the one mapping: push uploads there, sign --to signs that name, verify --to and
 * --policy check it. AIRLOCK_EUSAGE names DEST or src when they are not references. */
int airlock_ref_destination(struct airlock_ref *out, const char *src, const char *dest,
                            const char *const *map, size_t n_map, struct airlock_error **err);

/* ---- semantic versions and tag filters (semver.c) ------------------------------------- */

/* A tag read as a semantic version: "v1.29.3", "1.29" (1.29.0), "3.19.1-rc.1+build". */
struct airlock_semver {
    unsigned long long v[3];
    char pre[64]; /* the pre-release ("rc.1"), or "" */
};
/* 0, or -1 when tag is not a version (leading 'v' allowed; 1 to 3 parts; no leading zeros). */
int airlock_semver_parse(struct airlock_semver *out, const char *tag);
/* <0, 0, >0 in semver precedence (build metadata ignored). */
int airlock_semver_cmp(const struct airlock_semver *a, const struct airlock_semver *b);

#define AIRLOCK_SEMVER_MAX_CMP 8
#define AIRLOCK_SEMVER_MAX_SETS 8
struct airlock_semver_set { /* comparators that must all hold */
    size_t n;
    struct {
        int op;
        struct airlock_semver v;
    } cmp[AIRLOCK_SEMVER_MAX_CMP];
};
/* A range in node-semver's grammar: comparators (>=, >, <=, <, =) joined by spaces (all must
 * hold), '~1.29' (>=1.29.0 <1.30.0), '^1.2' (>=1.2.0 <2.0.0), wildcards '1.29.x', '1.x', '*',
 * partial versions ('1.29' = '1.29.x'), alternatives joined with '||'. Hyphen ranges
 * ('1.2 - 1.4') are not supported. */
struct airlock_semver_range {
    size_t n_sets;
    struct airlock_semver_set sets[AIRLOCK_SEMVER_MAX_SETS];
};
/* AIRLOCK_EUSAGE naming text when it is not such a range. */
int airlock_semver_range_parse(struct airlock_semver_range *out, const char *text,
                               struct airlock_error **err);
/* 1 if v is in r. A pre-release (1.30.0-rc.1) matches only an alternative one of whose
 * comparators names a pre-release of the same version (as node-semver and regsync do). */
int airlock_semver_range_match(const struct airlock_semver_range *r,
                               const struct airlock_semver *v);

/* Which tags of a repository a set takes. */
struct airlock_tag_filter {
    const char *semver;         /* a range, or NULL */
    const char *const *allow;   /* POSIX extended regexes (regcomp REG_EXTENDED), unanchored: */
    size_t n_allow;             /* a tag must match one of them (when any is given) */
    const char *const *deny;    /* and none of these */
    size_t n_deny;
    size_t latest;              /* > 0: only the last N after the others */
};
/* The tags of tags (in the registry's order) that f admits; cosign's and the referrers
 * fallback's sha256-<hex>[.suffix] tags never. When every admitted tag is a version they are
 * returned in ascending version order and latest takes the highest (*by_semver = 1), else in
 * the registry's order and latest takes the last ones (*by_semver = 0). *out (n_out strings
 * and a NULL) is malloc'd: free each and the array. AIRLOCK_EUSAGE for a bad range or regex. */
int airlock_tags_filter(char ***out, size_t *n_out, int *by_semver, const char *const *tags,
                        size_t n, const struct airlock_tag_filter *f, struct airlock_error **err);

/* ---- streams -------------------------------------------------------------------------- */

/* A pull stream: fills buf with up to cap bytes, sets *got (0 at the end). */
typedef int (*airlock_read_fn)(void *ctx, void *buf, size_t cap, size_t *got,
                               struct airlock_error **err);
/* Repositions a stream at offset bytes from its start (to send a blob again after a dropped
 * connection). */
typedef int (*airlock_seek_fn)(void *ctx, uint64_t offset, struct airlock_error **err);

/* A read/seek stream over bytes in memory (ctx = the struct). */
struct airlock_mem_reader {
    const char *data;
    size_t len, pos;
};
int airlock_mem_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err);
int airlock_mem_seek(void *ctx, uint64_t offset, struct airlock_error **err);

/* ---- progress ------------------------------------------------------------------------- */

/* Progress events for a terminal display (never called from more than one thread at once):
 *   "plan"      before the blobs: done = how many blobs, total = their bytes
 *   a blob moving ("upload", "download" in a registry move; "write" by split and import;
 *   "check" by verify): its bytes so far, 0 when it starts, total when it is done (after a
 *   retry done may go back)
 *   "skip", "mount"       a blob already there (done = total = its size)
 *   "manifest"  a manifest or tag written (digest holds the reference) */
struct airlock_progress {
    const char *what;
    const char *digest; /* or a reference */
    uint64_t done, total;
};
typedef void (*airlock_progress_fn)(void *ctx, const struct airlock_progress *p);

/* A read stream (ctx = the struct) passing another one through and telling fn, as what, how
 * far it is: an event before the first read, one after each read, and one with done = total
 * once the stream ends (also when it ends short or long: the reader's caller judges that). */
struct airlock_progress_reader {
    airlock_read_fn read;
    void *read_ctx;
    airlock_progress_fn fn;
    void *fn_ctx;
    const char *what, *digest;
    uint64_t total;
    uint64_t done; /* 0 to start */
    int state;     /* 0 to start */
};
int airlock_progress_read(void *ctx, void *buf, size_t cap, size_t *got,
                          struct airlock_error **err);

/* ---- small shared helpers -------------------------------------------------------------- */

/* "1.5 MB" style sizes (SI, like docker). out needs 16 bytes. */
void airlock_format_size(char out[16], uint64_t n);
/* Removes a file or a directory tree without following links (temporary bundles). */
void airlock_remove_tree(const char *path);
/* Parses a size: digits with an optional unit k, M, G, T (powers of 1024; "KiB", "MB" and
 * "M" alike). 0 on success, -1 if s is not a size or overflows. */
int airlock_parse_size(const char *s, uint64_t *out);
/* Wipes memory in a way the compiler does not elide. */
void airlock_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
