/* The registry client: distribution-spec requests with Basic or Bearer authentication,
 * retries, and blob and manifest operations. */
#include "transfer_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MANIFEST_ACCEPT                                                                            \
    AIRLOCK_MT_OCI_MANIFEST ", " AIRLOCK_MT_OCI_INDEX ", " AIRLOCK_MT_DOCKER_MANIFEST             \
    ", " AIRLOCK_MT_DOCKER_LIST

int airlock_registry_new(struct airlock_registry **out, const char *host,
                         const struct airlock_registry_opts *opts, struct airlock_error **err)
{
    struct airlock_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct airlock_registry_opts def = AIRLOCK_REGISTRY_OPTS_INIT;
    r->o = opts ? *opts : def;
    if (r->o.parallel <= 0)
        r->o.parallel = 4;
    if (r->o.retries <= 0)
        r->o.retries = 5;
    if (!r->o.chunk_size)
        r->o.chunk_size = 32ull << 20;
    /* Docker Hub's API lives at registry-1.docker.io */
    const char *api = !strcmp(host, "docker.io") ? "registry-1.docker.io" : host;
    r->host = strdup(host);
    if (!r->host || asprintf(&r->base, "%s://%s", r->o.plain_http ? "http" : "https", api) < 0) {
        free(r->host);
        free(r);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    /* credentials go to the registry's origin; to a token realm elsewhere only if asked */
    const char *trust = r->o.trust_realm;
    if (!trust && (!strcmp(host, "docker.io") || !strcmp(host, "registry-1.docker.io")))
        trust = "https://auth.docker.io"; /* Docker Hub's token server */
    r->origin = http_url_origin(r->base);
    r->realm_origin = trust ? http_url_origin(trust) : NULL;
    if (!r->origin || (trust && (!r->realm_origin || (strncmp(r->realm_origin, "http://", 7) &&
                                                      strncmp(r->realm_origin, "https://", 8))))) {
        int rc = !r->origin ? airlock_error_set(err, AIRLOCK_EUSAGE, "'%s' is not a registry host",
                                                host)
                            : airlock_error_set(err, AIRLOCK_EUSAGE,
                                                "trusted token realm '%s' is not an http:// or "
                                                "https:// URL",
                                                trust);
        free(r->origin);
        free(r->realm_origin);
        free(r->host);
        free(r->base);
        free(r);
        return rc;
    }
    if (!r->o.plain_http) { /* containers-certs.d(5), as skopeo and podman read it */
        int rc = http_tls_certs_d(&r->tls, host, err);
        if (rc) {
            free(r->origin);
            free(r->realm_origin);
            free(r->host);
            free(r->base);
            free(r);
            return rc;
        }
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void airlock_registry_free(struct airlock_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_idle; i++)
        http_client_free(r->idle[i]);
    free(r->idle);
    for (size_t i = 0; i < r->n_tok; i++) {
        free(r->tok_scope[i]);
        airlock_wipe(r->tok_value[i], strlen(r->tok_value[i]));
        free(r->tok_value[i]);
    }
    free(r->tok_scope);
    free(r->tok_value);
    auth_creds_free(r->creds);
    free(r->host);
    free(r->base);
    free(r->origin);
    free(r->realm_origin);
    http_tls_release(&r->tls);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static int take_client(struct airlock_registry *r, struct http_client **c, struct airlock_error **err)
{
    pthread_mutex_lock(&r->lock);
    *c = r->n_idle ? r->idle[--r->n_idle] : NULL;
    pthread_mutex_unlock(&r->lock);
    if (*c)
        return 0;
    int rc = http_client_new(c, &r->o, err);
    if (!rc)
        http_client_set_tls(*c, &r->tls);
    return rc;
}

static void give_client(struct airlock_registry *r, struct http_client *c)
{
    pthread_mutex_lock(&r->lock);
    if (r->n_idle == r->cap_idle) {
        size_t cap = r->cap_idle ? r->cap_idle * 2 : 8;
        struct http_client **n = realloc(r->idle, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&r->lock);
            http_client_free(c);
            return;
        }
        r->idle = n;
        r->cap_idle = cap;
    }
    r->idle[r->n_idle++] = c;
    pthread_mutex_unlock(&r->lock);
}

/* "Basic <base64 user:pass>" for repo (NULL: the registry itself) in *out, or NULL when no
 * credentials are there for it; the auth files are read at the first call. r->lock held. */
static int basic_for(struct airlock_registry *r, const char *repo, char **out,
                     struct airlock_error **err)
{
    *out = NULL;
    int rc = r->creds ? 0 : auth_creds_load(&r->creds, r->host, &r->o, err);
    const char *u = NULL, *p = NULL;
    if (!rc)
        rc = auth_creds_for(r->creds, repo, &u, &p, err);
    if (rc)
        return rc == AIRLOCK_ENOTFOUND ? 0 : rc;
    char *up = NULL;
    int n = asprintf(&up, "%s:%s", u, p);
    if (n < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    char *b = airlock_b64_encode(up, (size_t)n);
    airlock_wipe(up, (size_t)n);
    free(up);
    if (b && asprintf(out, "Basic %s", b) < 0)
        *out = NULL;
    if (b) {
        airlock_wipe(b, strlen(b));
        free(b);
    }
    return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
}

static void wipe_header(char *h)
{
    if (h) {
        airlock_wipe(h, strlen(h));
        free(h);
    }
}

static char *token_for(struct airlock_registry *r, const char *scope)
{
    for (size_t i = 0; i < r->n_tok; i++)
        if (!strcmp(r->tok_scope[i], scope))
            return r->tok_value[i];
    return NULL;
}

static void store_token(struct airlock_registry *r, const char *scope, const char *tok)
{
    char *value = NULL;
    if (asprintf(&value, "Bearer %s", tok) < 0)
        return;
    pthread_mutex_lock(&r->lock);
    size_t i;
    for (i = 0; i < r->n_tok && strcmp(r->tok_scope[i], scope); i++)
        ;
    if (i < r->n_tok) { /* a refreshed token replaces the old one */
        airlock_wipe(r->tok_value[i], strlen(r->tok_value[i]));
        free(r->tok_value[i]);
        r->tok_value[i] = value;
        value = NULL;
    } else {
        char **s = realloc(r->tok_scope, (r->n_tok + 1) * sizeof(*s));
        if (s)
            r->tok_scope = s;
        char **v = s ? realloc(r->tok_value, (r->n_tok + 1) * sizeof(*v)) : NULL;
        if (v) {
            r->tok_value = v;
            r->tok_scope[r->n_tok] = strdup(scope);
            r->tok_value[r->n_tok++] = value;
            value = NULL;
        }
    }
    pthread_mutex_unlock(&r->lock);
    free(value);
}

/* GET realm?service=&scope= with the Basic credentials we have; stores the token. */
static int token_request(struct airlock_registry *r, const char *url, const char *realm,
                         const char *origin, const char *scope, const char *repo,
                         struct airlock_error **err)
{
    struct http_client *c = NULL;
    int rc = take_client(r, &c, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    char *basic = NULL;
    rc = basic_for(r, repo, &basic, err);
    pthread_mutex_unlock(&r->lock);
    if (!rc && basic && strcmp(origin, r->origin) &&
        (!r->realm_origin || strcmp(origin, r->realm_origin))) {
        /* not in clear text for an https registry, not to another host or port */
        char shown[300];
        snprintf(shown, sizeof(shown), "%s", origin);
        char *port = strrchr(shown, ':'); /* the default port is noise in the advice */
        if (port && (!strcmp(port, ":443") ? !strncmp(shown, "https:", 6)
                                           : !strcmp(port, ":80") && !strncmp(shown, "http:", 5)))
            *port = '\0';
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "registry '%s': token realm '%.300s' is not at the registry's origin "
                               "('%s'): the credentials are not sent there (if it is this "
                               "registry's token server, pass --trust-realm %s)",
                               r->host, realm, r->base, shown);
    }
    struct http_request q = {0};
    q.method = "GET";
    q.url = url;
    q.authorization = basic;
    q.secret = 1;
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    if (!rc)
        rc = http_perform(c, &q, &resp, err);
    if (basic) {
        airlock_wipe(basic, strlen(basic));
        free(basic);
    }
    give_client(r, c);
    if (!rc && resp.status != 200)
        rc = airlock_error_set(err,
                               resp.status == 401 || resp.status == 403 ? AIRLOCK_EAUTH : AIRLOCK_EOS,
                               "token server '%s': HTTP %ld for scope '%s'%s", realm, resp.status,
                               scope,
                               resp.status == 401 ? " (wrong or missing credentials)" : "");
    if (!rc) {
        char *tok = NULL;
        if (!auth_token_parse(&tok, resp.body.data, resp.body.len))
            store_token(r, scope, tok);
        else
            rc = airlock_error_set(err, AIRLOCK_EOS,
                                   "token server '%s': no usable token in the answer", realm);
        if (tok) {
            airlock_wipe(tok, strlen(tok));
            free(tok);
        }
    }
    if (resp.body.data)
        airlock_wipe(resp.body.data, resp.body.len);
    http_response_release(&resp);
    return rc;
}

/* Asks the token server of a Bearer challenge for a token for scope. */
static int fetch_token(struct airlock_registry *r, const char *challenge, const char *scope,
                       const char *repo, struct airlock_error **err)
{
    char *realm = auth_param(challenge, "realm"), *service = auth_param(challenge, "service");
    char *url = NULL, *es = service ? http_escape(service) : NULL, *origin = NULL;
    int rc = 0;
    struct airlock_buf q = AIRLOCK_BUF_INIT(8192);
    /* one scope= parameter per space-separated scope (a mount needs two repositories) */
    for (const char *s = scope; *s && !rc;) {
        size_t n = strcspn(s, " ");
        char *one = strndup(s, n), *e = one ? http_escape(one) : NULL;
        if (!e || airlock_buf_append(&q, "&scope=", 7) || airlock_buf_append(&q, e, strlen(e)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        free(one);
        free(e);
        s += n;
        while (*s == ' ')
            s++;
    }
    if (!rc && airlock_buf_append(&q, "", 0))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (rc)
        ;
    else if (!realm)
        rc = airlock_error_set(err, AIRLOCK_EOS, "registry '%s': Bearer challenge without realm",
                               r->host);
    else if (!(origin = http_url_origin(realm)) ||
             (strncmp(origin, "https://", 8) && strncmp(origin, "http://", 7)))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "registry '%s': token realm '%.300s' is not an http or https URL: "
                               "refused",
                               r->host, realm);
    else if (asprintf(&url, "%s%sservice=%s%s", realm, strchr(realm, '?') ? "&" : "?",
                      es ? es : "", q.data) < 0) {
        url = NULL;
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    } else
        rc = token_request(r, url, realm, origin, scope, repo, err);
    airlock_buf_release(&q);
    free(origin);
    free(realm);
    free(service);
    free(es);
    free(url);
    return rc;
}

static int retryable(long status) { return status == 408 || status == 429 || status >= 500; }

static void backoff(int attempt, const char *retry_after)
{
    long ms = 250L << (attempt < 6 ? attempt : 6);
    if (retry_after) {
        long s = strtol(retry_after, NULL, 10);
        if (s > 0 && s < 120)
            ms = s * 1000;
    }
    /* in slices: a Ctrl-C (airlock_cancel, seen by any thread) ends the wait at once */
    for (; ms > 0 && !airlock_cancelled(); ms -= 100) {
        struct timespec ts = {0, (ms < 100 ? ms : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int registry_request(struct airlock_registry *r, const char *repo, const char *actions,
                     struct http_request *q, struct http_response *resp,
                     struct airlock_error **err)
{
    char scope[1200];
    if (!actions) /* the /v2/ check: a token for no repository */
        scope[0] = '\0';
    else
        snprintf(scope, sizeof(scope), "repository:%s:%s%s%s", repo ? repo : "", actions,
                 q->extra_scope ? " " : "", q->extra_scope ? q->extra_scope : "");
    memset(resp, 0, sizeof(*resp)); /* as http_perform leaves it, also when none is made */
    struct http_client *c = NULL;
    int rc = take_client(r, &c, err);
    if (rc)
        return rc;
    int auth_tries = 0;
    char *url_origin = http_url_origin(q->url);
    int home = url_origin && !strcmp(url_origin, r->origin);
    free(url_origin);
    for (int attempt = 0;; attempt++) {
        char *authz = NULL;
        pthread_mutex_lock(&r->lock);
        int sent_basic = r->basic, crc = 0;
        if (!home) /* credentials go to this registry only, not to a foreign upload URL */
            ;
        else if (r->basic)
            crc = basic_for(r, repo, &authz, err);
        else if (token_for(r, scope))
            authz = strdup(token_for(r, scope));
        pthread_mutex_unlock(&r->lock);
        if (crc) {
            rc = crc;
            break;
        }
        q->authorization = authz;
        struct airlock_error *e = NULL; /* kept here: a retried failure is nobody's business */
        rc = http_perform(c, q, resp, &e);
        q->authorization = NULL;
        wipe_header(authz);
        int streamed = q->body != NULL || q->sink != NULL;
        if (rc) {
            /* connection errors: retry what can be sent again */
            int local = resp->local_failure, permanent = resp->permanent;
            http_response_release(resp); /* what a failed attempt kept; its flags stay */
            resp->local_failure = local;
            resp->permanent = permanent;
            if (!streamed && attempt + 1 < r->o.retries && rc == AIRLOCK_EOS && !permanent) {
                airlock_error_free(e);
                backoff(attempt, NULL);
                continue;
            }
            if (err && !*err)
                *err = e;
            else
                airlock_error_free(e);
            break;
        }
        if (resp->status == 401 && auth_tries < 2 && resp->www_authenticate) {
            auth_tries++;
            const char *ch = resp->www_authenticate;
            int bearer = !strncasecmp(ch, "bearer", 6);
            pthread_mutex_lock(&r->lock);
            int have_token = !r->basic && token_for(r, scope) != NULL;
            pthread_mutex_unlock(&r->lock);
            if (bearer && !(have_token && auth_tries > 1)) {
                char *ch_copy = strdup(ch);
                http_response_release(resp);
                rc = fetch_token(r, ch_copy, scope, repo, err);
                free(ch_copy);
                if (rc)
                    break;
                if (streamed) {
                    resp->resend = 1; /* a streamed body cannot be replayed here: the caller does */
                    resp->status = 401;
                    break;
                }
                continue;
            }
            if (!bearer) {
                pthread_mutex_lock(&r->lock);
                char *basic = NULL;
                rc = basic_for(r, repo, &basic, err);
                int have = basic != NULL;
                wipe_header(basic);
                if (!rc && have && !sent_basic) { /* (another thread may have switched already) */
                    r->basic = 1;
                    pthread_mutex_unlock(&r->lock);
                    http_response_release(resp);
                    if (streamed) {
                        resp->resend = 1;
                        resp->status = 401;
                        break;
                    }
                    continue;
                }
                pthread_mutex_unlock(&r->lock);
                if (rc)
                    break;
            }
        }
        if (r->o.plain_http && resp->status == 400) /* said as such (registry_status_error) */
            resp->http_to_tls =
                (!resp->body.len && !strcmp(q->method, "HEAD")) ||
                (resp->body.data &&
                 (memmem(resp->body.data, resp->body.len, "HTTP request to an HTTPS server", 31) ||
                  memmem(resp->body.data, resp->body.len, "plain HTTP request was sent to HTTPS",
                         36)));
        if (!streamed && retryable(resp->status) && attempt + 1 < r->o.retries) {
            backoff(attempt, resp->retry_after);
            http_response_release(resp);
            continue;
        }
        break;
    }
    give_client(r, c);
    return rc;
}

int registry_transient(struct airlock_registry *r, int rc, const struct http_response *resp,
                       int attempt, struct airlock_error **err)
{
    if (attempt + 1 >= r->o.retries || resp->local_failure)
        return 0;
    if (rc) {
        if (rc != AIRLOCK_EOS || resp->permanent)
            return 0;
        if (err) {
            airlock_error_free(*err);
            *err = NULL;
        }
        backoff(attempt, NULL);
        return 1;
    }
    if (!retryable(resp->status))
        return 0;
    backoff(attempt, resp->retry_after);
    return 1;
}

int registry_status_error(struct airlock_error **err, const struct http_response *resp,
                          const char *what)
{
    char detail[400] = "";
    cJSON *j = resp->body.len ? core_json_parse(resp->body.data, resp->body.len, NULL) : NULL;
    const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "code"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "message"));
    if (code)
        snprintf(detail, sizeof(detail), ": %s%s%.300s", code, msg ? ": " : "", msg ? msg : "");
    int rc;
    char *scope_err = resp->www_authenticate ? auth_param(resp->www_authenticate, "error") : NULL;
    if (scope_err && !strcmp(scope_err, "insufficient_scope"))
        rc = airlock_error_set(err, AIRLOCK_EAUTH,
                               "%s: HTTP %ld insufficient_scope%s (the credentials may not do this "
                               "here: read-only, or no access to this repository)",
                               what, resp->status, detail);
    else if (resp->status == 401)
        rc = airlock_error_set(err, AIRLOCK_EAUTH,
                               "%s: HTTP 401 unauthorized%s (credentials: airlock login "
                               "HOST[/NAMESPACE], --authfile, $REGISTRY_AUTH_FILE, -u with "
                               "--password-stdin)",
                               what, detail);
    else if (resp->status == 403 || (scope_err && !strcmp(scope_err, "insufficient_scope")))
        rc = airlock_error_set(err, AIRLOCK_EAUTH,
                               "%s: HTTP %ld forbidden%s (insufficient_scope: the credentials may "
                               "read but not write here, or not reach this repository)",
                               what, resp->status, detail);
    else if (resp->status == 404)
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND, "%s: not found (HTTP 404)%s", what, detail);
    else if (resp->status == 400 && resp->http_to_tls)
        rc = airlock_error_set(err, AIRLOCK_EOS,
                               "%s: HTTP 400 to a plain-HTTP request, as a TLS port answers "
                               "one: if the registry speaks HTTPS, drop --plain-http "
                               "(--allow-http-registry)",
                               what);
    else if (code && (!strcmp(code, "DIGEST_INVALID") || !strcmp(code, "MANIFEST_BLOB_UNKNOWN") ||
                      !strcmp(code, "BLOB_UNKNOWN")))
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: HTTP %ld%s", what, resp->status, detail);
    else
        rc = airlock_error_set(err, AIRLOCK_EOS, "%s: HTTP %ld%s", what, resp->status, detail);
    free(scope_err);
    cJSON_Delete(j);
    return rc;
}

/* A request on r->base + the path fmt makes, on repo with actions (registry_request). */
static int request_path(struct airlock_registry *r, const char *repo, const char *actions,
                        struct http_request *q, struct http_response *resp,
                        struct airlock_error **err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int request_path(struct airlock_registry *r, const char *repo, const char *actions,
                        struct http_request *q, struct http_response *resp,
                        struct airlock_error **err, const char *fmt, ...)
{
    char *path = NULL, *url = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&path, fmt, ap);
    va_end(ap);
    memset(resp, 0, sizeof(*resp));
    if (n < 0 || asprintf(&url, "%s%s", r->base, path) < 0) {
        free(path);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    free(path);
    q->url = url;
    int rc = registry_request(r, repo, actions, q, resp, err);
    q->url = NULL;
    free(url);
    return rc;
}

/* "VERB manifest 'host/repo:tag'" (or "@digest"), for messages about a manifest request. */
static void manifest_what(char *what, size_t cap, const char *verb,
                          const struct airlock_registry *r, const char *repo, const char *ref)
{
    snprintf(what, cap, "%s manifest '%s/%s%s%s'", verb, r->host, repo,
             strncmp(ref, "sha256:", 7) ? ":" : "@", ref);
}

int airlock_registry_manifest_get(struct airlock_registry *r, const char *repo, const char *ref,
                                  struct airlock_buf *out, char **media_type,
                                  char digest[AIRLOCK_DIGEST_SIZE], struct airlock_error **err)
{
    char what[600];
    manifest_what(what, sizeof(what), "get", r, repo, ref);
    struct http_request q = {0};
    q.method = "GET";
    q.accept = MANIFEST_ACCEPT;
    q.max_body = AIRLOCK_MAX_MANIFEST;
    struct http_response resp;
    int rc = request_path(r, repo, "pull", &q, &resp, err, "/v2/%s/manifests/%s", repo, ref);
    if (rc)
        return rc;
    if (resp.status != 200) {
        if (resp.status == 404) {
            http_response_release(&resp);
            return AIRLOCK_ENOTFOUND; /* the caller decides whether that is an error */
        }
        rc = registry_status_error(err, &resp, what);
        http_response_release(&resp);
        return rc;
    }
    char d[AIRLOCK_DIGEST_SIZE];
    airlock_sha256_digest(d, resp.body.data ? resp.body.data : "", resp.body.len, NULL);
    if (!strncmp(ref, "sha256:", 7) && strcmp(d, ref)) {
        http_response_release(&resp);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: content hashes to '%s'", what, d);
    }
    if (media_type) {
        *media_type = resp.content_type ? strdup(resp.content_type) : NULL;
        if (*media_type)
            (*media_type)[strcspn(*media_type, ";")] = '\0';
    }
    memcpy(digest, d, sizeof(d));
    *out = resp.body;
    resp.body.data = NULL;
    http_response_release(&resp);
    return 0;
}

int registry_referrers_get(struct airlock_registry *r, const char *repo, const char *digest,
                           struct airlock_buf *out, struct airlock_error **err)
{
    struct http_request q = {0};
    q.method = "GET";
    q.accept = AIRLOCK_MT_OCI_INDEX;
    q.max_body = AIRLOCK_MAX_MANIFEST;
    struct http_response resp;
    int rc = request_path(r, repo, "pull", &q, &resp, err, "/v2/%s/referrers/%s", repo, digest);
    if (rc)
        return rc;
    size_t tl = resp.content_type ? strcspn(resp.content_type, "; \t") : 0;
    if (resp.status != 200 || tl != strlen(AIRLOCK_MT_OCI_INDEX) ||
        strncmp(resp.content_type, AIRLOCK_MT_OCI_INDEX, tl)) {
        http_response_release(&resp);
        return AIRLOCK_ENOTFOUND; /* no referrers API: the caller reads the fallback tag */
    }
    *out = resp.body;
    resp.body.data = NULL;
    http_response_release(&resp);
    return 0;
}

static int manifest_put(struct airlock_registry *r, const char *repo, const char *ref,
                        const char *media_type, const void *data, size_t len,
                        const char *subject, int *indexed, struct airlock_error **err)
{
    char what[600];
    manifest_what(what, sizeof(what), "put", r, repo, ref);
    struct http_request q = {0};
    q.method = "PUT";
    q.content_type = media_type;
    q.data = data;
    q.len = len;
    struct http_response resp;
    int rc = request_path(r, repo, "pull,push", &q, &resp, err, "/v2/%s/manifests/%s", repo, ref);
    if (!rc && resp.status != 201 && resp.status != 200)
        rc = registry_status_error(err, &resp, what);
    if (!rc && indexed)
        *indexed = subject && resp.oci_subject && !strcmp(resp.oci_subject, subject);
    http_response_release(&resp);
    return rc;
}

int airlock_registry_manifest_put(struct airlock_registry *r, const char *repo, const char *ref,
                                  const char *media_type, const void *data, size_t len,
                                  struct airlock_error **err)
{
    return manifest_put(r, repo, ref, media_type, data, len, NULL, NULL, err);
}

int registry_referrer_put(struct airlock_registry *r, const char *repo, const char *digest,
                          const char *media_type, const void *data, size_t len,
                          const char *subject, int *indexed, struct airlock_error **err)
{
    *indexed = 0;
    return manifest_put(r, repo, digest, media_type, data, len, subject, indexed, err);
}

int airlock_registry_blob_exists(struct airlock_registry *r, const char *repo, const char *digest,
                                 uint64_t *size, struct airlock_error **err)
{
    char what[600];
    snprintf(what, sizeof(what), "check blob '%s' in '%s/%s'", digest, r->host, repo);
    struct http_request q = {0};
    q.method = "HEAD";
    struct http_response resp;
    int rc = request_path(r, repo, "pull", &q, &resp, err, "/v2/%s/blobs/%s", repo, digest);
    if (rc)
        return rc;
    if (resp.status == 200) {
        if (size)
            *size = resp.content_length;
        rc = 1;
    } else if (resp.status == 404)
        rc = 0;
    else
        rc = registry_status_error(err, &resp, what);
    http_response_release(&resp);
    return rc;
}

int registry_manifest_head(struct airlock_registry *r, const char *repo, const char *ref,
                           const char *actions, char digest[AIRLOCK_DIGEST_SIZE],
                           struct airlock_error **err)
{
    char what[600];
    manifest_what(what, sizeof(what), "check", r, repo, ref);
    struct http_request q = {0};
    q.method = "HEAD";
    q.accept = MANIFEST_ACCEPT;
    struct http_response resp;
    digest[0] = '\0';
    int rc = request_path(r, repo, actions, &q, &resp, err, "/v2/%s/manifests/%s", repo, ref);
    if (rc)
        return rc;
    if (resp.status == 200) {
        rc = 1;
        if (resp.docker_digest && !airlock_digest_check(resp.docker_digest, NULL))
            snprintf(digest, AIRLOCK_DIGEST_SIZE, "%s", resp.docker_digest);
    } else if (resp.status == 404)
        rc = 0;
    else
        rc = registry_status_error(err, &resp, what);
    http_response_release(&resp);
    return rc;
}

int registry_blob_mount(struct airlock_registry *r, const char *repo, const char *digest,
                        const char *from, struct airlock_error **err)
{
    char *url = NULL, what[600];
    char *ef = http_escape(from);
    if (!ef || asprintf(&url, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", r->base, repo, digest,
                        ef) < 0) {
        free(ef);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    free(ef);
    snprintf(what, sizeof(what), "mount blob '%s' into '%s/%s'", digest, r->host, repo);
    char src_scope[600];
    snprintf(src_scope, sizeof(src_scope), "repository:%s:pull", from);
    struct http_request q = {0};
    q.method = "POST";
    q.url = url;
    q.extra_scope = src_scope;
    struct http_response resp;
    int rc = registry_request(r, repo, "pull,push", &q, &resp, err);
    free(url);
    if (rc)
        return rc;
    if (resp.status == 201)
        rc = 1;
    else if (resp.status == 401 || resp.status == 403)
        rc = 0; /* not allowed to read the source repository: upload instead */
    else if (resp.status == 202) {
        /* not mounted: an upload session was opened instead; close it */
        if (resp.location) {
            char *loc = NULL;
            if (resp.location[0] == '/' ? asprintf(&loc, "%s%s", r->base, resp.location) >= 0
                                        : (loc = strdup(resp.location)) != NULL) {
                struct http_request d = {0};
                d.method = "DELETE";
                d.url = loc;
                struct http_response dr;
                if (!registry_request(r, repo, "pull,push", &d, &dr, NULL))
                    http_response_release(&dr);
                free(loc);
            }
        }
        rc = 0;
    } else
        rc = registry_status_error(err, &resp, what);
    http_response_release(&resp);
    return rc;
}

/* ---- uploads -------------------------------------------------------------------------------- */

/* Reads from the source while hashing; holds back the last bytes until the content is known
 * to match its digest, so a corrupt blob never completes an upload. */
struct checked_reader {
    airlock_read_fn read;
    airlock_seek_fn seek;
    void *ctx;
    uint64_t size, done;
    struct airlock_sha256 *h;
    struct airlock_sha256 *mark; /* the hash at mark_off, where the current chunk began */
    uint64_t mark_off;
    const char *digest;
    uint64_t end; /* this request's body ends here */
};

/* Up to cap more bytes from the source into buf, hashed and counted; the source ending
 * before the blob's size is an integrity error. */
static int checked_pull(struct checked_reader *c, void *buf, size_t cap, size_t *got,
                        struct airlock_error **err)
{
    int rc = c->read(c->ctx, buf, cap, got, err);
    if (rc)
        return rc;
    if (!*got)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': shorter than %llu bytes",
                                 c->digest, (unsigned long long)c->size);
    airlock_sha256_update(c->h, buf, *got);
    c->done += *got;
    return 0;
}

static int checked_read(void *vctx, void *buf, size_t cap, size_t *got, struct airlock_error **err)
{
    struct checked_reader *c = vctx;
    *got = 0;
    if (cap > c->end - c->done)
        cap = (size_t)(c->end - c->done);
    if (!cap)
        return 0;
    size_t n = 0;
    int rc = checked_pull(c, buf, cap, &n, err);
    if (rc)
        return rc;
    if (c->done == c->size) {
        char actual[AIRLOCK_DIGEST_SIZE];
        airlock_sha256_final(c->h, actual);
        if (strcmp(actual, c->digest))
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "blob '%s': content does not match its digest (hashes to "
                                     "'%s'); not uploaded",
                                     c->digest, actual);
    }
    *got = n;
    return 0;
}

/* Marks the current position: a later rewind can come back to any offset from here on. */
static int checked_mark(struct checked_reader *c, struct airlock_error **err)
{
    c->mark_off = c->done;
    return airlock_sha256_copy(c->mark, c->h, err);
}

/* Repositions the source at offset (>= the mark), hashing the bytes it skips over. */
static int checked_rewind(struct checked_reader *c, uint64_t offset, struct airlock_error **err)
{
    int rc = airlock_sha256_copy(c->h, c->mark, err);
    if (!rc)
        rc = c->seek(c->ctx, c->mark_off, err);
    if (rc)
        return rc;
    c->done = c->mark_off;
    char buf[16384];
    while (c->done < offset) {
        size_t want = offset - c->done < sizeof(buf) ? (size_t)(offset - c->done) : sizeof(buf);
        size_t n = 0;
        if ((rc = checked_pull(c, buf, want, &n, err)))
            return rc;
    }
    return 0;
}

char *abs_url(struct airlock_registry *r, const char *loc)
{
    char *u = NULL;
    if (!loc)
        return NULL;
    if (loc[0] == '/') {
        if (asprintf(&u, "%s%s", r->base, loc) < 0)
            return NULL;
        return u;
    }
    return strdup(loc);
}

static char *with_query(const char *url, const char *kv)
{
    char *u = NULL;
    if (asprintf(&u, "%s%s%s", url, strchr(url, '?') ? "&" : "?", kv) < 0)
        return NULL;
    return u;
}

/* POST: a new upload session; *loc is its URL. */
static int upload_open(struct airlock_registry *r, const char *repo, const char *what, char **loc,
                       struct airlock_error **err)
{
    struct http_request q = {0};
    q.method = "POST";
    struct http_response resp;
    int rc = request_path(r, repo, "pull,push", &q, &resp, err, "/v2/%s/blobs/uploads/", repo);
    if (rc)
        return rc;
    if (resp.status != 202)
        rc = registry_status_error(err, &resp, what);
    else if (!(*loc = abs_url(r, resp.location)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "%s: no upload location", what);
    http_response_release(&resp);
    return rc;
}

/* DELETE an upload session (best effort: it expires anyway). */
static void upload_cancel(struct airlock_registry *r, const char *repo, char **loc)
{
    if (!*loc)
        return;
    struct http_request d = {0};
    d.method = "DELETE";
    d.url = *loc;
    struct http_response dr;
    if (!registry_request(r, repo, "pull,push", &d, &dr, NULL))
        http_response_release(&dr);
    free(*loc);
    *loc = NULL;
}

int64_t upload_range_offset(const char *range)
{
    unsigned long long a = 0, b = 0;
    if (!range)
        return 0;
    if (sscanf(range, "%llu-%llu", &a, &b) == 2 && a == 0 && b < INT64_MAX)
        return b ? (int64_t)b + 1 : 0; /* distribution says "0-0" for an empty session */
    return -1;
}

/* GET the upload session: how many bytes the registry holds (-1: the session is gone). */
static int64_t upload_offset(struct airlock_registry *r, const char *repo, char **loc)
{
    struct http_request q = {0};
    q.method = "GET";
    q.url = *loc;
    struct http_response resp;
    if (registry_request(r, repo, "pull,push", &q, &resp, NULL))
        return -1;
    int64_t off = -1;
    if (resp.status == 204 || resp.status == 200) {
        off = upload_range_offset(resp.range);
        char *next = abs_url(r, resp.location);
        if (next) {
            free(*loc);
            *loc = next;
        }
    }
    http_response_release(&resp);
    return off;
}

int registry_blob_upload(struct airlock_registry *r, const char *repo, const char *digest,
                         uint64_t size, airlock_read_fn read, airlock_seek_fn seek,
                         void *read_ctx, struct airlock_error **err)
{
    char what[600], *loc = NULL, *put = NULL, dq[100], crange[64];
    snprintf(what, sizeof(what), "upload blob '%s' to '%s/%s'", digest, r->host, repo);
    snprintf(dq, sizeof(dq), "digest=%s", digest);
    struct checked_reader cr = {read, seek, read_ctx, size, 0, NULL, NULL, 0, digest, 0};
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    int chunked = size > r->o.chunk_size, failures = 0, resends = 0;
    int rc = airlock_sha256_new(&cr.h, err);
    if (!rc)
        rc = airlock_sha256_new(&cr.mark, err);
    if (!rc)
        rc = checked_mark(&cr, err);
    if (!rc)
        rc = upload_open(r, repo, what, &loc, err);
    while (!rc) {
        /* one request: the whole blob (PUT), or the next chunk (PATCH) */
        if (!chunked || cr.done < size) {
            if ((rc = checked_mark(&cr, err)))
                break;
            cr.end = chunked && size - cr.done > r->o.chunk_size ? cr.done + r->o.chunk_size : size;
        }
        struct http_request q = {0};
        if (!chunked || cr.done < size) {
            free(put);
            put = chunked ? NULL : with_query(loc, dq);
            if (!chunked && !put) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            snprintf(crange, sizeof(crange), "%llu-%llu", (unsigned long long)cr.done,
                     (unsigned long long)(cr.end - 1));
            q.method = chunked ? "PATCH" : "PUT";
            q.url = chunked ? loc : put;
            q.content_type = "application/octet-stream";
            q.content_range = chunked ? crange : NULL;
            q.body = checked_read;
            q.body_ctx = &cr;
            q.body_len = cr.end - cr.done;
        } else { /* the chunks are all there: close the upload */
            free(put);
            if (!(put = with_query(loc, dq))) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            q.method = "PUT";
            q.url = put;
            q.data = "";
        }
        uint64_t began = cr.mark_off;
        rc = registry_request(r, repo, "pull,push", &q, &resp, err);
        int want = !q.body || !chunked ? 201 : 202;
        if (!rc && resp.status == want) {
            if (want == 201) {
                if (cr.done != size)
                    rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: sent %llu of %llu bytes",
                                           what, (unsigned long long)cr.done,
                                           (unsigned long long)size);
                break;
            }
            char *next = abs_url(r, resp.location);
            if (next) {
                free(loc);
                loc = next;
            }
            http_response_release(&resp);
            continue;
        }
        if (!rc && resp.resend && resends++ < 3) { /* a token expired: the same bytes again */
            http_response_release(&resp);
            rc = checked_rewind(&cr, began, err);
            continue;
        }
        if (!q.body && !rc && resp.status == 404 &&
            airlock_registry_blob_exists(r, repo, digest, NULL, NULL) == 1)
            break; /* a retried final PUT whose first try had landed */
        int restart = !rc && resp.status == 416 && failures < r->o.retries; /* offset mismatch */
        if (!restart && !registry_transient(r, rc, &resp, failures, err)) {
            if (!rc)
                rc = registry_status_error(err, &resp, what);
            break;
        }
        failures++;
        rc = 0;
        http_response_release(&resp);
        /* a dropped connection or a 5xx: continue where the registry is, or start over */
        int64_t at = chunked && !restart ? upload_offset(r, repo, &loc) : -1;
        if (at >= (int64_t)began && (uint64_t)at <= cr.end) {
            rc = checked_rewind(&cr, (uint64_t)at, err);
        } else {
            char dummy[AIRLOCK_DIGEST_SIZE];
            upload_cancel(r, repo, &loc);
            airlock_sha256_final(cr.h, dummy); /* resets the hash */
            cr.done = 0;
            rc = seek(read_ctx, 0, err);
            if (!rc)
                rc = upload_open(r, repo, what, &loc, err);
        }
    }
    http_response_release(&resp);
    if (rc && err && *err && strncmp((*err)->msg, what, strlen(what)))
        airlock_error_wrap(err, "%s (%d attempt%s)", what, failures + 1, failures ? "s" : "");
    if (rc)
        upload_cancel(r, repo, &loc);
    airlock_sha256_free(cr.h);
    airlock_sha256_free(cr.mark);
    free(loc);
    free(put);
    return rc;
}

/* ---- downloads ------------------------------------------------------------------------------ */

struct fetch_ctx {
    http_sink_fn sink;
    void *ctx;
    struct airlock_sha256 *h;
    uint64_t got, size;
    const char *digest;
    const struct http_response *resp;
    int fresh;     /* no byte of this response seen yet */
    uint64_t skip; /* a server that ignored Range resends bytes the sink already has */
};

static int fetch_sink(void *vctx, const void *p, size_t n, struct airlock_error **err)
{
    struct fetch_ctx *f = vctx;
    if (f->fresh) {
        f->fresh = 0;
        f->skip = f->resp->status == 200 ? f->got : 0;
        unsigned long long from = 0;
        if (f->resp->status == 206 &&
            (!f->resp->content_range ||
             sscanf(f->resp->content_range, "bytes %llu-", &from) != 1 || from != f->got))
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "blob '%s': asked for bytes from %llu, got range '%s'",
                                     f->digest, (unsigned long long)f->got,
                                     f->resp->content_range ? f->resp->content_range : "");
    }
    if (f->skip) {
        size_t k = n < f->skip ? n : (size_t)f->skip;
        f->skip -= k;
        p = (const char *)p + k;
        n -= k;
        if (!n)
            return 0;
    }
    if (f->got + n > f->size)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s': more than %llu bytes",
                                 f->digest, (unsigned long long)f->size);
    airlock_sha256_update(f->h, p, n);
    f->got += n;
    return f->sink(f->ctx, p, n, err);
}

int registry_blob_fetch(struct airlock_registry *r, const char *repo, const char *digest,
                        uint64_t size, http_sink_fn sink, void *ctx, struct airlock_error **err)
{
    char *url = NULL, what[600], range[32];
    if (asprintf(&url, "%s/v2/%s/blobs/%s", r->base, repo, digest) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    snprintf(what, sizeof(what), "fetch blob '%s' from '%s/%s'", digest, r->host, repo);
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    struct fetch_ctx f = {sink, ctx, NULL, 0, size, digest, &resp, 1, 0};
    int rc = airlock_sha256_new(&f.h, err), failures = 0, resends = 0;
    while (!rc) {
        uint64_t had = f.got;
        struct http_request q = {0};
        q.method = "GET";
        q.url = url;
        q.sink = fetch_sink;
        q.sink_ctx = &f;
        q.follow = 1;
        q.expect_len = size - had;
        if (had) { /* continue where the dropped connection left off */
            snprintf(range, sizeof(range), "%llu-", (unsigned long long)had);
            q.range = range;
        }
        f.fresh = 1;
        rc = registry_request(r, repo, "pull", &q, &resp, err);
        if (!rc && (resp.status == 200 || resp.status == 206)) {
            unsigned long long from = 0;
            if (resp.status == 206 &&
                (!resp.content_range || sscanf(resp.content_range, "bytes %llu-", &from) != 1 ||
                 from != had)) {
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "%s: asked for bytes from %llu, got range '%s'", what,
                                       (unsigned long long)had,
                                       resp.content_range ? resp.content_range : "");
                break;
            }
            if (f.got == size)
                break;
            /* the body ended early without a transport error: as a dropped connection */
            if (failures + 1 >= r->o.retries) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "%s: the body ended after %llu of %llu "
                                       "bytes, %d times", what, (unsigned long long)f.got,
                                       (unsigned long long)size, failures + 1);
                break;
            }
            backoff(failures++, NULL);
            http_response_release(&resp);
            continue;
        }
        if (!rc && resp.resend && resends++ < 3) { /* authenticated now: again */
            http_response_release(&resp);
            continue;
        }
        if (!registry_transient(r, rc, &resp, failures, err)) {
            if (!rc)
                rc = registry_status_error(err, &resp, what);
            break;
        }
        failures++;
        rc = 0;
        http_response_release(&resp);
    }
    free(url);
    if (rc && err && *err && strncmp((*err)->msg, what, strlen(what)))
        airlock_error_wrap(err, "%s (%d attempt%s)", what, failures + 1, failures ? "s" : "");
    if (!rc) {
        char actual[AIRLOCK_DIGEST_SIZE];
        airlock_sha256_final(f.h, actual);
        if (f.got != size || strcmp(actual, digest))
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: got %llu bytes hashing to '%s'", what,
                                   (unsigned long long)f.got, actual);
    }
    http_response_release(&resp);
    airlock_sha256_free(f.h);
    return rc;
}

struct mem_sink {
    struct airlock_buf *b;
};

static int mem_sink(void *ctx, const void *p, size_t n, struct airlock_error **err)
{
    struct mem_sink *m = ctx;
    if (airlock_buf_append(m->b, p, n))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob larger than expected");
    return 0;
}

int registry_blob_fetch_mem(struct airlock_registry *r, const char *repo, const char *digest,
                            uint64_t size, struct airlock_buf *out, struct airlock_error **err)
{
    if (size > SIZE_MAX - 1)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s' is too large", digest);
    struct airlock_buf b = AIRLOCK_BUF_INIT((size_t)size);
    struct mem_sink m = {&b};
    int rc = registry_blob_fetch(r, repo, digest, size, mem_sink, &m, err);
    if (rc) {
        airlock_buf_release(&b);
        return rc;
    }
    *out = b;
    return 0;
}

int airlock_registry_blob_get(struct airlock_registry *r, const char *repo, const char *digest,
                              size_t max, struct airlock_buf *out, struct airlock_error **err)
{
    uint64_t size = 0;
    int rc = airlock_registry_blob_exists(r, repo, digest, &size, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s' is missing from '%s/%s'",
                                 digest, r->host, repo);
    if (size > max)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "blob '%s' is larger than %zu bytes",
                                 digest, max);
    struct airlock_buf b = AIRLOCK_BUF_INIT(max);
    struct mem_sink m = {&b};
    rc = registry_blob_fetch(r, repo, digest, size, mem_sink, &m, err);
    if (rc) {
        airlock_buf_release(&b);
        return rc;
    }
    airlock_buf_append(&b, "", 0);
    *out = b;
    return 0;
}

/* ---- tags/list -------------------------------------------------------------------------- */

#define TAGS_MAX 100000       /* of one repository */
#define TAGS_MAX_PAGES 10000
#define TAGS_PAGE_MAX (8u << 20) /* bytes of one page */

char *registry_link_next(const char *link)
{
    const char *p = link;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p != '<')
            return NULL;
        const char *u = ++p, *e = strchr(p, '>');
        if (!e)
            return NULL;
        p = e + 1;
        /* the parameters up to the next link: ';' separated, rel="next" or rel=next */
        int next = 0;
        while (*p && *p != ',') {
            while (*p == ' ' || *p == '\t' || *p == ';')
                p++;
            const char *k = p;
            while (*p && *p != '=' && *p != ';' && *p != ',')
                p++;
            size_t kl = (size_t)(p - k);
            while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
                kl--;
            const char *v = NULL;
            size_t vl = 0;
            if (*p == '=') {
                p++;
                while (*p == ' ')
                    p++;
                if (*p == '"') {
                    v = ++p;
                    while (*p && *p != '"')
                        p++;
                    vl = (size_t)(p - v);
                    if (*p == '"')
                        p++;
                } else {
                    v = p;
                    while (*p && *p != ';' && *p != ',' && *p != ' ')
                        p++;
                    vl = (size_t)(p - v);
                }
            }
            if (kl == 3 && !strncasecmp(k, "rel", 3) && v) {
                /* rel may list several relation types */
                for (const char *t = v; t < v + vl;) {
                    size_t tl = strcspn(t, " \"");
                    if (t + tl > v + vl)
                        tl = (size_t)(v + vl - t);
                    if (tl == 4 && !strncasecmp(t, "next", 4))
                        next = 1;
                    t += tl + 1;
                }
            }
            while (*p && *p != ';' && *p != ',')
                p++;
        }
        if (next)
            return e > u ? strndup(u, (size_t)(e - u)) : NULL;
    }
    return NULL;
}

/* The next page's URL from a Link target: a path on the registry, or an absolute URL of the
 * registry's own origin; anything else is refused (a hostile registry must not send the
 * client, with its credentials, elsewhere). */
static int next_url(struct airlock_registry *r, const char *target, const char *what, char **out,
                    struct airlock_error **err)
{
    *out = NULL;
    if (target[0] == '/' && target[1] != '/') {
        if (asprintf(out, "%s%s", r->base, target) < 0)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        return 0;
    }
    char *o = http_url_origin(target);
    int same = o && r->origin && !strcmp(o, r->origin);
    free(o);
    if (!same)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "%s: the registry's Link header points to '%.200s', not to "
                                 "this registry: refused",
                                 what, target);
    if (!(*out = strdup(target)))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* AIRLOCK_EINTEGRITY when an item of list is there twice */
static int repeated_item(char **list, size_t count, const char *noun, const char *what,
                         struct airlock_error **err)
{
    if (count < 2)
        return 0;
    char **sorted = malloc(count * sizeof(*sorted));
    int rc = 0;
    if (!sorted)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    memcpy(sorted, list, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), cmp_str);
    for (size_t i = 1; i < count && !rc; i++)
        if (!strcmp(sorted[i - 1], sorted[i]))
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: %s '%.200s' is listed twice (the pages loop)", what, noun,
                                   sorted[i]);
    free(sorted);
    return rc;
}

/* Appends the string items of one page's array to *list; *added counts them. */
static int list_page_take(char ***list, size_t *count, size_t *cap, size_t *added,
                          const cJSON *items, const struct registry_list_spec *spec,
                          const char *what, struct airlock_error **err)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *t = cJSON_GetStringValue(it);
        if (!t || !spec->valid(t))
            return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                     "%s: the answer lists something that is no %s", what,
                                     spec->item);
        if (*count == spec->max_items)
            return airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: more than %zu %s", what,
                                     spec->max_items, spec->nouns);
        if (*count + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char **nl = realloc(*list, nc * sizeof(*nl));
            if (!nl)
                return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            *list = nl;
            *cap = nc;
        }
        if (!((*list)[*count] = strdup(t)))
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        (*count)++;
        (*added)++;
    }
    return 0;
}

int registry_list_pages(char ***out, size_t *n, struct airlock_registry *r, const char *repo,
                        const char *first_url, const struct registry_list_spec *spec,
                        const char *what, struct airlock_error **err)
{
    char **list = NULL, *url = strdup(first_url);
    size_t count = 0, cap = 0, next_check = 16;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (!url)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (size_t pages = 0; url && !rc; pages++) {
        if (pages == spec->max_pages) {
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: more than %zu pages", what,
                                   spec->max_pages);
            break;
        }
        struct http_request q = {0};
        struct http_response resp;
        memset(&resp, 0, sizeof(resp));
        q.method = "GET";
        q.accept = "application/json";
        q.max_body = spec->max_body;
        q.url = url;
        q.extra_scope = spec->extra_scope;
        if ((rc = registry_request(r, repo, "pull", &q, &resp, err)))
            break;
        if (resp.status == 404 && repo) {
            rc = airlock_error_set(err, AIRLOCK_ENOTFOUND,
                                   "repository '%s/%s' does not exist in the registry", r->host,
                                   repo);
            http_response_release(&resp);
            break;
        }
        if (resp.status != 200) {
            rc = registry_status_error(err, &resp, what);
            http_response_release(&resp);
            break;
        }
        cJSON *j = resp.body.len ? core_json_parse(resp.body.data, resp.body.len, NULL) : NULL;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, spec->member);
        size_t added = 0;
        if (!cJSON_IsObject(j) || (!cJSON_IsArray(arr) && !cJSON_IsNull(arr) && arr))
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "%s: the answer is not a %s list",
                                   what, spec->noun);
        else if (cJSON_IsArray(arr))
            rc = list_page_take(&list, &count, &cap, &added, arr, spec, what, err);
        cJSON_Delete(j);
        char *target = !rc && resp.link ? registry_link_next(resp.link) : NULL;
        free(url);
        url = NULL;
        if (target && !added)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "%s: a page lists no %s but links to another", what,
                                   spec->noun);
        if (target && !rc)
            rc = next_url(r, target, what, &url, err);
        free(target);
        http_response_release(&resp);
        /* a loop of pages repeats items: checked whenever the list has doubled, and at the end */
        if (!rc && (count >= next_check || !url)) {
            rc = repeated_item(list, count, spec->noun, what, err);
            next_check = count * 2;
        }
    }
    free(url);
    if (rc) {
        for (size_t i = 0; i < count; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    if (!list && !(list = calloc(1, sizeof(*list))))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    list[count] = NULL;
    *out = list;
    *n = count;
    return 0;
}

static int tag_valid(const char *t) { return *t && strlen(t) <= 128; }

int airlock_registry_tags_list(struct airlock_registry *r, const char *repo, size_t page,
                               char ***tags, size_t *n, struct airlock_error **err)
{
    static const struct registry_list_spec spec = {
        "tags", "tag", "tags", "tag", NULL, TAGS_PAGE_MAX, TAGS_MAX_PAGES, TAGS_MAX, tag_valid};
    char what[600], *url = NULL;
    snprintf(what, sizeof(what), "list tags of '%s/%s'", r->host, repo);
    *tags = NULL;
    *n = 0;
    if (page > 0 ? asprintf(&url, "%s/v2/%s/tags/list?n=%zu", r->base, repo, page) < 0
                 : asprintf(&url, "%s/v2/%s/tags/list", r->base, repo) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = registry_list_pages(tags, n, r, repo, url, &spec, what, err);
    free(url);
    return rc;
}

int airlock_registry_ping(struct airlock_registry *r, struct airlock_error **err)
{
    char *url = NULL;
    if (asprintf(&url, "%s/v2/", r->base) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    struct http_request q = {0};
    q.method = "GET";
    q.url = url;
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    int rc = registry_request(r, NULL, NULL, &q, &resp, err);
    if (!rc && resp.status != 200)
        rc = airlock_error_set(err,
                               resp.status == 401 || resp.status == 403 ? AIRLOCK_EAUTH
                                                                        : AIRLOCK_EOS,
                               "registry '%s': HTTP %ld for '%s'%s", r->host, resp.status, url,
                               resp.status == 401 || resp.status == 403
                                   ? " (the credentials were refused)"
                                   : "");
    http_response_release(&resp);
    free(url);
    return rc;
}
