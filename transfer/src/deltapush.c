/* Push of a delta bundle: before any upload or manifest, every blob the push needs that the
 * bundle does not hold must be one its delta record omits (and the record must be true of
 * the bundle, as verify judges it), and must be in the destination repository already or in
 * one it can be mounted from. One absent: the push stops with the list and moves nothing.
 *
 * The destination is asked, not the record believed: a blob there has that digest, so a
 * lying record can stop a push but never make one tag an image whose blobs are not all
 * there. Every question is asked first (HEAD in the repository, then in the mount source);
 * only when all are answered yes are the mounts made, and each mounted blob is asked for once
 * more in its target repository (a registry's 201 is not taken on its word). */
#include "transfer_int.h"

#include <stdio.h>
#include <string.h>

#define LIST_SHOWN 10

struct pre {
    struct airlock_registry *r;
    struct transfer_need *needs;
    const struct airlock_delta *d;
};

/* 1 if the blob of nd is in repo with nd's size (a registry that gives no length is not
 * held to one), 0 if not there, 2 if there with another size, or an error (< 0). */
static int there(struct airlock_registry *r, const char *repo, const struct transfer_need *nd,
                 struct airlock_error **err)
{
    uint64_t size = 0;
    int rc = airlock_registry_blob_exists(r, repo, nd->digest, &size, err);
    return rc == 1 && size && size != nd->size ? 2 : rc;
}

/* Mounts nd's blob into its repository from src: 1 mounted and there (a registry's 201 is a
 * claim: the target repository is asked again), 0 refused (202, 401, 403), or an error (one
 * that says the blob is not there after a 201 among them). */
static int mount_checked(struct airlock_registry *r, struct transfer_need *nd, const char *src,
                         struct airlock_error **err)
{
    int rc = registry_blob_mount(r, nd->repo, nd->digest, src, err);
    if (rc != 1)
        return rc;
    rc = there(r, nd->repo, nd, err);
    if (rc == 0 || rc == 2)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "delta bundle: blob '%s' is not in '%s/%s' after the mount from "
                                 "'%s' the registry accepted; no manifest was pushed",
                                 nd->digest, r->host, nd->repo, src);
    return rc;
}

/* Asks whether need i is in its repository, else in its mount source. */
static int ask_one(void *ctx, size_t i, struct airlock_error **err)
{
    struct pre *c = ctx;
    struct transfer_need *nd = &c->needs[i];
    int rc = there(c->r, nd->repo, nd, err);
    if (rc < 0)
        return rc;
    if (rc) {
        nd->state = rc == 1 ? 1 : -1;
        return 0;
    }
    /* then every repository the inventory listed as holding it, in order: from, mounts */
    const struct airlock_delta_blob *ob = airlock_delta_find(c->d, nd->digest);
    for (size_t k = 0; ob && ob->from && k <= ob->n_mounts; k++) {
        const char *src = k ? ob->mounts[k - 1] : ob->from;
        if (!strcmp(src, nd->repo))
            continue;
        struct airlock_error *e = NULL;
        rc = there(c->r, src, nd, &e);
        if (rc == AIRLOCK_EAUTH || rc == AIRLOCK_ENOTFOUND) {
            /* a holder this pusher may not read (401, 403), or one gone: not a source; the
             * next holder, or another repository of the push, may be */
            airlock_error_free(e);
            continue;
        }
        if (rc < 0 || rc > 2) {
            if (err && !*err)
                *err = e;
            else
                airlock_error_free(e);
            return rc;
        }
        if (rc == 1) {
            nd->from = src;
            nd->state = 2;
            return 0;
        }
        if (rc == 2) /* there with another size: no source; another holder may do */
            nd->state = -1;
    }
    return 0;
}

int transfer_delta_precheck(struct airlock_registry *r, struct airlock_bundle *b,
                            const struct airlock_graph *g, struct transfer_need *needs, size_t n,
                            const struct airlock_registry_opts *ro, struct airlock_error **err)
{
    struct airlock_delta *d = NULL;
    struct airlock_buf list = AIRLOCK_BUF_INIT(1u << 20);
    char **found = NULL;
    size_t n_found = 0, bad = 0;
    struct pre c = {r, needs, NULL};
    struct core_dmap held = {0}; /* digest -> index + 1 of a need found in its repository */
    int rc = airlock_delta_load(&d, b, err);
    if (rc == AIRLOCK_ENOTFOUND)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                 "blob '%s' of '%s/%s' is missing from the bundle (and the bundle "
                                 "is no delta bundle); nothing was pushed",
                                 needs[0].digest, r->host, needs[0].repo);
    if (rc)
        return rc;
    /* the record as verify judges it: a record that lies about the bundle moves nothing */
    if ((rc = airlock_delta_check(&found, &n_found, d, b, g, err)))
        goto out;
    if (n_found) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY, "delta bundle '%s': %s%s; nothing was "
                                                        "pushed",
                               airlock_bundle_path(b), found[0],
                               n_found > 1 ? " (and more: see airlock verify)" : "");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct airlock_delta_blob *ob = airlock_delta_find(d, needs[i].digest);
        if (ob && ob->size == needs[i].size)
            continue;
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "blob '%s' of '%s/%s' is missing from the bundle and its delta "
                               "record does not omit it%s; nothing was pushed",
                               needs[i].digest, r->host, needs[i].repo,
                               ob ? " with that size" : "");
        goto out;
    }
    c.d = d;
    if ((rc = transfer_pool_run(n, transfer_pool_threads(ro), ask_one, &c, err)))
        goto out;
    /* not in its repository nor in one the record names (a lock's record names none): another
     * repository this push puts an image using the blob in, that holds it already (the last
     * drop's image, pushed there), is a mount source too; asked already, no request more */
    for (size_t i = 0; i < n; i++)
        if (needs[i].state == 1 && !core_dmap_get(&held, needs[i].digest) &&
            core_dmap_put(&held, needs[i].digest, i + 1)) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        size_t *at = needs[i].state == 0 ? core_dmap_get(&held, needs[i].digest) : NULL;
        if (at) {
            needs[i].from = needs[*at - 1].repo;
            needs[i].state = 3;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (needs[i].state > 0)
            continue;
        if (bad < LIST_SHOWN &&
            airlock_buf_printf(&list, "%s'%s/%s@%s'%s", bad ? ", " : "", r->host, needs[i].repo,
                               needs[i].digest,
                               needs[i].state < 0 ? " (there with another size)" : "")) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        bad++;
    }
    if (bad) {
        rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                               "delta bundle '%s': %zu blob%s it leaves out %s not in the "
                               "destination: %s%s; nothing was pushed (take a new inventory of "
                               "the destination and export the delta again, or push a full "
                               "bundle)",
                               airlock_bundle_path(b), bad, bad == 1 ? "" : "s",
                               bad == 1 ? "is" : "are", list.data, bad > LIST_SHOWN ? ", ..." : "");
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) { /* every one is there: now the mounts */
        if (needs[i].state == 3) { /* from another repository of this push */
            rc = mount_checked(r, &needs[i], needs[i].from, err);
            if (rc == 0)
                rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                       "delta bundle: blob '%s' could not be mounted into "
                                       "'%s/%s' from '%s'; no manifest was pushed",
                                       needs[i].digest, r->host, needs[i].repo, needs[i].from);
            else if (rc == 1)
                rc = 0;
            continue;
        }
        if (needs[i].state != 2)
            continue;
        /* from the holder that answered, else (a mount refused: 202, 401, 403) the next ones
         * the record names after it */
        const struct airlock_delta_blob *ob = airlock_delta_find(d, needs[i].digest);
        const char *first = needs[i].from;
        int started = 0, mounted = 0;
        for (size_t k = 0; ob && k <= ob->n_mounts && !rc && !mounted; k++) {
            const char *src = k ? ob->mounts[k - 1] : ob->from;
            started |= src == first;
            if (!started || !strcmp(src, needs[i].repo))
                continue;
            needs[i].from = src;
            rc = mount_checked(r, &needs[i], src, err);
            mounted = rc == 1;
            if (rc == 1)
                rc = 0;
        }
        if (!rc && !mounted)
            rc = airlock_error_set(err, AIRLOCK_EINTEGRITY,
                                   "delta bundle: blob '%s' could not be mounted into '%s/%s' "
                                   "from '%s'%s; no manifest was pushed",
                                   needs[i].digest, r->host, needs[i].repo, first,
                                   needs[i].from != first ? " nor the repositories after it"
                                                          : "");
    }
out:
    core_dmap_release(&held);
    for (size_t i = 0; i < n_found; i++)
        free(found[i]);
    free(found);
    airlock_buf_release(&list);
    airlock_delta_free(d);
    return rc;
}
