/* The libcurl adapter: every libcurl call of airlock lives here. One easy handle per client
 * (connections are reused); callers keep one client per thread. */
#include "transfer_int.h"

#include <curl/curl.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct http_client {
    CURL *curl;
    const struct airlock_registry_opts *o;
    const struct http_tls *tls;
    char errbuf[CURL_ERROR_SIZE];
};

/* Caps on what a server may send: the headers of one response (a registry sends a few hundred
 * bytes; libcurl's own limit on one line is 100 KiB), redirects followed (blob downloads). */
#define HTTP_MAX_HEADERS (64u << 10)
#define HTTP_MAX_REDIRS 10L
/* A blob may take twice the stall limit plus its size at this rate (a trickle that keeps the
 * stall timer alive still ends); every other request, small and capped, twice the stall limit. */
#define HTTP_MIN_BLOB_RATE (16u << 10)

/* libcurl before 7.83.1 sends a custom Authorization header along a redirect to another port
 * or scheme of the same host (CVE-2022-27776); blob downloads follow redirects with one. */
#define HTTP_MIN_CURL 0x075301
#if LIBCURL_VERSION_NUM < HTTP_MIN_CURL
#error "libcurl >= 7.83.1 needed: older ones send credentials along redirects"
#endif

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static char *system_ca; /* the system's CA bundle (system_ca_find), or NULL: libcurl's own */

/* The system's CA bundle, found once: $SSL_CERT_FILE when set (as OpenSSL and Go read it),
 * else libcurl's built-in file when it exists, else the first that exists of the places the
 * distributions keep theirs (a libcurl built on Debian, as the portable tarball's is, knows
 * only Debian's). NULL when none is found: libcurl's default stands. */
static void system_ca_find(void)
{
    static const char *const known[] = {
        "/etc/ssl/certs/ca-certificates.crt",               /* Debian, Ubuntu, Arch, Gentoo */
        "/etc/pki/tls/certs/ca-bundle.crt",                 /* Fedora, RHEL */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL, CentOS */
        "/etc/ssl/ca-bundle.pem",                           /* openSUSE, SLES */
        "/etc/ssl/cert.pem",                                /* Alpine, macOS-style */
    };
    const char *env = getenv("SSL_CERT_FILE");
    if (env && *env && access(env, R_OK) == 0) {
        system_ca = strdup(env);
        return;
    }
#if LIBCURL_VERSION_NUM >= 0x075400 /* 7.84.0: CURLINFO_CAINFO */
    CURL *h = curl_easy_init();
    char *p = NULL;
    if (h && !curl_easy_getinfo(h, CURLINFO_CAINFO, &p) && p && access(p, R_OK) == 0)
        system_ca = strdup(p);
    curl_easy_cleanup(h);
    if (system_ca)
        return;
#endif
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (access(known[i], R_OK) == 0) {
            system_ca = strdup(known[i]);
            return;
        }
}

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    system_ca_find();
}

/* The connection settings every request gets (one setting, every code path). Fails only if
 * libcurl refuses the protocol restriction. */
static CURLcode apply_settings(struct http_client *c)
{
    CURL *h = c->curl;
    const struct airlock_registry_opts *o = c->o;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled transfer fails; a slow healthy one does not */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->stall_seconds > 0 ? o->stall_seconds : 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "airlock/0.1");
    /* HTTP and HTTPS only, also after a redirect (no file://, gopher://, ftp:// from a realm,
     * an upload Location or a redirect), and a bounded number of redirects */
    CURLcode cc;
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    if ((cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")) ||
        (cc = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")))
        return cc;
#else
    if ((cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))) ||
        (cc = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                               (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))))
        return cc;
#endif
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS);
    /* credentials never follow a redirect to another host (our Authorization header is
     * dropped there too by libcurl >= 7.83.1 when host, port or scheme change) */
    curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    /* large transfers in large pieces: fewer callbacks, fewer syscalls */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    else if (c->tls && c->tls->ca_blob) {
        struct curl_blob blob = {c->tls->ca_blob, c->tls->ca_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    } else if (system_ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, system_ca);
    if (o->client_cert)
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert);
    else if (c->tls && c->tls->cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls->cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls->key);
    }
    if (o->client_key)
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->client_key);
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return CURLE_OK;
}


int http_client_new(struct http_client **out, const struct airlock_registry_opts *o,
                    struct airlock_error **err)
{
    pthread_once(&global_once, global_init);
    struct http_client *c = calloc(1, sizeof(*c));
    if (!c || !(c->curl = curl_easy_init())) {
        free(c);
        return airlock_error_set(err, AIRLOCK_EOS, "cannot initialise libcurl");
    }
    c->o = o;
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    CURLcode cc = apply_settings(c);
    if (cc || v->version_num < HTTP_MIN_CURL) {
        curl_easy_cleanup(c->curl);
        free(c);
        return airlock_error_set(err, AIRLOCK_EOS,
                                 cc ? "libcurl %s cannot be limited to http and https: %s"
                                    : "libcurl %s is older than 7.83.1 (it sends credentials "
                                      "along redirects to other ports)%s",
                                 v->version, cc ? curl_easy_strerror(cc) : "");
    }
    *out = c;
    return 0;
}

void http_client_set_tls(struct http_client *c, const struct http_tls *tls) { c->tls = tls; }

void http_tls_release(struct http_tls *t)
{
    free(t->dir);
    free(t->ca_blob);
    free(t->cert);
    free(t->key);
    memset(t, 0, sizeof(*t));
}

#define CERTS_MAX_FILES 64
#define CERTS_MAX_FILE (1u << 20)

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suf)
{
    size_t l = strlen(s), n = strlen(suf);
    return l > n && !strcmp(s + l - n, suf);
}

/* Appends the file at path (at most CERTS_MAX_FILE bytes) and a newline to b. */
static int append_file(struct airlock_buf *b, const char *path, struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = transfer_read_file(path, CERTS_MAX_FILE, 0, AIRLOCK_EUSAGE, &text, &len, err);
    if (!rc && (airlock_buf_append(b, text, len) || airlock_buf_append(b, "\n", 1)))
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "certificates for the registry are larger "
                                                    "than %zu bytes", b->max);
    free(text);
    return rc;
}

/* The names in dir (at most CERTS_MAX_FILES of them), sorted as Go's os.ReadDir sorts. */
static int list_dir(char ***names, size_t *n, const char *dir, struct airlock_error **err)
{
    DIR *d = opendir(dir);
    *names = NULL;
    *n = 0;
    if (!d)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "open certificates directory "
                                       "'%s'", dir);
    struct dirent *e;
    int rc = 0;
    char **v = calloc(CERTS_MAX_FILES, sizeof(*v));
    while (!rc && v && (e = readdir(d)))
        if (e->d_name[0] != '.' && *n >= CERTS_MAX_FILES)
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "certificates directory '%s' holds more "
                                   "than %d files", dir, CERTS_MAX_FILES);
        else if (e->d_name[0] != '.' && !(v[(*n)++] = strdup(e->d_name)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    closedir(d);
    if (!v)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    qsort(v, *n, sizeof(*v), name_cmp);
    *names = v;
    return rc;
}

/* The certs.d directory for host: the first root that has one (containers/image's
 * dockerCertDir), or NULL. */
static char *certs_dir_for(const char *host)
{
    char roots[4096];
    const char *env = getenv("AIRLOCK_CERTS_DIRS"), *home = getenv("HOME");
    if (env)
        snprintf(roots, sizeof(roots), "%s", env);
    else if (geteuid() != 0 && home)
        snprintf(roots, sizeof(roots), "%s/.config/containers/certs.d:/etc/containers/certs.d:"
                                       "/etc/docker/certs.d", home);
    else
        snprintf(roots, sizeof(roots), "/etc/containers/certs.d:/etc/docker/certs.d");
    for (char *save = NULL, *r = strtok_r(roots, ":", &save); r; r = strtok_r(NULL, ":", &save)) {
        char *dir = NULL;
        struct stat st;
        if (asprintf(&dir, "%s/%s", r, host) < 0)
            return NULL;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return dir;
        free(dir);
    }
    return NULL;
}

int http_tls_certs_d(struct http_tls *t, const char *host, struct airlock_error **err)
{
    memset(t, 0, sizeof(*t));
    if (strchr(host, '/') || !strcmp(host, "..") || !strcmp(host, "."))
        return 0; /* not a host name: no directory of that name is looked for */
    if (!(t->dir = certs_dir_for(host)))
        return 0;
    char **names = NULL;
    size_t n = 0;
    struct airlock_buf ca = AIRLOCK_BUF_INIT(16u << 20);
    int rc = list_dir(&names, &n, t->dir, err), cas = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *f = names[i];
        char *path = NULL, *other = NULL;
        size_t base = strlen(f) - (ends_with(f, ".cert") ? 5 : 4);
        if (asprintf(&path, "%s/%s", t->dir, f) < 0) {
            path = NULL;
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        else if (ends_with(f, ".crt")) {
            if (!cas++) { /* the system's CAs first: certs.d adds to them */
                pthread_once(&global_once, global_init);
                struct airlock_error *e = NULL;
                if (system_ca)
                    append_file(&ca, system_ca, &e);
                airlock_error_free(e); /* no system store: the directory's CAs only */
            }
            rc = append_file(&ca, path, err);
        } else if (ends_with(f, ".cert") || ends_with(f, ".key")) {
            int cert = ends_with(f, ".cert");
            struct stat st;
            if (asprintf(&other, "%s/%.*s%s", t->dir, (int)base, f, cert ? ".key" : ".cert") < 0) {
                other = NULL;
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            else if (stat(other, &st) != 0)
                rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                       cert ? "certificates directory '%s': client certificate "
                                              "'%s' has no key '%.*s.key' (CA certificates end "
                                              "in .crt)"
                                            : "certificates directory '%s': key '%s' has no "
                                              "client certificate '%.*s.cert'",
                                       t->dir, f, (int)base, f);
            else if (cert && !t->cert) {
                t->cert = path;
                t->key = other;
                path = other = NULL;
            }
        }
        free(path);
        free(other);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!rc && cas) {
        t->ca_len = ca.len;
        t->ca_blob = airlock_buf_detach(&ca, NULL);
    }
    airlock_buf_release(&ca);
    if (rc)
        http_tls_release(t);
    return rc;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void http_response_release(struct http_response *r)
{
    airlock_buf_release(&r->body);
    free(r->location);
    free(r->www_authenticate);
    free(r->content_type);
    free(r->docker_digest);
    free(r->range);
    free(r->retry_after);
    free(r->content_range);
    free(r->oci_subject);
    free(r->link);
    memset(r, 0, sizeof(*r));
}

char *http_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *o = e ? strdup(e) : NULL;
    curl_free(e);
    return o;
}

char *http_url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;
    if (u && url && !curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) &&
        !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
        !curl_url_get(u, CURLUPART_HOST, &host, 0) && host[0] &&
        !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) &&
        asprintf(&o, "%s://%s:%s", scheme, host, port) < 0)
        o = NULL;
    for (char *p = o; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return o;
}

struct io {
    const struct http_request *q;
    struct http_response *r;
    struct airlock_error **err;
    int failed;
    size_t sent;      /* of q->data */
    size_t head;      /* header bytes of the current response */
    int header_cap;   /* the headers went past HTTP_MAX_HEADERS */
    int body_seen;    /* a body byte arrived (a libcurl failure after it is not a header one) */
    int truncated;    /* a non-2xx body past its cap: the transfer was cut there */
    int between;      /* before a response's first header line */
};

void http_header_line(struct http_response *r, const char *buf, size_t len)
{
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return;
    size_t kl = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vl = len - kl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    char **slot = NULL;
    if (kl == 8 && !strncasecmp(buf, "location", 8))
        slot = &r->location;
    else if (kl == 16 && !strncasecmp(buf, "www-authenticate", 16))
        slot = &r->www_authenticate;
    else if (kl == 12 && !strncasecmp(buf, "content-type", 12))
        slot = &r->content_type;
    else if (kl == 21 && !strncasecmp(buf, "docker-content-digest", 21))
        slot = &r->docker_digest;
    else if (kl == 5 && !strncasecmp(buf, "range", 5))
        slot = &r->range;
    else if (kl == 11 && !strncasecmp(buf, "retry-after", 11))
        slot = &r->retry_after;
    else if (kl == 13 && !strncasecmp(buf, "content-range", 13))
        slot = &r->content_range;
    else if (kl == 11 && !strncasecmp(buf, "oci-subject", 11))
        slot = &r->oci_subject;
    else if (kl == 4 && !strncasecmp(buf, "link", 4))
        slot = &r->link;
    else if (kl == 14 && !strncasecmp(buf, "content-length", 14)) {
        char tmp[32];
        size_t m = vl < sizeof(tmp) - 1 ? vl : sizeof(tmp) - 1;
        memcpy(tmp, v, m);
        tmp[m] = '\0';
        r->content_length = strtoull(tmp, NULL, 10);
        r->have_length = 1;
    }
    if (slot && vl < 8192) {
        free(*slot);
        *slot = strndup(v, vl);
    }
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    struct io *io = ud;
    size_t len = size * n;
    io->body_seen = 1;
    if (io->q->sink && io->r->status / 100 == 2) {
        if (io->q->sink(io->q->sink_ctx, buf, len, io->err)) {
            io->failed = 1;
            return 0; /* aborts the transfer */
        }
        return len;
    }
    /* error bodies and small documents are kept, capped: past the cap the transfer ends,
     * whatever the status (an error body is only read for its message) */
    if (airlock_buf_append(&io->r->body, buf, len)) {
        if (io->r->status / 100 == 2) {
            airlock_error_set(io->err, AIRLOCK_EINTEGRITY, "'%s': response larger than %zu bytes",
                              io->q->url, io->r->body.max);
            io->failed = 1;
        } else
            io->truncated = 1;
        return 0; /* aborts the transfer */
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct io *io = ud;
    size_t cap = size * n;
    if (io->q->body) {
        size_t got = 0;
        if (io->q->body(io->q->body_ctx, buf, cap, &got, io->err)) {
            io->failed = 1;
            return CURL_READFUNC_ABORT;
        }
        return got;
    }
    size_t left = io->q->len - io->sent;
    size_t k = left < cap ? left : cap;
    memcpy(buf, (const char *)io->q->data + io->sent, k);
    io->sent += k;
    return k;
}

/* every transfer, also one that moves nothing: airlock_cancel() ends it (SIGINT) */
static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct io *io = ud;
    if (!airlock_cancelled())
        return 0;
    airlock_cancel_check(io->err);
    io->failed = 1;
    return 1; /* aborts the transfer */
}

/* the status line arrives before the body: learn it for on_body */
static size_t on_header_status(char *buf, size_t size, size_t n, void *ud)
{
    struct io *io = ud;
    size_t len = size * n;
    /* a status line only where a response begins (first, or after the blank line that ends
     * a 1xx or redirect's headers): a header line "HTTP/..." is just a header */
    int fresh = io->between && !io->body_seen;
    io->between = len <= 2 && len && (buf[0] == '\r' || buf[0] == '\n');
    if (fresh && len > 9 && !strncmp(buf, "HTTP/", 5)) {
        const char *sp = memchr(buf, ' ', len);
        if (sp)
            io->r->status = strtol(sp + 1, NULL, 10);
        /* a new response (after a redirect or 100 Continue): forget earlier headers */
        free(io->r->location);
        io->r->location = NULL;
        io->head = 0;
    }
    io->head += len;
    if (io->head > HTTP_MAX_HEADERS) {
        io->header_cap = 1;
        return 0; /* aborts the transfer */
    }
    http_header_line(io->r, buf, len);
    return len;
}

/* The total time a request may take (seconds): see HTTP_MIN_BLOB_RATE. */
static long total_limit(const struct http_client *c, const struct http_request *q)
{
    long stall = c->o->stall_seconds > 0 ? c->o->stall_seconds : 60L;
    uint64_t size = q->body ? q->body_len : q->sink ? q->expect_len : 0;
    uint64_t t = 2 * (uint64_t)stall + size / HTTP_MIN_BLOB_RATE;
    return t > LONG_MAX / 1000 ? LONG_MAX / 1000 : (long)t;
}

int http_perform(struct http_client *c, const struct http_request *q, struct http_response *r,
                 struct airlock_error **err)
{
    CURL *h = c->curl;
    memset(r, 0, sizeof(*r));
    if (airlock_cancel_check(err)) {
        r->local_failure = r->permanent = 1;
        return AIRLOCK_ECANCELLED;
    }
    r->body.max = q->max_body ? q->max_body : 65536;
    r->body.secret = q->secret;
    struct io io = {q, r, err, 0, 0, 0, 0, 0, 0, 1};
    long limit = total_limit(c, q);
    struct curl_slist *hdr = NULL;
    char line[8300];
    curl_easy_reset(h); /* keeps live connections and caches */
    if (apply_settings(c)) /* (it worked on this handle in http_client_new) */
        return airlock_error_set(err, AIRLOCK_EOS, "%s '%.*s': libcurl refused its settings",
                                 q->method, (int)strcspn(q->url, "?"), q->url);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limit * 1000L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_status);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &io);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &io);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &io);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (q->follow)
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    if (!strcmp(q->method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (!strcmp(q->method, "PUT") || !strcmp(q->method, "PATCH") ||
             (!strcmp(q->method, "POST") && (q->body || q->data))) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &io);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(q->body ? q->body_len : q->len));
        if (strcmp(q->method, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        hdr = curl_slist_append(hdr, "Expect:");
    } else if (!strcmp(q->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(q->method, "GET"))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->accept) {
        snprintf(line, sizeof(line), "Accept: %s", q->accept);
        hdr = curl_slist_append(hdr, line);
    }
    if (q->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
        hdr = curl_slist_append(hdr, line);
    }
    if (q->range) {
        snprintf(line, sizeof(line), "Range: bytes=%s", q->range);
        hdr = curl_slist_append(hdr, line);
    }
    if (q->content_range) {
        snprintf(line, sizeof(line), "Content-Range: %s", q->content_range);
        hdr = curl_slist_append(hdr, line);
    }
    if (q->authorization) {
        snprintf(line, sizeof(line), "Authorization: %s", q->authorization);
        hdr = curl_slist_append(hdr, line);
        airlock_wipe(line, sizeof(line));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode cc = curl_easy_perform(h);
    for (struct curl_slist *l = hdr; l; l = l->next) /* one of them may hold a token */
        airlock_wipe(l->data, strlen(l->data));
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status)
        r->status = status;
    /* the URL without its query: upload session state is noise in a message */
    int ul = (int)strcspn(q->url, "?");
    if (io.header_cap || (cc == CURLE_OUT_OF_MEMORY && !io.body_seen) ||
        (cc != CURLE_OK && strstr(c->errbuf, "Too large response headers"))) {
        /* a header past our cap, or one line past libcurl's: not memory, not worth a retry */
        r->permanent = 1;
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "%s '%.*s': response %s larger than %u KiB", q->method, ul,
                                 q->url, io.header_cap ? "headers" : "header line",
                                 (io.header_cap ? HTTP_MAX_HEADERS : CURL_MAX_HTTP_HEADER) >> 10);
    }
    if (io.truncated && cc == CURLE_WRITE_ERROR)
        return 0; /* an error status: the caller judges it by its status and first bytes */
    if (io.failed) {
        r->local_failure = 1;
        r->permanent |= err && *err && (*err)->code == AIRLOCK_ECANCELLED;
        if (err && !*err)
            airlock_error_set(err, AIRLOCK_EOS, "%s '%s': aborted", q->method, q->url);
        return err && *err ? (*err)->code : airlock_cancelled() ? AIRLOCK_ECANCELLED : AIRLOCK_EOS;
    }
    if (cc != CURLE_OK) {
        int code = AIRLOCK_EOS;
        const char *hint = "";
        const char *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
            cc == CURLE_SSL_CONNECT_ERROR) {
            hint = " (is the registry's CA trusted? see --ca-file, --insecure, --plain-http)";
            r->permanent = 1;
        }
        if (cc == CURLE_SSL_CONNECT_ERROR &&
            (strstr(msg, "wrong version number") || strstr(msg, "packet length too long") ||
             strstr(msg, "record layer failure"))) {
            /* TLS spoken to a server that answered in plain text: what a plain-HTTP registry
             * does; --insecure (certificates) cannot help there */
            hint = " (the server speaks plain HTTP, not TLS: use --plain-http; --insecure only "
                   "skips certificate checks)";
            r->permanent = 1;
        }
        if (strstr(msg, "alert bad certificate") || strstr(msg, "alert certificate required") ||
            strstr(msg, "alert unknown ca")) {
            hint = " (the registry refused our client certificate or wants one: see "
                   "--client-cert and --client-key)";
            r->permanent = 1;
        }
        if (cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_URL_MALFORMAT ||
            cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_SSL_CIPHER ||
            cc == CURLE_SSL_CRL_BADFILE || cc == CURLE_SSL_ISSUER_ERROR ||
            cc == CURLE_TOO_MANY_REDIRECTS)
            r->permanent = 1;
        if (cc == CURLE_UNSUPPORTED_PROTOCOL)
            hint = " (only http:// and https:// are used, also after a redirect)";
        if (cc == CURLE_TOO_MANY_REDIRECTS)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s '%.*s': more than %ld redirects",
                                     q->method, ul, q->url, HTTP_MAX_REDIRS);
        curl_off_t took = 0;
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &took);
        if (cc == CURLE_OPERATION_TIMEDOUT && took >= (curl_off_t)limit * 1000000 - 100000)
            return airlock_error_set(err, code,
                                     "%s '%.*s': not complete within %ld s (a request may take "
                                     "twice --stall-timeout, a blob also its size at 16 KiB/s)",
                                     q->method, ul, q->url, limit);
        return airlock_error_set(err, code, "%s '%.*s': %s%s", q->method, ul, q->url, msg, hint);
    }
    return 0;
}
