#include "airlock/sign.h"
#include "core_int.h"
#include "harness.h"

static struct airlock_key *load(const char *rel, const char *pw, int *rc_out,
                                struct airlock_error **err)
{
    size_t len;
    char *pem = harness_fixture(rel, &len);
    struct airlock_key *k = NULL;
    *rc_out = pem ? airlock_key_decrypt(&k, pem, len, pw, strlen(pw), rel, err) : -1;
    free(pem);
    return k;
}

static void fixture_key(const char *name)
{
    char key[200], pub[200];
    snprintf(key, sizeof(key), "cosign-keys/%s.key", name);
    snprintf(pub, sizeof(pub), "cosign-keys/%s.derived.pub", name);
    int rc;
    struct airlock_error *err = NULL;
    struct airlock_key *k = load(key, "hello", &rc, &err);
    CHECK(rc == 0);
    if (err)
        fprintf(stderr, "%s\n", err->msg);
    airlock_error_free(err);
    if (!k)
        return;
    char *pem = NULL;
    CHECK(airlock_key_public_pem(&pem, k, NULL) == 0);
    size_t len;
    char *want = harness_fixture(pub, &len);
    CHECK_STR(pem, want);
    CHECK(pem && strlen(pem) == 178);
    free(pem);
    free(want);
    airlock_key_free(k);
}

TEST(fixture_keys_load_and_derive_their_public_keys)
{
    fixture_key("cosign_keys_test_pemcosignkey");
    fixture_key("cosign_keys_test_pemsigstorekey");
}

TEST(sec1_plaintext_is_refused)
{
    int rc;
    struct airlock_error *err = NULL;
    struct airlock_key *k = load("cosign-keys/cosign_keys_test_pemcosigneckey_NEGATIVE_sec1.key",
                                 "hello", &rc, &err);
    CHECK(rc == AIRLOCK_EUSAGE && !k);
    CHECK(err && strstr(err->msg, "not PKCS#8"));
    airlock_error_free(err);
}

TEST(wrong_password_is_refused_without_echoing_it)
{
    int rc;
    struct airlock_error *err = NULL;
    struct airlock_key *k = load("cosign-keys/cosign_keys_test_pemcosignkey.key", "hunter2", &rc,
                                 &err);
    CHECK(rc == AIRLOCK_EUSAGE && !k);
    CHECK(err && strstr(err->msg, "wrong password") && !strstr(err->msg, "hunter2"));
    airlock_error_free(err);
}

static void import_case(const char *rel, int want_rc, const char *msg)
{
    size_t len;
    char *pem = harness_fixture(rel, &len);
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    int rc = airlock_key_import_pem(&k, pem, len, rel, &err);
    CHECK(rc == want_rc);
    if (msg)
        CHECK(err && strstr(err->msg, msg));
    airlock_error_free(err);
    airlock_key_free(k);
    free(pem);
}

TEST(import_unencrypted_keys)
{
    import_case("cosign-keys/cosign_keys_test_validecp256_sec1.pem", 0, NULL);
    import_case("cosign-keys/cosign_keys_test_validecpkcs8.pem", 0, NULL);
    import_case("cosign-keys/cosign_keys_test_validrsapkcs8.pem", AIRLOCK_EUSAGE, "RSA keys are not supported");
    import_case("cosign-keys/cosign_keys_test_ed25519_pkcs8.pem", AIRLOCK_EUSAGE,
                "Ed25519 keys are not supported");
}

TEST(encrypt_decrypt_roundtrip_both_labels)
{
    struct airlock_key *k = NULL, *k2 = NULL;
    CHECK(airlock_key_generate(&k, NULL) == 0);
    char *file = NULL;
    CHECK(airlock_key_encrypt(&file, k, "", 0, 32768, AIRLOCK_KEY_LABEL_COSIGN, NULL) == 0);
    CHECK(file && !strncmp(file, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n", 45));
    CHECK(airlock_key_decrypt(&k2, file, strlen(file), "", 0, "t", NULL) == 0); /* empty password */
    char *p1 = NULL, *p2 = NULL;
    airlock_key_public_pem(&p1, k, NULL);
    if (k2)
        airlock_key_public_pem(&p2, k2, NULL);
    CHECK_STR(p1, p2);
    /* every line of the PEM is at most 64 columns */
    for (char *l = file; l && *l;) {
        char *e = strchr(l, '\n');
        CHECK(e && e - l <= 64);
        l = e ? e + 1 : NULL;
    }
    free(file);
    free(p2);
    airlock_key_free(k2);
    k2 = NULL;
    CHECK(airlock_key_encrypt(&file, k, "pw", 2, 65536, AIRLOCK_KEY_LABEL_SIGSTORE, NULL) == 0);
    CHECK(strstr(file, "SIGSTORE PRIVATE KEY") != NULL);
    unsigned char *body = NULL;
    size_t bl;
    char label[64];
    CHECK(core_pem_decode(&body, &bl, label, file, strlen(file), "t", NULL) == 0);
    CHECK(body && bl > 40 && !memcmp(body, "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":65536,\"r\":8,\"p\":1},\"salt\":\"", 64));
    CHECK(airlock_key_decrypt(&k2, file, strlen(file), "pw", 2, "t", NULL) == 0);
    free(body);
    free(file);
    free(p1);
    airlock_key_free(k2);
    airlock_key_free(k);
}

TEST(other_scrypt_parameters_are_refused)
{
    struct airlock_key *k = NULL;
    CHECK(airlock_key_generate(&k, NULL) == 0);
    char *file = NULL;
    CHECK(airlock_key_encrypt(&file, k, "pw", 2, 32768, AIRLOCK_KEY_LABEL_COSIGN, NULL) == 0);
    unsigned char *body = NULL;
    size_t bl;
    char label[64];
    CHECK(core_pem_decode(&body, &bl, label, file, strlen(file), "t", NULL) == 0);
    char *j = strndup((char *)body, bl);
    char *n = strstr(j, "\"N\":32768");
    memcpy(n, "\"N\":16384", 9);
    char *evil = core_pem_encode(label, (unsigned char *)j, strlen(j));
    struct airlock_key *k2 = NULL;
    struct airlock_error *err = NULL;
    CHECK(airlock_key_decrypt(&k2, evil, strlen(evil), "pw", 2, "evil.key", &err) ==
          AIRLOCK_EUSAGE);
    CHECK(err && strstr(err->msg, "scrypt parameters"));
    airlock_error_free(err);
    err = NULL;
    /* another label */
    char *other = core_pem_encode("PRIVATE KEY", body, bl);
    CHECK(airlock_key_decrypt(&k2, other, strlen(other), "pw", 2, "o.key", &err) == AIRLOCK_EUSAGE);
    CHECK(err && strstr(err->msg, "is not a cosign private key"));
    airlock_error_free(err);
    free(other);
    free(evil);
    free(j);
    free(body);
    free(file);
    airlock_key_free(k);
}

TEST(sign_and_verify)
{
    struct airlock_key *k = NULL;
    struct airlock_pubkey *pub = NULL;
    CHECK(airlock_key_generate(&k, NULL) == 0);
    CHECK(airlock_pubkey_from_key(&pub, k, NULL) == 0);
    const char *payload = "{\"critical\":{}}";
    char *sig = NULL;
    CHECK(airlock_key_sign(&sig, k, payload, strlen(payload), NULL) == 0);
    CHECK(airlock_pubkey_verify(pub, payload, strlen(payload), sig, NULL) == 0);
    CHECK(airlock_pubkey_verify(pub, "{\"critical\":{}} ", strlen(payload) + 1, sig, NULL) ==
          AIRLOCK_ESIGNATURE);
    CHECK(airlock_pubkey_verify(pub, payload, strlen(payload), "!!", NULL) == AIRLOCK_ESIGNATURE);
    free(sig);
    airlock_pubkey_free(pub);
    airlock_key_free(k);
}

/* containers/image's dir: form of one .sig layer: "\0sigstore-json\n" + JSON */
static void cosign_sig(const char *rel, const char *pubrel, int want_ok)
{
    size_t len, pl;
    char *raw = harness_fixture(rel, &len);
    char *pem = harness_fixture(pubrel, &pl);
    if (!raw || !pem)
        return;
    CHECK(len > 15 && !memcmp(raw, "\0sigstore-json\n", 15));
    char *payload_b64 = strstr(raw + 15, "\"payload\":\"") + 11;
    *strchr(payload_b64, '"') = '\0';
    char *sig = strstr(payload_b64 + strlen(payload_b64) + 1, "\"dev.cosignproject.cosign/signature\":\"") + 38;
    *strchr(sig, '"') = '\0';
    unsigned char *payload = NULL;
    size_t n;
    CHECK(airlock_b64_decode(&payload, &n, payload_b64, strlen(payload_b64), NULL) == 0);
    struct airlock_pubkey *pub = NULL;
    CHECK(airlock_pubkey_parse(&pub, pem, pl, pubrel, NULL) == 0);
    int rc = airlock_pubkey_verify(pub, payload, n, sig, NULL);
    CHECK(want_ok ? rc == 0 : rc == AIRLOCK_ESIGNATURE);
    struct airlock_sig_payload sp;
    CHECK(airlock_sig_payload_parse(&sp, (char *)payload, n, 1, NULL) == 0);
    CHECK(sp.digest && !strncmp(sp.digest, "sha256:", 7));
    airlock_sig_payload_release(&sp);
    airlock_pubkey_free(pub);
    free(payload);
    free(raw);
    free(pem);
}

TEST(real_cosign_signatures_verify)
{
    cosign_sig("containers-image/dir-img-cosign-valid/signature-1", "containers-image/cosign.pub", 1);
    cosign_sig("containers-image/dir-img-cosign-valid/signature-1", "containers-image/cosign2.pub", 0);
    cosign_sig("containers-image/dir-img-cosign-valid-2/signature-2", "containers-image/cosign.pub", 1);
    cosign_sig("containers-image/dir-img-cosign-valid-with-tag/signature-1",
               "containers-image/cosign.pub", 1);
    cosign_sig("containers-image/dir-img-cosign-key-rekor-valid/signature-1",
               "containers-image/cosign2.pub", 1);
    cosign_sig("containers-image/dir-img-cosign-key-rekor-valid/signature-1",
               "containers-image/cosign.pub", 0);
}

TEST(payload_and_manifest_bytes_match_cosign)
{
    size_t len;
    char *want = harness_fixture("containers-image/derived-legacy-sig/payload.json", &len);
    char *got = NULL;
    size_t gl;
    CHECK(airlock_sig_payload_build(&got, &gl, "192.168.64.2:5000/cosign-signed-single-sample",
                                    "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00",
                                    NULL, 0, NULL) == 0);
    CHECK(got && gl == len && !memcmp(got, want, len));
    char pd[AIRLOCK_DIGEST_SIZE];
    airlock_sha256_digest(pd, got, gl, NULL);
    free(want);
    free(got);
    struct airlock_annotation ann = {(char *)AIRLOCK_ANN_SIGNATURE,
                                     (char *)"MEYCIQDmtamqYPjMg81nqeBhptrPls44aA/r7PwLmspINJY4MwIhANKRpqe2E9UCBtGFdPoz/8jAbaQm4uP4h+IpwKTE6ClR"};
    struct airlock_descriptor layer = {0};
    layer.media_type = (char *)AIRLOCK_MT_SIMPLESIGNING;
    memcpy(layer.digest, pd, sizeof(pd));
    layer.size = 261;
    layer.annotations = &ann;
    layer.n_annotations = 1;
    char *m = NULL, *c = NULL;
    size_t ml, cl;
    CHECK(airlock_sig_manifest_build(&m, &ml, &c, &cl, &layer, 1, NULL) == 0);
    size_t wl;
    want = harness_fixture("containers-image/derived-legacy-sig/manifest.json", &wl);
    CHECK(m && ml == wl && !memcmp(m, want, wl));
    free(want);
    want = harness_fixture("containers-image/derived-legacy-sig/config.json", &wl);
    CHECK(c && cl == wl && !memcmp(c, want, wl));
    free(want);
    free(m);
    free(c);
}

TEST(payload_with_annotations_sorted)
{
    struct airlock_annotation a[2] = {{(char *)"z", (char *)"1"}, {(char *)"env", (char *)"<prod>"}};
    char *p = NULL;
    size_t n;
    CHECK(airlock_sig_payload_build(&p, &n, "r.io/a", "sha256:00", a, 2, NULL) == 0);
    CHECK(p && strstr(p, "\"optional\":{\"env\":\"\\u003cprod\\u003e\",\"z\":\"1\"}}"));
    struct airlock_sig_payload sp;
    CHECK(airlock_sig_payload_parse(&sp, p, n, 1, NULL) == 0);
    CHECK(sp.n_optional == 2);
    airlock_sig_payload_release(&sp);
    free(p);
}

TEST(payload_strict_rules)
{
    struct airlock_sig_payload sp;
    const char *extra = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"cosign container image signature\",\"x\":1},\"optional\":null}";
    CHECK(airlock_sig_payload_parse(&sp, extra, strlen(extra), 1, NULL) == AIRLOCK_ESIGNATURE);
    CHECK(airlock_sig_payload_parse(&sp, extra, strlen(extra), 0, NULL) == 0); /* cosign reads it */
    airlock_sig_payload_release(&sp);
    const char *noopt = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"cosign container image signature\"}}";
    CHECK(airlock_sig_payload_parse(&sp, noopt, strlen(noopt), 1, NULL) == AIRLOCK_ESIGNATURE);
    const char *dup = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"cosign container image signature\"},\"optional\":null,\"optional\":null}";
    CHECK(airlock_sig_payload_parse(&sp, dup, strlen(dup), 1, NULL) == AIRLOCK_ESIGNATURE);
    const char *badtype = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"other\"},\"optional\":null}";
    CHECK(airlock_sig_payload_parse(&sp, badtype, strlen(badtype), 1, NULL) == AIRLOCK_ESIGNATURE);
    /* Go's json.Unmarshal (containers/image, cosign) refuses anything after the document */
    const char *trailing = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:00\"},\"type\":\"cosign container image signature\"},\"optional\":null}{\"x\":1}";
    CHECK(airlock_sig_payload_parse(&sp, trailing, strlen(trailing), 0, NULL) == AIRLOCK_ESIGNATURE);
}

TEST(identity_matching)
{
    CHECK(airlock_identity_matches("registry.internal/devops/nginx", "registry.internal/devops/nginx"));
    CHECK(airlock_identity_matches("registry.internal/devops/nginx:1.27", "registry.internal/devops/nginx"));
    CHECK(airlock_identity_matches("registry.internal/devops/nginx:1.27", "registry.internal/devops/nginx:1.27"));
    CHECK(!airlock_identity_matches("registry.internal/devops/nginx", "registry.internal/devops/nginx:1.27"));
    CHECK(!airlock_identity_matches("registry.internal/devops/nginx:1.26", "registry.internal/devops/nginx:1.27"));
    CHECK(!airlock_identity_matches("registry.internal/other", "registry.internal/devops/nginx"));
    CHECK(airlock_identity_matches("index.docker.io/library/nginx", "nginx"));
    CHECK(!airlock_identity_matches(NULL, "nginx"));
}

/* containers/image's matchRepoDigestOrExact, as a pull at the destination applies it */
TEST(identity_pulled_rule)
{
    /* by tag: the same reference, exactly; nothing defaulted on the payload's side */
    CHECK(airlock_identity_match_pulled("registry.internal/devops/library/nginx:1.27",
                                        "registry.internal/devops/library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx",
                                         "registry.internal/devops/library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx",
                                         "registry.internal/devops/library/nginx:latest"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx:1.26",
                                         "registry.internal/devops/library/nginx:1.27"));
    /* nested repositories: a parent or a child repository is another repository */
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/nginx:1.27",
                                         "registry.internal/devops/library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx/x:1.27",
                                         "registry.internal/devops/library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx@sha256:abababababababababababababababababababababababababababababababab",
                                         "registry.internal/devops/library/nginx:1.27"));
    /* another registry (the upstream name cosign signs by default) */
    CHECK(!airlock_identity_match_pulled("index.docker.io/library/nginx",
                                         "registry.internal/devops/library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("registry.internal:5000/devops/library/nginx:1.27",
                                         "registry.internal/devops/library/nginx:1.27"));
    /* Docker Hub: every spelling normalizes to docker.io/library/x */
    CHECK(airlock_identity_match_pulled("nginx:1.27", "docker.io/library/nginx:1.27"));
    CHECK(airlock_identity_match_pulled("index.docker.io/library/nginx:1.27", "nginx:1.27"));
    CHECK(airlock_identity_match_pulled("docker.io/nginx:1.27", "library/nginx:1.27"));
    CHECK(!airlock_identity_match_pulled("docker.io/nginx", "nginx:latest"));
    CHECK(!airlock_identity_match_pulled("docker.io/other/nginx:1.27", "nginx:1.27"));
    /* by digest: the same repository, with a tag or a digest signed; a name alone never
     * (containers/image: reference.IsNameOnly(signature) fails every pull) */
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/library/nginx",
                                        "registry.internal/devops/library/nginx@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(airlock_identity_match_pulled("registry.internal/devops/library/nginx:1.27",
                                        "registry.internal/devops/library/nginx@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(!airlock_identity_match_pulled("registry.internal/devops/nginx",
                                         "registry.internal/devops/library/nginx@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(!airlock_identity_match_pulled("index.docker.io/library/nginx", "nginx@sha256:abababababababababababababababababababababababababababababababab"));
    /* by tag and digest: the payload's string must be the same, digest included */
    CHECK(airlock_identity_match_pulled("r.io/a/b:1@sha256:abababababababababababababababababababababababababababababababab", "r.io/a/b:1@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(!airlock_identity_match_pulled("r.io/a/b:1", "r.io/a/b:1@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(!airlock_identity_match_pulled("r.io/a/b:1@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", "r.io/a/b:1@sha256:abababababababababababababababababababababababababababababababab"));
    CHECK(!airlock_identity_match_pulled("r.io/a/b:1@sha256:abababababababababababababababababababababababababababababababab", "r.io/a/b:1"));
    /* a port is no tag; a name alone or garbage matches nothing */
    CHECK(airlock_identity_match_pulled("localhost:5000/a/b:1", "localhost:5000/a/b:1"));
    CHECK(!airlock_identity_match_pulled("localhost:5000/a/b", "localhost:5000/a/b:5000"));
    CHECK(!airlock_identity_match_pulled("r.io/a/b", "r.io/a/b"));
    CHECK(!airlock_identity_match_pulled("R.io/A/b:1", "r.io/a/b:1"));
    CHECK(!airlock_identity_match_pulled(NULL, "r.io/a/b:1"));
}

TEST(payload_duplicate_keys_refused)
{
    struct airlock_sig_payload sp;
    const char *dup = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:11\",\"docker-manifest-digest\":\"sha256:22\"},\"type\":\"cosign container image signature\"},\"optional\":null}";
    CHECK(airlock_sig_payload_parse(&sp, dup, strlen(dup), 0, NULL) == AIRLOCK_ESIGNATURE);
    CHECK(airlock_sig_payload_parse(&sp, dup, strlen(dup), 1, NULL) == AIRLOCK_ESIGNATURE);
    const char *dupopt = "{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:11\"},\"type\":\"cosign container image signature\"},\"optional\":{\"env\":\"a\",\"env\":\"b\"}}";
    CHECK(airlock_sig_payload_parse(&sp, dupopt, strlen(dupopt), 0, NULL) == AIRLOCK_ESIGNATURE);
}

TEST(go_json_escaping)
{
    struct airlock_annotation a[1] = {{(char *)"k", (char *)"\b\f\x01 \xc0\x80 \xed\xa0\x80 \xe2\x80\xa8 \xc3\xa9"}};
    char *p = NULL;
    size_t n;
    CHECK(airlock_sig_payload_build(&p, &n, "r.io/a", "sha256:00", a, 1, NULL) == 0);
    /* \b \f short, control \u0001, overlong and surrogate bytes one U+FFFD each, U+2028 escaped */
    CHECK(p && strstr(p, "\"k\":\"\\b\\f\\u0001 \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\u2028 \xc3\xa9\""));
    if (p && !strstr(p, "\\b\\f"))
        fprintf(stderr, "%s\n", p);
    free(p);
}

/* verify -o json: payloads re-marshalled as Go's encoding/json writes payload.SimpleContainerImage
 * (the expected strings are what Go 1.22+ prints for these inputs) */
static void cosign_json_is(const char *payload, const char *want)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(1 << 20);
    struct airlock_error *err = NULL;
    CHECK(airlock_sig_payload_cosign_json(&b, payload, strlen(payload), &err) == 0);
    CHECK(airlock_buf_append(&b, "", 0) == 0);
    CHECK_STR(b.data, want);
    airlock_buf_release(&b);
    airlock_error_free(err);
}

#define CRIT "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},\"optional\":"

TEST(cosign_json_is_go_marshal_of_simple_container_image)
{
    /* member order of the struct, whatever the payload's; absent fields empty; null optional */
    cosign_json_is("{\"optional\":null,\"critical\":{\"type\":\"t\",\"image\":{\"docker-manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\"}}}",
                   CRIT "null}");
    cosign_json_is("{\"critical\":{}}",
                   "{\"critical\":{\"identity\":{\"docker-reference\":\"\"},\"image\":{\"docker-manifest-digest\":\"\"},\"type\":\"\"},\"optional\":null}");
    /* map keys sorted, nested too; HTML-safe escapes; short escapes; U+2028 */
    cosign_json_is("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},"
                   "\"optional\":{\"z\":\"<&>\",\"a\":{\"y\":[true,null,\"\\u0001\\b\\n\\u2028\"],\"b\":false}}}",
                   CRIT "{\"a\":{\"b\":false,\"y\":[true,null,\"\\u0001\\b\\n\\u2028\"]},\"z\":\"\\u003c\\u0026\\u003e\"}}");
    /* float64 as Go formats it */
    cosign_json_is("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},"
                   "\"optional\":{\"a\":1e21,\"b\":1e-7,\"c\":0.000001,\"d\":123456789012,\"e\":1.50,\"f\":-0,\"g\":100,\"h\":1.2345e-9,\"i\":12345678901234567890,\"j\":0.1}}",
                   CRIT "{\"a\":1e+21,\"b\":1e-7,\"c\":0.000001,\"d\":123456789012,\"e\":1.5,\"f\":-0,\"g\":100,\"h\":1.2345e-9,\"i\":12345678901234567000,\"j\":0.1}}");
    /* invalid UTF-8 became U+FFFD when Go read it */
    cosign_json_is("{\"critical\":{\"identity\":{\"docker-reference\":\"a\xff" "b\"},\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},\"optional\":null}",
                   "{\"critical\":{\"identity\":{\"docker-reference\":\"a\xef\xbf\xbd" "b\"},\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},\"optional\":null}");
    /* where Go's Unmarshal fails, so does this */
    struct airlock_buf b = AIRLOCK_BUF_INIT(1 << 20);
    struct airlock_error *err = NULL;
    const char *bad[] = {"[]", "{\"critical\":{\"type\":5}}", "{\"optional\":[1]}",
                         "{\"critical\":{\"identity\":\"x\"}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(airlock_sig_payload_cosign_json(&b, bad[i], strlen(bad[i]), &err) != 0);
        airlock_error_free(err);
        err = NULL;
    }
    airlock_buf_release(&b);
}
