/* Internal interfaces of the layout module. */
#ifndef AIRLOCK_LAYOUT_INT_H
#define AIRLOCK_LAYOUT_INT_H

#include "airlock/layout.h"
#include "core_int.h"

/* ---- archive.c: the only file that touches libarchive ------------------------------------ */

enum arch_type { ARCH_REG, ARCH_DIR, ARCH_SYMLINK, ARCH_HARDLINK, ARCH_OTHER };

struct arch_entry {
    const char *name;     /* normalized: no "./", no trailing '/', never absolute or ".." */
    const char *raw_name; /* as stored, for messages */
    enum arch_type type;
    uint64_t size;
    int64_t offset;       /* data offset in the file (ARCH_SEEKABLE), else -1 */
    const char *link;     /* symlink or hardlink target as stored, or NULL */
};

struct arch_reader;
/* airlock_read_fn over the current entry's data; ctx is the struct arch_reader *. */
int arch_read(void *ctx, void *buf, size_t cap, size_t *got, struct airlock_error **err);

/* Called for every entry in order; return non-zero to stop (the value is returned). The
 * entry's data may be read through r while inside the call. */
typedef int (*arch_entry_fn)(void *ctx, const struct arch_entry *e, struct arch_reader *r,
                             struct airlock_error **err);

#define ARCH_SEEKABLE 0x1 /* require an uncompressed tar and report data offsets */

/* Walks a tar archive (any compression libarchive knows). Unsafe names (absolute, "..")
 * fail with AIRLOCK_EINTEGRITY naming the entry; so do truncation and damage, sparse
 * entries, more than ARCH_MAX_ENTRIES entries, and a stream that inflates more than
 * ARCH_MAX_RATIO times beyond ARCH_RATIO_FLOOR bytes (a decompression bomb). *compressed
 * (if not NULL) tells whether a compression filter was found. */
#define ARCH_MAX_ENTRIES 1000000
#define ARCH_MAX_RATIO 1000
#define ARCH_RATIO_FLOOR (256ull << 20)
int arch_walk(const char *path, unsigned flags, arch_entry_fn fn, void *ctx, int *compressed,
              struct airlock_error **err);

/* Probes a file: 1 if it is a tar (after decompression) libarchive can read, 0 if not. */
int arch_is_tar(const char *path, int *compressed);
/* Same, also naming the compression filter ("zstd", "gzip", "none"...). */
int arch_probe(const char *path, int *compressed, char *filter, size_t filter_len);

/* Normalizes an entry name (see struct arch_entry); an empty result (the root "./") yields
 * an empty string. */
int arch_name_normalize(char **out, const char *raw, const char *archive,
                        struct airlock_error **err);

/* ---- tarw.c: tar writer (ustar headers, optional zstd) ------------------------------------ */

struct tarw;
int tarw_new(struct tarw **out, int fd, int zstd, const char *what, struct airlock_error **err);
int tarw_dir(struct tarw *t, const char *name, struct airlock_error **err);
int tarw_file_begin(struct tarw *t, const char *name, uint64_t size, struct airlock_error **err);
int tarw_file_data(struct tarw *t, const void *p, size_t n, struct airlock_error **err);
int tarw_file_end(struct tarw *t, struct airlock_error **err);
/* Plain tar only: writes name's header and leaves size bytes (and the padding) for the caller
 * to fill with pwrite at *offset, in any order, from any thread. */
int tarw_reserve(struct tarw *t, const char *name, uint64_t size, uint64_t *offset,
                 struct airlock_error **err);
/* Writes the end-of-archive blocks and flushes the compressor. */
int tarw_finish(struct tarw *t, struct airlock_error **err);
void tarw_free(struct tarw *t);
/* Fills a 512-byte ustar header; used by tests and by the appending signer. */
int tarw_header(unsigned char hdr[512], const char *name, uint64_t size, char type);

/* writer.c: the caller already holds the destination's flock (commit must not wait for it) */
void writer_lock_held(struct airlock_writer *w);

/* writer.c: the destination's lock, ".NAME.airlock-lock" beside path, taken without waiting
 * (another holder: AIRLOCK_EUSAGE "another airlock is writing 'path'"). Every run that reads
 * a destination and replaces it takes it before the first read and keeps it to the last
 * rename. Once it is held, temporaries of killed runs on path (".NAME.airlock-XXXXXX"; with
 * LAYOUT_LOCK_PARTS also ".NAME.<digits>.airlock-XXXXXX", a split set's parts) are removed;
 * the resumable ".NAME.airlock-partial" is kept. Release with layout_dest_unlock (accepts -1). */
#define LAYOUT_LOCK_PARTS 0x1
int layout_dest_lock(int *fd_out, char **lock_path_out, const char *path, unsigned flags,
                     struct airlock_error **err);
void layout_dest_unlock(int fd, char *lock_path);
/* airlock_writer_new for a caller that holds the destination's lock already (and any flock
 * on the destination itself): the writer neither takes nor waits for it. */
int writer_new_locked(struct airlock_writer **out, const char *path, enum airlock_format fmt,
                      struct airlock_error **err);

/* ---- bundle.c ------------------------------------------------------------------------------ */

/* A piece of a blob cut over several parts of a split set (split.c). */
struct bundle_piece {
    const struct airlock_bundle *owner; /* the part holding it */
    int64_t offset;
    uint64_t size;
};

struct blob_ent {
    char digest[AIRLOCK_DIGEST_SIZE];
    char actual[AIRLOCK_DIGEST_SIZE]; /* streamed + hashed */
    uint64_t size;
    int64_t offset;  /* plain tar: data offset */
    uint64_t seq;    /* entry ordinal of the copy that counts (the last) */
    int hashed;
    char *data;      /* streamed: a small JSON blob kept in memory */
    int maybe_json;  /* streamed: small and starts like JSON, but not kept (yet) */
    const struct airlock_bundle *owner; /* split set: the part holding it (NULL: this file) */
    struct bundle_piece *pieces;        /* split set: a blob cut over parts, in order */
    size_t n_pieces;
};

/* An "airlock-split/<hex>.<k>" entry of a part (a piece of a cut blob). */
struct piece_ent {
    char hex[65];
    unsigned k;
    int64_t offset;
    uint64_t size;
};

struct bundle_split; /* split.c */

struct airlock_bundle {
    char *path;
    enum airlock_format fmt;
    int compressed; /* streamed */
    char label[48]; /* "dir", "tar", "tar.zst", "tar.gz", ... */
    int fd;         /* tar: the file; dir: the directory */
    int blobs_fd;   /* dir: blobs/sha256, opened without following links */
    unsigned flags;
    struct blob_ent *blobs;
    size_t n, cap;
    char *index;
    size_t index_len;
    int64_t index_off; /* plain tar */
    uint64_t index_size;
    char *layout;
    int64_t layout_off;
    uint64_t layout_size;
    int have_index, have_layout;
    char **warnings;
    size_t n_warn;
    uint64_t retained;
    uint64_t seq;
    int64_t tar_end; /* plain tar: where the last entry's data (padded) ends */
    /* a part of a split set */
    int64_t split_off;
    uint64_t split_size;
    int have_split;
    struct piece_ent *pents;
    size_t n_pents;
    struct bundle_split *split;
    const char *const *given; /* parts named by the caller (airlock_bundle_open_set) */
    size_t n_given;
};

/* internal open flags */
#define BUNDLE_OPEN_NO_SIBLINGS 0x100 /* a part opened as a sibling: do not look for others */
#define BUNDLE_OPEN_DEFER_SPLIT 0x200 /* leave split_attach to the caller */

/* Adds a blob entry (unsorted until bundle_finish_table); NULL when out of memory. */
struct blob_ent *bundle_add_blob(struct airlock_bundle *b, const char *digest);
void bundle_finish_table(struct airlock_bundle *b);
void bundle_warn(struct airlock_bundle *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens dirfd/name for reading without following a link and without blocking (a FIFO or
 * device is refused with AIRLOCK_EINTEGRITY naming shown, before anything waits on it);
 * flags: LAYOUT_OPEN_FOLLOW;
 * the fd is blocking again on return. st_out (may be NULL) gets its stat. */
struct stat;
#define LAYOUT_OPEN_FOLLOW 0x1 /* a path the user named: a link to the bundle is fine */
int layout_open_regular(int dirfd, const char *name, unsigned flags, const char *shown, int *out,
                        struct stat *st_out, struct airlock_error **err);
/* Reads a small file of a plain tar at off. */
int bundle_load_small_at(struct airlock_bundle *b, int64_t off, uint64_t size, size_t max,
                         char **out, const char *what, struct airlock_error **err);

/* A small blob of a stream (a blob_stream take callback's reader) read whole into out (capped
 * at max) and checked against its name: 0 and out when it is intact, 1 when it is not (too
 * large, cut off, or other content: out released), or an error from the stream. */
int layout_stream_small(airlock_read_fn read, void *rctx, const char *digest, uint64_t size,
                        size_t max, struct airlock_buf *out, struct airlock_error **err);

/* ---- split.c ----------------------------------------------------------------------------- */

#define SPLIT_JSON "airlock-split.json"
#define SPLIT_DIR "airlock-split/"
/* After a part is opened: reads its description, opens the sibling parts beside it (unless
 * BUNDLE_OPEN_NO_SIBLINGS or AIRLOCK_OPEN_PART) and merges their blobs. */
int split_attach(struct airlock_bundle *b, struct airlock_error **err);
void split_free(struct bundle_split *s);
/* While a split replaces a set, each earlier part is kept as ".BASE.NNN.airlock-prev" until
 * the whole new set is in place: a reader finding a part of another set (or none) under a
 * part's name reads its twin, so a kill at any point leaves the old or the new set whole. */
#define SPLIT_TWIN ".airlock-prev"
#define BUNDLE_OPEN_NO_PREV 0x400 /* do not fall back to the twins of an interrupted split */
char *split_twin_path(const char *part); /* malloc'd */
/* True unless b is a part of a split set with parts missing. */
int split_complete(const struct airlock_bundle *b);
/* Parses the text of an airlock-split.json (len bytes, NUL-terminated) of the part path. */
int split_parse(struct bundle_split **out, const char *text, size_t len, const char *path,
                struct airlock_error **err);
/* BASE.001 (three digits, more for sets of over 999 parts); malloc'd. */
char *split_part_path(const char *base, unsigned k, unsigned parts);

/* writer.c: an entry that is not a blob (a tar writer only): written with
 * airlock_writer_blob_data and closed with airlock_writer_blob_end, unchecked. */
int writer_extra_begin(struct airlock_writer *w, const char *name, uint64_t size,
                       struct airlock_error **err);
/* Commit in two steps, for sets of files that appear together: finish writes the index,
 * ends and syncs the tar and tells its size; publish renames it into place. */
int writer_finish(struct airlock_writer *w, const char *index_json, size_t len,
                  uint64_t *size, struct airlock_error **err);
int writer_publish(struct airlock_writer *w, struct airlock_error **err);
/* The same as a parallel slot (airlock_writer_slot_*): checked for its size only. */
int writer_slot_open_extra(struct airlock_writer *w, const char *name, uint64_t size,
                           struct airlock_writer_slot **out, struct airlock_error **err);

/* The entry a signing append turns the old end-of-archive blocks into (see sign.c). */
#define LAYOUT_PADDING_NAME ".airlock-padding"
/* Plain tar: the offset just past the last entry's padded data (where the end-of-archive
 * blocks start). Directory: the open directory's fd. */
int64_t bundle_tar_end(const struct airlock_bundle *b);
int bundle_dir_fd(const struct airlock_bundle *b);

/* airlock_bundle_open, telling (*not_layout) when the failure is only that the archive has no
 * oci-layout file, so the caller may try another reading (a docker-save archive). */
int bundle_open(struct airlock_bundle **out, const char *path, unsigned flags, int *not_layout,
                struct airlock_error **err);

/* Classifies a normalized entry name of a layout. Returns 1 and the digest for
 * "blobs/sha256/<hex>", 0 for other known names, AIRLOCK_EINTEGRITY for unsafe or
 * malformed blob names, and 2 for unknown names (ignored with a warning). */
int bundle_classify(const char *name, char digest[AIRLOCK_DIGEST_SIZE], const char *what,
                    struct airlock_error **err);

/* ---- docker.c: docker-save / docker-archive sources ---------------------------------------- */

struct docker_src;
/* Reads a docker-save archive's manifest.json and configs, and builds OCI manifests for
 * its images (layers kept byte for byte, so their digests are the config's diff_ids). */
int docker_src_open(struct docker_src **out, const char *path, struct airlock_error **err);
void docker_src_free(struct docker_src *d);
size_t docker_src_image_count(const struct docker_src *d);
/* Image i: its RepoTags (may be empty), the generated manifest's descriptor. */
const struct airlock_descriptor *docker_src_image(const struct docker_src *d, size_t i,
                                                  const char *const **tags, size_t *n_tags);
/* Small blobs: generated manifests and configs. */
int docker_src_blob_read(struct docker_src *d, const char *digest, struct airlock_buf *out,
                         struct airlock_error **err);
int docker_src_blob_stream(struct docker_src *d, airlock_blob_want_fn want,
                           airlock_blob_take_fn take, void *ctx, struct airlock_error **err);

/* ---- catalog.c: what a manifest is ---------------------------------------------------------- */

/* cosign save leaves its referrer manifests in blobs/ with nothing listing them: a blob of at
 * least LAYOUT_BARE_REFERRER_MIN and at most LAYOUT_BARE_REFERRER_MAX bytes that nothing
 * references may be one. */
#define LAYOUT_BARE_REFERRER_MAX 16384 /* a referrer manifest is under 1 KiB; annotations add some */
#define LAYOUT_BARE_REFERRER_MIN 64    /* less cannot hold a subject and a layer */
/* 1 and *m (the parsed manifest) when raw is a manifest the catalog takes as a referrer (a
 * subject, no config or layer a runtime would run or unpack); 0 and *m NULL otherwise. */
int layout_bare_referrer_parse(struct airlock_oci **m, const char *raw, size_t len);

/* A (repository, digest) pair as one digest-shaped key for a core_dmap. -1: no memory. */
int layout_pair_key(char key[AIRLOCK_DIGEST_SIZE], const char *repo, const char *digest);
/* The repository ("domain/path") a reference names, malloc'd; NULL if it is none. */
char *layout_repo_of(const char *ref);

/* ---- delta.c ---------------------------------------------------------------------------- */

/* Verify of a delta bundle: marks r as one (basis kind and digest) and adds what the record d
 * says that is not true of b and its graph g (airlock_delta_check) to r->problems. */
int layout_verify_delta(struct airlock_verify_report *r, const struct airlock_delta *d,
                        struct airlock_bundle *b, const struct airlock_graph *g,
                        struct airlock_error **err);

#endif
