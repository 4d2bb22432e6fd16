/* Fuzzes the manifest-graph walk over a bundle: index.json down through indexes, manifests,
 * configs, referrer subjects and cosign attachments, as verify, the catalog and the image
 * summary walk it (the walk push and export share).
 *
 * Input: documents separated by "\n----\n". The first is index.json; every other becomes a
 * blob of a directory bundle, named by its sha256. Since a fuzzer cannot compute digests, a
 * document may name a later one: "@D<n>" is replaced by "sha256:<hex>" of document n, "@H<n>"
 * by the hex alone (a cosign tag "sha256-<hex>.sig") and "@S<n>" by its size (n > the document's own number; digests are computed from the last
 * document backwards). The bundle is written to a scratch directory for each input.
 *
 * Every one of these goes through the shared manifest graph (core/src/graph.c): verify's
 * integrity walk, the catalog's content roles, the admission of attachments that push plans
 * from (key NULL: every image admitted unsigned, attachments still judged by content), and
 * the child-first order push PUTs in. */
#include "airlock/layout.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DOCS 32
#define SEP "\n----\n"

struct doc {
    char *text; /* after substitution */
    size_t len;
    char digest[AIRLOCK_DIGEST_SIZE];
};

/* docs[i] with @D<n>/@S<n> (n > i) replaced; the others left as they are. */
static int substitute(struct doc *docs, size_t n_docs, size_t i, const char *p, size_t len)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(4u << 20);
    for (size_t k = 0; k < len;) {
        if (p[k] == '@' && k + 2 < len && (p[k + 1] == 'D' || p[k + 1] == 'H' || p[k + 1] == 'S') && p[k + 2] >= '0' &&
            p[k + 2] <= '9') {
            size_t e = k + 2, num = 0;
            while (e < len && p[e] >= '0' && p[e] <= '9' && num < 1000)
                num = num * 10 + (size_t)(p[e++] - '0');
            if (num > i && num < n_docs) {
                const char *dg = docs[num].digest + (p[k + 1] == 'H' ? 7 : 0);
                int r = p[k + 1] == 'S' ? airlock_buf_printf(&b, "%zu", docs[num].len)
                                        : airlock_buf_append(&b, dg, strlen(dg));
                if (r) {
                    airlock_buf_release(&b);
                    return -1;
                }
                k = e;
                continue;
            }
        }
        if (airlock_buf_append(&b, p + k, 1)) {
            airlock_buf_release(&b);
            return -1;
        }
        k++;
    }
    if (airlock_buf_append(&b, "", 0)) {
        airlock_buf_release(&b);
        return -1;
    }
    docs[i].len = b.len;
    docs[i].text = airlock_buf_detach(&b, NULL);
    return 0;
}

static int write_file(int dirfd, const char *name, const char *p, size_t n)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int bad = write(fd, p, n) != (ssize_t)n;
    return close(fd) || bad ? -1 : 0;
}

/* Writes the documents as the bundle dir; 0 on success. */
static int build_bundle(const char *dir, struct doc *docs, size_t n)
{
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/blobs", dir);
    if (mkdir(sub, 0755))
        return -1;
    snprintf(sub, sizeof(sub), "%s/blobs/sha256", dir);
    if (mkdir(sub, 0755))
        return -1;
    int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int blobs = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    int bad = top < 0 || blobs < 0 || write_file(top, "oci-layout", layout, sizeof(layout) - 1) ||
              write_file(top, "index.json", docs[0].text, docs[0].len);
    for (size_t i = 1; i < n && !bad; i++)
        bad = write_file(blobs, docs[i].digest + 7, docs[i].text, docs[i].len);
    if (top >= 0)
        close(top);
    if (blobs >= 0)
        close(blobs);
    return bad ? -1 : 0;
}

static void remove_bundle(const char *dir, struct doc *docs, size_t n)
{
    char p[512];
    for (size_t i = 1; i < n; i++) {
        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, docs[i].digest + 7);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/blobs", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/oci-layout", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/index.json", dir);
    unlink(p);
    rmdir(dir);
}

static int count_node(void *ctx, size_t node, struct airlock_error **err)
{
    (void)ctx;
    (void)err;
    return node == SIZE_MAX; /* never: walks the whole graph */
}

/* The walks over the graph: verify (every blob from index.json down), the catalog and each
 * entry's summary. */
static void walk(const char *dir)
{
    struct airlock_bundle *b = NULL;
    if (airlock_bundle_open(&b, dir, 0, NULL))
        return;
    struct airlock_verify_report *r = NULL;
    struct airlock_verify_opts o = {1, NULL, NULL};
    if (airlock_bundle_verify(&r, b, &o, NULL) == 0)
        airlock_verify_report_free(r);
    struct airlock_sig_report *sr = NULL;
    struct airlock_sig_check_opts so = {NULL, NULL, NULL, 0, 1, NULL, NULL, 0, NULL, 0, 0, 0};
    if (airlock_bundle_verify_signatures(&sr, b, &so, NULL) == 0) {
        for (size_t i = 0; i < sr->n_images; i++)
            airlock_graph_postorder(sr->graph, sr->images[i].node, count_node, NULL, NULL);
        airlock_sig_report_free(sr);
    }
    struct airlock_catalog *c = NULL;
    if (airlock_catalog_load(&c, b, NULL) == 0) {
        for (size_t i = 0; i < c->n; i++) {
            struct airlock_image_summary s;
            memset(&s, 0, sizeof(s));
            if (airlock_image_summarize(&s, b, &c->entries[i].desc, NULL) == 0)
                airlock_image_summary_release(&s);
        }
        airlock_catalog_free(c);
    }
    airlock_bundle_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    const char *in = (const char *)data, *end = in + size;
    const char *start[MAX_DOCS];
    size_t len[MAX_DOCS], n = 0;
    for (const char *p = in; n < MAX_DOCS;) {
        const char *s = memmem(p, (size_t)(end - p), SEP, sizeof(SEP) - 1);
        start[n] = p;
        len[n++] = s ? (size_t)(s - p) : (size_t)(end - p);
        if (!s)
            break;
        p = s + sizeof(SEP) - 1;
    }
    struct doc docs[MAX_DOCS];
    memset(docs, 0, sizeof(docs));
    int bad = 0;
    for (size_t i = n; i-- > 0 && !bad;) {
        bad = substitute(docs, n, i, start[i], len[i]) ||
              airlock_sha256_digest(docs[i].digest, docs[i].text, docs[i].len, NULL);
    }
    char dir[] = "/tmp/airlock-fuzz-graph-XXXXXX";
    if (!bad && mkdtemp(dir)) {
        if (build_bundle(dir, docs, n) == 0)
            walk(dir);
        remove_bundle(dir, docs, n);
    }
    for (size_t i = 0; i < n; i++)
        free(docs[i].text);
    return 0;
}
