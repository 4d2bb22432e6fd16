/* The attestations an image carries, as cosign verify-attestation --key checks them: DSSE
 * envelope layers of the legacy .att manifest, and sigstore bundle referrers whose statement
 * is not cosign's signature statement. The DSSE verification is core's (sigstore.c); this
 * file only finds the envelopes, records what each is, and judges the required types. */
#include "layout_int.h"
#include "airlock/sign.h"

#include <stdio.h>
#include <string.h>

/* Attestations examined per image: each may cost an 8 MiB read and a verification, and a
 * hostile 4 MiB .att manifest could list tens of thousands of layers. */
#define ATTS_MAX 256

static struct airlock_att_found *att_add(struct airlock_sig_image *im, const char *format,
                                         const char *manifest, const struct airlock_descriptor *l,
                                         const char *claimed, const char *created)
{
    if (im->n_atts >= ATTS_MAX)
        return NULL; /* the callers stop reading */
    struct airlock_att_found *a = realloc(im->atts, (im->n_atts + 1) * sizeof(*a));
    if (!a)
        return NULL;
    im->atts = a;
    a += im->n_atts++;
    memset(a, 0, sizeof(*a));
    a->format = format;
    snprintf(a->manifest, sizeof(a->manifest), "%s", manifest ? manifest : "");
    snprintf(a->layer, sizeof(a->layer), "%s", l->digest);
    a->size = l->size;
    a->predicate_type = core_strdup0(claimed);
    a->created = core_strdup0(created);
    return a;
}

/* Fills a from a verification: the claim (verified), or why not. */
static void att_settle(struct airlock_att_found *a, int rc, struct airlock_sigstore_claim *c,
                       struct airlock_error *e, const struct airlock_sig_check_opts *o)
{
    if (rc) {
        a->why = core_strdup0(e ? e->msg : "does not verify");
        return;
    }
    a->verified = 1;
    free(a->predicate_type);
    a->predicate_type = steal_pointer(&c->predicate_type);
    if (o->keep_statements) {
        a->statement = steal_pointer(&c->statement);
        a->statement_len = c->statement_len;
    }
}

void airlock_att_check_manifest(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o)
{
    struct airlock_oci *m = NULL;
    if (airlock_oci_parse(&m, raw, len, "attestation manifest", NULL) ||
        m->kind != AIRLOCK_OCI_MANIFEST) {
        airlock_oci_free(m);
        return; /* the integrity check and the role judgement report it */
    }
    for (size_t i = 0; i < m->n_layers; i++) {
        const struct airlock_descriptor *l = &m->layers[i];
        if (!l->media_type || strcmp(l->media_type, AIRLOCK_MT_DSSE_ENVELOPE))
            continue;
        const char *claimed =
            airlock_annotation_get(l->annotations, l->n_annotations, AIRLOCK_ANN_PREDICATE_TYPE);
        struct airlock_att_found *a =
            att_add(im, AIRLOCK_ATT_FORMAT_DSSE, what, l, claimed,
                    airlock_annotation_get(l->annotations, l->n_annotations, AIRLOCK_ANN_CREATED));
        if (!a)
            break;
        if (!o->key) {
            a->why = core_strdup0("not checked (no key given)");
            continue;
        }
        struct airlock_buf env = AIRLOCK_BUF_INIT(0);
        struct airlock_error *e = NULL;
        struct airlock_dsse d;
        struct airlock_sigstore_claim c;
        char label[120];
        memset(&d, 0, sizeof(d));
        memset(&c, 0, sizeof(c));
        snprintf(label, sizeof(label), "DSSE envelope '%s'", l->digest);
        int rc =
            l->size > AIRLOCK_MAX_SIGSTORE_BUNDLE
                ? airlock_error_set(&e, AIRLOCK_ESIGNATURE, "%s: %llu bytes (at most %u)", label,
                                    (unsigned long long)l->size, AIRLOCK_MAX_SIGSTORE_BUNDLE)
                : read(rctx, l->digest, AIRLOCK_MAX_SIGSTORE_BUNDLE, &env, &e);
        if (!rc)
            rc = airlock_dsse_envelope_parse(&d, env.data, env.len, label, &e);
        if (!rc)
            rc = airlock_dsse_verify(&c, &d, o->key, im->digest, label, &e);
        att_settle(a, rc, &c, e, o);
        airlock_sigstore_claim_release(&c);
        airlock_dsse_release(&d);
        airlock_error_free(e);
        airlock_buf_release(&env);
    }
    airlock_oci_free(m);
}

void airlock_att_check_referrer(struct airlock_sig_image *im, const char *raw, size_t len,
                                const char *what, airlock_blob_read_fn read, void *rctx,
                                const struct airlock_sig_check_opts *o)
{
    struct airlock_oci *m = NULL;
    if (airlock_oci_parse(&m, raw, len, "referrer manifest", NULL) ||
        m->kind != AIRLOCK_OCI_MANIFEST || m->n_layers != 1 || !m->layers[0].media_type ||
        strncmp(m->layers[0].media_type, AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX,
                strlen(AIRLOCK_MT_SIGSTORE_BUNDLE_PREFIX)) ||
        !m->subject || strcmp(m->subject->digest, im->digest)) {
        airlock_oci_free(m); /* no bundle referrer of this image: the signature check says why */
        return;
    }
    const char *claimed =
        airlock_annotation_get(m->annotations, m->n_annotations, AIRLOCK_ANN_BUNDLE_PREDICATE);
    const struct airlock_descriptor *l = &m->layers[0];
    struct airlock_buf b = AIRLOCK_BUF_INIT(0);
    struct airlock_error *e = NULL;
    struct airlock_sigstore_claim c;
    char label[120];
    memset(&c, 0, sizeof(c));
    snprintf(label, sizeof(label), "sigstore bundle '%s'", l->digest);
    int rc = 0, sig = claimed && !strcmp(claimed, AIRLOCK_PREDICATE_COSIGN_SIGN);
    struct airlock_att_found *a = NULL;
    if (sig && !o->key)
        goto out; /* a signature, by its label; with a key, by its statement (below) */
    rc = !o->key ? airlock_error_set(&e, AIRLOCK_ESIGNATURE, "not checked (no key given)")
         : l->size > AIRLOCK_MAX_SIGSTORE_BUNDLE
             ? airlock_error_set(&e, AIRLOCK_ESIGNATURE, "%s: %llu bytes (at most %u)", label,
                                 (unsigned long long)l->size, AIRLOCK_MAX_SIGSTORE_BUNDLE)
             : read(rctx, l->digest, AIRLOCK_MAX_SIGSTORE_BUNDLE, &b, &e);
    if (!rc)
        rc = airlock_sigstore_verify(&c, b.data, b.len, o->key, im->digest, label, &e);
    if (!rc && c.predicate_type && !strcmp(c.predicate_type, AIRLOCK_PREDICATE_COSIGN_SIGN))
        goto out; /* a verified signature: not an attestation */
    if (rc && sig)
        goto out; /* a failed signature: the signature check reports it */
    if ((a = att_add(im, AIRLOCK_SIG_FORMAT_BUNDLE, what, l, claimed,
                     airlock_annotation_get(m->annotations, m->n_annotations,
                                            AIRLOCK_ANN_CREATED))))
        att_settle(a, rc, &c, e, o);
out:
    airlock_sigstore_claim_release(&c);
    airlock_error_free(e);
    airlock_buf_release(&b);
    airlock_oci_free(m);
}

int airlock_att_judge(struct airlock_sig_image *im, const struct airlock_sig_check_opts *o)
{
    for (size_t k = 0; k < o->n_attestations; k++) {
        const char *uri = airlock_predicate_type_uri(o->attestations[k], NULL);
        const char *why = NULL;
        int have = 0;
        for (size_t i = 0; uri && i < im->n_atts && !have; i++) {
            const struct airlock_att_found *a = &im->atts[i];
            have = a->verified && a->predicate_type && !strcmp(a->predicate_type, uri);
            if (!have && !why && a->why && a->predicate_type && !strcmp(a->predicate_type, uri))
                why = a->why; /* one that claims the type but does not verify */
        }
        if (have)
            continue;
        free(im->att_failure);
        if (asprintf(&im->att_failure,
                     "no verified attestation of type '%s'%s%s%s (%zu attestation%s found%s%s)",
                     o->attestations[k], uri && strcmp(uri, o->attestations[k]) ? " (" : "",
                     uri && strcmp(uri, o->attestations[k]) ? uri : "",
                     uri && strcmp(uri, o->attestations[k]) ? ")" : "", im->n_atts,
                     im->n_atts == 1 ? "" : "s", why ? "; " : "", why ? why : "") < 0)
            im->att_failure = NULL;
        return 0;
    }
    return 1;
}
