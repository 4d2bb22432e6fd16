/* sigstore bundles (cosign 3): parse, PAE, verify with a key, and the refusals by name. The
 * bundles made by the sigstore JavaScript libraries are checked in tests/e2e/test_cosign3.sh. */
#include "airlock/sign.h"
#include "core_int.h"
#include "harness.h"

#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "2222222222222222222222222222222222222222222222222222222222222222"

static const char statement_fmt[] =
    "{\"_type\": \"https://in-toto.io/Statement/v1\", \"subject\":[{\"digest\":{\"sha256\":"
    "\"%s\"}, \"annotations\":{\"env\":\"prod\",\"n\":3}}],\n \"predicateType\":"
    "\"https://sigstore.dev/cosign/sign/v1\",\"predicate\":{}}";

/* A v0.3 bundle around statement st, signed with k over the PAE (or over the raw payload,
 * pae 0). extra_sigs go before the real signature in signatures[]. */
static char *make_bundle(const struct airlock_key *k, const char *mt, const char *st,
                         const char *type, int pae, const char *extra_sigs)
{
    unsigned char *p = NULL;
    size_t pl = 0;
    if (pae)
        CHECK(airlock_dsse_pae(&p, &pl, type, st, strlen(st), NULL) == 0);
    char *sig = NULL;
    CHECK(airlock_key_sign(&sig, k, pae ? (const void *)p : st, pae ? pl : strlen(st), NULL) ==
          0);
    char *b64 = airlock_b64_encode(st, strlen(st));
    char *out = NULL;
    CHECK(asprintf(&out,
                   "{\"mediaType\":\"%s\",\"verificationMaterial\":{\"publicKey\":{\"hint\":"
                   "\"x\"},\"timestampVerificationData\":{}},\"dsseEnvelope\":{\"payload\":\"%s\","
                   "\"payloadType\":\"%s\",\"signatures\":[%s{\"sig\":\"%s\",\"keyid\":\"\"}]}}",
                   mt, b64, type, extra_sigs ? extra_sigs : "", sig) > 0);
    free(p);
    free(sig);
    free(b64);
    return out;
}

static char *statement_for(const char *hex)
{
    char *st = NULL;
    CHECK(asprintf(&st, statement_fmt, hex) > 0);
    return st;
}

/* verify's verdict on b: 0, or the error message in *why (malloc'd) */
static int verify(const char *b, const struct airlock_pubkey *pk, char **why,
                  struct airlock_sigstore_claim *c)
{
    struct airlock_error *e = NULL;
    struct airlock_sigstore_claim tmp;
    int rc = airlock_sigstore_verify(c ? c : &tmp, b, strlen(b), pk, IMG, "bundle 'x'", &e);
    if (!c && !rc)
        airlock_sigstore_claim_release(&tmp);
    *why = e ? strdup(e->msg) : NULL;
    if (e)
        fprintf(stderr, "  (%s)\n", e->msg);
    airlock_error_free(e);
    return rc;
}

static void keys(struct airlock_key **k, struct airlock_pubkey **pk)
{
    CHECK(airlock_key_generate(k, NULL) == 0);
    CHECK(airlock_pubkey_from_key(pk, *k, NULL) == 0);
}

TEST(sigstore_pae_is_dsse_v1)
{
    unsigned char *p = NULL;
    size_t n = 0;
    CHECK(airlock_dsse_pae(&p, &n, AIRLOCK_DSSE_TYPE_INTOTO, "{}", 2, NULL) == 0);
    const char want[] = "DSSEv1 28 application/vnd.in-toto+json 2 {}";
    CHECK(n == sizeof(want) - 1 && p && !memcmp(p, want, n));
    free(p);
}

static void expect_refused(const char *b, const struct airlock_pubkey *pk, const char *needle);

TEST(sigstore_bundle_verifies_with_the_key)
{
    struct airlock_key *k = NULL;
    struct airlock_pubkey *pk = NULL;
    keys(&k, &pk);
    char *st = statement_for(IMG + 7), *why = NULL;
    char *b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, AIRLOCK_DSSE_TYPE_INTOTO, 1,
                          NULL);
    struct airlock_sigstore_claim c;
    CHECK(verify(b, pk, &why, &c) == 0);
    CHECK_STR(c.predicate_type, "https://sigstore.dev/cosign/sign/v1");
    CHECK(c.n_annotations == 1); /* "n":3 is not a string: never matches */
    CHECK_STR(airlock_annotation_get(c.annotations, c.n_annotations, "env"), "prod");
    airlock_sigstore_claim_release(&c);
    free(b);
    /* the older spelling of the v0.3 media type, and a later version */
    b = make_bundle(k, "application/vnd.dev.sigstore.bundle+json;version=0.3", st,
                    AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    CHECK(verify(b, pk, &why, NULL) == 0);
    free(b);
    b = make_bundle(k, "application/vnd.dev.sigstore.bundle.v0.4+json", st,
                    AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    CHECK(verify(b, pk, &why, NULL) == 0);
    free(b);
    /* a good signature next to another: a sigstore bundle's envelope holds exactly one (the
     * bundle spec; @sigstore/bundle refuses two), so it is refused, the good one too */
    b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, AIRLOCK_DSSE_TYPE_INTOTO, 1,
                    "{\"sig\":\"MEUCIQ==\"},");
    expect_refused(b, pk, "dsseEnvelope has 2 signatures (a sigstore bundle's has exactly one)");
    free(b);
    free(st);
    airlock_key_free(k);
    airlock_pubkey_free(pk);
}

static void expect_refused(const char *b, const struct airlock_pubkey *pk, const char *needle)
{
    char *why = NULL;
    CHECK(verify(b, pk, &why, NULL) == AIRLOCK_ESIGNATURE);
    CHECK(why && strstr(why, needle));
    if (why && !strstr(why, needle))
        fprintf(stderr, "  wanted '%s'\n", needle);
    free(why);
}

TEST(sigstore_bundle_refusals_name_why)
{
    struct airlock_key *k = NULL, *k2 = NULL;
    struct airlock_pubkey *pk = NULL, *pk2 = NULL;
    keys(&k, &pk);
    keys(&k2, &pk2);
    char *st = statement_for(IMG + 7), *other = statement_for(OTHER);
    char *b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, AIRLOCK_DSSE_TYPE_INTOTO, 1,
                          NULL);
    expect_refused(b, pk2, "no DSSE signature (of 1) verifies with the key");
    /* tampered payload: another statement under the same signature */
    char *b64a = airlock_b64_encode(st, strlen(st)), *b64b = airlock_b64_encode(other, strlen(other));
    char *pos = strstr(b, b64a);
    CHECK(pos && strlen(b64a) == strlen(b64b));
    if (pos && strlen(b64a) == strlen(b64b))
        memcpy(pos, b64b, strlen(b64b));
    expect_refused(b, pk, "verifies with the key");
    free(b);
    free(b64a);
    free(b64b);
    /* a valid signature over a statement about another image */
    b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, other, AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    expect_refused(b, pk, "no statement subject is '" IMG "'");
    free(b);
    /* the signature over the bare payload (no PAE) is not a DSSE signature */
    b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, AIRLOCK_DSSE_TYPE_INTOTO, 0, NULL);
    expect_refused(b, pk, "verifies with the key");
    free(b);
    b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, "text/plain", 1, NULL);
    expect_refused(b, pk, "payloadType 'text/plain'");
    free(b);
    b = make_bundle(k, "application/vnd.dev.sigstore.bundle+json;version=0.1", st,
                    AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    expect_refused(b, pk, "sigstore bundle v0.1 is not supported");
    free(b);
    b = make_bundle(k, "application/vnd.dev.sigstore.bundle.v0.2+json", st,
                    AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    expect_refused(b, pk, "sigstore bundle v0.2 is not supported");
    free(b);
    b = make_bundle(k, "application/json", st, AIRLOCK_DSSE_TYPE_INTOTO, 1, NULL);
    expect_refused(b, pk, "is not a sigstore bundle");
    free(b);
    free(st);
    free(other);
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{\"publicKey\":{}},\"messageSignature\":"
                   "{\"messageDigest\":{\"algorithm\":\"SHA2_256\",\"digest\":\"AA==\"},"
                   "\"signature\":\"AA==\"}}",
                   pk, "messageSignature bundle");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{\"certificate\":{\"rawBytes\":\"AA==\"}},"
                   "\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":\"x\","
                   "\"signatures\":[{\"sig\":\"AA==\"}]}}",
                   pk, "keyless bundle");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":\"x\","
                   "\"signatures\":[{\"sig\":\"AA==\"}]}}",
                   pk, "no 'verificationMaterial'");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{}}",
                   pk, "no content");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{},\"dsseEnvelope\":{\"payload\":1,"
                   "\"payloadType\":\"x\",\"signatures\":[]}}",
                   pk, "needs string payload");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{},\"dsseEnvelope\":{\"payload\":\"e30=\","
                   "\"payloadType\":\"x\",\"signatures\":[]}}",
                   pk, "has no signatures");
    expect_refused("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"mediaType\":\"x\",\"verificationMaterial\":{}}",
                   pk, "duplicate JSON key 'mediaType'");
    expect_refused("[1]", pk, "not a JSON object");
    airlock_key_free(k);
    airlock_key_free(k2);
    airlock_pubkey_free(pk);
    airlock_pubkey_free(pk2);
}

TEST(intoto_statement_types_are_checked)
{
    struct airlock_intoto_statement s;
    static const char *bad[] = {
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":{},\"predicateType\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],\"predicateType\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":1}}],"
        "\"predicateType\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{}, "
        "\"annotations\":[]}],\"predicateType\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{}}],"
        "\"predicateType\":7}",
        "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"digest\":{}}],"
        "\"predicateType\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"a\","
        "\"sha256\":\"b\"}}],\"predicateType\":\"x\"}",
        "\"string\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(airlock_intoto_statement_parse(&s, bad[i], strlen(bad[i]), NULL) ==
              AIRLOCK_ESIGNATURE);
    }
    const char ok[] = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\","
                      "\"digest\":{\"sha512\":\"00\"}},{\"digest\":{\"sha256\":\"ab\"}}],"
                      "\"predicateType\":\"p\",\"predicate\":{\"x\":[1]}}";
    CHECK(airlock_intoto_statement_parse(&s, ok, strlen(ok), NULL) == 0);
    CHECK(s.n_subjects == 2);
    CHECK(s.subjects[0].sha256 == NULL);
    CHECK_STR(s.subjects[0].name, "a");
    CHECK_STR(s.subjects[1].sha256, "ab");
    CHECK_STR(s.predicate_type, "p");
    airlock_intoto_statement_release(&s);
}

#define JS_IMG "sha256:3e8ac05ac2ce6dd032c2cbed77bf58bd20f9614d593494687ee938104a8e934e"

TEST(sigstore_js_bundle_verifies)
{
    size_t kl = 0, bl = 0, ml = 0;
    char *pem = harness_fixture("sigstore-js/key.pub", &kl), *b = harness_fixture("sigstore-js/dsse.v03.json", &bl);
    char *msg = harness_fixture("sigstore-js/message.v02.json", &ml);
    struct airlock_pubkey *pk = NULL;
    CHECK(pem && airlock_pubkey_parse(&pk, pem, kl, "key.pub", NULL) == 0);
    struct airlock_sigstore_claim c;
    struct airlock_error *e = NULL;
    CHECK(pk && b && airlock_sigstore_verify(&c, b, bl, pk, JS_IMG, "dsse.v03.json", &e) == 0);
    if (e)
        fprintf(stderr, "%s\n", e->msg);
    airlock_error_free(e);
    e = NULL;
    CHECK_STR(c.predicate_type, "https://sigstore.dev/cosign/sign/v1");
    CHECK_STR(airlock_annotation_get(c.annotations, c.n_annotations, "env"), "prod");
    airlock_sigstore_claim_release(&c);
    /* another image's digest */
    CHECK(pk && b &&
          airlock_sigstore_verify(&c, b, bl, pk, IMG, "dsse.v03.json", NULL) == AIRLOCK_ESIGNATURE);
    CHECK(pk && msg &&
          airlock_sigstore_verify(&c, msg, ml, pk, JS_IMG, "message.v02.json", &e) ==
              AIRLOCK_ESIGNATURE);
    CHECK(e && strstr(e->msg, "v0.2 is not supported"));
    airlock_error_free(e);
    airlock_pubkey_free(pk);
    free(pem);
    free(b);
    free(msg);
}

/* ---- writing (cosign 3's form, FORMATS.md section 4) ---------------------------------------- */

TEST(sigstore_statement_build_is_cosigns)
{
    char *st = NULL;
    size_t n = 0;
    CHECK(airlock_intoto_statement_build(&st, &n, IMG, AIRLOCK_PREDICATE_COSIGN_SIGN, NULL, 0,
                                         NULL) == 0);
    CHECK_STR(st, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{"
                  "\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111"
                  "\"},\"annotations\":{}}],\"predicateType\":\"https://sigstore.dev/cosign/sign/"
                  "v1\",\"predicate\":{}}");
    CHECK(st && n == strlen(st));
    free(st);
    /* annotations sorted and escaped; the parser reads them back */
    struct airlock_annotation ann[2] = {{(char *)"z", (char *)"q\"<"}, {(char *)"a", (char *)"1"}};
    CHECK(airlock_intoto_statement_build(&st, &n, IMG, AIRLOCK_PREDICATE_COSIGN_SIGN, ann, 2,
                                         NULL) == 0);
    CHECK(st && strstr(st, "\"annotations\":{\"a\":\"1\",\"z\":\"q\\\"\\u003c\"}"));
    struct airlock_intoto_statement s;
    CHECK(airlock_intoto_statement_parse(&s, st, n, NULL) == 0);
    CHECK(s.n_subjects == 1 && s.subjects[0].n_annotations == 2);
    CHECK_STR(s.subjects[0].sha256, IMG + 7);
    CHECK_STR(airlock_annotation_get(s.subjects[0].annotations, 2, "z"), "q\"<");
    airlock_intoto_statement_release(&s);
    free(st);
    struct airlock_error *e = NULL;
    CHECK(airlock_intoto_statement_build(&st, &n, "sha512:00", AIRLOCK_PREDICATE_COSIGN_SIGN, NULL,
                                         0, &e) == AIRLOCK_EUSAGE);
    CHECK(e && strstr(e->msg, "'sha512:00' is not a sha256 digest"));
    airlock_error_free(e);
    e = NULL;
    /* a key twice would be a duplicate JSON key, which every verifier here refuses */
    struct airlock_annotation twice[2] = {{(char *)"env", (char *)"a"}, {(char *)"env", (char *)"b"}};
    CHECK(airlock_intoto_statement_build(&st, &n, IMG, AIRLOCK_PREDICATE_COSIGN_SIGN, twice, 2,
                                         &e) == AIRLOCK_EUSAGE);
    CHECK(e && strstr(e->msg, "annotation 'env' given twice"));
    airlock_error_free(e);
}

TEST(sigstore_bundle_build_verifies_and_has_the_hint)
{
    struct airlock_key *k = NULL, *k2 = NULL;
    struct airlock_pubkey *pk = NULL, *pk2 = NULL;
    keys(&k, &pk);
    keys(&k2, &pk2);
    char *st = NULL, *b = NULL, *why = NULL, *hint = NULL, *pem = NULL;
    size_t sl = 0, bl = 0;
    struct airlock_annotation ann = {(char *)"env", (char *)"prod"};
    CHECK(airlock_intoto_statement_build(&st, &sl, IMG, AIRLOCK_PREDICATE_COSIGN_SIGN, &ann, 1,
                                         NULL) == 0);
    CHECK(airlock_sigstore_bundle_build(&b, &bl, k, st, sl, NULL) == 0);
    CHECK(b && bl == strlen(b));
    struct airlock_sigstore_claim c;
    CHECK(verify(b, pk, &why, &c) == 0);
    CHECK_STR(c.predicate_type, AIRLOCK_PREDICATE_COSIGN_SIGN);
    CHECK_STR(airlock_annotation_get(c.annotations, c.n_annotations, "env"), "prod");
    airlock_sigstore_claim_release(&c);
    free(why);
    CHECK(verify(b, pk2, &why, NULL) == AIRLOCK_ESIGNATURE);
    free(why);
    /* the exact statement bytes are the payload; hint = b64(sha256(SPKI DER)); no keyid, no
     * tlog entries or timestamps */
    struct airlock_dsse d;
    CHECK(airlock_sigstore_bundle_parse(&d, b, bl, "b", NULL) == 0);
    CHECK(d.payload_len == sl && !memcmp(d.payload, st, sl));
    CHECK_STR(d.payload_type, AIRLOCK_DSSE_TYPE_INTOTO);
    airlock_dsse_release(&d);
    CHECK(airlock_key_hint(&hint, k, NULL) == 0);
    CHECK(airlock_key_public_pem(&pem, k, NULL) == 0);
    unsigned char *der = NULL;
    size_t dl = 0;
    char label[64], dg[AIRLOCK_DIGEST_SIZE];
    CHECK(core_pem_decode(&der, &dl, label, pem, strlen(pem), "pem", NULL) == 0);
    CHECK(airlock_sha256_digest(dg, der, dl, NULL) == 0);
    unsigned char md[32];
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(dg + 7 + 2 * i, "%2x", &v);
        md[i] = (unsigned char)v;
    }
    char *want = airlock_b64_encode(md, 32);
    CHECK_STR(hint, want);
    char *prefix = NULL;
    CHECK(asprintf(&prefix,
                   "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                   "\"verificationMaterial\":{\"publicKey\":{\"hint\":\"%s\"}},\"dsseEnvelope\":"
                   "{\"payload\":\"",
                   hint) > 0);
    CHECK(b && !strncmp(b, prefix, strlen(prefix)));
    CHECK(b && strstr(b, "\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":"
                         "[{\"sig\":\""));
    CHECK(b && !strstr(b, "keyid") && !strstr(b, "tlogEntries") && !strstr(b, "timestamp"));
    CHECK(b && !strcmp(b + bl - 5, "\"}]}}"));
    free(prefix);
    free(want);
    free(der);
    free(pem);
    free(hint);
    free(st);
    free(b);
    airlock_key_free(k);
    airlock_key_free(k2);
    airlock_pubkey_free(pk);
    airlock_pubkey_free(pk2);
}

TEST(sigstore_referrer_build_is_cosigns)
{
    struct airlock_descriptor bundle = {0}, subject = {0};
    bundle.media_type = (char *)AIRLOCK_MT_SIGSTORE_BUNDLE_V03;
    bundle.size = 1234;
    snprintf(bundle.digest, sizeof(bundle.digest), "sha256:%s", OTHER);
    subject.media_type = (char *)AIRLOCK_MT_OCI_INDEX;
    subject.size = 567;
    memcpy(subject.digest, IMG, sizeof(IMG));
    char *m = NULL;
    size_t n = 0;
    CHECK(airlock_sigstore_referrer_build(&m, &n, &bundle, &subject, AIRLOCK_PREDICATE_COSIGN_SIGN,
                                          "2026-12-03T15:30:44Z", NULL) == 0);
    CHECK_STR(m, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                 "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2,"
                 "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\","
                 "\"artifactType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"},"
                 "\"layers\":[{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
                 "\"size\":1234,\"digest\":\"sha256:" OTHER "\"}],"
                 "\"annotations\":{\"dev.sigstore.bundle.content\":\"dsse-envelope\","
                 "\"dev.sigstore.bundle.predicateType\":\"https://sigstore.dev/cosign/sign/v1\","
                 "\"org.opencontainers.image.created\":\"2026-12-03T15:30:44Z\"},"
                 "\"subject\":{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                 "\"size\":567,\"digest\":\"" IMG "\"},"
                 "\"artifactType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}");
    CHECK(m && n == strlen(m));
    /* the empty config's digest is that of the two bytes {} */
    char dg[AIRLOCK_DIGEST_SIZE];
    CHECK(airlock_sha256_digest(dg, "{}", 2, NULL) == 0);
    CHECK_STR(dg, AIRLOCK_OCI_EMPTY_DIGEST);
    /* the manifest parses as a referrer of the subject */
    struct airlock_oci *o = NULL;
    CHECK(airlock_oci_parse(&o, m, n, "referrer", NULL) == 0);
    CHECK(o && o->subject && !strcmp(o->subject->digest, IMG) && o->n_layers == 1);
    airlock_oci_free(o);
    free(m);
}

TEST(sigstore_referrers_index_add_keeps_theirs)
{
    struct airlock_descriptor bundle = {0}, subject = {0};
    bundle.size = 10;
    snprintf(bundle.digest, sizeof(bundle.digest), "sha256:%s", OTHER);
    memcpy(subject.digest, IMG, sizeof(IMG));
    subject.size = 5;
    char *m = NULL, *idx = NULL, *idx2 = NULL, *idx3 = NULL;
    size_t ml = 0, il = 0, il2 = 0, il3 = 0;
    int added = -1;
    CHECK(airlock_sigstore_referrer_build(&m, &ml, &bundle, &subject, AIRLOCK_PREDICATE_COSIGN_SIGN,
                                          "2026-12-03T15:30:44Z", NULL) == 0);
    char mdg[AIRLOCK_DIGEST_SIZE];
    CHECK(airlock_sha256_digest(mdg, m, ml, NULL) == 0);
    /* a new index */
    CHECK(airlock_referrers_index_add(&idx, &il, &added, NULL, 0, m, ml, "idx", NULL) == 0);
    CHECK(added == 1);
    char *want = NULL;
    CHECK(asprintf(&want,
                   "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                   "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                   "\"size\":%zu,\"digest\":\"%s\",\"artifactType\":\"application/vnd.dev.sigstore."
                   "bundle.v0.3+json\",\"annotations\":{\"dev.sigstore.bundle.content\":\"dsse-"
                   "envelope\",\"dev.sigstore.bundle.predicateType\":\"https://sigstore.dev/cosign/"
                   "sign/v1\",\"org.opencontainers.image.created\":\"2026-12-03T15:30:44Z\"}}]}",
                   ml, mdg) > 0);
    CHECK_STR(idx, want);
    CHECK(idx && il == strlen(idx));
    /* the same referrer again: unchanged, byte for byte */
    CHECK(airlock_referrers_index_add(&idx2, &il2, &added, idx, il, m, ml, "idx", NULL) == 0);
    CHECK(added == 0 && il2 == il && idx2 && !memcmp(idx2, idx, il));
    free(idx2);
    /* theirs kept, with members we do not know */
    const char theirs[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index."
                          "v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image."
                          "manifest.v1+json\",\"size\":7,\"digest\":\"sha256:" OTHER "\","
                          "\"artifactType\":\"application/spdx+json\",\"x-theirs\":[1]}],"
                          "\"annotations\":{\"k\":\"v\"}}";
    CHECK(airlock_referrers_index_add(&idx3, &il3, &added, theirs, sizeof(theirs) - 1, m, ml,
                                      "idx", NULL) == 0);
    CHECK(added == 1);
    struct airlock_oci *o = NULL;
    CHECK(airlock_oci_parse(&o, idx3, il3, "merged", NULL) == 0);
    CHECK(o && o->kind == AIRLOCK_OCI_INDEX && o->n_layers == 2);
    CHECK(o && o->n_layers == 2 && !strcmp(o->layers[0].digest, "sha256:" OTHER) &&
          !strcmp(o->layers[1].digest, mdg));
    CHECK(o && o->n_layers == 2 && o->layers[1].artifact_type &&
          !strcmp(o->layers[1].artifact_type, AIRLOCK_MT_SIGSTORE_BUNDLE_V03));
    CHECK(idx3 && strstr(idx3, "\"x-theirs\":[1]") && strstr(idx3, "\"annotations\":{\"k\":\"v\"}"));
    airlock_oci_free(o);
    /* something else under the tag is left alone */
    struct airlock_error *e = NULL;
    char *x = NULL;
    size_t xl = 0;
    CHECK(airlock_referrers_index_add(&x, &xl, &added, m, ml, m, ml, "'repo:sha256-1'", &e) ==
          AIRLOCK_EINTEGRITY);
    CHECK(e && strstr(e->msg, "'repo:sha256-1': not an image index"));
    airlock_error_free(e);
    free(want);
    free(idx);
    free(idx3);
    free(m);
}
