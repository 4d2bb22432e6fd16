/* Internal pieces of airlock serve: what is served (site.c) and the HTTP adapter (mhd.c). */
#ifndef AIRLOCK_SERVE_INT_H
#define AIRLOCK_SERVE_INT_H

#include "airlock/serve.h"
#include "core_int.h"

struct site_tag {
    char *tag;
    size_t node; /* in the graph */
};

/* one referrers index the bundle carries for a subject (sha256-<hex> in this repository) */
struct site_referrers {
    char subject[AIRLOCK_DIGEST_SIZE];
    size_t node;
};

struct site_repo {
    char *name;
    struct site_tag *tags; /* sorted by tag */
    size_t n_tags;
    struct core_dmap nodes; /* digest -> node + 1: everything its admitted entries reach */
    struct site_referrers *refs;
    size_t n_refs;
};

struct site {
    struct airlock_bundle *b;
    struct airlock_sig_report *sr; /* owns the graph */
    const struct airlock_graph *g;
    struct site_repo *repos;       /* sorted by name */
    size_t n_repos;
    struct airlock_serve_image *images;
    size_t n_images;
};

/* Checks the bundle and builds the site (see airlock_server_new). */
int site_build(struct site *s, struct airlock_bundle *b, const struct airlock_serve_opts *o,
               struct airlock_error **err);
void site_release(struct site *s);
const struct site_repo *site_repo_find(const struct site *s, const char *name);
/* The node a repository serves for a tag or digest, or SIZE_MAX. */
size_t site_resolve(const struct site *s, const struct site_repo *r, const char *ref);
/* The referrers index document of subject in r (filtered by artifact_type when not NULL)
 * into out; *filtered tells whether a filter was applied. */
int site_referrers(const struct site *s, const struct site_repo *r, const char *subject,
                   const char *artifact_type, struct airlock_buf *out,
                   struct airlock_error **err);
/* {"tags"} / {"repositories"} lists, paginated: n (SIZE_MAX: all), after last; *more when
 * cut, with the last name given in *next (owned by the site). */
int site_tags_list(const struct site *s, const struct site_repo *r, size_t n, const char *last,
                   struct airlock_buf *out, const char **next);
int site_catalog(const struct site *s, size_t n, const char *last, struct airlock_buf *out,
                 const char **next);
/* route.c: a Range header against a blob of size: 0 and [start, end); 1 when unsatisfiable
 * (416); -1 to ignore it (absent, malformed, several ranges: the whole blob is sent). */
int serve_range_parse(const char *h, uint64_t size, uint64_t *start, uint64_t *end);
/* route.c: path "/v2/<name><kind><rest>" with kind "/manifests/" (the last one in the path):
 * the name (malloc'd) and *rest when rest is not empty and has no '/', else NULL. */
char *serve_route_split(const char *path, const char *kind, const char **rest);
/* Appends s as a JSON string literal. */
int site_json_str(struct airlock_buf *b, const char *s);

#endif
