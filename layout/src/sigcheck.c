/* Checking the signatures that travel in a bundle, as `cosign verify --key` does, and with
 * an identity as containers/image does (FORMATS.md section 3). */
#include "layout_int.h"
#include "airlock/sign.h"

#include <stdio.h>
#include <stdarg.h>
#include <string.h>

void airlock_sig_image_release(struct airlock_sig_image *im)
{
    free(im->ref);
    for (size_t k = 0; k < im->n_sigs; k++) {
        free(im->sigs[k].identity);
        for (size_t a = 0; a < im->sigs[k].n_optional; a++) {
            free(im->sigs[k].optional[a].key);
            free(im->sigs[k].optional[a].value);
        }
        free(im->sigs[k].optional);
    }
    free(im->sigs);
    for (size_t k = 0; k < im->n_failures; k++)
        free(im->failures[k]);
    free(im->failures);
    memset(im, 0, sizeof(*im));
}

void airlock_sig_report_free(struct airlock_sig_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_images; i++)
        airlock_sig_image_release(&r->images[i]);
    free(r->images);
    free(r);
}

void airlock_sig_image_fail(struct airlock_sig_image *im, const char *fmt, ...)
{
    char **f = realloc(im->failures, (im->n_failures + 1) * sizeof(*f));
    if (!f)
        return;
    im->failures = f;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&f[im->n_failures], fmt, ap) >= 0)
        im->n_failures++;
    va_end(ap);
}

/* One layer of a .sig manifest: signature over the stored payload bytes, then the claims. */
static void check_layer(struct airlock_sig_image *im, airlock_blob_read_fn read, void *rctx,
                        const struct airlock_descriptor *l, const struct airlock_sig_check_opts *o)
{
    const char *sig = airlock_annotation_get(l->annotations, l->n_annotations, AIRLOCK_ANN_SIGNATURE);
    if (!sig) {
        airlock_sig_image_fail(im, "layer '%s': no %s annotation", l->digest, AIRLOCK_ANN_SIGNATURE);
        return;
    }
    struct airlock_buf payload = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    if (read(rctx, l->digest, AIRLOCK_MAX_MANIFEST, &payload, &e)) {
        airlock_sig_image_fail(im, "payload '%s': %s", l->digest, e ? e->msg : "unreadable");
        airlock_error_free(e);
        return;
    }
    struct airlock_sig_payload p;
    struct airlock_sig_found *s;
    memset(&p, 0, sizeof(p));
    if (airlock_pubkey_verify(o->key, payload.data, payload.len, sig, &e)) {
        airlock_sig_image_fail(im, "layer '%s': %s", l->digest, e ? e->msg : "invalid signature");
        goto out;
    }
    if (airlock_sig_payload_parse(&p, payload.data, payload.len, o->identity != NULL, &e)) {
        airlock_sig_image_fail(im, "layer '%s': %s", l->digest, e ? e->msg : "invalid payload");
        goto out;
    }
    if (strcmp(p.digest, im->digest)) {
        airlock_sig_image_fail(im, "layer '%s': signs '%s', not this image", l->digest, p.digest);
        goto out;
    }
    if (o->identity && !airlock_identity_matches(p.identity, o->identity)) {
        airlock_sig_image_fail(im, "layer '%s': identity '%s' does not match '%s'", l->digest,
             p.identity ? p.identity : "", o->identity);
        goto out;
    }
    for (size_t i = 0; i < o->n_annotations; i++) {
        const char *v = airlock_annotation_get(p.optional, p.n_optional, o->annotations[i].key);
        if (!v || strcmp(v, o->annotations[i].value)) {
            airlock_sig_image_fail(im, "layer '%s': annotation %s=%s not signed (has %s)", l->digest,
                 o->annotations[i].key, o->annotations[i].value, v ? v : "none");
            goto out;
        }
    }
    s = realloc(im->sigs, (im->n_sigs + 1) * sizeof(*s));
    if (s) {
        im->sigs = s;
        s[im->n_sigs].identity = steal_pointer(&p.identity);
        s[im->n_sigs].optional = steal_pointer(&p.optional);
        s[im->n_sigs].n_optional = p.n_optional;
        p.n_optional = 0;
        im->n_sigs++;
    }
out:
    airlock_error_free(e);
    airlock_sig_payload_release(&p);
    airlock_buf_release(&payload);
}

void airlock_sig_check_manifest(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o)
{
    struct airlock_oci *m = NULL;
    struct airlock_error *le = NULL;
    if (airlock_oci_parse(&m, raw, len, "signature manifest", &le)) {
        airlock_sig_image_fail(im, "signature manifest '%s': %s", what, le ? le->msg : "unreadable");
    } else if (m->media_type && strcmp(m->media_type, AIRLOCK_MT_OCI_MANIFEST)) {
        airlock_sig_image_fail(im, "signature manifest '%s': media type '%s' (containers/image wants an OCI "
                 "manifest)",
             what, m->media_type);
    } else {
        for (size_t l = 0; l < m->n_layers; l++)
            check_layer(im, read, rctx, &m->layers[l], o);
    }
    im->has_signatures = 1;
    airlock_error_free(le);
    airlock_oci_free(m);
}

static int bundle_read(void *ctx, const char *digest, size_t max, struct airlock_buf *out,
                       struct airlock_error **err)
{
    return airlock_bundle_blob_read(ctx, digest, max, out, err);
}

/* Signatures count for an image only in its own repository, as in a registry, where cosign
 * looks for REPO:sha256-<hex>.sig next to the image. */
static int same_repository(const char *a, const char *b)
{
    struct airlock_ref x, y;
    if (!a || !b || airlock_ref_parse(&x, a, NULL))
        return 0; /* unnamed: no repository to find its signatures in */
    int same = 1;
    if (!airlock_ref_parse(&y, b, NULL)) {
        same = !strcmp(x.domain, y.domain) && !strcmp(x.path, y.path);
        airlock_ref_release(&y);
    }
    airlock_ref_release(&x);
    return same;
}

int airlock_bundle_verify_signatures(struct airlock_sig_report **out, struct airlock_bundle *b,
                                     const struct airlock_sig_check_opts *o,
                                     struct airlock_error **err)
{
    struct airlock_catalog *cat = NULL;
    int rc = airlock_catalog_load(&cat, b, err);
    if (rc)
        return rc;
    struct airlock_sig_report *r = calloc(1, sizeof(*r));
    if (!r || !(r->images = calloc(cat->n ? cat->n : 1, sizeof(*r->images)))) {
        free(r);
        airlock_catalog_free(cat);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    r->ok = 1;
    for (size_t i = 0; i < cat->n; i++) {
        const struct airlock_entry *e = &cat->entries[i];
        if (e->role != AIRLOCK_ROLE_IMAGE)
            continue;
        struct airlock_sig_image *im = &r->images[r->n_images++];
        im->ref = core_strdup0(e->ref);
        memcpy(im->digest, e->desc.digest, AIRLOCK_DIGEST_SIZE);
        for (size_t k = 0; k < cat->n; k++) {
            const struct airlock_entry *s = &cat->entries[k];
            if (s->role != AIRLOCK_ROLE_SIGNATURE || strcmp(s->subject, e->desc.digest) ||
                !same_repository(e->ref, s->ref))
                continue;
            struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
            struct airlock_error *le = NULL;
            if (airlock_bundle_blob_read(b, s->desc.digest, AIRLOCK_MAX_MANIFEST, &raw, &le)) {
                airlock_sig_image_fail(im, "signature manifest '%s': %s", s->desc.digest, le ? le->msg : "unreadable");
                im->has_signatures = 1;
            } else
                airlock_sig_check_manifest(im, raw.data, raw.len, s->desc.digest, bundle_read, b, o);
            airlock_error_free(le);
            airlock_buf_release(&raw);
        }
        im->ok = im->n_sigs > 0;
        if (!im->ok && !im->n_failures)
            airlock_sig_image_fail(im, "no signatures found");
        r->ok &= im->ok;
    }
    airlock_catalog_free(cat);
    *out = r;
    return 0;
}
