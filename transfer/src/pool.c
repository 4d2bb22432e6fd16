/* The one bounded pool of threads that export and push spread requests over (transfer_int.h). */
#include "transfer_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct pool {
    transfer_pool_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    struct airlock_error *first; /* of the lowest index that failed */
    size_t first_at;
};

static void *pool_worker(void *arg)
{
    struct pool *q = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&q->next, 1);
        if (i >= q->n || atomic_load(&q->failed))
            break;
        struct airlock_error *e = NULL;
        int rc = q->fn(q->ctx, i, &e);
        if (!rc) {
            airlock_error_free(e);
            continue;
        }
        if (!e)
            airlock_error_set(&e, rc, "a request failed without saying why");
        pthread_mutex_lock(&q->lock);
        if (!q->first || i < q->first_at) {
            airlock_error_free(q->first);
            q->first = e;
            q->first_at = i;
        } else
            airlock_error_free(e);
        pthread_mutex_unlock(&q->lock);
        atomic_store(&q->failed, 1);
    }
    return NULL;
}

int transfer_pool_threads(const struct airlock_registry_opts *ro)
{
    int threads = (ro && ro->parallel > 0 ? ro->parallel : 4) * 2;
    return threads > TRANSFER_POOL_MAX ? TRANSFER_POOL_MAX : threads;
}

int transfer_pool_run(size_t n, int threads, transfer_pool_fn fn, void *ctx,
                      struct airlock_error **err)
{
    struct pool q;
    memset(&q, 0, sizeof(q));
    q.fn = fn;
    q.ctx = ctx;
    q.n = n;
    pthread_mutex_init(&q.lock, NULL);
    if (threads > TRANSFER_POOL_MAX)
        threads = TRANSFER_POOL_MAX;
    if ((size_t)threads > n)
        threads = (int)n;
    pthread_t tid[TRANSFER_POOL_MAX];
    int started = 0;
    for (int i = 1; i < threads; i++)
        if (!pthread_create(&tid[started], NULL, pool_worker, &q))
            started++;
    pool_worker(&q); /* the caller is one of them */
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    int rc = 0;
    if (q.failed) {
        rc = q.first ? q.first->code : AIRLOCK_EOS;
        if (err && !*err)
            *err = q.first;
        else
            airlock_error_free(q.first);
    }
    pthread_mutex_destroy(&q.lock);
    return rc;
}
