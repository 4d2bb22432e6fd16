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

/* A lock held longer than this (seconds) is reported as an error instead of "another run is
 * busy": 6 hours is several times what a run over a full stick takes (tens of GB verified
 * twice and pushed over an internal link), and short enough that a hung run (a FIFO, a
 * stalled mount) is noticed on the same working day. lockTimeoutSeconds changes it. */
#define SYNC_LOCK_TIMEOUT (6 * 3600)

struct sync_rule {
    char *match;
    char *to;
    char **map;
    size_t n_map;
    struct airlock_pubkey **keys;
    char **key_paths;
    size_t n_keys;
    char *identity;
    int identity_any; /* "identityCheck": "any": the destination rule is off */
    struct airlock_annotation *ann;
    size_t n_ann;
    struct airlock_registry_opts ro;
    char *strings[8]; /* registry option strings owned here */
    struct airlock_policy *policy; /* "policy": a containers/image policy.json push checks */
    char *policy_path;
    char **atts; /* "attestations": types each image needs a verified attestation of */
    size_t n_atts;
};

struct airlock_sync_config {
    char *inbox, *done, *failed, *report, *audit;
    int settle;
    int keep_days;
    int lock_timeout; /* seconds: a lock held longer is reported, not waited on */
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
        for (size_t k = 0; k < r->n_atts; k++)
            free(r->atts[k]);
        free(r->atts);
        free(r->identity);
        for (size_t k = 0; k < r->n_ann; k++) {
            free((char *)r->ann[k].key);
            free((char *)r->ann[k].value);
        }
        free(r->ann);
        for (size_t k = 0; k < 8; k++)
            free(r->strings[k]);
        airlock_policy_free(r->policy);
        free(r->policy_path);
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
    if (c) {
        c->settle = 30;
        c->lock_timeout = SYNC_LOCK_TIMEOUT;
    }
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

const char *airlock_sync_config_relaxed(const struct airlock_sync_config *c)
{
    for (size_t i = 0; c && i < c->n_rules; i++)
        if (c->rules[i].identity_any)
            return c->rules[i].to;
    return NULL;
}

void airlock_sync_config_identity_any(struct airlock_sync_config *c)
{
    for (size_t i = 0; c && i < c->n_rules; i++)
        c->rules[i].identity_any = 1;
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

/* ---- the config file's members: one table per object, every member checked ---------------- */

enum member_type { M_STR, M_INT, M_BOOL, M_STRLIST, M_STRMAP, M_OBJ, M_LIST };
struct member {
    const char *name;
    enum member_type type;
    long min, max; /* M_INT: the range; M_STRLIST: the most items */
};
static const struct member top_members[] = {
    {"inbox", M_STR, 0, 0},
    {"done", M_STR, 0, 0},
    {"failed", M_STR, 0, 0},
    {"report", M_STR, 0, 0},
    {"auditLog", M_STR, 0, 0},
    {"settleSeconds", M_INT, 0, 86400},
    {"keepDays", M_INT, 0, 36500},
    {"lockTimeoutSeconds", M_INT, 1, 30L * 86400},
    {"rules", M_LIST, 0, 0},
};
static const struct member rule_members[] = {
    {"match", M_STR, 0, 0},       {"to", M_STR, 0, 0},          {"keys", M_STRLIST, 1, 16},
    {"identity", M_STR, 0, 0},    {"annotations", M_STRMAP, 0, 0}, {"map", M_STRMAP, 0, 0},
    {"registry", M_OBJ, 0, 0},    {"policy", M_STR, 0, 0},    {"identityCheck", M_STR, 0, 0},
    {"attestations", M_STRLIST, 1, 16},
};
static const struct member registry_members[] = {
    {"caFile", M_STR, 0, 0},     {"clientCert", M_STR, 0, 0}, {"clientKey", M_STR, 0, 0},
    {"authFile", M_STR, 0, 0},   {"plainHttp", M_BOOL, 0, 0}, {"insecure", M_BOOL, 0, 0},
    {"parallel", M_INT, 1, 64},  {"retries", M_INT, 1, 100},  {"trustRealm", M_STR, 0, 0},
};

static int is_string(const cJSON *v) { return cJSON_GetStringValue(v) && *v->valuestring; }

/* One member's value against its type; 0 or the phrase saying what it must be. */
static const char *member_bad(const struct member *m, const cJSON *v, char buf[160])
{
    const cJSON *it = NULL;
    int n = 0;
    switch (m->type) {
    case M_STR:
        return is_string(v) ? NULL : "must be a non-empty string";
    case M_BOOL:
        return cJSON_IsBool(v) ? NULL : "must be true or false";
    case M_INT:
        if (cJSON_IsNumber(v) && v->valuedouble >= (double)m->min &&
            v->valuedouble <= (double)m->max && v->valuedouble == (double)(long)v->valuedouble)
            return NULL;
        snprintf(buf, 160, "must be a whole number from %ld to %ld", m->min, m->max);
        return buf;
    case M_STRLIST:
        if (cJSON_IsArray(v)) {
            cJSON_ArrayForEach(it, v)
            {
                if (!is_string(it) || ++n > m->max)
                    break;
            }
        }
        if (cJSON_IsArray(v) && !it && n >= m->min)
            return NULL;
        snprintf(buf, 160, "must be a list of %ld to %ld non-empty strings", m->min, m->max);
        return buf;
    case M_STRMAP:
        if (cJSON_IsObject(v)) {
            cJSON_ArrayForEach(it, v)
            {
                if (!is_string(it) || !it->string || !*it->string)
                    break;
            }
        }
        if (cJSON_IsObject(v) && !it)
            return NULL;
        if (cJSON_IsObject(v)) {
            snprintf(buf, 160, "member \"%.40s\" must map a non-empty name to a non-empty string",
                     it->string ? it->string : "");
            return buf;
        }
        return "must be an object of strings ({\"name\": \"value\"})";
    case M_OBJ:
        return cJSON_IsObject(v) ? NULL : "must be an object";
    case M_LIST:
        return cJSON_IsArray(v) ? NULL : "must be a list";
    }
    return "has an unknown type";
}

/* Every member of o is in the table, given once, of its type. where: "" or "rule 2: ". */
static int check_members(const cJSON *o, const struct member *t, size_t n, const char *path,
                         const char *where, struct airlock_error **err)
{
    const cJSON *v;
    unsigned seen = 0; /* tables have fewer than 32 members */
    cJSON_ArrayForEach(v, o)
    {
        size_t i;
        char buf[160];
        for (i = 0; i < n && strcmp(t[i].name, v->string); i++)
            ;
        if (i == n)
            return airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': %sunknown member \"%s\"",
                                     path, where, v->string);
        if (seen & (1u << i))
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "config '%s': %smember \"%s\" given twice", path, where,
                                     v->string);
        seen |= 1u << i;
        const char *bad = member_bad(&t[i], v, buf);
        if (bad)
            return airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': %s\"%s\" %s", path,
                                     where, v->string, bad);
    }
    return 0;
}

#define CHECK_MEMBERS(o, table, path, where, err)                                                  \
    check_members(o, table, sizeof(table) / sizeof(table[0]), path, where, err)

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
    cJSON *j = core_json_parse(text, len, NULL);
    struct airlock_sync_config *c = config_new();
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules"), *it;
    size_t ri = 0;
    if (!c) {
        cJSON_Delete(j);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    if (!cJSON_IsObject(j)) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': not a JSON object", path);
        goto out;
    }
    if ((rc = CHECK_MEMBERS(j, top_members, path, "", err)))
        goto out;
    if (!jstr(j, "inbox") || !cJSON_IsArray(rules) || !cJSON_GetArraySize(rules)) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "config '%s': wants a JSON object with \"inbox\" and a non-empty "
                               "\"rules\" list",
                               path);
        goto out;
    }
    cJSON_ArrayForEach(it, rules)
    {
        char where[64], rwhere[80];
        snprintf(where, sizeof(where), "rule %zu: ", ++ri);
        snprintf(rwhere, sizeof(rwhere), "rule %zu: \"registry\": ", ri);
        if (!cJSON_IsObject(it)) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': %snot an object", path,
                                   where);
            goto out;
        }
        if ((rc = CHECK_MEMBERS(it, rule_members, path, where, err)) ||
            (rc = CHECK_MEMBERS(cJSON_GetObjectItemCaseSensitive(it, "registry"),
                                registry_members, path, rwhere, err)))
            goto out;
    }
    c->inbox = jdup(j, "inbox");
    c->done = jdup(j, "done");
    c->failed = jdup(j, "failed");
    c->report = jdup(j, "report");
    c->audit = jdup(j, "auditLog");
    c->settle = jint(j, "settleSeconds", 30);
    c->keep_days = jint(j, "keepDays", 0);
    c->lock_timeout = jint(j, "lockTimeoutSeconds", c->lock_timeout);
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
        const char *ic = jstr(it, "identityCheck");
        if (ic && strcmp(ic, "destination") && strcmp(ic, "any")) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "config '%s': rule %zu: \"identityCheck\" must be "
                                   "\"destination\" (the default: signatures must name each "
                                   "image's reference at \"to\") or \"any\", not '%s'",
                                   path, c->n_rules, ic);
            goto out;
        }
        r->identity_any = ic && !strcmp(ic, "any");
        if (!r->to) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE, "config '%s': rule %zu has no \"to\"",
                                   path, c->n_rules);
            goto out;
        }
        /* "policy": checked by push for every image and platform at its destination */
        if ((r->policy_path = jdup(it, "policy")) &&
            (rc = airlock_policy_load(&r->policy, r->policy_path, err))) {
            airlock_error_wrap(err, "config '%s': rule %zu", path, c->n_rules);
            goto out;
        }
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(it, "keys"), *k;
        /* "attestations": verify-attestation's rule, with the rule's keys */
        const cJSON *atts = cJSON_GetObjectItemCaseSensitive(it, "attestations");
        if (atts && !cJSON_GetArraySize(keys)) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "config '%s': rule %zu: \"attestations\" need \"keys\" to "
                                   "verify them with",
                                   path, c->n_rules);
            goto out;
        }
        if (atts && !(r->atts = calloc((size_t)cJSON_GetArraySize(atts) + 1, sizeof(char *)))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        cJSON_ArrayForEach(k, atts)
        {
            if (!airlock_predicate_type_uri(k->valuestring, NULL)) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                       "config '%s': rule %zu: \"attestations\": '%s' is neither "
                                       "a cosign predicate type (spdxjson, cyclonedx, "
                                       "slsaprovenance1, ...) nor a URI",
                                       path, c->n_rules, k->valuestring);
                goto out;
            }
            if (!(r->atts[r->n_atts++] = strdup(k->valuestring))) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
        }
        if (!r->policy && (!cJSON_IsArray(keys) || !cJSON_GetArraySize(keys))) {
            rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                                   "config '%s': rule %zu has no \"keys\" and no \"policy\" "
                                   "(every bundle must be checked)",
                                   path, c->n_rules);
            goto out;
        }
        cJSON_ArrayForEach(k, keys)
        {
            if ((rc = add_key(r, k->valuestring, err)))
                goto out;
        }
        /* (types checked above: every map and annotation member is a string) */
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(it, "map"))
        {
            if (add_map(r, m->string, m->valuestring)) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
        }
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(it, "annotations"))
        {
            struct airlock_annotation *an = realloc(r->ann, (r->n_ann + 1) * sizeof(*an));
            if (!an) {
                rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
                goto out;
            }
            r->ann = an;
            r->ann[r->n_ann].key = strdup(a->string);
            r->ann[r->n_ann++].value = strdup(a->valuestring);
        }
        const cJSON *reg = cJSON_GetObjectItemCaseSensitive(it, "registry");
        static const char *names[] = {"caFile", "clientCert", "clientKey", "authFile",
                                      "trustRealm"};
        for (int s = 0; s < 5; s++)
            r->strings[s] = jdup(reg, names[s]);
        r->ro.ca_file = r->strings[0];
        r->ro.client_cert = r->strings[1];
        r->ro.client_key = r->strings[2];
        r->ro.auth_file = r->strings[3];
        r->ro.trust_realm = r->strings[4];
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
    const char *refuse; /* a link, FIFO, socket or device among its files: why it is skipped */
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

/* Why an inbox entry is not a bundle sync may open, or NULL: it is never followed out of the
 * inbox (a link) and never opened for reading (a FIFO would block the run, a device reads). */
static const char *refuse_kind(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "a symbolic link: not followed out of the inbox";
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return "not a regular file or directory (a FIFO, socket or device): not opened";
    return NULL;
}

/* Lists the inbox through its descriptor: entries are looked at with fstatat, never followed. */
static int list_inbox(const struct airlock_sync_config *c, int inbox_fd, struct candidate **out,
                      size_t *n_out, struct airlock_error **err)
{
    int fd = dup(inbox_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, e, "inbox '%s'", c->inbox);
    }
    rewinddir(d);
    struct candidate *cs = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        char *path = NULL;
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (asprintf(&path, "%s/%s", c->inbox, de->d_name) < 0) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            break;
        }
        if (skip_name(c, de->d_name, path) ||
            fstatat(inbox_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            free(path);
            continue;
        }
        const char *refuse = refuse_kind(&st);
        size_t base_len = 0;
        unsigned part = !S_ISDIR(st.st_mode) ? part_number(de->d_name, &base_len) : 0;
        char *name = part ? strndup(de->d_name, base_len) : strdup(de->d_name);
        size_t i;
        for (i = 0; i < n && name && strcmp(cs[i].name, name); i++)
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
        if (refuse && !cd->refuse)
            cd->refuse = refuse;
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

/* The candidate's entries looked at again just before they are opened: a run may reach a
 * bundle hours after it listed the inbox, time enough to swap a file for a link or a FIFO.
 * (The bundle library then opens it by name; this narrows that window to moments.) */
static const char *recheck(int inbox_fd, const struct candidate *cd)
{
    for (size_t i = 0; i < cd->n_files; i++) {
        struct stat st;
        const char *why;
        if (fstatat(inbox_fd, strrchr(cd->files[i], '/') + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return "gone from the inbox since the run began";
        if ((why = refuse_kind(&st)))
            return why;
    }
    return NULL;
}

/* ---- sync's own files: opened through directory descriptors, never through a link -------- */

/* What one run holds open: every file sync writes is reached through these descriptors. */
struct sync_run {
    const struct airlock_sync_config *c;
    int inbox_fd, lock_fd, done_fd, failed_fd, audit_fd, report_dir_fd;
    char *report_base; /* the run report's name in report_dir_fd */
};

/* The directory that holds path's last component, opened (the configured part of a path is
 * followed; only the last component, the one an inbox filler could plant, is not), and that
 * component's name in *base. A negative return is an error code. */
static int parent_open(const char *path, char **base, struct airlock_error **err)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    size_t len = n - b;
    if (!len || (len == 1 && path[b] == '.') || (len == 2 && path[b] == '.' && path[b + 1] == '.'))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': not a file or directory name",
                                 path);
    char *dir = b ? strndup(path, b) : strdup(".");
    if (!dir || !(*base = strndup(path + b, n - b))) {
        free(dir);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(dir);
    if (fd < 0) {
        free(*base);
        *base = NULL;
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, e, "'%s': its directory", path);
    }
    return fd;
}

/* The error for a last component that is a link or of the wrong kind (st from fstatat). */
static int refuse_file(const struct stat *st, const char *path, const char *want,
                       struct airlock_error **err)
{
    if (S_ISLNK(st->st_mode))
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s' is a symbolic link: refused (sync never follows a link "
                                 "for its own files; replace it with a real %s)",
                                 path, want);
    return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s' is not a %s: refused", path, want);
}

/* Opens name in dirfd without following a link and without blocking on a FIFO; it must be a
 * regular file with no other name (hard link). path names it in messages. */
static int file_open_at(int dirfd, const char *name, int flags, const char *path,
                        struct airlock_error **err)
{
    struct stat st;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
            return refuse_file(&st, path, "file", err);
        return airlock_error_set_errno(err, AIRLOCK_EOS, e, "open '%s'", path);
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return refuse_file(&st, path, "file", err);
    }
    if (st.st_nlink > 1) { /* another name, maybe outside the inbox, for what sync writes */
        close(fd);
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "'%s' has other hard links: refused (sync writes only into a "
                                 "file of its own; remove it and let sync create it)",
                                 path);
    }
    return fd;
}

/* done/ or failed/: made if missing, opened as a real directory (never through a link). */
static int dir_open(const char *path, struct airlock_error **err)
{
    char *base = NULL;
    int pfd = parent_open(path, &base, err), fd = -1;
    if (pfd < 0)
        return pfd;
    struct stat st;
    if (mkdirat(pfd, base, 0750) < 0 && errno != EEXIST)
        fd = airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "create '%s'", path);
    else if ((fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        int e = errno;
        fd = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)
                 ? refuse_file(&st, path, "directory", err)
                 : airlock_error_set_errno(err, AIRLOCK_EUSAGE, e, "open '%s'", path);
    }
    close(pfd);
    free(base);
    return fd;
}

/* Writes text to name in dirfd: a fresh temporary (O_EXCL: a planted name is never written
 * through), synced, renamed over name (a rename replaces a link, never follows it). */
static void write_file_at(int dirfd, const char *name, const char *text)
{
    static unsigned seq;
    char tmp[300];
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(tmp, sizeof(tmp), ".%.200s.airlock-%ld-%u", name, (long)getpid(), seq++);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd < 0 && errno != EEXIST)
            return;
    }
    if (fd < 0)
        return;
    int ok = core_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok || renameat(dirfd, tmp, dirfd, name) < 0)
        unlinkat(dirfd, tmp, 0);
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

static void audit(const struct sync_run *rn, const char *event, const char *bundle,
                  const char *ref, const char *digest, const char *detail)
{
    if (rn->audit_fd < 0)
        return;
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
    if (line) {
        size_t n = strlen(line);
        line[n] = '\n'; /* one write: lines from two runs never interleave */
        (void)!write(rn->audit_fd, line, n + 1);
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

/* Moves the candidate's files from the inbox into dirfd (done/ or failed/) by renameat; a
 * name already there gets a suffix. *report_name: the bundle's report name in dirfd. */
static int move_to(const struct sync_run *rn, const struct candidate *cd, int dirfd,
                   const char *dir, char **report_name, struct airlock_error **err)
{
    char suffix[32] = "";
    for (int attempt = 0; attempt < 100; attempt++) {
        int clash = 0;
        for (size_t i = 0; i < cd->n_files && !clash; i++) {
            const char *b = strrchr(cd->files[i], '/') + 1;
            char *to = NULL;
            struct stat st;
            if (asprintf(&to, "%s%s", b, suffix) >= 0)
                clash = fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0;
            free(to);
        }
        if (!clash)
            break;
        snprintf(suffix, sizeof(suffix), ".%ld-%d", (long)time(NULL), attempt + 1);
    }
    for (size_t i = 0; i < cd->n_files; i++) {
        const char *b = strrchr(cd->files[i], '/') + 1;
        char *to = NULL;
        if (asprintf(&to, "%s%s", b, suffix) < 0)
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        if (renameat(rn->inbox_fd, b, dirfd, to) < 0) {
            int e = errno;
            free(to);
            return airlock_error_set_errno(err, AIRLOCK_EOS, e, "move '%s' to '%s'", cd->files[i],
                                           dir);
        }
        utimensat(dirfd, to, NULL, AT_SYMLINK_NOFOLLOW); /* keepDays counts from now */
        free(to);
    }
    if (asprintf(report_name, "%s%s.report.json", cd->name, suffix) < 0)
        *report_name = NULL;
    return 0;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifies, pushes and verifies in the registry; fills the bundle's report. 0: pushed. */
static int process(const struct sync_run *rn, const struct sync_rule *r,
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
        struct airlock_sig_check_opts so = {r->keys[k], r->identity, r->ann, r->n_ann, 0,
                                            NULL, NULL, 0, (const char *const *)r->atts,
                                            r->n_atts, 0, 0};
        if (!r->identity && !r->identity_any) { /* the rule push applies, per key */
            so.dest = r->to;
            so.map = (const char *const *)r->map;
            so.n_map = r->n_map;
        }
        rc = airlock_bundle_verify_signatures(&sr, b, &so, err);
        if (rc)
            break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", r->key_paths[k]);
        cJSON_AddBoolToObject(o, "ok", sr->ok);
        cJSON_AddItemToArray(sigs, o);
        for (size_t i = 0; i < sr->n_images && !rc; i++)
            if (!sr->images[i].ok && sr->images[i].identity_failure)
                rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                       "'%s': image '%s': no signature by '%s' names its "
                                       "destination: %s (sign with --to '%s', or set the rule's "
                                       "\"identityCheck\": \"any\")",
                                       cd->name, sr->images[i].ref ? sr->images[i].ref
                                                                   : sr->images[i].digest,
                                       r->key_paths[k], sr->images[i].identity_failure, r->to);
            else if (!sr->images[i].ok && sr->images[i].att_failure)
                rc = airlock_error_set(err, AIRLOCK_ESIGNATURE,
                                       "'%s': image '%s': %s with '%s' (the rule's "
                                       "\"attestations\")",
                                       cd->name, sr->images[i].ref ? sr->images[i].ref
                                                                   : sr->images[i].digest,
                                       sr->images[i].att_failure, r->key_paths[k]);
            else if (!sr->images[i].ok)
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
                                       r->n_ann, (const char *const *)r->map, r->n_map, 0,
                                       r->identity_any, r->policy,
                                       (const char *const *)r->atts, r->n_atts};
        if (r->policy)
            cJSON_AddStringToObject(rep, "policy", r->policy_path);
        rc = airlock_push(&pr, b, r->to, &r->ro, &po, err);
    }
    if (!rc) {
        cJSON *imgs = cJSON_AddArrayToObject(rep, "images");
        for (size_t i = 0; i < pr->n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "ref", pr->refs[i]);
            cJSON_AddStringToObject(o, "digest", pr->digests[i]);
            cJSON_AddItemToArray(imgs, o);
            audit(rn, "pushed", cd->name, pr->refs[i], pr->digests[i], NULL);
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


/* ---- keepDays: removal inside the real done/ only ------------------------------------------ */

/* Removes name in dirfd: a link or file is unlinked itself (never followed), a directory on
 * the same file system is emptied through its own descriptor first. */
static void remove_at(int dirfd, const char *name, dev_t dev, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlinkat(dirfd, name, 0);
        return;
    }
    int fd = st.st_dev == dev && depth < 64
                 ? openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                remove_at(fd, de->d_name, dev, depth + 1);
        closedir(d);
    } else if (fd >= 0)
        close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void expire(const struct sync_run *rn)
{
    const struct airlock_sync_config *c = rn->c;
    struct stat dst;
    if (c->keep_days <= 0 || fstat(rn->done_fd, &dst) < 0)
        return;
    int fd = dup(rn->done_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    rewinddir(d);
    time_t limit = time(NULL) - (time_t)c->keep_days * 86400;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(rn->done_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_mtime < limit) {
            remove_at(rn->done_fd, de->d_name, dst.st_dev, 0);
            audit(rn, "expired", de->d_name, NULL, NULL, c->done);
        }
    }
    closedir(d);
}

/* ---- the lock ------------------------------------------------------------------------------ */

#define LOCK_NAME ".airlock-sync.lock"

/* Writes who holds the lock into it: "pid N", "started EPOCH", "host NAME" lines. */
static void lock_record(int fd)
{
    char host[256] = "", text[400];
    gethostname(host, sizeof(host) - 1);
    int n = snprintf(text, sizeof(text), "pid %ld\nstarted %lld\nhost %.255s\n", (long)getpid(),
                     (long long)time(NULL), host);
    if (ftruncate(fd, 0) == 0 && n > 0)
        (void)!pwrite(fd, text, (size_t)n, 0);
}

/* A lock another run holds: how long, by whom (from its record; anyone who can write to the
 * inbox can write that record, so only digits and host-name characters are taken from it).
 * Fills res->report; sets res->lock_error when it is held longer than lockTimeoutSeconds. */
static void lock_busy(const struct sync_run *rn, struct airlock_sync_result *res)
{
    const struct airlock_sync_config *c = rn->c;
    char text[256] = "", host[65] = "";
    long long pid = 0, started = 0;
    struct stat st;
    ssize_t got = pread(rn->lock_fd, text, sizeof(text) - 1, 0);
    text[got > 0 ? got : 0] = 0;
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncmp(l, "pid ", 4))
            pid = strtoll(l + 4, NULL, 10);
        else if (!strncmp(l, "started ", 8))
            started = strtoll(l + 8, NULL, 10);
        else if (!strncmp(l, "host ", 5)) {
            size_t k = 0;
            for (const char *h = l + 5; k < sizeof(host) - 1 && *h &&
                                        (strchr("-._", *h) || (*h >= '0' && *h <= '9') ||
                                         (*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z'));
                 h++)
                host[k++] = *h;
            host[k] = 0;
        }
    }
    time_t now = time(NULL);
    if (started <= 0 || started > now) /* no record (or a nonsense one): the file's age */
        started = fstat(rn->lock_fd, &st) == 0 ? st.st_mtime : now;
    long long held = now - started;
    char holder[160] = "an unknown process";
    if (pid > 0)
        snprintf(holder, sizeof(holder), "pid %lld%s%s", pid, *host ? " on " : "", host);
    int stale = held > c->lock_timeout;
    cJSON *j = cJSON_CreateObject();
    char ts[32];
    cJSON_AddStringToObject(j, "started", now_iso(ts));
    cJSON_AddStringToObject(j, "inbox", c->inbox);
    cJSON_AddBoolToObject(j, "busy", 1);
    cJSON_AddStringToObject(j, "lock", LOCK_NAME);
    cJSON_AddStringToObject(j, "holder", holder);
    cJSON_AddNumberToObject(j, "heldSeconds", (double)held);
    cJSON_AddBoolToObject(j, "lockStale", stale);
    res->report = cJSON_Print(j);
    cJSON_Delete(j);
    if (stale &&
        asprintf(&res->lock_error,
                 "inbox lock '%s/%s' held by %s for %llds, longer than lockTimeoutSeconds (%ds): "
                 "a run is hung or was stopped without releasing it; nothing is pushed until it "
                 "ends (find and stop the holder)",
                 c->inbox, LOCK_NAME, holder, held, c->lock_timeout) < 0)
        res->lock_error = NULL;
    if (stale)
        audit(rn, "lock-stale", LOCK_NAME, NULL, NULL, res->lock_error);
}

/* Takes the inbox: the lock file (what other tools and older runs lock) and the inbox
 * directory itself (a filler can delete the lock file, not the inbox). 1: another run has
 * it. */
static int lock_take(struct sync_run *rn, struct airlock_error **err)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", rn->c->inbox, LOCK_NAME) < 0)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    rn->lock_fd = file_open_at(rn->inbox_fd, LOCK_NAME, O_RDWR | O_CREAT, path, err);
    free(path);
    if (rn->lock_fd < 0)
        return rn->lock_fd;
    if (flock(rn->inbox_fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        return 1; /* (a file system without directory locks: the file's lock alone) */
    if (flock(rn->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return 1;
    lock_record(rn->lock_fd);
    return 0;
}

/* Opens the audit log, done/, failed/ and the run report's directory; refuses links. */
static int run_open(struct sync_run *rn, struct airlock_error **err)
{
    const struct airlock_sync_config *c = rn->c;
    char *base = NULL;
    int pfd = parent_open(c->audit, &base, err);
    if (pfd < 0)
        return pfd;
    rn->audit_fd = file_open_at(pfd, base, O_WRONLY | O_CREAT | O_APPEND, c->audit, err);
    close(pfd);
    free(base);
    if (rn->audit_fd < 0)
        return rn->audit_fd;
    /* done/ and failed/ on the inbox's file system: a bundle is filed by rename, never left
     * behind half-moved to be pushed again */
    struct stat in_st, d_st;
    if (fstat(rn->inbox_fd, &in_st) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "inbox '%s'", c->inbox);
    if ((rn->done_fd = dir_open(c->done, err)) < 0)
        return rn->done_fd;
    if ((rn->failed_fd = dir_open(c->failed, err)) < 0)
        return rn->failed_fd;
    const int fds[2] = {rn->done_fd, rn->failed_fd};
    const char *dirs[2] = {c->done, c->failed};
    for (int k = 0; k < 2; k++)
        if (fstat(fds[k], &d_st) < 0 || d_st.st_dev != in_st.st_dev)
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "'%s' is not on the inbox's file system: bundles are moved "
                                     "there by rename",
                                     dirs[k]);
    if (c->report) {
        rn->report_dir_fd = parent_open(c->report, &rn->report_base, err);
        if (rn->report_dir_fd < 0)
            return rn->report_dir_fd;
        struct stat st;
        if (fstatat(rn->report_dir_fd, rn->report_base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISREG(st.st_mode))
            return refuse_file(&st, c->report, "file", err);
    }
    return 0;
}

static void run_close(struct sync_run *rn)
{
    const int fds[] = {rn->done_fd, rn->failed_fd, rn->audit_fd, rn->report_dir_fd, rn->lock_fd,
                       rn->inbox_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]); /* (closing releases the locks) */
    free(rn->report_base);
}

int airlock_sync_run(struct airlock_sync_result **out, const struct airlock_sync_config *c,
                     struct airlock_error **err)
{
    struct sync_run rn = {c, -1, -1, -1, -1, -1, -1, NULL};
    rn.inbox_fd = open(c->inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rn.inbox_fd < 0)
        return airlock_error_set_errno(err, AIRLOCK_EUSAGE, errno, "inbox '%s'", c->inbox);
    struct airlock_sync_result *res = calloc(1, sizeof(*res));
    if (!res) {
        run_close(&rn);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    int rc = lock_take(&rn, err);
    if (rc == 1) {
        /* another run has it: nothing to do, nothing pushed twice; unless it has held it
         * longer than any run takes (the audit log only if it is safe to open) */
        struct airlock_error *ae = NULL;
        char *base = NULL;
        int pfd = parent_open(c->audit, &base, &ae);
        if (pfd >= 0) {
            rn.audit_fd = file_open_at(pfd, base, O_WRONLY | O_CREAT | O_APPEND, c->audit, &ae);
            close(pfd);
        }
        free(base);
        airlock_error_free(ae);
        res->busy = 1;
        lock_busy(&rn, res);
        run_close(&rn);
        *out = res;
        return 0;
    }
    struct candidate *cs = NULL;
    size_t n = 0;
    if (!rc)
        rc = run_open(&rn, err);
    if (!rc)
        rc = list_inbox(c, rn.inbox_fd, &cs, &n, err);
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
        if (cd->refuse) {
            status = "skipped";
            why = cd->refuse;
        } else if (!r) {
            status = "skipped";
            why = "no rule matches its name";
        } else if (now - cd->newest < c->settle) {
            status = "waiting";
            why = "still arriving (modified in the last settleSeconds)";
        } else if ((why = recheck(rn.inbox_fd, cd))) {
            status = "skipped";
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
        int prc = process(&rn, r, cd, rep, &e);
        if (prc == AIRLOCK_ECANCELLED) { /* not the bundle's fault: it stays in the inbox */
            cJSON_AddStringToObject(rep, "status", "interrupted");
            cJSON_AddItemToArray(arr, rep);
            airlock_error_free(e);
            rc = airlock_cancel_check(err);
            break;
        }
        cJSON_AddNumberToObject(rep, "seconds", (int)((mono() - t0) * 1000) / 1000.0);
        cJSON_AddStringToObject(rep, "status", prc ? "failed" : "pushed");
        cJSON_AddStringToObject(rep, "to", r->to);
        if (prc) {
            cJSON_AddStringToObject(rep, "error", e ? e->msg : "failed");
            cJSON_AddNumberToObject(rep, "code", prc);
            audit(&rn, "failed", cd->name, NULL, NULL, e ? e->msg : NULL);
            res->failed++;
        } else
            res->pushed++;
        char *report_name = NULL;
        struct airlock_error *me = NULL;
        int dfd = prc ? rn.failed_fd : rn.done_fd;
        if (move_to(&rn, cd, dfd, prc ? c->failed : c->done, &report_name, &me)) {
            cJSON_AddStringToObject(rep, "moveError", me->msg);
            res->failed += prc ? 0 : 1;
            airlock_error_free(me);
        } else {
            cJSON_AddStringToObject(rep, "movedTo", prc ? c->failed : c->done);
            char *text = cJSON_Print(rep);
            if (report_name)
                write_file_at(dfd, report_name, text ? text : "{}");
            free(text);
        }
        free(report_name);
        airlock_error_free(e);
        cJSON_AddItemToArray(arr, rep);
    }
    if (!rc)
        expire(&rn);
    cJSON_AddStringToObject(run, "finished", now_iso(ts));
    cJSON_AddNumberToObject(run, "pushed", (double)res->pushed);
    cJSON_AddNumberToObject(run, "failed", (double)res->failed);
    cJSON_AddNumberToObject(run, "waiting", (double)res->waiting);
    cJSON_AddNumberToObject(run, "skipped", (double)res->skipped);
    res->report = cJSON_Print(run);
    cJSON_Delete(run);
    if (!rc && rn.report_dir_fd >= 0 && res->report)
        write_file_at(rn.report_dir_fd, rn.report_base, res->report);
    for (size_t i = 0; i < n; i++)
        candidate_free(&cs[i]);
    free(cs);
    run_close(&rn);
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
    free(r->lock_error);
    free(r);
}
