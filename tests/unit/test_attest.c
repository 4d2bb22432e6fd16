/* Attestations (core/src/attest.c): cosign's predicate type names, the statement around a
 * predicate, the predicate taken back byte for byte, the bare DSSE envelope of an .att layer
 * and its verification. Third-party producers and checkers: tests/e2e/test_attest.sh. */
#include "airlock/sign.h"
#include "core_int.h"
#include "harness.h"

#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void keys(struct airlock_key **k, struct airlock_pubkey **pk)
{
    CHECK(airlock_key_generate(k, NULL) == 0);
    CHECK(airlock_pubkey_from_key(pk, *k, NULL) == 0);
}

static char *build(const char *type, const char *pred, int *rc, char **why)
{
    char *st = NULL;
    size_t n = 0;
    struct airlock_error *e = NULL;
    *rc = airlock_intoto_attestation_build(&st, &n, AIRLOCK_INTOTO_STATEMENT_V1, IMG, "r/x", type,
                                           pred, strlen(pred), "2026-12-03T12:00:00Z", "'p.json'",
                                           &e);
    if (why)
        *why = e ? strdup(e->msg) : NULL;
    airlock_error_free(e);
    CHECK(*rc || strlen(st) == n);
    return st;
}

/* the predicate of statement st: 0 and *out, or the error code */
static int predicate(const char *st, char **out, size_t *len, int *is_string)
{
    return airlock_intoto_predicate(out, len, is_string, st, strlen(st), NULL);
}

TEST(attest_predicate_types_are_cosigns)
{
    enum airlock_predicate_form f;
    CHECK_STR(airlock_predicate_type_uri("spdxjson", &f), "https://spdx.dev/Document");
    CHECK(f == AIRLOCK_PREDICATE_JSON);
    CHECK_STR(airlock_predicate_type_uri("spdx", &f), "https://spdx.dev/Document");
    CHECK(f == AIRLOCK_PREDICATE_STRING);
    CHECK_STR(airlock_predicate_type_uri("slsaprovenance", NULL),
              "https://slsa.dev/provenance/v0.2");
    CHECK_STR(airlock_predicate_type_uri("slsaprovenance02", NULL),
              "https://slsa.dev/provenance/v0.2");
    CHECK_STR(airlock_predicate_type_uri("slsaprovenance1", NULL),
              "https://slsa.dev/provenance/v1");
    CHECK_STR(airlock_predicate_type_uri("cyclonedx", NULL), "https://cyclonedx.org/bom");
    CHECK_STR(airlock_predicate_type_uri("vuln", NULL),
              "https://cosign.sigstore.dev/attestation/vuln/v1");
    CHECK_STR(airlock_predicate_type_uri("openvex", NULL), "https://openvex.dev/ns");
    CHECK_STR(airlock_predicate_type_uri("custom", &f),
              "https://cosign.sigstore.dev/attestation/v1");
    CHECK(f == AIRLOCK_PREDICATE_WRAPPED);
    CHECK_STR(airlock_predicate_type_uri("https://example.com/scan/v2", NULL),
              "https://example.com/scan/v2");
    CHECK(airlock_predicate_type_uri("urn:example:x", NULL) != NULL);
    CHECK(airlock_predicate_type_uri("spdx-json", NULL) == NULL);
    CHECK(airlock_predicate_type_uri("https://a b", NULL) == NULL);
    CHECK(airlock_predicate_type_uri("https://a\"b", NULL) == NULL);
    CHECK(airlock_predicate_type_uri(":x", NULL) == NULL);
    CHECK(airlock_predicate_type_uri("", NULL) == NULL);
    CHECK(airlock_predicate_is_sbom("https://spdx.dev/Document"));
    CHECK(airlock_predicate_is_sbom("https://spdx.dev/Document/v2.3"));
    CHECK(airlock_predicate_is_sbom("https://cyclonedx.org/bom/v1.5"));
    CHECK(!airlock_predicate_is_sbom("https://spdx.dev/Documents"));
    CHECK(!airlock_predicate_is_sbom("https://slsa.dev/provenance/v1"));
}

TEST(attest_json_predicate_comes_back_byte_for_byte)
{
    static const char *docs[] = {"{\"a\": 1,\n  \"b\": [1, {\"c\": \"}]\\\"\"}]}\n", "{}",
                                 "{\"predicate\":{\"x\":\"predicate\"}}\n\n"};
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        int rc;
        char *st = build("spdxjson", docs[i], &rc, NULL), *p = NULL;
        size_t n = 0;
        int is_string = 1;
        CHECK(rc == 0);
        CHECK(predicate(st, &p, &n, &is_string) == 0);
        CHECK(!is_string);
        CHECK(n == strlen(docs[i]) && !memcmp(p, docs[i], n));
        struct airlock_intoto_statement s;
        CHECK(airlock_intoto_statement_parse(&s, st, strlen(st), NULL) == 0);
        CHECK_STR(s.predicate_type, "https://spdx.dev/Document");
        CHECK(s.n_subjects == 1);
        CHECK_STR(s.subjects[0].sha256, IMG + 7);
        CHECK_STR(s.subjects[0].name, "r/x");
        airlock_intoto_statement_release(&s);
        free(p);
        free(st);
    }
    /* another producer's spacing: the member's value, its leading whitespace left out */
    const char *foreign = "{ \"predicate\" :  {\"k\": \"v\"} , \"predicateType\":\"x\","
                          "\"subject\":[{\"digest\":{\"sha256\":\"ab\"},\"predicate\":{}}]}";
    char *p = NULL;
    size_t n = 0;
    int s = 0;
    CHECK(predicate(foreign, &p, &n, &s) == 0);
    CHECK(n == 11 && !memcmp(p, "{\"k\": \"v\"} ", n));
    free(p);
    /* only at the top level; spelled with an escape it is refused, not mistaken */
    CHECK(predicate("{\"subject\":[{\"predicate\":{\"a\":1}}]}", &p, &n, &s) == AIRLOCK_ENOTFOUND);
    CHECK(predicate("{\"predic\\u0061te\":{\"a\":1}}", &p, &n, &s) == AIRLOCK_EINTEGRITY);
    CHECK(predicate("[1]", &p, &n, &s) != 0);
}

TEST(attest_string_and_wrapped_predicates)
{
    int rc;
    const char *tv = "SPDXVersion: SPDX-2.3\nDocumentName: \"x\"\\y\n";
    char *st = build("spdx", tv, &rc, NULL), *p = NULL;
    size_t n = 0;
    int is_string = 0;
    CHECK(rc == 0);
    CHECK(predicate(st, &p, &n, &is_string) == 0);
    CHECK(is_string);
    CHECK_STR(p, tv);
    free(p);
    free(st);
    st = build("custom", "anything at all", &rc, NULL);
    CHECK(rc == 0);
    CHECK(strstr(st, "\"predicate\":{\"Data\":\"anything at all\",\"Timestamp\":"
                     "\"2026-12-03T12:00:00Z\"}}") != NULL);
    CHECK(strstr(st, "\"predicateType\":\"https://cosign.sigstore.dev/attestation/v1\"") != NULL);
    free(st);
}

TEST(attest_refuses_a_predicate_its_type_cannot_take)
{
    int rc;
    char *why = NULL;
    CHECK(build("spdxjson", "SPDXVersion: SPDX-2.3\n", &rc, &why) == NULL);
    CHECK(rc == AIRLOCK_EUSAGE);
    CHECK(strstr(why, "'p.json' is not a JSON object, as a predicate of type 'spdxjson' must be"));
    free(why);
    CHECK(build("cyclonedx", "[1,2]", &rc, &why) == NULL && rc == AIRLOCK_EUSAGE);
    free(why);
    CHECK(build("https://x.example/t", "\"str\"", &rc, &why) == NULL && rc == AIRLOCK_EUSAGE);
    free(why);
    CHECK(build("spdx", "bad \xff utf-8", &rc, &why) == NULL && rc == AIRLOCK_EUSAGE);
    CHECK(strstr(why, "not UTF-8 text"));
    free(why);
    CHECK(build("no-such", "{}", &rc, &why) == NULL && rc == AIRLOCK_EUSAGE);
    CHECK(strstr(why, "neither a cosign type name"));
    free(why);
}

TEST(attest_envelope_verifies_and_refusals_name_why)
{
    struct airlock_key *k = NULL, *k2 = NULL;
    struct airlock_pubkey *pk = NULL, *pk2 = NULL;
    keys(&k, &pk);
    keys(&k2, &pk2);
    int rc;
    char *st = build("spdxjson", "{\"spdxVersion\":\"SPDX-2.3\"}", &rc, NULL), *env = NULL;
    size_t el = 0;
    CHECK(airlock_dsse_envelope_build(&env, &el, k, st, strlen(st), NULL) == 0);
    CHECK(strncmp(env, "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"", 56) ==
          0);
    CHECK(strstr(env, "\"signatures\":[{\"keyid\":\"\",\"sig\":\"") != NULL);
    struct airlock_dsse d;
    struct airlock_sigstore_claim c;
    struct airlock_error *e = NULL;
    CHECK(airlock_dsse_envelope_parse(&d, env, el, "env", NULL) == 0);
    CHECK(d.payload_len == strlen(st) && !memcmp(d.payload, st, d.payload_len));
    CHECK(airlock_dsse_verify(&c, &d, pk, IMG, "env", NULL) == 0);
    CHECK_STR(c.predicate_type, "https://spdx.dev/Document");
    CHECK(c.statement_len == strlen(st) && !memcmp(c.statement, st, c.statement_len));
    airlock_sigstore_claim_release(&c);
    /* another image, another key */
    CHECK(airlock_dsse_verify(&c, &d, pk, OTHER, "env", &e) == AIRLOCK_ESIGNATURE);
    CHECK(strstr(e->msg, "no statement subject is '" OTHER "'"));
    airlock_error_free(e);
    e = NULL;
    CHECK(airlock_dsse_verify(&c, &d, pk2, IMG, "env", &e) == AIRLOCK_ESIGNATURE);
    CHECK(strstr(e->msg, "no DSSE signature (of 1) verifies with the key"));
    airlock_error_free(e);
    e = NULL;
    airlock_dsse_release(&d);
    /* the other key order cosign wrote (payload first, keyid), and two signatures of which one
     * is good: DSSE's threshold of one */
    char *pae = NULL, *sig = NULL, *sig2 = NULL, *b64 = airlock_b64_encode(st, strlen(st)),
         *e2 = NULL;
    size_t pl = 0;
    CHECK(airlock_dsse_pae((unsigned char **)&pae, &pl, AIRLOCK_DSSE_TYPE_INTOTO, st, strlen(st),
                           NULL) == 0);
    CHECK(airlock_key_sign(&sig, k, pae, pl, NULL) == 0);
    CHECK(airlock_key_sign(&sig2, k2, pae, pl, NULL) == 0);
    CHECK(asprintf(&e2,
                   "{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[{\"keyid\":"
                   "\"other\",\"sig\":\"%s\"},{\"keyid\":\"\",\"sig\":\"%s\"}]}",
                   b64, AIRLOCK_DSSE_TYPE_INTOTO, sig2, sig) > 0);
    CHECK(airlock_dsse_envelope_parse(&d, e2, strlen(e2), "env", NULL) == 0);
    CHECK(d.n_sigs == 2);
    CHECK(airlock_dsse_verify(&c, &d, pk, IMG, "env", NULL) == 0);
    airlock_sigstore_claim_release(&c);
    CHECK(airlock_dsse_verify(&c, &d, pk2, IMG, "env", NULL) == 0);
    airlock_sigstore_claim_release(&c);
    airlock_dsse_release(&d);
    free(e2);
    /* a signature over the raw payload, not the PAE, does not count */
    char *raw = NULL;
    CHECK(airlock_key_sign(&raw, k, st, strlen(st), NULL) == 0);
    CHECK(asprintf(&e2,
                   "{\"payloadType\":\"%s\",\"payload\":\"%s\",\"signatures\":[{\"sig\":"
                   "\"%s\"}]}",
                   AIRLOCK_DSSE_TYPE_INTOTO, b64, raw) > 0);
    CHECK(airlock_dsse_envelope_parse(&d, e2, strlen(e2), "env", NULL) == 0);
    CHECK(airlock_dsse_verify(&c, &d, pk, IMG, "env", NULL) == AIRLOCK_ESIGNATURE);
    airlock_dsse_release(&d);
    free(e2);
    /* malformed envelopes */
    static const char *bad[] = {
        "[]", "{\"payloadType\":\"t\",\"payload\":\"eA==\"}",
        "{\"payloadType\":\"t\",\"payload\":\"eA==\",\"signatures\":[]}",
        "{\"payloadType\":\"t\",\"payload\":\"eA==\",\"payload\":\"eA==\","
        "\"signatures\":[{\"sig\":\"eA==\"}]}",
        "{\"payloadType\":\"t\",\"payload\":\"!!\",\"signatures\":[{\"sig\":"
        "\"eA==\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(airlock_dsse_envelope_parse(&d, bad[i], strlen(bad[i]), "env", NULL) ==
              AIRLOCK_ESIGNATURE);
    free(raw);
    free(pae);
    free(sig);
    free(sig2);
    free(b64);
    free(env);
    free(st);
    airlock_key_free(k);
    airlock_key_free(k2);
    airlock_pubkey_free(pk);
    airlock_pubkey_free(pk2);
}

/* A statement signed by k in a bare envelope of payloadType type: what airlock_dsse_verify
 * says of it for IMG. */
static int verify_signed(struct airlock_key *k, struct airlock_pubkey *pk, const char *type,
                         const char *st)
{
    char *pae = NULL, *sig = NULL, *b64 = airlock_b64_encode(st, strlen(st)), *env = NULL;
    size_t pl = 0;
    struct airlock_dsse d;
    struct airlock_sigstore_claim c;
    memset(&c, 0, sizeof(c));
    CHECK(airlock_dsse_pae((unsigned char **)&pae, &pl, type, st, strlen(st), NULL) == 0);
    CHECK(airlock_key_sign(&sig, k, pae, pl, NULL) == 0);
    CHECK(asprintf(&env, "{\"payloadType\":\"%s\",\"payload\":\"%s\",\"signatures\":[{\"sig\":"
                         "\"%s\"}]}",
                   type, b64, sig) > 0);
    int rc = airlock_dsse_envelope_parse(&d, env, strlen(env), "env", NULL);
    if (!rc)
        rc = airlock_dsse_verify(&c, &d, pk, IMG, "env", NULL);
    airlock_sigstore_claim_release(&c);
    airlock_dsse_release(&d);
    free(pae);
    free(sig);
    free(b64);
    free(env);
    return rc;
}

TEST(attest_signed_statements_that_are_ambiguous_or_mistyped_are_refused)
{
    struct airlock_key *k = NULL;
    struct airlock_pubkey *pk = NULL;
    keys(&k, &pk);
#define SUBJ "\"subject\":[{\"digest\":{\"sha256\":\"" IMG_HEX "\"}}]"
#define IMG_HEX "1111111111111111111111111111111111111111111111111111111111111111"
    const char *good = "{\"_type\":\"https://in-toto.io/Statement/v0.1\"," SUBJ
                       ",\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{}}";
    CHECK(verify_signed(k, pk, AIRLOCK_DSSE_TYPE_INTOTO, good) == 0);
    /* not in-toto's payloadType: cosign refuses it */
    CHECK(verify_signed(k, pk, "application/json", good) == AIRLOCK_ESIGNATURE);
    static const char *bad[] = {
        /* two predicateTypes: which one decides is the parser's whim */
        "{\"_type\":\"https://in-toto.io/Statement/v1\"," SUBJ
        ",\"predicateType\":\"https://cyclonedx.org/bom\",\"predicateType\":"
        "\"https://spdx.dev/Document\",\"predicate\":{}}",
        /* the predicate twice, once spelled with an escape */
        "{\"_type\":\"https://in-toto.io/Statement/v1\"," SUBJ
        ",\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{\"a\":1},"
        "\"predic\\u0061te\":{\"a\":2}}",
        /* a duplicate key inside the predicate (the SBOM printed would be ambiguous) */
        "{\"_type\":\"https://in-toto.io/Statement/v1\"," SUBJ
        ",\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{\"name\":\"a\","
        "\"name\":\"b\"}}",
        /* subject digest twice */
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":"
        "\"" IMG_HEX "\",\"sha256\":\"2222\"}}],\"predicateType\":\"https://spdx.dev/Document\","
        "\"predicate\":{}}",
        /* not a statement type cosign writes */
        "{\"_type\":\"https://in-toto.io/Statement/v0.2\"," SUBJ
        ",\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{}}",
        /* no predicateType */
        "{\"_type\":\"https://in-toto.io/Statement/v1\"," SUBJ ",\"predicate\":{}}",
        /* subject digest in upper case is another string (cosign compares exactly) */
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":"
        "\"AAAA\"}}],\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = verify_signed(k, pk, AIRLOCK_DSSE_TYPE_INTOTO, bad[i]);
        if (rc != AIRLOCK_ESIGNATURE)
            fprintf(stderr, "bad[%zu] gave %d\n", i, rc);
        CHECK(rc == AIRLOCK_ESIGNATURE);
    }
    airlock_key_free(k);
    airlock_pubkey_free(pk);
}

/* a string predicate (cosign's spdx) with an escaped NUL: the C string stops there, so what
 * sbom would print is not what was signed */
TEST(attest_string_predicate_with_a_nul_is_refused_not_cut)
{
    const char *st = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
                     "\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":"
                     "\"SPDXVersion: SPDX-2.3\\u0000PackageName: hidden\\n\"}";
    char *p = NULL;
    size_t n = 0;
    int is_string = 0;
    CHECK(predicate(st, &p, &n, &is_string) == AIRLOCK_EINTEGRITY);
    CHECK(p == NULL);
    /* an escaped backslash before u0000 is text, not a NUL */
    const char *ok = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
                     "\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":"
                     "\"a\\\\u0000b\"}";
    CHECK(predicate(ok, &p, &n, &is_string) == 0);
    CHECK(is_string && n == 8 && !strcmp(p, "a\\u0000b"));
    free(p);
}

/* the times sbom orders SBOMs by: RFC 3339 with fractions and offsets, nothing looser */
TEST(rfc3339_times_and_the_creation_time_of_sboms)
{
    int64_t s = 0;
    int32_t ns = 0;
    CHECK(airlock_rfc3339_parse("1970-01-01T00:00:00Z", &s, &ns) == 0 && s == 0 && ns == 0);
    CHECK(airlock_rfc3339_parse("2026-12-03T15:30:44Z", &s, &ns) == 0 && s == 1796311844);
    CHECK(airlock_rfc3339_parse("2026-12-03T17:30:44.5+02:00", &s, &ns) == 0 &&
          s == 1796311844 && ns == 500000000);
    CHECK(airlock_rfc3339_parse("2000-02-29T00:00:00-00:30", &s, &ns) == 0 && s == 951784200);
    static const char *bad[] = {"2026-12-03", "2026-12-03 15:30:44Z", "2026-13-03T15:30:44Z",
                                "2026-12-03T15:30:44", "2026-12-03T15:30:44.Z",
                                "2026-12-03T15:30:44+0200", "2026-12-03T15:30:44Zjunk", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(airlock_rfc3339_parse(bad[i], &s, &ns) == -1);
    const char *spdx = "{\"creationInfo\":{\"created\":\"2026-01-02T03:04:05Z\"}}";
    const char *cdx = "{\"metadata\":{\"timestamp\":\"2026-01-02T03:04:05+01:00\"}}";
    const char *tv = "SPDXVersion: SPDX-2.3\nCreated: 2026-01-02T03:04:05Z\n";
    char *c = airlock_sbom_created(spdx, strlen(spdx));
    CHECK(c && !strcmp(c, "2026-01-02T03:04:05Z"));
    free(c);
    c = airlock_sbom_created(cdx, strlen(cdx));
    CHECK(c && !strcmp(c, "2026-01-02T03:04:05+01:00"));
    free(c);
    c = airlock_sbom_created(tv, strlen(tv));
    CHECK(c && !strcmp(c, "2026-01-02T03:04:05Z"));
    free(c);
    CHECK(airlock_sbom_created("{\"name\":\"x\"}", 12) == NULL);
}
