/* airlock serve: a bundle as a read-only OCI registry (distribution-spec 1.1, pull side).
 *
 * The server side of the distribution protocol (transfer/ is the client side). A bundle is
 * served in place, never extracted and never written to: a directory, a plain .tar or a split
 * set across several media, each read by offset. A .tar.zst cannot be read by offset and is
 * refused (airlock import drop.tar.zst -o drop.tar makes a .tar of it).
 *
 * Before it listens, airlock_server_new checks the bundle: every blob under index.json present
 * with its size and sha256 (as airlock_bundle_verify does, a split set whole), and with a key
 * every image's signatures (airlock_bundle_verify_signatures, as verify does). Integrity
 * failures refuse the server; an image whose signatures fail is left out (not served at all,
 * nor its attachments) and reported. While serving, manifests are read and checked per request
 * and each blob is hashed as it streams: the last bytes of a response are held back until the
 * whole blob's digest matched, so a blob damaged after the check is never delivered whole
 * (the response is cut off and the event says which digest).
 *
 * Routes (names are the bundle's references as push maps them: --prefix, --map):
 *   GET/HEAD /v2/                                 200 {}
 *   GET/HEAD /v2/<name>/manifests/<tag|digest>    stored media type, Docker-Content-Digest
 *   GET/HEAD /v2/<name>/blobs/<digest>            Range (one range: 206, 416), Accept-Ranges
 *   GET      /v2/<name>/tags/list?n=&last=        sorted, Link: rel="next" when cut
 *   GET      /v2/_catalog?n=&last=                the same for repositories
 *   GET      /v2/<name>/referrers/<digest>        an OCI index of the referrers the bundle
 *            [?artifactType=T]                    carries (sigstore bundles, the sha256-<hex>
 *                                                 referrers index), OCI-Filters-Applied
 *   anything else that writes                     405 UNSUPPORTED, spec error JSON
 *   an unknown name / manifest / blob             404 NAME_UNKNOWN / MANIFEST_UNKNOWN /
 *                                                 BLOB_UNKNOWN
 * A digest is only served in the repositories whose admitted images reach it.
 */
#ifndef AIRLOCK_SERVE_H
#define AIRLOCK_SERVE_H

#include "airlock/layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One finished request, for the access log (strings valid during the call only). */
struct airlock_serve_event {
    const char *remote;  /* "127.0.0.1:54012" */
    const char *method;
    const char *path;    /* the request path with its query */
    int status;          /* 0: no response was queued */
    uint64_t bytes;      /* body bytes handed to the connection */
    double seconds;
    const char *digest;  /* the manifest or blob served, or NULL */
    const char *error;   /* why the response was cut off or failed (a digest mismatch, a read
                            error, the client going away), or NULL */
};
typedef void (*airlock_serve_log_fn)(void *ctx, const struct airlock_serve_event *ev);

struct airlock_serve_opts {
    const char *listen;     /* "HOST:PORT", "[V6]:PORT"; port 0 picks a free one.
                               NULL: "127.0.0.1:5000" */
    const char *tls_cert;   /* PEM files: both or neither (then plain HTTP) */
    const char *tls_key;
    const char *prefix;     /* names are PREFIX/path (as push DEST/path) */
    const char *const *map; /* "SRC=DST": a source repository served as DST */
    size_t n_map;
    const struct airlock_sig_check_opts *sig; /* NULL or no key: nothing checked, all served */
    const struct airlock_policy *policy; /* NULL, or a containers/image policy.json: an image
                                            any of whose checks (itself, each platform, by
                                            tag and by digest) fails is not served */
    const char *policy_host; /* with policy: the registry name clients pull from
                                ("airlock.internal:5000"), the host of the references the
                                policy judges (HOST/PREFIX/path) */
    unsigned read_timeout;  /* seconds a connection may stay idle; 0: 60 */
    unsigned max_clients;   /* connections served at once (more wait); 0: 64 */
    int verify_threads;     /* hashing threads for the start check; 0: one per core */
    airlock_serve_log_fn log; /* called from the connection threads, one at a time */
    void *log_ctx;
};
#define AIRLOCK_SERVE_OPTS_INIT {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL, NULL}

/* What is served, from airlock_server_new: repository names with their tags, and the images
 * left out because their signatures failed (with the first reason). */
struct airlock_serve_image {
    char *name;    /* "library/nginx:1.27" as served, or the bundle's reference when left out */
    char digest[AIRLOCK_DIGEST_SIZE];
    int served;
    char *why;     /* left out: why, else NULL */
};

struct airlock_server;

/* Whether spec (NULL: the default) is an address the server can be asked to listen on:
 * HOST:PORT or [V6]:PORT with a decimal port from 0 to 65535; AIRLOCK_EUSAGE naming it. */
int airlock_server_listen_check(const char *spec, struct airlock_error **err);
/* Checks b (see above) and builds what will be served; does not listen yet. b must stay open
 * until the server is freed and is only read. Integrity failures: AIRLOCK_EINTEGRITY naming the
 * first problem and how many there are; a split set with parts missing: AIRLOCK_EINTEGRITY
 * naming the part; a .tar.zst (by content, whatever its name): AIRLOCK_EUSAGE with the way out;
 * nothing to serve: AIRLOCK_ESIGNATURE with a key (no image's signature verified), else
 * AIRLOCK_EUSAGE (no named image). TLS files are read here. Free with airlock_server_free. */
int airlock_server_new(struct airlock_server **out, struct airlock_bundle *b,
                       const struct airlock_serve_opts *opts, struct airlock_error **err);
/* The images of the bundle and what became of them (owned by the server). */
const struct airlock_serve_image *airlock_server_images(const struct airlock_server *s,
                                                        size_t *n);
/* Binds and starts the connection threads. */
int airlock_server_start(struct airlock_server *s, struct airlock_error **err);
/* The bound address, "127.0.0.1:5000" (after start). */
const char *airlock_server_address(const struct airlock_server *s);
int airlock_server_tls(const struct airlock_server *s);
/* Stops accepting, lets requests in flight finish for up to grace seconds, then closes every
 * connection and joins the threads. Safe to call once after start. */
void airlock_server_stop(struct airlock_server *s, unsigned grace);
/* Stops (if started) and frees; accepts NULL. */
void airlock_server_free(struct airlock_server *s);

#ifdef __cplusplus
}
#endif
#endif
