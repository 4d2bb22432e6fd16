/* Internal interfaces of the transfer module. */
#ifndef AIRLOCK_TRANSFER_INT_H
#define AIRLOCK_TRANSFER_INT_H

#include "airlock/transfer.h"
#include "core_int.h"

#include <pthread.h>

/* ---- http.c: the only file that touches libcurl ---------------------------------------------- */

typedef int (*http_sink_fn)(void *ctx, const void *p, size_t n, struct airlock_error **err);

struct http_request {
    const char *method; /* GET HEAD PUT POST PATCH DELETE */
    const char *url;
    const char *accept;
    const char *content_type;
    const char *authorization; /* the whole header value */
    const void *data;          /* a small body */
    size_t len;
    airlock_read_fn body;      /* or a streamed body of body_len bytes */
    void *body_ctx;
    uint64_t body_len;
    http_sink_fn sink;         /* stream a 2xx response body here instead of keeping it */
    void *sink_ctx;
    uint64_t expect_len;       /* with sink: the bytes expected (sets the time limit) */
    size_t max_body;           /* cap on a kept body (default 64 KiB) */
    int follow;                /* follow redirects (blob downloads) */
    const char *range;         /* "Range: bytes=<this>" (a download that continues) */
    const char *content_range; /* "Content-Range: <this>" (an upload chunk) */
    const char *extra_scope;   /* a second token scope ("repository:SRC:pull" for a mount) */
    int secret;                /* the kept response body holds a secret: wipe what it leaves */
};

struct http_response {
    long status;
    struct airlock_buf body;
    char *location, *www_authenticate, *content_type, *docker_digest, *range, *retry_after;
    char *content_range;
    char *oci_subject; /* OCI-Subject: a registry with the referrers API indexed this subject */
    char *link;        /* Link (RFC 5988): tags/list's next page */
    uint64_t content_length;
    int have_length;
    int local_failure; /* the body source or sink failed, not the connection */
    int permanent;     /* a failure that trying again cannot fix (TLS trust, certificates) */
    int resend;        /* registry_request: authenticated now, send the streamed body again */
    int http_to_tls;   /* registry_request: a 400 to plain HTTP that a TLS port gives (Go's
                        * "HTTP request to an HTTPS server", nginx's; or a bodiless HEAD) */
};

/* The TLS files containers/image takes from certs.d for a registry host (containers-certs.d(5),
 * pkg/tlsclientconfig): in the first of $AIRLOCK_CERTS_DIRS (colon-separated; default
 * [~/.config/containers/certs.d when not root,] /etc/containers/certs.d, /etc/docker/certs.d)
 * that has a HOST[:PORT] directory, every *.crt is a CA (added to the system's), each *.cert
 * needs its *.key and the reverse; the first pair is the client certificate. */
struct http_tls {
    char *dir;          /* the directory used, or NULL when there is none */
    char *ca_blob;      /* the system CA bundle followed by the *.crt files, or NULL */
    size_t ca_len;
    char *cert, *key;   /* the first *.cert and its *.key, or NULL */
};
int http_tls_certs_d(struct http_tls *t, const char *host, struct airlock_error **err);
void http_tls_release(struct http_tls *t);

struct http_client;
/* tls: certs.d settings for what o does not set itself (--ca-file, --client-cert win); may be
 * NULL; kept by reference. */
void http_client_set_tls(struct http_client *c, const struct http_tls *tls);
int http_client_new(struct http_client **out, const struct airlock_registry_opts *o,
                    struct airlock_error **err);
void http_client_free(struct http_client *c);
/* Performs one request. Transport failures set an error (AIRLOCK_EOS) naming the URL; any
 * HTTP status is a success here, for the caller to judge. */
int http_perform(struct http_client *c, const struct http_request *q, struct http_response *r,
                 struct airlock_error **err);
void http_response_release(struct http_response *r);
/* Percent-encodes s for a query string; malloc'd. */
char *http_escape(const char *s);
/* Parser (fuzz target): the origin of url as libcurl will connect to it, "scheme://host:port"
 * in lowercase with the default port filled in; malloc'd, or NULL when url does not parse or
 * has no host (file:///...). The scheme may be any: the caller checks it. */
char *http_url_origin(const char *url);
/* Parser (fuzz target): one response header line ("Name: value\r\n", len bytes, not
 * NUL-terminated) into the fields of r that it fills (location, www_authenticate, ...);
 * other lines are ignored, values of 8 KiB or more are dropped. */
void http_header_line(struct http_response *r, const char *buf, size_t len);

/* ---- auth.c --------------------------------------------------------------------------------- */

/* Username and Secret of a docker-credential helper's JSON answer: 0 with both malloc'd. */
int auth_helper_parse(char **user, char **pass, const char *out, size_t len);
typedef int (*auth_helper_fn)(char **user, char **pass, const char *helper, const char *host,
                              struct airlock_error **err);
/* The credentials of one registry: the explicit ones (--username, --creds), else what every
 * auth file says for host ($REGISTRY_AUTH_FILE or --authfile, the containers auth.json files,
 * the docker config.json, in containers-auth.json(5)'s order), each file read once. */
struct auth_creds;
int auth_creds_load(struct auth_creds **out, const char *host,
                    const struct airlock_registry_opts *o, struct airlock_error **err);
/* An empty set for host whose helpers are run by helper_fn, and one more file's text (the
 * pieces auth_creds_load is made of; the fuzz target feeds texts directly). */
int auth_creds_new(struct auth_creds **out, const char *host, auth_helper_fn helper_fn,
                   struct airlock_error **err);
int auth_creds_add_text(struct auth_creds *c, const char *text, const char *path,
                        struct airlock_error **err);
/* The user and password for repository repo (NULL: the registry itself), owned by c: the
 * first file that has an answer gives it: its credHelpers entry for the host, else its most
 * specific auths key (host/ns/repo, host/ns, host; an unschemed key before "https://host"),
 * else its credsStore. AIRLOCK_ENOTFOUND when none has one (anonymous), an error for a
 * malformed entry. Not thread-safe: helpers' answers are kept (the caller locks). */
int auth_creds_for(struct auth_creds *c, const char *repo, const char **user, const char **pass,
                   struct airlock_error **err);
void auth_creds_free(struct auth_creds *c);
/* Reads a small file (at most max bytes) NUL-terminated into *out; secret: wiped wherever
 * its bytes passed. Problems are errors of class code naming the file. */
int transfer_read_file(const char *path, size_t max, int secret, int code, char **out,
                       size_t *len, struct airlock_error **err);
/* cJSON_Delete, wiping every string of the tree first (tokens, passwords, helper secrets). */
struct cJSON;
void json_wipe_delete(struct cJSON *j);
/* Parser (fuzz target): value of a parameter of a WWW-Authenticate challenge (realm, service,
 * scope, error); malloc'd, or NULL. */
char *auth_param(const char *challenge, const char *name);
/* Parser (fuzz target): the token of a token server's JSON answer of len bytes ("token", else
 * "access_token"). 0 with *token malloc'd (the caller wipes and frees it), or -1 when there is
 * none or it holds a byte that cannot go into an HTTP header (controls, spaces, non-ASCII). */
int auth_token_parse(char **token, const char *body, size_t len);

/* ---- yaml.c: the only file that touches libyaml ------------------------------------------- */

/* A YAML document of len bytes as the cJSON tree of its JSON form (plain null, true, false
 * and integers typed, anything else a string); aliases, repeated keys, more than one
 * document, nesting past 32 levels are AIRLOCK_EUSAGE naming what and the line. */
int transfer_yaml_parse(struct cJSON **out, const char *text, size_t len, const char *what,
                        struct airlock_error **err);

/* ---- sync.c ------------------------------------------------------------------------------- */

/* airlock_sync_config_load on the text of the file path (named in messages). */
int sync_config_parse(struct airlock_sync_config **out, const char *text, size_t len,
                      const char *path, struct airlock_error **err);

/* ---- registry.c ----------------------------------------------------------------------------- */

struct airlock_registry {
    char *host;
    char *base; /* "https://host" */
    char *origin;        /* http_url_origin(base): where credentials may go */
    char *realm_origin;  /* and the origin of a token realm that may have them too (or NULL) */
    struct airlock_registry_opts o;
    struct http_tls tls; /* certs.d for this host */
    pthread_mutex_t lock; /* guards everything below */
    struct http_client **idle;
    size_t n_idle, cap_idle;
    int basic;                 /* the registry asked for Basic auth */
    struct auth_creds *creds;  /* read at the first need */
    char **tok_scope, **tok_value;
    size_t n_tok;
};

/* A request on repo with actions ("pull" or "pull,push"), authenticating as the registry asks. */
int registry_request(struct airlock_registry *r, const char *repo, const char *actions,
                     struct http_request *q, struct http_response *resp,
                     struct airlock_error **err);
/* After a failed streamed request: 1 if it is worth sending again (a connection error or
 * 408/429/5xx, attempts left; it has then waited the backoff and cleared *err), else 0. */
int registry_transient(struct airlock_registry *r, int rc, const struct http_response *resp,
                       int attempt, struct airlock_error **err);
/* The offset an upload session's Range header ("0-N") reports: N+1; 0 without one; -1 when it
 * is not such a range. */
int64_t upload_range_offset(const char *range);
/* A Location header as an absolute URL (a path is on r's base); malloc'd. */
char *abs_url(struct airlock_registry *r, const char *loc);
/* Turns a non-2xx response into an error naming what was done. */
int registry_status_error(struct airlock_error **err, const struct http_response *resp,
                          const char *what);
/* Uploads a blob (monolithic, or chunked when large), checking its digest as it streams:
 * the last bytes are only sent once the content is known to match. A dropped connection or a
 * 5xx sends again: a chunked upload continues from the offset the registry reports (seek
 * repositions the source), a monolithic one starts over. */
int registry_blob_upload(struct airlock_registry *r, const char *repo, const char *digest,
                         uint64_t size, airlock_read_fn read, airlock_seek_fn seek,
                         void *read_ctx, struct airlock_error **err);
/* Parser (fuzz target): the target of the rel="next" link of a Link header value
 * ('<url>; rel="next"', possibly among other links), malloc'd, or NULL when there is none. */
char *registry_link_next(const char *link);
/* One paged JSON list of the registry (/v2/_catalog, /v2/<repo>/tags/list): GETs first_url
 * (with repo's pull scope, or none for repo NULL, and spec->extra_scope), reads the string
 * array under spec->member, follows Link rel="next" on the registry's own origin only, and
 * refuses a page over spec->max_body, more than spec->max_pages pages or spec->max_items
 * items, an item spec->valid refuses, an empty page that links on, and a page loop (an item
 * listed twice). A 404 for a repository is AIRLOCK_ENOTFOUND. *out: the items in page order,
 * NULL-terminated, malloc'd (the caller frees each and the array); what prefixes messages. */
struct registry_list_spec {
    const char *member;      /* "repositories", "tags" */
    const char *noun;        /* one item in messages: "repository", "tag" */
    const char *nouns;       /* more than one: "repositories", "tags" */
    const char *item;        /* what a refused item is not: "repository name", "tag" */
    const char *extra_scope; /* token scope besides repo's pull, or NULL */
    size_t max_body, max_pages, max_items;
    int (*valid)(const char *item);
};
int registry_list_pages(char ***out, size_t *n, struct airlock_registry *r, const char *repo,
                        const char *first_url, const struct registry_list_spec *spec,
                        const char *what, struct airlock_error **err);
/* GET /v2/<repo>/referrers/<digest>: 0 and the index body (capped) only when the registry
 * answers 200 with Content-Type application/vnd.oci.image.index.v1+json, as cosign 3
 * (go-containerregistry) decides; any other answer is AIRLOCK_ENOTFOUND, no error set: the
 * registry has no referrers API and the caller reads the sha256-<hex> fallback tag. */
int registry_referrers_get(struct airlock_registry *r, const char *repo, const char *digest,
                           struct airlock_buf *out, struct airlock_error **err);
/* PUT of a referrer manifest by digest (as airlock_registry_manifest_put); *indexed is set to
 * 1 when the registry answered with OCI-Subject naming subject (distribution-spec 1.1: it has
 * indexed the referrer for its referrers API), else 0. */
int registry_referrer_put(struct airlock_registry *r, const char *repo, const char *digest,
                          const char *media_type, const void *data, size_t len,
                          const char *subject, int *indexed, struct airlock_error **err);
/* The descriptor a referrers index lists for the referrer manifest raw (len bytes, digest,
 * media type mt): mediaType, size, digest, artifactType (the manifest's, else its config's
 * media type) and a copy of its annotations, as distribution-spec 1.1 asks. NULL when raw is
 * no JSON object or memory ran out. The caller owns it (cJSON_Delete). */
struct cJSON *transfer_referrer_descriptor(const char *raw, size_t len, const char *digest,
                                           const char *mt);
/* Cross-repository mount: 1 mounted, 0 not (the caller uploads). */
/* HEAD /v2/<repo>/manifests/<ref>: 1 when it is there (digest: its Docker-Content-Digest, or
 * "" when the registry sends none), 0 when not, or an error. */
int registry_manifest_head(struct airlock_registry *r, const char *repo, const char *ref,
                           const char *actions, char digest[AIRLOCK_DIGEST_SIZE],
                           struct airlock_error **err);
int registry_blob_mount(struct airlock_registry *r, const char *repo, const char *digest,
                        const char *from, struct airlock_error **err);
/* A small blob of known size into memory (GET, redirects followed), size and digest checked. */
int registry_blob_fetch_mem(struct airlock_registry *r, const char *repo, const char *digest,
                            uint64_t size, struct airlock_buf *out, struct airlock_error **err);
/* Streams a blob into sink, checking its digest. After a dropped connection the download
 * continues with a Range request (or skips what the sink already has if the server ignores
 * Range), so the sink sees every byte exactly once. */
int registry_blob_fetch(struct airlock_registry *r, const char *repo, const char *digest,
                        uint64_t size, http_sink_fn sink, void *ctx, struct airlock_error **err);

/* ---- the bounded pool (pool.c) ---- */

/* fn(ctx, i, err) for every i < n over at most threads threads (the caller's one of them); no
 * new item starts after a failure, and the error of the lowest failing index is returned. */
#define TRANSFER_POOL_MAX 64
typedef int (*transfer_pool_fn)(void *ctx, size_t i, struct airlock_error **err);
int transfer_pool_run(size_t n, int threads, transfer_pool_fn fn, void *ctx,
                      struct airlock_error **err);
/* The pool's size for requests across images: twice --parallel, at most TRANSFER_POOL_MAX. */
int transfer_pool_threads(const struct airlock_registry_opts *ro);

/* ---- deltapush.c: push of a delta bundle --------------------------------------------------- */

/* A blob the push needs that the bundle does not hold. state: 1 in repo, 2 mountable from
 * from (a repository of the destination), 0 absent, -1 there with another size than the
 * manifest gives (as good as absent: the manifest would not be accepted, or would lie). */
struct transfer_need {
    const char *repo;
    const char *digest;
    uint64_t size;
    int state;
    const char *from;
};
/* Before anything moves: each need must be omitted by b's delta record with its size, the
 * record must be true of b and its graph g (airlock_delta_check), and each must be in its
 * repository of r, or in one of the repositories the record names to mount it from (from,
 * then mounts), or in another repository of this push that holds it (asked for all first;
 * then mounted, the next holder when one is refused). Otherwise AIRLOCK_EINTEGRITY listing what is absent, nothing done. */
int transfer_delta_precheck(struct airlock_registry *r, struct airlock_bundle *b,
                            const struct airlock_graph *g, struct transfer_need *needs, size_t n,
                            const struct airlock_registry_opts *ro, struct airlock_error **err);

#endif
