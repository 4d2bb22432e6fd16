/* airlock layout: bundles on disk. A bundle is an OCI image layout stored as a directory, an
 * uncompressed tar or a zstd-compressed tar (../shared/FORMATS.md section 1).
 *
 * Reading never extracts: a directory is read in place, a tar is indexed once (entry offsets)
 * and served by offset, a .tar.zst is read as one stream. Writing is atomic: the new bundle
 * is built under a temporary name beside its destination, synced and renamed into place.
 */
#ifndef AIRLOCK_LAYOUT_H
#define AIRLOCK_LAYOUT_H

#include "airlock/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum airlock_format {
    AIRLOCK_FORMAT_AUTO = 0,
    AIRLOCK_FORMAT_DIR,
    AIRLOCK_FORMAT_TAR,
    AIRLOCK_FORMAT_TAR_ZST,
};

/* "dir", "tar", "tar.zst" (also "zst"); returns AIRLOCK_EUSAGE for anything else. */
int airlock_format_parse(enum airlock_format *out, const char *s, struct airlock_error **err);
/* The form a path asks for: an existing directory or a trailing '/' is a directory,
 * ".tar.zst"/".tzst" a zstd tar, anything else an uncompressed tar. */
enum airlock_format airlock_format_for_path(const char *path);
const char *airlock_format_name(enum airlock_format f);

/* ---- reading ---------------------------------------------------------------------------- */

struct airlock_bundle;

/* For streamed forms (.tar.zst): hash every blob during the single pass, so that
 * airlock_bundle_blob_hash() answers without another pass. */
#define AIRLOCK_OPEN_HASH 0x1
/* A part of a split set (NAME.001, ...) opens the whole set: the other parts are looked for
 * beside it and their blobs read from where they are. With AIRLOCK_OPEN_PART only the part
 * itself is read: blobs the set keeps in other parts are "elsewhere", not missing. */
#define AIRLOCK_OPEN_PART 0x2

/* Opens a bundle for reading. The form is detected from the content (directory, plain tar,
 * zstd tar). Unsafe entries (absolute or ".." names, links, devices), malformed names, a
 * truncated archive or an oversized index fail with AIRLOCK_EINTEGRITY naming the entry.
 * Duplicate entries: the last one wins, as in tar. Free with airlock_bundle_free(). */
int airlock_bundle_open(struct airlock_bundle **out, const char *path, unsigned flags,
                        struct airlock_error **err);
void airlock_bundle_free(struct airlock_bundle *b);

/* The form; any compressed tar is read as a stream and reported as AIRLOCK_FORMAT_TAR_ZST. */
enum airlock_format airlock_bundle_format(const struct airlock_bundle *b);
/* "dir", "tar", "tar.zst", or the compression actually found ("tar.gz", "tar.xz"). */
const char *airlock_bundle_format_label(const struct airlock_bundle *b);
const char *airlock_bundle_path(const struct airlock_bundle *b);
/* Raw index.json (NUL-terminated, owned by the bundle). */
const char *airlock_bundle_index(const struct airlock_bundle *b, size_t *len);
/* Warnings gathered while opening (ignored entries, ...), owned by the bundle. */
size_t airlock_bundle_warning_count(const struct airlock_bundle *b);
const char *airlock_bundle_warning(const struct airlock_bundle *b, size_t i);

/* Blobs present in the bundle, in digest order. */
size_t airlock_bundle_blob_count(const struct airlock_bundle *b);
const char *airlock_bundle_blob_digest(const struct airlock_bundle *b, size_t i,
                                       uint64_t *size);
/* 0 and *size if present, AIRLOCK_ENOTFOUND otherwise (no error is set). */
int airlock_bundle_blob_stat(const struct airlock_bundle *b, const char *digest, uint64_t *size);
/* Reads a small blob (at most max bytes) into out and checks its sha256 against its name.
 * For a streamed bundle only JSON blobs kept during the pass can be read. */
int airlock_bundle_blob_read(struct airlock_bundle *b, const char *digest, size_t max,
                             struct airlock_buf *out, struct airlock_error **err);
/* Computes (or, for streamed forms opened with AIRLOCK_OPEN_HASH, recalls) the sha256 of the
 * blob's content into actual. Safe to call from several threads at once. */
int airlock_bundle_blob_hash(struct airlock_bundle *b, const char *digest,
                             char actual[AIRLOCK_DIGEST_SIZE], struct airlock_error **err);

/* A reader over one blob of a directory or plain tar bundle (AIRLOCK_EUSAGE for a streamed
 * bundle); readers are independent and may be used from several threads. */
struct airlock_blob_reader;
int airlock_bundle_blob_reader(struct airlock_blob_reader **out, struct airlock_bundle *b,
                               const char *digest, struct airlock_error **err);
/* airlock_read_fn; ctx is the struct airlock_blob_reader * */
int airlock_blob_reader_read(void *ctx, void *buf, size_t cap, size_t *got,
                             struct airlock_error **err);
/* airlock_seek_fn: restarts the reader at offset bytes into the blob. */
int airlock_blob_reader_seek(void *ctx, uint64_t offset, struct airlock_error **err);
void airlock_blob_reader_free(struct airlock_blob_reader *r);

/* Streams every blob of the bundle in storage order. For each blob, want() decides; wanted
 * blobs are handed to take() with a reader over their content. */
typedef int (*airlock_blob_want_fn)(void *ctx, const char *digest, uint64_t size);
typedef int (*airlock_blob_take_fn)(void *ctx, const char *digest, uint64_t size,
                                    airlock_read_fn read, void *read_ctx,
                                    struct airlock_error **err);
int airlock_bundle_blob_stream(struct airlock_bundle *b, airlock_blob_want_fn want,
                               airlock_blob_take_fn take, void *ctx, struct airlock_error **err);

/* ---- what a bundle holds ---------------------------------------------------------------- */

enum airlock_role {
    AIRLOCK_ROLE_IMAGE = 0,
    AIRLOCK_ROLE_SIGNATURE,   /* sha256-<hex>.sig, kind .../sigs */
    AIRLOCK_ROLE_ATTESTATION, /* sha256-<hex>.att, kind .../atts */
    AIRLOCK_ROLE_SBOM,        /* sha256-<hex>.sbom */
    AIRLOCK_ROLE_REFERRERS,   /* sha256-<hex>: OCI 1.1 referrers tag schema */
};

struct airlock_entry {
    char *ref;                  /* org.opencontainers.image.ref.name, or NULL */
    enum airlock_role role;     /* from its content (see airlock_catalog_load) */
    char subject[AIRLOCK_DIGEST_SIZE]; /* attachments: the digest they belong to, or "" */
    struct airlock_descriptor desc;
    size_t node;                /* its root in the catalog's graph */
};

struct airlock_catalog {
    struct airlock_entry *entries;
    size_t n;
    struct airlock_graph *graph; /* the manifests under every entry, each read once */
};

/* The role an index.json entry's labels claim, from its "kind" annotation or its tag. Never
 * a trust decision: for naming what foreign sources hold (import). */
enum airlock_role airlock_role_of(const char *kind, const char *ref);
/* Lists index.json's entries with what each is judged from its content, never from its
 * "kind" label: an attachment only when the content is one (a .sig manifest's layers are
 * simple-signing payloads, an .att's DSSE envelopes, an .sbom's SBOM documents, each under a
 * sha256-<hex><suffix> tag; a referrer a manifest with a subject whose config is not an image
 * config; a referrers index at sha256-<hex> lists only referrers of that digest); everything
 * else is an image. Free with airlock_catalog_free. */
int airlock_catalog_load(struct airlock_catalog **out, struct airlock_bundle *b,
                         struct airlock_error **err);
void airlock_catalog_free(struct airlock_catalog *c);

struct airlock_image_summary {
    uint64_t size;     /* every distinct blob under the image, from descriptor sizes */
    char **platforms;  /* "linux/amd64", "linux/arm/v7"; attestation manifests left out */
    size_t n_platforms;
    int complete;      /* every manifest and config below could be read */
};
/* Walks an image's manifests (no layer is read). Release with airlock_image_summary_release. */
int airlock_image_summarize(struct airlock_image_summary *out, struct airlock_bundle *b,
                            const struct airlock_descriptor *d, struct airlock_error **err);
void airlock_image_summary_release(struct airlock_image_summary *s);

/* ---- writing ---------------------------------------------------------------------------- */

struct airlock_writer;

/* Starts a new bundle at path in the given form (AUTO: from the path). Nothing appears at
 * path until airlock_writer_commit(); an existing bundle there is replaced only then. */
int airlock_writer_new(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                       struct airlock_error **err);
/* The same, but the bundle is written under ".<name>.airlock-partial" beside path, and a
 * writer freed without commit leaves it there (a crash or a kill does too): the next
 * resumable writer for the same path takes over the partial's complete blobs (each hashed
 * again; anything damaged or cut off is dropped) and airlock_writer_has() reports them. Two
 * writers for one path at once: the second fails with AIRLOCK_EUSAGE. */
int airlock_writer_new_resumable(struct airlock_writer **out, const char *path,
                                 enum airlock_format fmt, struct airlock_error **err);
/* The partial's path (NULL for a writer that is not resumable), how many blobs it holds
 * complete, and how many of them (and their bytes) were taken over from an earlier run. */
const char *airlock_writer_partial(const struct airlock_writer *w, uint64_t *blobs,
                                   uint64_t *recovered, uint64_t *recovered_bytes);
/* True if the blob was already added. */
int airlock_writer_has(const struct airlock_writer *w, const char *digest);
/* Adds a blob, streaming it from read; its size and sha256 must match, otherwise the writer
 * fails with AIRLOCK_EINTEGRITY naming the digest. Adding a present blob is a no-op. */
int airlock_writer_add_blob(struct airlock_writer *w, const char *digest, uint64_t size,
                            airlock_read_fn read, void *read_ctx, struct airlock_error **err);
/* The same in push mode: begin, then data (any number of times), then end, which checks
 * size and digest. airlock_writer_blob_data has the shape of a sink callback (ctx = w). */
int airlock_writer_blob_begin(struct airlock_writer *w, const char *digest, uint64_t size,
                              struct airlock_error **err);
int airlock_writer_blob_data(void *w, const void *p, size_t n, struct airlock_error **err);
int airlock_writer_blob_end(struct airlock_writer *w, struct airlock_error **err);
/* Parallel writing, for plain tar and directory bundles (airlock_writer_parallel): a slot
 * per blob is opened in order from one thread (its place in a tar is reserved then), filled
 * with airlock_writer_slot_data from any one thread, and closed, which checks its size and
 * digest. Open slots need not be closed in order; a slot that fails spoils the whole writer
 * (free it without committing). */
struct airlock_writer_slot;
int airlock_writer_parallel(const struct airlock_writer *w);
int airlock_writer_slot_open(struct airlock_writer *w, const char *digest, uint64_t size,
                             struct airlock_writer_slot **out, struct airlock_error **err);
int airlock_writer_slot_data(void *slot, const void *p, size_t n, struct airlock_error **err);
int airlock_writer_slot_close(struct airlock_writer_slot *s, struct airlock_error **err);
void airlock_writer_slot_free(struct airlock_writer_slot *s);
/* Adds a blob from memory; digest may be NULL (computed) and is written to out_digest. */
int airlock_writer_add_bytes(struct airlock_writer *w, const void *p, size_t n,
                             const char *digest, char out_digest[AIRLOCK_DIGEST_SIZE],
                             struct airlock_error **err);
/* Writes oci-layout and index.json, syncs, and renames the bundle into place. */
int airlock_writer_commit(struct airlock_writer *w, const char *index_json, size_t len,
                          struct airlock_error **err);
/* Frees the writer; an uncommitted bundle is removed. */
void airlock_writer_free(struct airlock_writer *w);
/* Async-signal-safe: removes the temporary files of live writers (for SIGINT handlers). */
void airlock_layout_signal_cleanup(void);

/* ---- split sets ------------------------------------------------------------------------- */

/* A bundle cut for size-limited media: NAME.001, NAME.002, ... (see split.c for the format).
 * Each part is a bundle of its own: the whole index.json, every manifest, config and
 * signature, its share of the layers, and a description of the whole set. Opening any part
 * opens the set (AIRLOCK_OPEN_PART: only that part). */
struct airlock_split_info {
    unsigned part, parts; /* this part, of so many */
    int part_only;        /* opened alone: other parts were not looked for */
    const char *set;      /* the set's identity (a digest) */
    uint64_t part_size;
};
/* The paths a command was given, as the bundles they name: paths that are parts of one split
 * set (the same set identity in their airlock-split.json) are one input, in any order and
 * wherever each sits; every other path is an input of its own. Inputs come in the order of
 * their first path. Paths are only probed (a plain tar's headers and description, nothing kept
 * open); one that cannot be read or is no part is an input of its own, for its opening to say
 * why. The same file named twice counts once; two files that are the same part of one set
 * fail with AIRLOCK_EUSAGE naming both. Free with airlock_bundle_inputs_free. */
struct airlock_bundle_input {
    const char **paths;            /* its paths, as given (the caller's strings) */
    unsigned *part;                /* a split set: the part each path is; else NULL */
    size_t n;
    char set[AIRLOCK_DIGEST_SIZE]; /* a split set's identity, or "" */
    unsigned parts;                /* a split set: how many parts it has */
};
struct airlock_bundle_inputs {
    struct airlock_bundle_input *v;
    size_t n;
};
int airlock_bundle_inputs_group(struct airlock_bundle_inputs **out, const char *const *paths,
                                size_t n, struct airlock_error **err);
void airlock_bundle_inputs_free(struct airlock_bundle_inputs *in);
/* Opens one input: a bundle, or a split set from the parts named (the first, then the others
 * as its parts; parts not named are still looked for beside each named one). */
int airlock_bundle_input_open(struct airlock_bundle **out, const struct airlock_bundle_input *in,
                              unsigned flags, struct airlock_error **err);
/* The one bundle a command reads, from one path (airlock_bundle_open) or the parts of one
 * split set named one by one, in any order (they may sit on different media). Paths that are
 * not all parts of one set fail with AIRLOCK_EUSAGE naming the first that is not, and what it
 * is instead (a bundle of its own, a part of another set, the same part again). */
int airlock_bundle_open_set(struct airlock_bundle **out, const char *const *paths, size_t n,
                            unsigned flags, struct airlock_error **err);
/* 0 unless b is a split set with parts missing: then AIRLOCK_EINTEGRITY naming the first
 * missing part and where it was looked for (for commands that need every blob). */
int airlock_bundle_split_check_whole(const struct airlock_bundle *b, struct airlock_error **err);
/* 1 and *out when b is a part of a split set, else 0. */
int airlock_bundle_split_info(const struct airlock_bundle *b, struct airlock_split_info *out);
/* Where part k (1-based) is or would be; whether it was found and belongs to the set. */
const char *airlock_bundle_split_part_path(const struct airlock_bundle *b, unsigned k);
int airlock_bundle_split_part_present(const struct airlock_bundle *b, unsigned k);
/* The parts holding a blob that is not in every part (its pieces' parts for a cut blob):
 * how many, the first max of them in parts[]; 0 for metadata and for other bundles. */
int airlock_bundle_split_where(const struct airlock_bundle *b, const char *digest,
                               unsigned parts[], size_t max);
/* What part k holds besides the metadata: blobs (or pieces) and their bytes. */
int airlock_bundle_split_part_load(const struct airlock_bundle *b, unsigned k, uint64_t *blobs,
                                   uint64_t *bytes);

/* Checks the pieces of cut blobs against the set's description: those of digest (NULL: every
 * cut blob), in part only_part (0: every part present). Returns how many do not match and
 * their parts in bad[] (the first max); counts what was hashed. */
int airlock_bundle_split_check_pieces(const struct airlock_bundle *b, const char *digest,
                                      unsigned only_part, unsigned bad[], size_t max,
                                      uint64_t *checked, uint64_t *bytes);

struct airlock_split_result {
    char **parts; /* the files written, in order */
    uint64_t *sizes;
    size_t n;
};
/* Writes src as a split set BASE.001 ... with parts no larger than part_size: the source is
 * read once, in order (any form, a split set included); a blob larger than a part is cut.
 * Parts are written atomically one by one, and removed again if a later one fails; parts of
 * an earlier set under BASE beyond the new count are removed. progress (may be NULL) is told
 * a "plan" and then each blob's "write" (core.h). */
int airlock_split(struct airlock_split_result **res, struct airlock_bundle *src, const char *base,
                  uint64_t part_size, airlock_progress_fn progress, void *progress_ctx,
                  struct airlock_error **err);
void airlock_split_result_free(struct airlock_split_result *r);

/* Writing a set directly (export --split): the blobs are planned first, metadata (manifests,
 * configs, signatures: written to every part) and the rest (spread, cut when larger than a
 * part). Then each metadata blob is given in memory, and each other blob goes through a sink
 * opened in order from one thread (its place in its part is reserved then) and filled from any
 * one thread; commit writes the descriptions and the index and renames every part in place
 * (all parts, or none: free removes what a failed commit had renamed). */
struct airlock_split_blob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    int meta;
};
struct airlock_split_writer;
struct airlock_split_sink;
int airlock_split_writer_new(struct airlock_split_writer **out, const char *base,
                             uint64_t part_size, const struct airlock_split_blob *blobs, size_t n,
                             const char *index_json, size_t index_len, const char *what,
                             struct airlock_error **err);
unsigned airlock_split_writer_parts(const struct airlock_split_writer *sw);
int airlock_split_writer_is_meta(struct airlock_split_writer *sw, const char *digest);
int airlock_split_writer_meta(struct airlock_split_writer *sw, const char *digest,
                              const void *data, size_t len, struct airlock_error **err);
int airlock_split_writer_sink(struct airlock_split_writer *sw, const char *digest,
                              struct airlock_split_sink **out, struct airlock_error **err);
/* http/sink shape: ctx is the struct airlock_split_sink * */
int airlock_split_sink_data(void *ctx, const void *p, size_t n, struct airlock_error **err);
/* Checks the blob's size and digest (a cut blob's whole digest too). */
int airlock_split_sink_close(struct airlock_split_sink *k, struct airlock_error **err);
void airlock_split_sink_free(struct airlock_split_sink *k);
int airlock_split_writer_commit(struct airlock_split_writer *sw,
                                struct airlock_split_result **res, struct airlock_error **err);
void airlock_split_writer_free(struct airlock_split_writer *sw);

/* A warning (malloc'd) if the file system at path cannot hold a file of that size (FAT32:
 * 4 GiB - 1) or that name (FAT, exFAT, NTFS); NULL if it can. */
char *airlock_media_warning(const char *path, uint64_t size);

/* ---- integrity verification ------------------------------------------------------------- */

struct airlock_verify_image {
    char *ref;  /* org.opencontainers.image.ref.name, or NULL */
    char *kind; /* "kind" annotation, or NULL */
    char digest[AIRLOCK_DIGEST_SIZE];
    int ok;                 /* every blob under it present and intact */
};

struct airlock_verify_report {
    int ok;
    uint64_t checked;       /* blobs hashed */
    uint64_t bytes;         /* bytes hashed */
    char **missing;         /* digests referenced but absent */
    size_t n_missing;
    char **corrupt;         /* "sha256:..": wrong size or content */
    size_t n_corrupt;
    char **unreferenced;    /* blobs nothing references (a warning) */
    size_t n_unreferenced;
    char **problems;        /* human messages for each missing/corrupt/structural finding */
    size_t n_problems;
    char **missing_parts;   /* a split set: the parts not found */
    size_t n_missing_parts;
    uint64_t elsewhere;     /* a part opened alone: blobs other parts hold, not checked */
    struct airlock_verify_image *images;
    size_t n_images;
    /* a delta bundle (AIRLOCK_ANN_DELTA_RECORD): the blobs it leaves out that its graph needs,
     * expected at the destination (not missing), and on what basis */
    int delta;
    char delta_basis[16];
    char delta_basis_digest[AIRLOCK_DIGEST_SIZE];
    char **expected;
    size_t n_expected;
    uint64_t expected_bytes;
};

struct airlock_verify_opts {
    int threads; /* hashing threads; 0: one per core, at most 8 */
    airlock_progress_fn progress; /* or NULL: a "plan", then each blob's "check" (core.h) */
    void *progress_ctx;
};
#define AIRLOCK_VERIFY_OPTS_INIT {0, NULL, NULL}

/* Checks that every blob referenced from index.json down is present with the right size and
 * sha256, and lists blobs nothing references. Findings go into the report (caller frees
 * with airlock_verify_report_free); the return value is non-zero only when verification
 * could not run (unreadable bundle, malformed index.json). Never writes. */
int airlock_bundle_verify(struct airlock_verify_report **out, struct airlock_bundle *b,
                          const struct airlock_verify_opts *opts, struct airlock_error **err);
void airlock_verify_report_free(struct airlock_verify_report *r);

/* ---- delta bundles (delta.c) ------------------------------------------------------------- */

/* index.json's top-level annotation recording the layer blobs a delta bundle leaves out
 * (export --have, --since), as JSON text (format in layout/src/delta.c). The record is not
 * trusted: it only ever makes a blob "expected at the destination" when it names that blob,
 * with its size, as a layer of a manifest the bundle holds (airlock_delta_check says what else
 * is wrong with it), and push asks the destination for each one before anything moves. */
#define AIRLOCK_ANN_DELTA_RECORD "dev.airlock.delta"

struct airlock_delta_blob {
    char digest[AIRLOCK_DIGEST_SIZE];
    uint64_t size;
    char *from; /* a repository of the basis registry that held it (a mount hint), or NULL */
    char **mounts; /* the other repositories there that held it, at most
                      AIRLOCK_DELTA_MOUNTS_MAX, tried in order after from */
    size_t n_mounts;
};
#define AIRLOCK_DELTA_MOUNTS_MAX 16
struct airlock_delta {
    char basis_kind[16];                 /* "inventory" or "lock" */
    char basis_digest[AIRLOCK_DIGEST_SIZE]; /* of the inventory or the lock file */
    char *basis_registry;                /* the inventory's registry, or NULL */
    struct airlock_delta_blob *omitted;  /* sorted by digest, no repeats */
    size_t n;
};
/* The record of b: AIRLOCK_ENOTFOUND (no error set) when it has none; a malformed one
 * (unsorted or repeated digests, bad sizes, an unknown basis) is AIRLOCK_EINTEGRITY naming the
 * bundle. Free with airlock_delta_free. */
int airlock_delta_load(struct airlock_delta **out, struct airlock_bundle *b,
                       struct airlock_error **err);
/* The same on the record's text (the fuzz target); what names it in messages. */
int airlock_delta_parse(struct airlock_delta **out, const char *text, size_t len,
                        const char *what, struct airlock_error **err);
/* The omitted blob digest, or NULL (binary search). */
const struct airlock_delta_blob *airlock_delta_find(const struct airlock_delta *d,
                                                    const char *digest);
/* Sorts d->omitted by digest and drops repeats (a writer's step before format). */
int airlock_delta_sort(struct airlock_delta *d);
/* The record as JSON text (malloc'd), or NULL when memory ran out. */
char *airlock_delta_format(const struct airlock_delta *d);
void airlock_delta_free(struct airlock_delta *d);
/* What the record says that is not true of the bundle b with graph g: each omitted entry must
 * be a layer (never a config, manifest or index, nor a layer of an attachment) of a manifest
 * in g, with the one size its descriptors give, and absent from b. *problems (*n_problems messages) is malloc'd: free each
 * and the array. Only memory can fail. */
int airlock_delta_check(char ***problems, size_t *n_problems, const struct airlock_delta *d,
                        struct airlock_bundle *b, const struct airlock_graph *g,
                        struct airlock_error **err);
/* True when a delta bundle must carry every layer of manifest m whatever the destination
 * holds: an attachment by its content (a subject, a sigstore bundle artifact type, or a
 * layer of a type a signature, attestation or SBOM check reads). export --have uses it to
 * decide what it may leave out, airlock_delta_check to refuse a record that leaves one out. */
int airlock_delta_carries(const struct airlock_oci *m);

/* ---- signing (cosign legacy .sig manifests, offline) -------------------------------------- */

struct airlock_key;
struct airlock_pubkey;

struct airlock_sign_opts {
    const char *identity; /* docker-reference to sign, for one image only (more than one
                             image: AIRLOCK_EUSAGE, pointing to to); NULL: see to */
    const struct airlock_annotation *annotations; /* -a k=v, into "optional" */
    size_t n_annotations;
    int recursive;        /* also sign each platform manifest of an index (same identity) */
    const char *const *refs; /* the images to sign (references or digests); none: all */
    size_t n_refs;
    unsigned formats; /* AIRLOCK_SIGN_WRITE_* bits; 0: both */
    /* to, "host[/prefix]": each image is signed with its reference after `push to` with the
     * same map (airlock_ref_destination), with its tag (a digest-only entry: its
     * repository), so both by-tag and by-digest pulls there pass containers/image's
     * matchRepoDigestOrExact. NULL (and no identity): cosign's default, the repository the
     * bundle names. */
    const char *to;
    const char *const *map; /* "SRC=DST" renames, as push --map */
    size_t n_map;
    /* airlock_bundle_attest: the predicate document and its type (a cosign type name or a
     * URI, see airlock_predicate_type_uri); what names it in messages. replace: drop the
     * attestations of the same predicateType this key made before (both formats). */
    const char *predicate_type;
    const void *predicate;
    size_t predicate_len;
    const char *predicate_what;
    int replace;
};
#define AIRLOCK_SIGN_OPTS_INIT {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL, 0, NULL, 0}
#define AIRLOCK_SIGN_WRITE_SIMPLESIGNING 1u /* the .sig layer (cosign 1, 2, containers/image) */
#define AIRLOCK_SIGN_WRITE_BUNDLE 2u        /* the sigstore bundle referrer (cosign 3) */

struct airlock_sign_result {
    char **refs;    /* the signed image (reference, or reference@digest for a platform) */
    char **digests; /* the signed manifest digests */
    int *added;     /* 1: a signature was added; 0: this key had signed this payload already */
    size_t n;
};

/* Signs images of the bundle at path with key, never touching the network. Each image gets
 * (or extends) a cosign signature manifest named REPO:sha256-<hex>.sig in the bundle, and a
 * sigstore bundle referrer as cosign 3 attaches it (FORMATS.md section 4), listed in the
 * referrers index named REPO:sha256-<hex> (its existing entries kept); opts->formats picks
 * one of the two. A key that already signed the same statement (.sig: the same payload;
 * bundle: the same subject, predicateType and annotations) adds nothing.
 * A plain tar is appended to, not copied: new entries go after the old end-of-archive
 * blocks, are synced, and one 512-byte write then turns the old end marker into a padding
 * entry, so a reader sees either the old bundle or the new one. A directory gets new blob
 * files and an atomically replaced index.json; a .tar.zst is rewritten atomically. */
int airlock_bundle_sign(struct airlock_sign_result **res, const char *path,
                        const struct airlock_key *key, const struct airlock_sign_opts *opts,
                        struct airlock_error **err);
void airlock_sign_result_free(struct airlock_sign_result *r);
/* cosign attest, offline: each image (and with opts->recursive each platform manifest) gets an
 * in-toto statement with opts->predicate about its digest, signed as DSSE with key, stored as
 * cosign's legacy .att (REPO:sha256-<hex>.att, one DSSE envelope layer per attestation with a
 * predicateType annotation, earlier layers kept) and as a cosign 3 sigstore bundle referrer
 * (dev.sigstore.bundle.predicateType the type) listed in REPO:sha256-<hex>; opts->formats
 * picks one. Every attest adds one (cosign's way) unless opts->replace drops this key's
 * earlier ones of that type. Written in place as airlock_bundle_sign writes; a predicate
 * its type cannot take (not JSON for a JSON type) fails with AIRLOCK_EUSAGE before anything
 * is written. */
int airlock_bundle_attest(struct airlock_sign_result **res, const char *path,
                          const struct airlock_key *key, const struct airlock_sign_opts *opts,
                          struct airlock_error **err);
/* 0 when path may be signed in place as far as a cheap look tells (before a key is loaded);
 * a path that is not there fails as opening it would; a part of a split set fails with
 * AIRLOCK_EUSAGE (airlock_bundle_sign refuses it too). */
int airlock_bundle_sign_check(const char *path, struct airlock_error **err);

struct airlock_sig_check_opts {
    const struct airlock_pubkey *key;
    const char *identity; /* required identity (exact, or same repository); NULL: any */
    const struct airlock_annotation *annotations; /* each must equal in "optional" */
    size_t n_annotations;
    int allow_unsigned;   /* an image with no signature at all is admitted, marked so (a
                             bad signature still fails); with key NULL nothing is checked
                             and every image is admitted unsigned */
    /* The destination rule (push DEST, verify --to DEST), with key set and identity NULL:
     * each image, and each platform manifest of it that the bundle holds, needs a verified
     * .sig whose docker-reference containers/image's matchRepoDigestOrExact accepts for its
     * pull at the destination (airlock_ref_destination with map): by tag, DEST/...:tag
     * exactly; an entry without a tag, by digest: the same repository. A sigstore bundle
     * names no reference and does not count for it. NULL: no such rule (cosign's). */
    const char *dest;
    const char *const *map;
    size_t n_map;
    /* cosign verify-attestation: each image needs, for every type here (a cosign type name
     * or a URI), an attestation whose DSSE signature verifies with key, whose statement has
     * the image's digest as a subject and that predicateType (.att layers and sigstore bundle
     * referrers alike). The image's attestations are listed in its record (atts) whenever
     * this is set or list_attestations is; keep_statements keeps each verified statement.
     * list_attestations also gives an index its platforms records (each platform manifest
     * the bundle holds, with its attestations, when the destination rule made none). */
    const char *const *attestations;
    size_t n_attestations;
    int list_attestations;
    int keep_statements;
};

#define AIRLOCK_ATT_FORMAT_DSSE "dsse-envelope" /* an .att layer (cosign 1, 2) */

struct airlock_att_found {
    char *predicate_type; /* verified: the statement's; else what the layer's or referrer's
                             annotation claims (NULL when it claims none) */
    const char *format;   /* AIRLOCK_ATT_FORMAT_DSSE or AIRLOCK_SIG_FORMAT_BUNDLE (static) */
    char manifest[AIRLOCK_DIGEST_SIZE]; /* the .att manifest or the referrer manifest */
    char layer[AIRLOCK_DIGEST_SIZE];    /* the envelope or the bundle blob */
    uint64_t size;                      /* its size */
    int verified;         /* signed by the key over a statement about this image */
    char *why;            /* not verified: why (or "no key given") */
    char *statement;      /* verified, with keep_statements: the statement's exact bytes */
    size_t statement_len;
    int unlisted;         /* a referrer in blobs/ that index.json does not list (cosign save,
                             or one attest --replace dropped from a plain tar, which is only
                             ever appended to): push does not carry it */
    char *created;        /* its org.opencontainers.image.created annotation (the referrer
                             manifest's, as cosign 3 writes it; an .att layer's), unsigned;
                             NULL when none */
};

#define AIRLOCK_SIG_FORMAT_SIMPLESIGNING "simplesigning"     /* a .sig layer (cosign 1, 2) */
#define AIRLOCK_SIG_FORMAT_BUNDLE "sigstore-bundle"          /* a bundle referrer (cosign 3) */

struct airlock_sig_found {
    char *identity; /* docker-reference of a verified simple signing payload; NULL for a
                       sigstore bundle (its statement names no reference) */
    struct airlock_annotation *optional; /* "optional", or the statement subject's annotations */
    size_t n_optional;
    const char *format;   /* AIRLOCK_SIG_FORMAT_* (static) */
    char *predicate_type; /* sigstore bundles: the statement's predicateType, else NULL */
    int unlisted;         /* a referrer in blobs/ that index.json does not list (cosign save):
                             it counts here, but push carries only what index.json lists */
    char *payload;        /* simplesigning: the verified payload's bytes (payload_len),
                             else NULL */
    size_t payload_len;
};

struct airlock_sig_image {
    char *ref;
    char digest[AIRLOCK_DIGEST_SIZE];
    int ok;                        /* at least one signature verified */
    int has_signatures;            /* the bundle holds signature layers for it */
    struct airlock_sig_found *sigs; /* the verified ones */
    size_t n_sigs;
    char **failures;               /* why each other signature layer was rejected */
    size_t n_failures;
    /* Bundles: what the entry is, judged from its content, never from its "kind" label */
    enum airlock_role role;        /* an attachment only when its content is one and it
                                      belongs to an admitted image in its repository */
    char subject[AIRLOCK_DIGEST_SIZE]; /* attachments: the manifest they belong to */
    int unsigned_allowed;          /* ok only because unsigned images were allowed (no key,
                                      or allow_unsigned and no signature at all) */
    size_t node;                   /* its root in the report's graph */
    /* the destination rule (opts dest): */
    char *needed;           /* the reference it is pulled by at the destination */
    char *identity_failure; /* why no verified signature names it (signed as ..., needed ...),
                               or NULL when one does */
    struct airlock_sig_image *platforms; /* an index: each platform manifest the bundle
                                            holds, its own signatures and verdict */
    size_t n_platforms;
    char *platform;         /* a platform record: "os/arch[/variant]" */
    struct airlock_att_found *atts; /* its attestations (opts attestations, list_attestations) */
    size_t n_atts;
    char *att_failure;      /* the first required attestation type it lacks, and why */
};

/* The destination rule for one checked image (or platform manifest) im: 1 when one of its
 * verified signatures names a reference a pull by pulled accepts (airlock_identity_match_
 * pulled); else 0, with im->identity_failure naming the identities signed and the one
 * needed (what, when not NULL, names im in it). Sets im->needed. */
int airlock_sig_image_judge_identity(struct airlock_sig_image *im, const char *pulled,
                                     const char *what);

/* One record per index.json entry, in its order. An entry may go in (ok) when it is an image
 * whose signature verified (or an allowed unsigned one), or an attachment of such an image in
 * the same repository whose content is what its role says. */
struct airlock_sig_report {
    int ok; /* every entry may go in */
    struct airlock_sig_image *images;
    size_t n_images;
    struct airlock_graph *graph; /* bundles: the manifest graph the decisions were made on */
};

/* Decides what of the bundle may go in: checks the signatures of every image as cosign
 * verify --key does (and, with an identity, as containers/image does), and admits attachments
 * by their content (see struct airlock_sig_report). push PUTs only what this admits, so
 * verify and push cannot disagree. Findings go into the report; the return value is non-zero
 * only when checking could not run. */
int airlock_bundle_verify_signatures(struct airlock_sig_report **out, struct airlock_bundle *b,
                                     const struct airlock_sig_check_opts *opts,
                                     struct airlock_error **err);
void airlock_sig_report_free(struct airlock_sig_report *r);
void airlock_sig_image_release(struct airlock_sig_image *im);
/* Records why a signature of im was rejected. */
void airlock_sig_image_fail(struct airlock_sig_image *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks every layer of one .sig manifest (raw bytes) for the image im->digest, adding the
 * verified signatures and the failures to im. Payloads are read through read. */
void airlock_sig_check_manifest(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o);

/* Checks one OCI 1.1 referrer manifest (raw bytes) of the image im->digest as cosign 3 verify
 * --key does: a sigstore bundle referrer has exactly one layer, of a media type starting with
 * application/vnd.dev.sigstore.bundle; its bundle (read through read) must verify with the
 * key for im->digest and carry every -a k=v in the statement subject's annotations. A
 * verified one is added to im->sigs (format sigstore-bundle), a bad one to im->failures
 * (both set im->has_signatures). Returns 0 when the manifest is no sigstore bundle referrer
 * at all (an SBOM, another artifact: not a signature), 1 otherwise. */
int airlock_sig_check_referrer(struct airlock_sig_image *im, const char *raw, size_t len,
                               const char *what, airlock_blob_read_fn read, void *rctx,
                               const struct airlock_sig_check_opts *o);

/* Adds the attestations of im->digest in one .att manifest (raw bytes) to im->atts, each
 * DSSE envelope layer verified with o->key when there is one. */
void airlock_att_check_manifest(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o);
/* Adds the attestation a sigstore bundle referrer (raw bytes) of im->digest holds to
 * im->atts; a bundle whose predicateType is cosign's signature statement is a signature,
 * not an attestation, and is left out. */
void airlock_att_check_referrer(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o);
/* The requirement o->attestations on im's atts: 1 when every type has a verified one, else 0
 * with im->att_failure set. */
int airlock_att_judge(struct airlock_sig_image *im, const struct airlock_sig_check_opts *o);

/* ---- import ----------------------------------------------------------------------------- */

struct airlock_import_opts {
    const char *name;         /* --name: reference for images the source does not name */
    enum airlock_format format;
    airlock_progress_fn progress; /* or NULL: a "plan" of the layers, then each one's "write" */
    void *progress_ctx;
};
#define AIRLOCK_IMPORT_OPTS_INIT {NULL, AIRLOCK_FORMAT_AUTO, NULL, NULL}

struct airlock_import_result {
    char **refs;     /* references now in the bundle, from the inputs */
    char **digests;
    size_t n;
    uint64_t blobs_written;
    uint64_t bytes_written;
    uint64_t blobs_omitted;  /* a delta export: layers left out (expected at the destination) */
    uint64_t bytes_omitted;
    char delta_basis[AIRLOCK_DIGEST_SIZE]; /* and the digest of its inventory or lock, or "" */
    char **warnings; /* things done that the user should know of */
    size_t n_warnings;
    char **parts;    /* a split set written instead of one bundle (export --split) */
    uint64_t *part_sizes;
    size_t n_parts;
};

/* Reads every input (OCI layouts as directory/tar/tar.zst, docker-save and skopeo
 * docker-archive tars, hauler haul.tar.zst, airlock bundles) and writes one deduplicated
 * bundle at out. If out already holds a bundle, its images are kept and the inputs are
 * merged into it (a reference given again is replaced). */
int airlock_import(struct airlock_import_result **res, const char *out, const char *const *inputs,
                   size_t n_inputs, const struct airlock_import_opts *opts,
                   struct airlock_error **err);
void airlock_import_result_free(struct airlock_import_result *r);

/* ---- one run per destination ----------------------------------------------------------------- */

/* The lock every airlock run that replaces path holds from its first read of path to its last
 * rename: ".NAME.airlock-lock" beside it (flock), taken without waiting; held by another run,
 * it fails with AIRLOCK_EUSAGE "another airlock is writing 'path'". Once it is held, what
 * killed runs left beside path (".NAME.airlock-XXXXXX") is removed; a resumable partial is
 * kept. import, sign, split and airlock_writer_new take it themselves; a caller that reads an
 * existing bundle before writing over it (an export adding to one) takes it first and then
 * writes with airlock_writer_new_resumable_locked. Freed (unlocked) with
 * airlock_dest_lock_free, which accepts NULL. */
struct airlock_dest_lock;
int airlock_dest_lock(struct airlock_dest_lock **out, const char *path,
                      struct airlock_error **err);
void airlock_dest_lock_free(struct airlock_dest_lock *l);
/* Refuses, before anything is written, a destination whose file system has less free space
 * (for an unprivileged user) than need bytes plus a margin (1% and 1 MiB: tar headers,
 * index.json): AIRLOCK_ENOSPACE naming the path and both numbers. dest need not exist; its
 * directory is asked. A file system that cannot say (statvfs fails) is not refused. */
#define AIRLOCK_SPACE_MARGIN(need) ((need) / 100 + (1u << 20))
int airlock_space_check(const char *dest, uint64_t need, struct airlock_error **err);

/* airlock_writer_new_resumable under path's lock, which the caller holds (and keeps until the
 * writer is freed). */
int airlock_writer_new_resumable_locked(struct airlock_writer **out, const char *path,
                                        enum airlock_format fmt, struct airlock_error **err);

/* ---- containers/image policy check (airlock/policy.h) ------------------------------------- */

#include "airlock/policy.h"

struct airlock_policy_check_opts {
    const char *dest;        /* "host[/prefix]" as for push; NULL: the bundle's own references */
    const char *const *map;  /* "SRC=DST" renames, as for push */
    size_t n_map;
};
#define AIRLOCK_POLICY_CHECK_OPTS_INIT {NULL, NULL, 0}

/* One manifest checked at one reference. */
struct airlock_policy_target {
    char *image;    /* the image's reference in the bundle (index.json), NULL when unnamed */
    char digest[AIRLOCK_DIGEST_SIZE];   /* the image (its manifest or index) */
    char *platform; /* NULL: the image's own manifest or index; else the platform manifest of
                       its index ("linux/arm64", or its digest when the index names none) */
    char manifest[AIRLOCK_DIGEST_SIZE]; /* the manifest whose signatures were checked */
    char *ref;      /* the reference it is pulled as at its destination */
    int by_digest;  /* ref is REPO@digest (repository rules), else REPO:tag */
    struct airlock_policy_result result; /* the scope and each requirement's verdict */
    char *error;    /* it could not be evaluated (no reference, no destination): failing */
};

struct airlock_policy_report {
    int ok; /* every target passes */
    struct airlock_policy_target *targets;
    size_t n;
};

/* Evaluates p (containers/image's rules, see policy.h) for every image of the bundle and every
 * platform manifest of its indexes (attestation manifests, platform unknown/unknown, left
 * out), each at its destination reference (airlock_ref_destination with o->dest and o->map,
 * the mapping push uses; without o->dest the bundle's own reference), pulled by tag and by
 * digest: a runtime pulling one platform checks that platform manifest's own signatures, a
 * pull of the whole index (--all, or by digest) the index's. Signatures are the bundle's .sig
 * layers of type simplesigning for that digest in the image's repository (cosign 3 bundle
 * referrers are not read by containers/image and do not count). One pass over the catalog; the
 * return value is non-zero only when checking could not run. Free with
 * airlock_policy_report_free. */
int airlock_bundle_check_policy(struct airlock_policy_report **out, struct airlock_bundle *b,
                                const struct airlock_policy *p,
                                const struct airlock_policy_check_opts *o,
                                struct airlock_error **err);
void airlock_policy_report_free(struct airlock_policy_report *r);
/* 0 when every target passes, else AIRLOCK_ESIGNATURE naming the first failing image, its
 * platform, the reference, the requirement and the reason. */
int airlock_policy_report_error(const struct airlock_policy_report *r, struct airlock_error **err);

#ifdef __cplusplus
}
#endif
#endif
