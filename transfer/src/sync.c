/* Sync: the unattended job inside the air gap. Every bundle (or complete split set) that has
 * arrived in an inbox is checked (every blob, every signature with every required key),
 * pushed, verified in the registry, and moved to done/ or failed/ with a report beside it;
 * each run writes a report and appends to an audit log. One run at a time per inbox (a lock);
 * a run with nothing new only lists the inbox. */
#include "transfer_int.h"
#include "airlock/sign.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sync_rule {
    char *match;
    char *to;
    char **map;
    size_t n_map;
    struct airlock_pubkey **keys;
    char **key_paths;
    size_t n_keys;
    char *identity;
    struct airlock_annotation *ann;
    size_t n_ann;
    struct airlock_registry_opts ro;
    char *strings[8]; /* registry option strings owned here */
};

struct airlock_sync_config {
    char *inbox, *done, *failed, *report, *audit;
    int settle;
    int keep_days;
    struct sync_rule *rules;
    size_t n_rules;
};

void airlock_sync_config_free(struct airlock_sync_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_rules; i++) {
        struct sync_rule *r = &c->rules[i];
        free(r->match);
        free(r->to);
        for (size_t k = 0; k < r->n_map; k++)
            free(r->map[k]);
        free(r->map);
        for (size_t k = 0; k < r->n_keys; k++) {
            airlock_pubkey_free(r->keys[k]);
            free(r->key_paths[k]);
        }
        free(r->keys);
        free(r->key_paths);
        free(r->identity);
        for (size_t k = 0; k < r->n_ann; k++) {
            free((char *)r->ann[k].key);
            free((char *)r->ann[k].value);
        }
        free(r->ann);
        for (size_t k = 0; k < 8; k++)
            free(r->strings[k]);
    }
    free(c->rules);
    free(c->inbox);
    free(c->done);
    free(c->failed);
    free(c->report);
    free(c->audit);
    free(c);
}

static int add_key(struct sync_rule *r, const char *path, struct airlock_error **err)
{
    char *pem = NULL;
    size_t len = 0;
    int rc = transfer_read_file(path, 65536, 0, AIRLOCK_EUSAGE, &pem, &len, err);
    struct airlock_pubkey *k = NULL;
    if (!rc)
        rc = airlock_pubkey_parse(&k, pem, len, path, err);
    free(pem);
    if (rc)
        return rc == AIRLOCK_EOS ? rc : AIRLOCK_EUSAGE;
    struct airlock_pubkey **ks = realloc(r->keys, (r->n_keys + 1) * sizeof(*ks));
    char **ps = ks ? realloc(r->key_paths, (r->n_keys + 1) * sizeof(*ps)) : NULL;
    if (ks)
        r->keys = ks;
    if (!ps) {
        airlock_pubkey_free(k);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    r->key_paths = ps;
    r->keys[r->n_keys] = k;
    r->key_paths[r->n_keys++] = strdup(path);
    return 0;
}

static int add_map(struct sync_rule *r, const char *src, const char *dst)
{
    char **m = realloc(r->map, (r->n_map + 1) * sizeof(*m));
    if (!m)
        return -1;
    r->map = m;
    if (asprintf(&r->map[r->n_map], "%s=%s", src, dst) < 0)
        return -1;
    r->n_map++;
    return 0;
}

static struct airlock_sync_config *config_new(void)
{
    struct airlock_sync_config *c = calloc(1, sizeof(*c));
    if (c)
        c->settle = 30;
    return c;
}

static int finish_dirs(struct airlock_sync_config *c, struct airlock_error **err)
{
    if ((!c->done && asprintf(&c->done, "%s/done", c->inbox) < 0) ||
        (!c->failed && asprintf(&c->failed, "%s/failed", c->inbox) < 0) ||
        (!c->audit && asprintf(&c->audit, "%s/airlock-audit.log", c->inbox) < 0))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    return 0;
}

/* The command-line form's one rule, filled in; non-zero when out of memory. */
static int simple_rule(struct sync_rule *r, const char *to, const char *identity,
                       const char *const *map, size_t n_map, const struct airlock_registry_opts *ro)
{
    struct airlock_registry_opts def = AIRLOCK_REGISTRY_OPTS_INIT;
    r->ro = ro ? *ro : def;
    if (!(r->match = strdup("*")) || !(r->to = strdup(to)) ||
        (identity && !(r->identity = strdup(identity))))
        return -1;
    for (size_t i = 0; i < n_map; i++) {
        const char *eq = strchr(map[i], '=');
        char *src = eq ? strndup(map[i], (size_t)(eq - map[i])) : NULL;
        int bad = !src || add_map(r, src, eq + 1);
        free(src);
        if (bad)
            return -1;
    }
    return 0;
}

int airlock_sync_config_simple(struct airlock_sync_config **out, const char *inbox,
                               const char *to, const char *const *keys, size_t n_keys,
                               const char *identity, const char *const *map, size_t n_map,
                               const struct airlock_registry_opts *ro, int settle,
                               struct airlock_error **err)
{
    struct airlock_sync_config *c = config_new();
    int rc = 0;
    if (!c || !(c->inbox = strdup(inbox)) || !(c->rules = calloc(1, sizeof(*c->rules))) ||
        (c->n_rules = 1, simple_rule(&c->rules[0], to, identity, map, n_map, ro)))
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    if (!rc && settle >= 0)
        c->settle = settle;
    for (size_t i = 0; i < n_keys && !rc; i++)
        rc = add_key(&c->rules[0], keys[i], err);
    if (!rc)
        rc = finish_dirs(c, err);
    if (rc) {
        airlock_sync_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static char *jdup(const cJSON *o, const char *k) { return jstr(o, k) ? strdup(jstr(o, k)) : NULL; }

static int jint(const cJSON *o, const char *k, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : def;
}

static int jbool(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

int airlock_sync_config_load(struct airlock_sync_config **out, const char *path,
                             struct airlock_error **err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = transfer_read_file(path, 1 << 20, 0, AIRLOCK_EUSAGE, &text, &len, err);
    if (rc)
        return rc;
    rc = sync_config_parse(out, text, len, path, err);
    free(text);
    return rc;
}

int sync_config_parse(struct airlock_sync_config **out, const char *text, size_t len,
                      const char *path, struct airlock_error **err)
{
    int rc = 0;
    cJSON *j = cJSON_ParseWithLength(text, len);
    struct airlock_sync_config *c = config_new();
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules"), *it;
    if (!c) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!cJSON_IsObject(j) || !jstr(j, "inbox") || !cJSON_IsArray(rules) ||
        !cJSON_GetArraySize(rules)) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "config '%s': wants a JSON object with \"inbox\" and a non-empty "
                               "\"rules\" list",
                               path);
        goto out;
    }
    c->inbox = jdup(j, "inbox");
    c->done = jdup(j, "done");
    c->failed = jdup(j, "failed");
    c->report = jdup(j, "report");
    c->audit = jdup(j, "auditLog");
    c->settle = jint(j, "settleSeconds", 30);
    c->keep_days = jint(j, "keepDays", 0);
    c->rules = calloc((size_t)cJSON_GetArraySize(rules), sizeof(*c->rules));
    if (!c->rules) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(it, rules)
    {
        struct sync_rule *r = &c->rules[c->n_rules++];
        struct airlock_registry_opts def = AIRLOCK_REGISTRY_OPTS_INIT;
        r->ro = def;
        r->match = strdup(jstr(it, "match") ? jstr(it, "match") : "*");
        r->to = jdup(it, "to");
        r->identity = jdup(it, "identity");
        if (!r->to) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': rule %zu has no \"to\"",
                                   path, c->n_rules);
            goto out;
        }
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(it, "keys"), *k;
        if (!cJSON_IsArray(keys) || !cJSON_GetArraySize(keys)) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "config '%s': rule %zu has no \"keys\" (every bundle must be "
                                   "signed)",
                                   path, c->n_rules);
            goto out;
        }
        cJSON_ArrayForEach(k, keys)
        {
            if (!cJSON_GetStringValue(k)) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': a key is not a path",
                                       path);
                goto out;
            }
            if ((rc = add_key(r, k->valuestring, err)))
                goto out;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(it, "map"))
        {
            if (!m->string || !cJSON_GetStringValue(m) || add_map(r, m->string, m->valuestring)) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': a bad map entry", path);
                goto out;
            }
        }
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(it, "annotations"))
        {
            struct airlock_annotation *an = realloc(r->ann, (r->n_ann + 1) * sizeof(*an));
            if (an)
                r->ann = an;
            if (!an || !a->string || !cJSON_GetStringValue(a)) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': a bad annotation", path);
                goto out;
            }
            r->ann[r->n_ann].key = strdup(a->string);
            r->ann[r->n_ann++].value = strdup(a->valuestring);
        }
        const cJSON *reg = cJSON_GetObjectItemCaseSensitive(it, "registry");
        static const char *names[] = {"caFile", "clientCert", "clientKey", "authFile"};
        for (int s = 0; s < 4; s++)
            r->strings[s] = jdup(reg, names[s]);
        r->ro.ca_file = r->strings[0];
        r->ro.client_cert = r->strings[1];
        r->ro.client_key = r->strings[2];
        r->ro.auth_file = r->strings[3];
        r->ro.plain_http = jbool(reg, "plainHttp");
        r->ro.insecure = jbool(reg, "insecure");
        r->ro.parallel = jint(reg, "parallel", 4);
        r->ro.retries = jint(reg, "retries", 5);
    }
    rc = finish_dirs(c, err);
out:
    cJSON_Delete(j);
    if (rc) {
        airlock_sync_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- the inbox ---------------------------------------------------------------------------- */

struct candidate {
    char *name;   /* as in the inbox: "release.tar", "images/", "set.tar" (a split set) */
    char *path;   /* what to open: the file, the directory, or the set's first part */
    char **files; /* what to move afterwards */
    size_t n_files;
    time_t newest;
    int parts; /* named NAME.001...: a split set to check for completeness */
};

static void candidate_free(struct candidate *c)
{
    free(c->name);
    free(c->path);
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i]);
    free(c->files);
}

static int newest_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw);
static time_t newest_seen;
static int newest_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)p;
    (void)flag;
    (void)ftw;
    if (sb->st_mtime > newest_seen)
        newest_seen = sb->st_mtime;
    return 0;
}

/* "set.tar.003" -> 3 and the base length; 0 if the name has no part number */
static unsigned part_number(const char *name, size_t *base_len)
{
    size_t n = strlen(name), d = 0;
    while (d < n && name[n - 1 - d] >= '0' && name[n - 1 - d] <= '9')
        d++;
    if (d < 3 || d >= n || name[n - 1 - d] != '.')
        return 0;
    *base_len = n - 1 - d;
    return (unsigned)strtoul(name + n - d, NULL, 10);
}

/* Same file? (the configured done/, failed/, report and audit log may sit in the inbox) */
static int same_file(const char *path, const char *other)
{
    struct stat a, b;
    return other && lstat(path, &a) == 0 && lstat(other, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int skip_name(const struct airlock_sync_config *c, const char *name, const char *path)
{
    size_t n = strlen(name);
    return name[0] == '.' || !strcmp(name, "done") || !strcmp(name, "failed") ||
           (n > 12 && !strcmp(name + n - 12, ".report.json")) ||
           (n > 4 && !strcmp(name + n - 4, ".log")) || same_file(path, c->done) ||
           same_file(path, c->failed) || same_file(path, c->report) || same_file(path, c->audit);
}

static int list_inbox(const struct airlock_sync_config *c, struct candidate **out, size_t *n_out,
                      struct airlock_error **err)
{
    DIR *d = opendir(c->inbox);
    if (!d)
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "inbox '%s'", c->inbox);
    struct candidate *cs = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        char *path = NULL;
        struct stat st;
        if (asprintf(&path, "%s/%s", c->inbox, de->d_name) < 0) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        if (skip_name(c, de->d_name, path)) {
            free(path);
            continue;
        }
        if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            free(path);
            continue;
        }
        size_t base_len = 0;
        unsigned part = S_ISREG(st.st_mode) ? part_number(de->d_name, &base_len) : 0;
        char *name = part ? strndup(de->d_name, base_len) : strdup(de->d_name);
        size_t i;
        for (i = 0; i < n && strcmp(cs[i].name, name); i++)
            ;
        if (i == n) {
            struct candidate *m = realloc(cs, (n + 1) * sizeof(*m));
            if (!m || !name) {
                free(name);
                free(path);
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                break;
            }
            cs = m;
            memset(&cs[n], 0, sizeof(cs[n]));
            cs[n].name = name;
            name = NULL;
            n++;
        }
        free(name);
        struct candidate *cd = &cs[i];
        cd->parts |= part != 0;
        char **f = realloc(cd->files, (cd->n_files + 1) * sizeof(*f));
        if (!f) {
            free(path);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        cd->files = f;
        cd->files[cd->n_files++] = strdup(path);
        newest_seen = st.st_mtime;
        if (S_ISDIR(st.st_mode))
            nftw(path, newest_cb, 16, FTW_PHYS);
        if (newest_seen > cd->newest)
            cd->newest = newest_seen;
        if (!cd->path || (part && part == 1)) {
            free(cd->path);
            cd->path = path;
        } else
            free(path);
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            candidate_free(&cs[i]);
        free(cs);
        return rc;
    }
    *out = cs;
    *n_out = n;
    return 0;
}

/* ---- one bundle --------------------------------------------------------------------------- */

static char *now_iso(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static void audit(const struct airlock_sync_config *c, const char *event, const char *bundle,
                  const char *ref, const char *digest, const char *detail)
{
    cJSON *j = cJSON_CreateObject();
    char ts[32], host[256] = "";
    struct passwd *pw = getpwuid(geteuid());
    gethostname(host, sizeof(host) - 1);
    cJSON_AddStringToObject(j, "time", now_iso(ts));
    cJSON_AddStringToObject(j, "host", host);
    cJSON_AddStringToObject(j, "user", pw ? pw->pw_name : "?");
    cJSON_AddStringToObject(j, "event", event);
    cJSON_AddStringToObject(j, "bundle", bundle);
    if (ref)
        cJSON_AddStringToObject(j, "ref", ref);
    if (digest)
        cJSON_AddStringToObject(j, "digest", digest);
    if (detail)
        cJSON_AddStringToObject(j, "detail", detail);
    char *line = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int fd = line ? open(c->audit, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : -1;
    if (fd >= 0) {
        size_t n = strlen(line);
        line[n] = '\n'; /* one write: lines from two runs never interleave */
        (void)!write(fd, line, n + 1);
        close(fd);
    }
    free(line);
}

static const struct sync_rule *rule_for(const struct airlock_sync_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_rules; i++)
        if (!fnmatch(c->rules[i].match, name, 0))
            return &c->rules[i];
    return NULL;
}

/* Moves the candidate's files into dir (made if needed); a name already there gets a suffix. */
static int move_to(const struct candidate *cd, const char *dir, char **report_path,
                   struct airlock_error **err)
{
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "create '%s'", dir);
    char suffix[32] = "";
    for (int attempt = 0; attempt < 100; attempt++) {
        int clash = 0;
        for (size_t i = 0; i < cd->n_files && !clash; i++) {
            const char *b = strrchr(cd->files[i], '/') + 1;
            char *to = NULL;
            struct stat st;
            if (asprintf(&to, "%s/%s%s", dir, b, suffix) >= 0)
                clash = lstat(to, &st) == 0;
            free(to);
        }
        if (!clash)
            break;
        snprintf(suffix, sizeof(suffix), ".%ld-%d", (long)time(NULL), attempt + 1);
    }
    for (size_t i = 0; i < cd->n_files; i++) {
        const char *b = strrchr(cd->files[i], '/') + 1;
        char *to = NULL;
        if (asprintf(&to, "%s/%s%s", dir, b, suffix) < 0)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        if (rename(cd->files[i], to) < 0) {
            int e = errno;
            free(to);
            return airlock_error_set_errno(err, AIRLOCK_EOS, e, "move '%s' to '%s'", cd->files[i],
                                           dir);
        }
        utimensat(AT_FDCWD, to, NULL, AT_SYMLINK_NOFOLLOW); /* keepDays counts from now */
        free(to);
    }
    if (asprintf(report_path, "%s/%s%s.report.json", dir, cd->name, suffix) < 0)
        *report_path = NULL;
    return 0;
}

static void write_file(const char *path, const char *text)
{
    char *tmp = NULL;
    if (!path || asprintf(&tmp, "%s.tmp", path) < 0)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        int ok = core_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;
        close(fd);
        if (ok)
            rename(tmp, path);
        else
            unlink(tmp);
    }
    free(tmp);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifies, pushes and verifies in the registry; fills the bundle's report. 0: pushed. */
static int process(const struct airlock_sync_config *c, const struct sync_rule *r,
                   const struct candidate *cd, cJSON *rep, struct airlock_error **err)
{
    struct airlock_bundle *b = NULL;
    struct airlock_verify_report *vr = NULL;
    struct airlock_push_result *pr = NULL;
    int rc = airlock_bundle_open(&b, cd->path, AIRLOCK_OPEN_HASH, err);
    if (!rc)
        rc = airlock_bundle_verify(&vr, b, NULL, err);
    if (!rc) {
        cJSON *iv = cJSON_AddObjectToObject(rep, "integrity");
        cJSON_AddBoolToObject(iv, "ok", vr->ok);
        cJSON_AddNumberToObject(iv, "blobs", (double)vr->checked);
        cJSON_AddNumberToObject(iv, "bytes", (double)vr->bytes);
        if (!vr->ok)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': %s", cd->name,
                                   vr->n_problems ? vr->problems[0] : "integrity check failed");
    }
    /* every required key must have a verified signature on every image */
    cJSON *sigs = cJSON_AddArrayToObject(rep, "signatures");
    for (size_t k = 0; !rc && k < r->n_keys; k++) {
        struct airlock_sig_report *sr = NULL;
        struct airlock_sig_check_opts so = {r->keys[k], r->identity, r->ann, r->n_ann};
        rc = airlock_bundle_verify_signatures(&sr, b, &so, err);
        if (rc)
            break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", r->key_paths[k]);
        cJSON_AddBoolToObject(o, "ok", sr->ok);
        cJSON_AddItemToArray(sigs, o);
        for (size_t i = 0; i < sr->n_images && !rc; i++)
            if (!sr->images[i].ok)
                rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                       "'%s': image '%s' has no signature that verifies with '%s'%s%s",
                                       cd->name, sr->images[i].ref ? sr->images[i].ref
                                                                   : sr->images[i].digest,
                                       r->key_paths[k], sr->images[i].n_failures ? ": " : "",
                                       sr->images[i].n_failures ? sr->images[i].failures[0] : "");
        airlock_sig_report_free(sr);
    }
    if (!rc) {
        struct airlock_push_opts po = {r->n_keys ? r->keys[0] : NULL, r->identity, r->ann,
                                       r->n_ann, (const char *const *)r->map, r->n_map};
        rc = airlock_push(&pr, b, r->to, &r->ro, &po, err);
    }
    if (!rc) {
        cJSON *imgs = cJSON_AddArrayToObject(rep, "images");
        for (size_t i = 0; i < pr->n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "ref", pr->refs[i]);
            cJSON_AddStringToObject(o, "digest", pr->digests[i]);
            cJSON_AddItemToArray(imgs, o);
            audit(c, "pushed", cd->name, pr->refs[i], pr->digests[i], NULL);
        }
        cJSON_AddNumberToObject(rep, "blobsUploaded", (double)pr->blobs_uploaded);
        cJSON_AddNumberToObject(rep, "blobsSkipped", (double)pr->blobs_skipped);
        cJSON_AddNumberToObject(rep, "blobsMounted", (double)pr->blobs_mounted);
        cJSON_AddNumberToObject(rep, "bytesUploaded", (double)pr->bytes_uploaded);
        cJSON_AddNumberToObject(rep, "signaturesVerifiedInRegistry",
                                (double)pr->signatures_verified);
    }
    airlock_push_result_free(pr);
    airlock_verify_report_free(vr);
    airlock_bundle_free(b);
    return rc;
}

static void expire(const struct airlock_sync_config *c)
{
    if (c->keep_days <= 0)
        return;
    DIR *d = opendir(c->done);
    if (!d)
        return;
    time_t limit = time(NULL) - (time_t)c->keep_days * 86400;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *p = NULL;
        struct stat st;
        if (de->d_name[0] == '.' || asprintf(&p, "%s/%s", c->done, de->d_name) < 0)
            continue;
        if (lstat(p, &st) == 0 && st.st_mtime < limit) {
            airlock_remove_tree(p);
            audit(c, "expired", de->d_name, NULL, NULL, c->done);
        }
        free(p);
    }
    closedir(d);
}

int airlock_sync_run(struct airlock_sync_result **out, const struct airlock_sync_config *c,
                     struct airlock_error **err)
{
    char *lockpath = NULL;
    if (asprintf(&lockpath, "%s/.airlock-sync.lock", c->inbox) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    free(lockpath);
    if (lock < 0)
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "inbox '%s': lock", c->inbox);
    struct airlock_sync_result *res = calloc(1, sizeof(*res));
    if (!res) {
        close(lock);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
        close(lock);
        res->busy = 1;
        *out = res;
        return 0; /* another run has it: nothing to do, nothing pushed twice */
    }
    struct candidate *cs = NULL;
    size_t n = 0;
    int rc = 0;
    /* done/ and failed/ on the inbox's file system: a bundle is filed by rename, never left
     * behind half-moved to be pushed again */
    const char *dirs[2] = {c->done, c->failed};
    struct stat in_st, d_st;
    if (stat(c->inbox, &in_st) < 0)
        rc = airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "inbox '%s'", c->inbox);
    for (int k = 0; k < 2 && !rc; k++) {
        if (mkdir(dirs[k], 0750) < 0 && errno != EEXIST)
            rc = airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "create '%s'", dirs[k]);
        else if (stat(dirs[k], &d_st) < 0 || d_st.st_dev != in_st.st_dev)
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "'%s' is not on the inbox's file system: bundles are moved "
                                   "there by rename",
                                   dirs[k]);
    }
    if (!rc)
        rc = list_inbox(c, &cs, &n, err);
    cJSON *run = cJSON_CreateObject(), *arr;
    char ts[32];
    cJSON_AddStringToObject(run, "started", now_iso(ts));
    cJSON_AddStringToObject(run, "inbox", c->inbox);
    arr = cJSON_AddArrayToObject(run, "bundles");
    time_t now = time(NULL);
    for (size_t i = 0; !rc && i < n; i++) {
        struct candidate *cd = &cs[i];
        cJSON *rep = cJSON_CreateObject();
        cJSON_AddStringToObject(rep, "bundle", cd->name);
        const struct sync_rule *r = rule_for(c, cd->name);
        const char *status = NULL, *why = NULL;
        struct airlock_bundle *probe = NULL;
        struct airlock_split_info si;
        if (!r) {
            status = "skipped";
            why = "no rule matches its name";
        } else if (now - cd->newest < c->settle) {
            status = "waiting";
            why = "still arriving (modified in the last settleSeconds)";
        } else if (cd->parts && /* (only parts are opened here: a .tar.zst is a whole pass) */
                   !airlock_bundle_open(&probe, cd->path, AIRLOCK_OPEN_PART, NULL) &&
                   airlock_bundle_split_info(probe, &si) && si.parts != cd->n_files) {
            status = "waiting";
            why = "a split set whose parts have not all arrived";
        }
        airlock_bundle_free(probe);
        if (status) {
            cJSON_AddStringToObject(rep, "status", status);
            cJSON_AddStringToObject(rep, "reason", why);
            if (!strcmp(status, "waiting"))
                res->waiting++;
            else
                res->skipped++;
            cJSON_AddItemToArray(arr, rep);
            continue;
        }
        double t0 = mono();
        struct airlock_error *e = NULL;
        int prc = process(c, r, cd, rep, &e);
        cJSON_AddNumberToObject(rep, "seconds", (int)((mono() - t0) * 1000) / 1000.0);
        cJSON_AddStringToObject(rep, "status", prc ? "failed" : "pushed");
        cJSON_AddStringToObject(rep, "to", r->to);
        if (prc) {
            cJSON_AddStringToObject(rep, "error", e ? e->msg : "failed");
            cJSON_AddNumberToObject(rep, "code", prc);
            audit(c, "failed", cd->name, NULL, NULL, e ? e->msg : NULL);
            res->failed++;
        } else
            res->pushed++;
        char *report_path = NULL;
        struct airlock_error *me = NULL;
        if (move_to(cd, prc ? c->failed : c->done, &report_path, &me)) {
            cJSON_AddStringToObject(rep, "moveError", me->msg);
            res->failed += prc ? 0 : 1;
            airlock_error_free(me);
        } else {
            cJSON_AddStringToObject(rep, "movedTo", prc ? c->failed : c->done);
            char *text = cJSON_Print(rep);
            write_file(report_path, text ? text : "{}");
            free(text);
        }
        free(report_path);
        airlock_error_free(e);
        cJSON_AddItemToArray(arr, rep);
    }
    expire(c);
    cJSON_AddStringToObject(run, "finished", now_iso(ts));
    cJSON_AddNumberToObject(run, "pushed", (double)res->pushed);
    cJSON_AddNumberToObject(run, "failed", (double)res->failed);
    cJSON_AddNumberToObject(run, "waiting", (double)res->waiting);
    cJSON_AddNumberToObject(run, "skipped", (double)res->skipped);
    res->report = cJSON_Print(run);
    cJSON_Delete(run);
    if (!rc && c->report && res->report)
        write_file(c->report, res->report);
    for (size_t i = 0; i < n; i++)
        candidate_free(&cs[i]);
    free(cs);
    close(lock);
    if (rc) {
        airlock_sync_result_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void airlock_sync_result_free(struct airlock_sync_result *r)
{
    if (!r)
        return;
    free(r->report);
    free(r);
}
