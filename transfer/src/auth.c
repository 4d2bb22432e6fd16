/* Registry credentials: explicit options, then the auth files containers and docker tools
 * write ($REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json), with their
 * credential helpers (docker-credential-<name>). Secrets are never put in messages. */
#include "transfer_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *auth_param(const char *challenge, const char *name)
{
    size_t nl = strlen(name);
    const char *p = challenge;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        /* skip the scheme word */
        if (!strncasecmp(p, "bearer ", 7) || !strncasecmp(p, "basic ", 6)) {
            p = strchr(p, ' ');
            continue;
        }
        const char *eq = strchr(p, '=');
        if (!eq)
            return NULL;
        int match = (size_t)(eq - p) == nl && !strncasecmp(p, name, nl);
        const char *v = eq + 1, *end;
        char *val;
        if (*v == '"') {
            v++;
            end = strchr(v, '"');
            if (!end)
                return NULL;
            val = strndup(v, (size_t)(end - v));
            p = end + 1;
        } else {
            end = v + strcspn(v, ",");
            val = strndup(v, (size_t)(end - v));
            p = end;
        }
        if (match)
            return val;
        free(val);
    }
    return NULL;
}

int auth_token_parse(char **token, const char *body, size_t len)
{
    *token = NULL;
    cJSON *j = body ? core_json_parse(body, len, NULL) : NULL;
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "token"));
    if (!t || !*t)
        t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "access_token"));
    int ok = t && *t;
    /* it goes into "Authorization: Bearer <token>": no CR, LF, space or other byte that could
     * end the header or start another one */
    for (const char *p = t; ok && *p; p++)
        ok = *p > 0x20 && *p < 0x7f;
    if (ok && !(*token = strdup(t)))
        ok = 0;
    json_wipe_delete(j);
    return ok ? 0 : -1;
}

int transfer_read_file(const char *path, size_t max, int secret, int code, char **out,
                       size_t *len, struct airlock_error **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return airlock_error_set_errno(err, code, errno, "open '%s'", path);
    struct airlock_buf b = AIRLOCK_BUF_INIT(max);
    b.secret = secret;
    char chunk[4096];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (airlock_buf_append(&b, chunk, (size_t)n)) {
            rc = airlock_error_set(err, code, "'%s' is larger than %zu bytes", path, max);
            break;
        }
    if (!rc && n < 0)
        rc = airlock_error_set_errno(err, code, errno, "read '%s'", path);
    airlock_wipe(chunk, sizeof(chunk));
    close(fd);
    if (!rc && airlock_buf_append(&b, "", 0))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (rc) {
        airlock_buf_release(&b);
        return rc;
    }
    *len = b.len;
    *out = airlock_buf_detach(&b, NULL);
    return 0;
}

static void wipe_node(cJSON *c)
{
    if (c->valuestring)
        airlock_wipe(c->valuestring, strlen(c->valuestring));
    if (c->string)
        airlock_wipe(c->string, strlen(c->string));
    for (cJSON *k = c->child; k; k = k->next)
        wipe_node(k);
}

void json_wipe_delete(struct cJSON *j)
{
    if (j)
        wipe_node(j);
    cJSON_Delete(j);
}

int auth_helper_parse(char **user, char **pass, const char *out, size_t len)
{
    cJSON *j = out ? core_json_parse(out, len, NULL) : NULL;
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Username"));
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Secret"));
    int rc = -1;
    if (u && s) {
        *user = strdup(u);
        *pass = strdup(s);
        rc = 0;
    }
    json_wipe_delete(j);
    return rc;
}

/* Runs docker-credential-<helper> get for host; fills user/pass. */
static int run_helper(char **user, char **pass, const char *helper, const char *host,
                      struct airlock_error **err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (out[i] >= 0)
                close(out[i]);
        }
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "pipe");
    }
    char prog[200];
    snprintf(prog, sizeof(prog), "docker-credential-%s", helper);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "fork");
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        execlp(prog, prog, "get", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    (void)!write(in[1], host, strlen(host));
    close(in[1]);
    struct airlock_buf b = AIRLOCK_BUF_SECRET(1 << 16);
    char chunk[1024];
    ssize_t n;
    while ((n = read(out[0], chunk, sizeof(chunk))) > 0)
        airlock_buf_append(&b, chunk, (size_t)n);
    airlock_wipe(chunk, sizeof(chunk));
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    signal(SIGPIPE, old);
    int rc = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || auth_helper_parse(user, pass, b.data, b.len))
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND,
                               "credential helper '%s' has no credentials for '%s'", prog, host);
    airlock_buf_release(&b);
    return rc;
}

/* ---- the credentials of one registry: every auth file read once, resolved per repository ---- */

/* One auths entry for this registry: path "" is the registry itself, else "ns[/...]/repo". */
struct auth_key {
    char *path;
    char *user, *pass; /* NULL: the entry is malformed (said when it is the one chosen) */
    int legacy;        /* spelled "https://host" or "http://host" */
};

/* A helper's answer, asked once. */
struct auth_asked {
    int done, rc;
    char *user, *pass;
};

/* What one auth file says for this registry. */
struct auth_source {
    char *file;
    char *helper; /* credHelpers[host] */
    char *store;  /* credsStore */
    struct auth_asked helper_got, store_got;
    struct auth_key *keys;
    size_t n;
};

struct auth_creds {
    char *host;
    auth_helper_fn helper_fn;
    char *user, *pass; /* explicit (--username, --creds) */
    struct auth_source *src;
    size_t n_src;
};

static void wipe_free(char *s)
{
    if (s) {
        airlock_wipe(s, strlen(s));
        free(s);
    }
}

/* Docker Hub has several names; its legacy auth key is "https://index.docker.io/v1/". */
static const char *hub_normal(const char *host, size_t len)
{
    static const char *const names[] = {"docker.io", "registry-1.docker.io", "index.docker.io"};
    for (size_t i = 0; i < 3; i++)
        if (strlen(names[i]) == len && !strncmp(host, names[i], len))
            return "docker.io";
    return NULL;
}

/* The path below host that an auths key names ("" for host itself), or NULL when the key is
 * for another registry. A key with a scheme names a registry only (containers/image
 * normalizeAuthFileKey takes the host part of "https://host/v1/"). */
static const char *key_path(const char *key, const char *host, int *legacy)
{
    *legacy = !strncmp(key, "https://", 8) || !strncmp(key, "http://", 7);
    const char *k = *legacy ? strstr(key, "://") + 3 : key;
    size_t kl = strcspn(k, "/"), hl = strlen(host);
    const char *kh = hub_normal(k, kl), *hh = hub_normal(host, hl);
    int same = kh && hh ? 1 : kl == hl && !strncmp(k, host, hl);
    if (!same)
        return NULL;
    if (*legacy || !k[kl])
        return "";
    return k[kl + 1] ? k + kl + 1 : NULL; /* "host/" names nothing */
}

static void source_release(struct auth_source *s)
{
    free(s->file);
    free(s->helper);
    free(s->store);
    wipe_free(s->helper_got.user);
    wipe_free(s->helper_got.pass);
    wipe_free(s->store_got.user);
    wipe_free(s->store_got.pass);
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i].path);
        wipe_free(s->keys[i].user);
        wipe_free(s->keys[i].pass);
    }
    free(s->keys);
    memset(s, 0, sizeof(*s));
}

/* What the text of auth file path says for host: its credHelpers entry, credsStore and the
 * auths entries naming host or a repository path below it. */
static int source_parse(struct auth_source *s, const char *text, const char *path,
                        const char *host, struct airlock_error **err)
{
    memset(s, 0, sizeof(*s));
    cJSON *j = core_json_parse(text, strlen(text), NULL);
    if (!j)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "auth file '%s' is not valid JSON", path);
    int rc = 0;
    const char *helper = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "credHelpers"), host));
    const char *store = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "credsStore"));
    const cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths"), *e;
    if (!cJSON_IsObject(auths))
        auths = NULL;
    size_t n = 0;
    cJSON_ArrayForEach(e, auths) n++;
    if (!(s->file = strdup(path)) || (helper && !(s->helper = strdup(helper))) ||
        (store && !(s->store = strdup(store))) ||
        (n && !(s->keys = calloc(n, sizeof(*s->keys)))))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (rc)
        auths = NULL;
    cJSON_ArrayForEach(e, auths)
    {
        int legacy;
        const char *kp = e->string ? key_path(e->string, host, &legacy) : NULL;
        if (!kp)
            continue;
        struct auth_key *k = &s->keys[s->n];
        if (!(k->path = strdup(kp))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        k->legacy = legacy;
        s->n++;
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "auth"));
        unsigned char *dec = NULL;
        size_t dl = 0;
        if (a && !airlock_b64_decode(&dec, &dl, a, strlen(a), NULL)) {
            char *colon = memchr(dec, ':', dl);
            if (colon && !memchr(dec, '\0', dl)) {
                k->user = strndup((char *)dec, (size_t)(colon - (char *)dec));
                k->pass = strndup(colon + 1, dl - (size_t)(colon - (char *)dec) - 1);
                if (!k->user || !k->pass) {
                    wipe_free(k->user);
                    k->user = NULL;
                }
            }
            airlock_wipe(dec, dl);
            free(dec);
        }
    }
    json_wipe_delete(j);
    if (rc)
        source_release(s);
    return rc;
}

/* The entry of s for repo: the most specific path (repo, then each parent namespace, then the
 * registry itself), an unschemed key before a legacy one; NULL when none. */
static const struct auth_key *source_key(const struct auth_source *s, const char *repo)
{
    const struct auth_key *best = NULL;
    size_t best_len = 0, rl = repo ? strlen(repo) : 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct auth_key *k = &s->keys[i];
        size_t kl = strlen(k->path);
        int covers = kl == 0 || (kl <= rl && !strncmp(repo, k->path, kl) &&
                                 (repo[kl] == '\0' || repo[kl] == '/'));
        if (covers && (!best || kl > best_len || (kl == best_len && best->legacy && !k->legacy))) {
            best = k;
            best_len = kl;
        }
    }
    return best;
}

static int ask_helper(struct auth_asked *a, struct auth_creds *c, const char *helper)
{
    if (!a->done) {
        a->rc = c->helper_fn(&a->user, &a->pass, helper, c->host, NULL) ? AIRLOCK_ENOTFOUND : 0;
        a->done = 1;
    }
    return a->rc;
}

int auth_creds_for(struct auth_creds *c, const char *repo, const char **user, const char **pass,
                   struct airlock_error **err)
{
    *user = *pass = NULL;
    if (c->user) {
        *user = c->user;
        *pass = c->pass;
        return 0;
    }
    for (size_t i = 0; i < c->n_src; i++) {
        struct auth_source *s = &c->src[i];
        struct auth_asked *a = NULL;
        if (s->helper) /* credHelpers name the registry's helper: it decides */
            a = ask_helper(&s->helper_got, c, s->helper) ? NULL : &s->helper_got;
        else {
            const struct auth_key *k = source_key(s, repo);
            if (k && !k->user)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "auth file '%s': entry for '%s%s%s' is malformed",
                                         s->file, c->host, *k->path ? "/" : "", k->path);
            if (k) {
                *user = k->user;
                *pass = k->pass;
                return 0;
            }
            if (s->store && !ask_helper(&s->store_got, c, s->store))
                a = &s->store_got;
        }
        if (a) {
            *user = a->user;
            *pass = a->pass;
            return 0;
        }
    }
    return AIRLOCK_ENOTFOUND;
}

void auth_creds_free(struct auth_creds *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_src; i++)
        source_release(&c->src[i]);
    free(c->src);
    free(c->host);
    free(c->user);
    wipe_free(c->pass);
    free(c);
}

/* Adds what auth file path says for c's registry; a file that is not there (or cannot be read)
 * adds nothing, one that is not JSON is an error. */
static int creds_add_file(struct auth_creds *c, const char *path, struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    struct airlock_error *e = NULL;
    if (transfer_read_file(path, 1 << 20, 1, AIRLOCK_ENOTFOUND, &text, &len, &e)) {
        int missing = e && e->sys_errno; /* could not open or read: as if it were not there */
        airlock_error_free(e);
        return missing ? 0
                       : airlock_error_set(err, AIRLOCK_EUSAGE, "auth file '%s' is not valid JSON",
                                           path);
    }
    int rc = auth_creds_add_text(c, text, path, err);
    airlock_wipe(text, len);
    free(text);
    return rc;
}

int auth_creds_add_text(struct auth_creds *c, const char *text, const char *path,
                   struct airlock_error **err)
{
    struct auth_source *n = realloc(c->src, (c->n_src + 1) * sizeof(*n));
    if (!n)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    c->src = n;
    int rc = source_parse(&c->src[c->n_src], text, path, c->host, err);
    if (!rc)
        c->n_src++;
    return rc;
}

int auth_creds_new(struct auth_creds **out, const char *host, auth_helper_fn helper_fn,
                   struct airlock_error **err)
{
    struct auth_creds *c = calloc(1, sizeof(*c));
    if (!c || !(c->host = strdup(host))) {
        free(c);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    c->helper_fn = helper_fn;
    *out = c;
    return 0;
}

int auth_creds_load(struct auth_creds **out, const char *host,
                    const struct airlock_registry_opts *o, struct airlock_error **err)
{
    struct auth_creds *c = NULL;
    int rc = auth_creds_new(&c, host, run_helper, err);
    if (rc)
        return rc;
    if (o->username) {
        if (!(c->user = strdup(o->username)) || !(c->pass = strdup(o->password ? o->password : ""))) {
            auth_creds_free(c);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        *out = c;
        return 0;
    }
    char paths[5][4096];
    int n = 0;
    const char *e;
    if (o->auth_file)
        snprintf(paths[n++], sizeof(paths[0]), "%s", o->auth_file);
    else {
        if ((e = getenv("REGISTRY_AUTH_FILE")))
            snprintf(paths[n++], sizeof(paths[0]), "%s", e);
        /* containers-auth.json(5), containers/image getAuthFilePaths: the runtime dir's file
         * (/run/containers/$UID without XDG_RUNTIME_DIR), then the config dir's */
        if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
            snprintf(paths[n++], sizeof(paths[0]), "%s/containers/auth.json", e);
        else
            snprintf(paths[n++], sizeof(paths[0]), "/run/containers/%u/auth.json",
                     (unsigned)getuid());
        const char *home = getenv("HOME");
        if ((e = getenv("XDG_CONFIG_HOME")) && *e)
            snprintf(paths[n++], sizeof(paths[0]), "%s/containers/auth.json", e);
        else if (home)
            snprintf(paths[n++], sizeof(paths[0]), "%s/.config/containers/auth.json", home);
        if ((e = getenv("DOCKER_CONFIG")))
            snprintf(paths[n++], sizeof(paths[0]), "%s/config.json", e);
        else if (home)
            snprintf(paths[n++], sizeof(paths[0]), "%s/.docker/config.json", home);
    }
    for (int i = 0; i < n && !rc; i++)
        rc = creds_add_file(c, paths[i], err);
    if (rc) {
        auth_creds_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- login, logout: the containers auth.json that skopeo and podman read ---- */

int airlock_auth_file_path(char **out, const char *path, struct airlock_error **err)
{
    const char *e;
    int n;
    if (path)
        n = asprintf(out, "%s", path);
    else if ((e = getenv("REGISTRY_AUTH_FILE")) && *e)
        n = asprintf(out, "%s", e);
    else if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
        n = asprintf(out, "%s/containers/auth.json", e);
    else
        n = asprintf(out, "/run/containers/%u/auth.json", (unsigned)getuid());
    if (n < 0) {
        *out = NULL;
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    return 0;
}

/* The auth file as JSON (an empty object when it is not there), or an error: a file that is
 * not a JSON object is never replaced. */
static int auth_file_load(cJSON **out, const char *path, struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    struct airlock_error *e = NULL;
    if (transfer_read_file(path, 1 << 20, 1, AIRLOCK_EOS, &text, &len, &e)) {
        if (e && e->sys_errno == ENOENT) {
            airlock_error_free(e);
            *out = cJSON_CreateObject();
            return *out ? 0 : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        if (err && !*err)
            *err = e;
        else
            airlock_error_free(e);
        return AIRLOCK_EOS;
    }
    cJSON *j = core_json_parse(text, len, NULL);
    airlock_wipe(text, len);
    free(text);
    if (!cJSON_IsObject(j) || core_json_has_duplicate_keys(j)) {
        json_wipe_delete(j);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "auth file '%s' is not a JSON object: not touched", path);
    }
    *out = j;
    return 0;
}

/* Makes the directories above path (mode 0700), as podman does for its runtime dir. */
static int make_parents(const char *path, struct airlock_error **err)
{
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "auth file path '%.100s...' is too long",
                                 path);
    for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create directory '%s'", dir);
        *p = '/';
    }
    return 0;
}

/* Writes j to path atomically: a temporary file of mode 0600 beside it, fsync, rename. */
static int auth_file_write(const char *path, cJSON *j, struct airlock_error **err)
{
    int rc = make_parents(path, err);
    if (rc)
        return rc;
    char *text = cJSON_Print(j), *tmp = NULL;
    if (!text || asprintf(&tmp, "%s.airlock-XXXXXX", path) < 0) {
        if (text) {
            airlock_wipe(text, strlen(text));
            free(text);
        }
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s'", tmp);
    else {
        size_t len = strlen(text);
        if (fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len ||
            write(fd, "\n", 1) != 1 || fsync(fd) < 0)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "write '%s'", tmp);
        close(fd);
        if (!rc && rename(tmp, path) < 0)
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "rename into '%s'", path);
        if (rc)
            unlink(tmp);
    }
    airlock_wipe(text, strlen(text));
    free(text);
    free(tmp);
    return rc;
}

int airlock_auth_file_store(const char *path, const char *host, const char *user,
                            const char *pass, struct airlock_error **err)
{
    cJSON *j = NULL;
    int rc = auth_file_load(&j, path, err);
    if (rc)
        return rc;
    char *plain = NULL, *b64 = NULL;
    int pl = asprintf(&plain, "%s:%s", user, pass);
    if (pl >= 0)
        b64 = airlock_b64_encode(plain, (size_t)pl);
    cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
    if (auths && !cJSON_IsObject(auths)) { /* never replaced: what it holds is not ours */
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "auth file '%s': \"auths\" is not a JSON object: not touched",
                               path);
        auths = NULL;
    } else if (!auths)
        auths = cJSON_AddObjectToObject(j, "auths");
    cJSON *entry = NULL;
    if (!rc && (!b64 || !auths || !(entry = cJSON_CreateObject()) ||
                !cJSON_AddStringToObject(entry, "auth", b64))) {
        cJSON_Delete(entry);
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    } else if (!rc) {
        cJSON_DeleteItemFromObjectCaseSensitive(auths, host);
        cJSON_AddItemToObject(auths, host, entry);
        rc = auth_file_write(path, j, err);
    }
    if (plain) {
        airlock_wipe(plain, strlen(plain));
        free(plain);
    }
    if (b64) {
        airlock_wipe(b64, strlen(b64));
        free(b64);
    }
    json_wipe_delete(j);
    return rc;
}

int airlock_auth_file_erase(const char *path, const char *host, struct airlock_error **err)
{
    struct stat st;
    if (!host && stat(path, &st) < 0 && errno == ENOENT) /* --all: nothing to empty, no file made */
        return airlock_error_set(err, AIRLOCK_ENOTFOUND, "not logged in anywhere in '%s'", path);
    cJSON *j = NULL;
    int rc = auth_file_load(&j, path, err);
    if (rc)
        return rc;
    cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
    int found = 0, whole = host && !strchr(host, '/');
    /* every key the lookup reads for what host names: for a registry, each spelling of it
     * (https://host, Docker Hub's names and its https://index.docker.io/v1/); for a
     * namespace, that key; with host NULL, all */
    for (cJSON *e = cJSON_IsObject(auths) ? auths->child : NULL, *next; e; e = next) {
        next = e->next;
        int legacy;
        const char *kp = e->string && whole ? key_path(e->string, host, &legacy) : NULL;
        if (!host || (kp && !*kp) || (e->string && !strcmp(e->string, host))) {
            json_wipe_delete(cJSON_DetachItemViaPointer(auths, e));
            found = 1;
        }
    }
    rc = found || !host ? auth_file_write(path, j, err)
                        : airlock_error_set(err, AIRLOCK_ENOTFOUND, "not logged in to '%s' in '%s'",
                                            host, path);
    json_wipe_delete(j);
    return rc;
}
