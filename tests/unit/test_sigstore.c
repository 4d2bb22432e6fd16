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
    /* any signature that verifies counts */
    b = make_bundle(k, AIRLOCK_MT_SIGSTORE_BUNDLE_V03, st, AIRLOCK_DSSE_TYPE_INTOTO, 1,
                    "{\"sig\":\"MEUCIQ==\"},");
    CHECK(verify(b, pk, &why, NULL) == 0);
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
                   pk, "duplicate JSON keys");
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

static char *slurp(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", AIRLOCK_FIXTURES, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        harness_failures++;
        return NULL;
    }
    struct airlock_buf b = AIRLOCK_BUF_INIT(1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        airlock_buf_append(&b, chunk, n);
    fclose(f);
    return airlock_buf_detach(&b, len);
}

#define JS_IMG "sha256:3e8ac05ac2ce6dd032c2cbed77bf58bd20f9614d593494687ee938104a8e934e"

TEST(sigstore_js_bundle_verifies)
{
    size_t kl = 0, bl = 0, ml = 0;
    char *pem = slurp("sigstore-js/key.pub", &kl), *b = slurp("sigstore-js/dsse.v03.json", &bl);
    char *msg = slurp("sigstore-js/message.v02.json", &ml);
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
