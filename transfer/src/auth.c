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
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
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
    cJSON *j = out ? cJSON_ParseWithLength(out, len) : NULL;
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

/* One auth file: auths entries (several key spellings), credHelpers, credsStore. */
static int from_file(char **user, char **pass, const char *path, const char *host,
                     struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    struct airlock_error *e = NULL;
    if (transfer_read_file(path, 1 << 20, 1, AIRLOCK_ENOTFOUND, &text, &len, &e)) {
        int missing = e && e->sys_errno; /* could not open or read: as if it were not there */
        airlock_error_free(e);
        return missing ? AIRLOCK_ENOTFOUND
                       : airlock_error_set(err, AIRLOCK_EUSAGE, "auth file '%s' is not valid JSON",
                                           path);
    }
    int rc = auth_text_lookup(user, pass, text, path, host, run_helper, err);
    airlock_wipe(text, len);
    free(text);
    return rc;
}

int auth_text_lookup(char **user, char **pass, const char *text, const char *path,
                     const char *host, auth_helper_fn helper_fn, struct airlock_error **err)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "auth file '%s' is not valid JSON", path);
    int rc = AIRLOCK_ENOTFOUND;
    const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(j, "credHelpers");
    const char *helper = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(helpers, host));
    const cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
    char keys[4][300];
    snprintf(keys[0], sizeof(keys[0]), "%s", host);
    snprintf(keys[1], sizeof(keys[1]), "https://%s", host);
    snprintf(keys[2], sizeof(keys[2]), "http://%s", host);
    snprintf(keys[3], sizeof(keys[3]), "%s",
             !strcmp(host, "docker.io") || !strcmp(host, "registry-1.docker.io")
                 ? "https://index.docker.io/v1/"
                 : host);
    const cJSON *entry = NULL;
    for (int i = 0; i < 4 && !entry; i++)
        entry = cJSON_GetObjectItemCaseSensitive(auths, keys[i]);
    if (helper) {
        rc = helper_fn(user, pass, helper, host, NULL);
    } else if (entry) {
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "auth"));
        unsigned char *dec = NULL;
        size_t dl = 0;
        if (a && !airlock_b64_decode(&dec, &dl, a, strlen(a), NULL)) {
            char *colon = memchr(dec, ':', dl);
            if (colon) {
                *user = strndup((char *)dec, (size_t)(colon - (char *)dec));
                *pass = strndup(colon + 1, dl - (size_t)(colon - (char *)dec) - 1);
                rc = 0;
            }
            airlock_wipe(dec, dl);
            free(dec);
        }
        if (rc)
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "auth file '%s': entry for '%s' is malformed",
                                   path, host);
    } else {
        const char *store = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "credsStore"));
        if (store)
            rc = helper_fn(user, pass, store, host, NULL) ? AIRLOCK_ENOTFOUND : 0;
    }
    json_wipe_delete(j);
    return rc;
}

int auth_lookup(char **user, char **pass, const char *host, const struct airlock_registry_opts *o,
                struct airlock_error **err)
{
    if (o->username) {
        *user = strdup(o->username);
        *pass = strdup(o->password ? o->password : "");
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
        if ((e = getenv("XDG_RUNTIME_DIR")))
            snprintf(paths[n++], sizeof(paths[0]), "%s/containers/auth.json", e);
        const char *home = getenv("HOME");
        if (home)
            snprintf(paths[n++], sizeof(paths[0]), "%s/.config/containers/auth.json", home);
        if ((e = getenv("DOCKER_CONFIG")))
            snprintf(paths[n++], sizeof(paths[0]), "%s/config.json", e);
        else if (home)
            snprintf(paths[n++], sizeof(paths[0]), "%s/.docker/config.json", home);
    }
    for (int i = 0; i < n; i++) {
        int rc = from_file(user, pass, paths[i], host, err);
        if (rc != AIRLOCK_ENOTFOUND)
            return rc;
    }
    return AIRLOCK_ENOTFOUND;
}
