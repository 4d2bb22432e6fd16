/* The HTTP side of airlock serve: the one file that touches libmicrohttpd. Each connection has
 * its own thread (a blob read may wait on slow media without holding up other clients); a
 * blob is streamed from the bundle through a content reader that hashes it and holds back its
 * last bytes until the digest matched. */
#include "serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (256u << 10)
#define PEM_MAX (1u << 20)
#define LIST_MAX 10000 /* tags/list and _catalog: at most this many names per page */

struct airlock_server {
    struct site site;
    struct airlock_serve_opts o;
    char *cert, *key; /* PEM, read before start; the key wiped once the daemon has it */
    size_t key_len;
    struct MHD_Daemon *d;
    int fd;
    char address[128];
    pthread_mutex_t log_lock;
    atomic_int inflight;
    int stopped;
};

/* One request: created from the URI callback, freed by the last of the completion callback
 * and a streamed response's free callback. */
struct req {
    struct airlock_server *s;
    atomic_int refs;
    struct timespec t0;
    char *uri;
    char method[16];
    int status;
    atomic_uint_fast64_t bytes;
    char digest[AIRLOCK_DIGEST_SIZE];
    char *error;
    /* a blob being streamed */
    struct airlock_blob_reader *rd;
    struct airlock_sha256 *h;
    uint64_t size, start, end, pos; /* send [start, end); pos: next blob byte read */
    char *scratch;
};

static void req_unref(struct req *q)
{
    if (atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    airlock_blob_reader_free(q->rd);
    airlock_sha256_free(q->h);
    free(q->scratch);
    free(q->uri);
    free(q->error);
    free(q);
}

static void req_fail(struct req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void req_fail(struct req *q, const char *fmt, ...)
{
    if (q->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&q->error, fmt, ap) < 0)
        q->error = NULL;
    va_end(ap);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    struct req *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->s = cls;
    atomic_init(&q->refs, 1);
    clock_gettime(CLOCK_MONOTONIC, &q->t0);
    q->uri = strdup(uri ? uri : "");
    atomic_fetch_add(&q->s->inflight, 1);
    return q;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    struct airlock_server *s = cls;
    struct req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !q->error)
        req_fail(q, toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "read timeout"
                    : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT  ? "client went away"
                    : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN
                        ? "server stopping"
                        : "connection failed");
    if (s->o.log) {
        char remote[80] = "?";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            char host[64] = "?";
            const struct sockaddr *sa = ci->client_addr;
            unsigned port = 0;
            if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const void *)sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                port = ntohs(in->sin_port);
                snprintf(remote, sizeof(remote), "%s:%u", host, port);
            } else if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in = (const void *)sa;
                inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
                port = ntohs(in->sin6_port);
                snprintf(remote, sizeof(remote), "[%s]:%u", host, port);
            }
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        struct airlock_serve_event ev = {
            remote,
            q->method[0] ? q->method : "?",
            q->uri ? q->uri : "?",
            q->status,
            strcmp(q->method, MHD_HTTP_METHOD_HEAD) ? (uint64_t)q->bytes : 0, /* no body */
            (double)(t1.tv_sec - q->t0.tv_sec) + (double)(t1.tv_nsec - q->t0.tv_nsec) / 1e9,
            q->digest[0] ? q->digest : NULL,
            q->error,
        };
        pthread_mutex_lock(&s->log_lock);
        s->o.log(s->o.log_ctx, &ev);
        pthread_mutex_unlock(&s->log_lock);
    }
    atomic_fetch_sub(&s->inflight, 1);
    req_unref(q);
}

/* ---- responses ------------------------------------------------------------------------------ */

static void common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Docker-Distribution-API-Version", "registry/2.0");
}

static enum MHD_Result queue(struct req *q, struct MHD_Connection *c, int status,
                             struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    common_headers(r);
    q->status = status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A body from memory (taken over: freed by the response), with its Content-Type. */
static struct MHD_Response *body(struct req *q, char *data, size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE
                                                                        : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(data);
        return NULL;
    }
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    q->bytes = len;
    return r;
}

/* The spec's error document: {"errors":[{"code","message","detail"}]} */
static enum MHD_Result fail(struct req *q, struct MHD_Connection *c, int status, const char *code,
                            const char *message, const char *detail)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(1u << 16);
    int rc = airlock_buf_printf(&b, "{\"errors\":[{\"code\":\"%s\",\"message\":", code);
    rc = rc ? rc : site_json_str(&b, message);
    if (!rc && detail) {
        rc = airlock_buf_printf(&b, ",\"detail\":");
        rc = rc ? rc : site_json_str(&b, detail);
    }
    rc = rc ? rc : airlock_buf_printf(&b, "}]}");
    if (rc) {
        airlock_buf_release(&b);
        return MHD_NO;
    }
    size_t len;
    char *data = airlock_buf_detach(&b, &len);
    struct MHD_Response *r = body(q, data, len, "application/json");
    if (r && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return queue(q, c, status, r);
}

static enum MHD_Result json_ok(struct req *q, struct MHD_Connection *c, struct airlock_buf *b,
                               const char *type, const char *link)
{
    size_t len;
    char *data = airlock_buf_detach(b, &len);
    struct MHD_Response *r = body(q, data, len, type);
    if (r && link)
        MHD_add_response_header(r, "Link", link);
    return queue(q, c, MHD_HTTP_OK, r);
}

/* ---- blobs: hashed as they stream, the end held back until the digest matched ---------------- */

static int blob_fill(struct req *q, char *buf, size_t want, size_t *got)
{
    struct airlock_error *e = NULL;
    *got = 0;
    while (*got < want) {
        size_t n = 0;
        if (airlock_blob_reader_read(q->rd, buf + *got, want - *got, &n, &e)) {
            req_fail(q, "blob '%s': %s", q->digest, e ? e->msg : "read failed");
            airlock_error_free(e);
            return -1;
        }
        if (!n) {
            req_fail(q, "blob '%s': the bundle ends %llu bytes into it, %llu expected", q->digest,
                     (unsigned long long)q->pos + *got, (unsigned long long)q->size);
            return -1;
        }
        airlock_sha256_update(q->h, buf + *got, n);
        *got += n;
    }
    q->pos += *got;
    return 0;
}

static ssize_t blob_reader(void *cls, uint64_t at, char *buf, size_t max)
{
    (void)at;
    struct req *q = cls;
    size_t got;
    while (q->pos < q->start) { /* the hash starts at byte 0, a range later */
        uint64_t skip = q->start - q->pos;
        if (blob_fill(q, q->scratch, skip > BLOCK ? BLOCK : (size_t)skip, &got))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (q->pos >= q->end)
        return MHD_CONTENT_READER_END_OF_STREAM;
    uint64_t left = q->end - q->pos;
    if (blob_fill(q, buf, left > max ? max : (size_t)left, &got))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (q->pos == q->end) { /* the last bytes of the response: only once the blob checked */
        while (q->pos < q->size) {
            uint64_t rest = q->size - q->pos;
            size_t n;
            if (blob_fill(q, q->scratch, rest > BLOCK ? BLOCK : (size_t)rest, &n))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        char actual[AIRLOCK_DIGEST_SIZE];
        airlock_sha256_final(q->h, actual);
        if (strcmp(actual, q->digest)) {
            req_fail(q, "blob '%s' is corrupt in '%s' (content hashes to '%s'): response cut off",
                     q->digest, airlock_bundle_path(q->s->site.b), actual);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    q->bytes += got;
    return (ssize_t)got;
}

static void blob_free(void *cls)
{
    req_unref(cls);
}

static enum MHD_Result serve_blob(struct req *q, struct MHD_Connection *c, const char *digest)
{
    struct airlock_server *s = q->s;
    uint64_t size = 0;
    if (airlock_bundle_blob_stat(s->site.b, digest, &size))
        return fail(q, c, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry", digest);
    memcpy(q->digest, digest, AIRLOCK_DIGEST_SIZE);
    char hdr[96];
    uint64_t start = 0, end = size;
    int ranged = serve_range_parse(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
                             size, &start, &end);
    if (ranged == 1) {
        struct MHD_Response *r = body(q, NULL, 0, NULL);
        snprintf(hdr, sizeof(hdr), "bytes */%llu", (unsigned long long)size);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
        return queue(q, c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
    }
    struct airlock_error *e = NULL;
    if (airlock_bundle_blob_reader(&q->rd, s->site.b, digest, &e) ||
        airlock_sha256_new(&q->h, &e) || !(q->scratch = malloc(BLOCK))) {
        req_fail(q, "blob '%s': %s", digest, e ? e->msg : "out of memory");
        airlock_error_free(e);
        return fail(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "the blob cannot be read",
                    digest);
    }
    q->size = size;
    q->start = start;
    q->end = end;
    atomic_fetch_add(&q->refs, 1); /* the response's */
    struct MHD_Response *r =
        MHD_create_response_from_callback(end - start, BLOCK, blob_reader, q, blob_free);
    if (!r) {
        req_unref(q);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(r, "Docker-Content-Digest", digest);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    snprintf(hdr, sizeof(hdr), "\"%s\"", digest);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, hdr);
    if (ranged == 0) {
        snprintf(hdr, sizeof(hdr), "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)end - 1, (unsigned long long)size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
    }
    return queue(q, c, ranged == 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
}

/* ---- manifests, lists, referrers --------------------------------------------------------------- */

static enum MHD_Result serve_manifest(struct req *q, struct MHD_Connection *c,
                                      const struct site_repo *repo, const char *ref)
{
    struct airlock_server *s = q->s;
    size_t node = site_resolve(&s->site, repo, ref);
    const struct airlock_graph_node *nd =
        node == SIZE_MAX ? NULL : airlock_graph_node(s->site.g, node);
    if (!nd || (nd->kind != AIRLOCK_NODE_MANIFEST && nd->kind != AIRLOCK_NODE_INDEX))
        return fail(q, c, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown to registry",
                    ref);
    memcpy(q->digest, nd->digest, AIRLOCK_DIGEST_SIZE);
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    struct airlock_error *e = NULL;
    if (airlock_bundle_blob_read(s->site.b, nd->digest, AIRLOCK_MAX_MANIFEST, &b, &e)) {
        req_fail(q, "manifest '%s': %s", nd->digest, e ? e->msg : "read failed");
        airlock_error_free(e);
        return fail(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                    "the manifest cannot be read from the bundle", nd->digest);
    }
    size_t len;
    char *data = airlock_buf_detach(&b, &len);
    struct MHD_Response *r =
        body(q, data, len, nd->media_type ? nd->media_type : AIRLOCK_MT_OCI_MANIFEST);
    if (r)
        MHD_add_response_header(r, "Docker-Content-Digest", nd->digest);
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%s\"", nd->digest);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    return queue(q, c, MHD_HTTP_OK, r);
}

/* n and last of a list request; -1: a bad n */
static int page_args(struct MHD_Connection *c, size_t *n, const char **last)
{
    const char *ns = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
    *last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "last");
    if (*last && !**last)
        *last = NULL;
    *n = LIST_MAX;
    if (ns && *ns) {
        char *e;
        errno = 0;
        unsigned long long v = strtoull(ns, &e, 10);
        if (*e || errno || *ns == '-')
            return -1;
        *n = v < LIST_MAX ? (size_t)v : LIST_MAX;
    }
    return 0;
}

/* a Link header to the next page: </v2/NAME/tags/list?n=N&last=LAST>; rel="next" */
static char *next_link(const char *path, size_t n, const char *last)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(8192);
    int rc = airlock_buf_printf(&b, "<%s?n=%zu&last=", path, n);
    for (const unsigned char *p = (const unsigned char *)last; !rc && *p; p++)
        rc = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     strchr("-._~", *p)
                 ? airlock_buf_append(&b, p, 1)
                 : airlock_buf_printf(&b, "%%%02X", *p);
    rc = rc ? rc : airlock_buf_printf(&b, ">; rel=\"next\"");
    if (rc) {
        airlock_buf_release(&b);
        return NULL;
    }
    return airlock_buf_detach(&b, NULL);
}

static enum MHD_Result serve_list(struct req *q, struct MHD_Connection *c,
                                  const struct site_repo *repo, const char *path)
{
    size_t n;
    const char *last, *next = NULL;
    if (page_args(c, &n, &last))
        return fail(q, c, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
                    "invalid number of results requested", NULL);
    struct airlock_buf b = AIRLOCK_BUF_INIT(64u << 20);
    int rc = repo ? site_tags_list(&q->s->site, repo, n, last, &b, &next)
                  : site_catalog(&q->s->site, n, last, &b, &next);
    if (rc) {
        airlock_buf_release(&b);
        return fail(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "out of memory", NULL);
    }
    char *link = next ? next_link(path, n, next) : NULL;
    enum MHD_Result ok = json_ok(q, c, &b, "application/json", link);
    free(link);
    return ok;
}

static enum MHD_Result serve_referrers(struct req *q, struct MHD_Connection *c,
                                       const struct site_repo *repo, const char *digest)
{
    if (airlock_digest_check(digest, NULL))
        return fail(q, c, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
                    "provided digest did not match uploaded content", digest);
    const char *at = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "artifactType");
    if (at && !*at)
        at = NULL;
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
    struct airlock_error *e = NULL;
    if (site_referrers(&q->s->site, repo, digest, at, &b, &e)) {
        req_fail(q, "%s", e ? e->msg : "out of memory");
        airlock_error_free(e);
        airlock_buf_release(&b);
        return fail(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "out of memory", NULL);
    }
    size_t len;
    char *data = airlock_buf_detach(&b, &len);
    struct MHD_Response *r = body(q, data, len, AIRLOCK_MT_OCI_INDEX);
    if (r && at)
        MHD_add_response_header(r, "OCI-Filters-Applied", "artifactType");
    return queue(q, c, MHD_HTTP_OK, r);
}

/* ---- routing -------------------------------------------------------------------------------- */

static enum MHD_Result route(struct req *q, struct MHD_Connection *c, const char *url)
{
    struct airlock_server *s = q->s;
    if (!strcmp(url, "/v2/") || !strcmp(url, "/v2")) {
        struct MHD_Response *r = body(q, strdup("{}"), 2, "application/json");
        return queue(q, c, MHD_HTTP_OK, r);
    }
    if (strncmp(url, "/v2/", 4))
        return fail(q, c, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "not a registry API path", url);
    if (!strcmp(url, "/v2/_catalog"))
        return serve_list(q, c, NULL, url);
    size_t ul = strlen(url);
    static const char tl[] = "/tags/list";
    if (ul > 4 + sizeof(tl) - 1 && !strcmp(url + ul - (sizeof(tl) - 1), tl)) {
        char *name = strndup(url + 4, ul - 4 - (sizeof(tl) - 1));
        const struct site_repo *r = name ? site_repo_find(&s->site, name) : NULL;
        enum MHD_Result ok = r ? serve_list(q, c, r, url)
                               : fail(q, c, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
                                      "repository name not known to registry", name);
        free(name);
        return ok;
    }
    static const char *const kinds[] = {"/manifests/", "/blobs/", "/referrers/"};
    for (int k = 0; k < 3; k++) {
        const char *rest;
        char *name = serve_route_split(url, kinds[k], &rest);
        if (!name)
            continue;
        const struct site_repo *r = site_repo_find(&s->site, name);
        enum MHD_Result ok;
        if (!r)
            ok = fail(q, c, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
                      "repository name not known to registry", name);
        else if (k == 0)
            ok = serve_manifest(q, c, r, rest);
        else if (k == 2)
            ok = serve_referrers(q, c, r, rest);
        else if (site_resolve(&s->site, r, rest) == SIZE_MAX)
            ok = fail(q, c, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry", rest);
        else
            ok = serve_blob(q, c, rest);
        free(name);
        return ok;
    }
    return fail(q, c, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "not a registry API path", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls, (void)version, (void)upload_data;
    struct req *q = *con_cls;
    if (!q)
        return MHD_NO;
    if (!q->method[0])
        snprintf(q->method, sizeof(q->method), "%s", method);
    if (q->status) { /* the rest of an upload body: dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        *upload_data_size = 0;
        return fail(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                    "the operation is unsupported: this registry is read-only (airlock serve)",
                    method);
    }
    return route(q, c, url);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static int read_pem(char **out, size_t *len, const char *path, const char *what,
                    struct airlock_error **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "%s '%s'", what, path);
    struct airlock_buf b = AIRLOCK_BUF_SECRET(PEM_MAX);
    char chunk[4096];
    ssize_t n;
    int rc = 0;
    while (!rc && (n = read(fd, chunk, sizeof(chunk))) > 0)
        if (airlock_buf_append(&b, chunk, (size_t)n))
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "%s '%s' is larger than %u bytes", what,
                                   path, PEM_MAX);
    if (!rc && n < 0)
        rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "%s '%s'", what, path);
    airlock_wipe(chunk, sizeof(chunk));
    close(fd);
    if (!rc && !strstr(b.data ? b.data : "", "-----BEGIN "))
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "%s '%s' is not PEM", what, path);
    if (rc) {
        airlock_buf_release(&b);
        return rc;
    }
    *out = airlock_buf_detach(&b, len);
    return 0;
}

int airlock_server_new(struct airlock_server **out, struct airlock_bundle *b,
                       const struct airlock_serve_opts *opts, struct airlock_error **err)
{
    struct airlock_serve_opts def = AIRLOCK_SERVE_OPTS_INIT;
    const struct airlock_serve_opts *o = opts ? opts : &def;
    if (!o->tls_cert != !o->tls_key)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "TLS needs both a certificate and a key");
    if (o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "this libmicrohttpd was built without TLS support");
    struct airlock_server *s = calloc(1, sizeof(*s));
    if (!s)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    s->o = *o;
    s->fd = -1;
    pthread_mutex_init(&s->log_lock, NULL);
    atomic_init(&s->inflight, 0);
    size_t cl;
    int rc = 0;
    if (o->tls_cert && ((rc = read_pem(&s->cert, &cl, o->tls_cert, "TLS certificate", err)) ||
                        (rc = read_pem(&s->key, &s->key_len, o->tls_key, "TLS key", err)))) {
        airlock_server_free(s);
        return rc;
    }
    if ((rc = site_build(&s->site, b, o, err))) {
        airlock_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

const struct airlock_serve_image *airlock_server_images(const struct airlock_server *s,
                                                        size_t *n)
{
    *n = s->site.n_images;
    return s->site.images;
}

/* The host (brackets off) and port of HOST:PORT or [V6]:PORT; the port a decimal 0-65535
 * (getaddrinfo takes 99999 and listens on 34463). */
static int listen_parse(const char *spec, char host[256], const char **port,
                        struct airlock_error **err)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= 256)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "listen address '%s': want HOST:PORT", spec);
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    if (host[0] == '[') {
        size_t l = strlen(host);
        if (l < 3 || host[l - 1] != ']')
            return airlock_error_set(err, AIRLOCK_EUSAGE, "listen address '%s': want [V6]:PORT",
                                     spec);
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
    }
    *port = colon + 1;
    size_t digits = strspn(*port, "0123456789");
    if (!digits || (*port)[digits] || digits > 5 || strtol(*port, NULL, 10) > 65535)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "listen address '%s': the port '%s' is not a number from 0 to "
                                 "65535",
                                 spec, *port);
    return 0;
}

int airlock_server_listen_check(const char *spec, struct airlock_error **err)
{
    char host[256];
    const char *port;
    return listen_parse(spec ? spec : "127.0.0.1:5000", host, &port, err);
}

/* HOST:PORT or [V6]:PORT, bound and listening */
static int bind_listen(struct airlock_server *s, const char *spec, int *v6,
                       struct airlock_error **err)
{
    char host[256];
    const char *service;
    int prc = listen_parse(spec, host, &service, err);
    if (prc)
        return prc;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host, service, &hints, &ai);
    if (g)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "listen address '%s': %s", spec,
                                 gai_strerror(g));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "listen on '%s'", spec);
    }
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char h[64] = "?";
    unsigned port = 0;
    if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (void *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
            port = ntohs(in->sin_port);
        } else {
            struct sockaddr_in6 *in = (void *)&ss;
            inet_ntop(AF_INET6, &in->sin6_addr, h, sizeof(h));
            port = ntohs(in->sin6_port);
        }
    }
    snprintf(s->address, sizeof(s->address), *v6 ? "[%s]:%u" : "%s:%u", h, port);
    s->fd = fd;
    return 0;
}

int airlock_server_start(struct airlock_server *s, struct airlock_error **err)
{
    int v6 = 0;
    int rc = bind_listen(s, s->o.listen ? s->o.listen : "127.0.0.1:5000", &v6, err);
    if (rc)
        return rc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ITC | (v6 ? MHD_USE_IPv6 : 0) | (s->cert ? MHD_USE_TLS : 0);
    unsigned timeout = s->o.read_timeout ? s->o.read_timeout : 60;
    unsigned limit = s->o.max_clients ? s->o.max_clients : 64;
    if (s->cert)
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                                s->fd, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_HTTPS_MEM_CERT,
                                s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                                s->fd, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_END);
    if (s->key) { /* the daemon has parsed it */
        airlock_wipe(s->key, s->key_len);
        free(s->key);
        s->key = NULL;
    }
    if (!s->d) {
        close(s->fd);
        s->fd = -1;
        return airlock_error_set(err, AIRLOCK_EOS,
                                 "cannot start the HTTP server on '%s'%s", s->address,
                                 s->cert ? " (is the TLS certificate and key a matching pair?)"
                                         : "");
    }
    return 0;
}

const char *airlock_server_address(const struct airlock_server *s)
{
    return s->address;
}

int airlock_server_tls(const struct airlock_server *s)
{
    return s->cert != NULL;
}

void airlock_server_stop(struct airlock_server *s, unsigned grace)
{
    if (!s->d || s->stopped)
        return;
    s->stopped = 1;
    MHD_socket lfd = MHD_quiesce_daemon(s->d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    s->fd = -1;
    for (unsigned i = 0; i < grace * 10 && atomic_load(&s->inflight) > 0; i++) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    MHD_stop_daemon(s->d);
    s->d = NULL;
}

void airlock_server_free(struct airlock_server *s)
{
    if (!s)
        return;
    airlock_server_stop(s, 0);
    if (s->fd >= 0)
        close(s->fd);
    site_release(&s->site);
    free(s->cert);
    if (s->key) {
        airlock_wipe(s->key, s->key_len);
        free(s->key);
    }
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}
