/* The only file that touches libyaml: a YAML document as the cJSON tree the JSON form of the
 * same file gives, so one checker reads both (image set files). */
#include "transfer_int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 200000

struct ystate {
    yaml_parser_t p;
    const char *what;
    size_t nodes;
};

static int yerr(struct ystate *y, struct airlock_error **err, const char *why, size_t line)
{
    return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': line %zu: %s", y->what, line + 1, why);
}

/* A plain scalar as YAML 1.2's core schema reads it: null, booleans, integers; anything
 * quoted or else a string. */
static cJSON *scalar(const yaml_event_t *e)
{
    const char *v = (const char *)e->data.scalar.value;
    size_t len = e->data.scalar.length;
    if (e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag) {
        if (!len || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
            !strcmp(v, "NULL"))
            return cJSON_CreateNull();
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
            return cJSON_CreateTrue();
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
            return cJSON_CreateFalse();
        size_t i = (v[0] == '-' || v[0] == '+') ? 1 : 0;
        if (len > i && len - i <= 15 && strspn(v + i, "0123456789") == len - i)
            return cJSON_CreateNumber(strtod(v, NULL));
    }
    return cJSON_CreateString(v);
}

static int node(struct ystate *y, yaml_event_t *first, int depth, cJSON **out,
                struct airlock_error **err);

static int next(struct ystate *y, yaml_event_t *e, struct airlock_error **err)
{
    if (!yaml_parser_parse(&y->p, e))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': line %zu: %s", y->what,
                                 y->p.problem_mark.line + 1,
                                 y->p.problem ? y->p.problem : "not YAML");
    return 0;
}

static int collection(struct ystate *y, int map, int depth, cJSON **out,
                      struct airlock_error **err)
{
    cJSON *c = map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!c)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    for (;;) {
        yaml_event_t e;
        int rc = next(y, &e, err);
        if (rc) {
            cJSON_Delete(c);
            return rc;
        }
        if (e.type == (map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
            yaml_event_delete(&e);
            break;
        }
        char *key = NULL;
        if (map) { /* a key: a scalar only */
            if (e.type != YAML_SCALAR_EVENT) {
                rc = yerr(y, err, "a mapping key is not a plain value", e.start_mark.line);
                yaml_event_delete(&e);
                cJSON_Delete(c);
                return rc;
            }
            key = strdup((const char *)e.data.scalar.value);
            size_t line = e.start_mark.line;
            yaml_event_delete(&e);
            if (!key || (rc = next(y, &e, err))) {
                free(key);
                cJSON_Delete(c);
                return rc ? rc : airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            }
            if (cJSON_GetObjectItemCaseSensitive(c, key)) {
                char why[300];
                snprintf(why, sizeof(why), "'%.200s' is given twice", key);
                rc = yerr(y, err, why, line);
                free(key);
                yaml_event_delete(&e);
                cJSON_Delete(c);
                return rc;
            }
        }
        cJSON *v = NULL;
        rc = node(y, &e, depth + 1, &v, err);
        if (!rc && !(map ? cJSON_AddItemToObject(c, key, v) : cJSON_AddItemToArray(c, v))) {
            cJSON_Delete(v);
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        free(key);
        if (rc) {
            cJSON_Delete(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

/* The node that starts with event first (which it deletes). */
static int node(struct ystate *y, yaml_event_t *first, int depth, cJSON **out,
                struct airlock_error **err)
{
    int rc = 0;
    size_t line = first->start_mark.line;
    if (depth > YAML_MAX_DEPTH)
        rc = yerr(y, err, "nested too deeply", line);
    else if (++y->nodes > YAML_MAX_NODES)
        rc = yerr(y, err, "too many values", line);
    else if (first->type == YAML_ALIAS_EVENT)
        rc = yerr(y, err, "aliases (*name) are not accepted", line);
    else if (first->type == YAML_SCALAR_EVENT) {
        if (!(*out = scalar(first)))
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    } else if (first->type == YAML_SEQUENCE_START_EVENT || first->type == YAML_MAPPING_START_EVENT) {
        int map = first->type == YAML_MAPPING_START_EVENT;
        yaml_event_delete(first);
        return collection(y, map, depth, out, err);
    } else
        rc = yerr(y, err, "unexpected YAML structure", line);
    yaml_event_delete(first);
    return rc;
}

int transfer_yaml_parse(struct cJSON **out, const char *text, size_t len, const char *what,
                        struct airlock_error **err)
{
    struct ystate y;
    memset(&y, 0, sizeof(y));
    y.what = what;
    *out = NULL;
    if (!yaml_parser_initialize(&y.p))
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    cJSON *doc = NULL;
    int rc = 0, docs = 0;
    for (;;) {
        yaml_event_t e;
        if ((rc = next(&y, &e, err)))
            break;
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&e);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&e);
            if (++docs > 1) {
                rc = airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': more than one YAML document",
                                       what);
                break;
            }
            continue;
        }
        if ((rc = node(&y, &e, 0, &doc, err)))
            break;
    }
    yaml_parser_delete(&y.p);
    if (rc) {
        cJSON_Delete(doc);
        return rc;
    }
    if (!doc)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': empty", what);
    *out = doc;
    return 0;
}
