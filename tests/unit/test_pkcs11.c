/* RFC 7512 key URIs (core/src/pkcs11.c). The token paths run against SoftHSM in
 * tests/e2e/test_pkcs11.sh. */
#include "airlock/pkcs11.h"
#include "airlock/sign.h"
#include "harness.h"

/* parse s; return the code, keep the message in msg (or "") */
static int parse(struct airlock_pkcs11_uri *u, const char *s, char *msg, size_t n)
{
    struct airlock_error *err = NULL;
    int rc = airlock_pkcs11_uri_parse(u, s, &err);
    snprintf(msg, n, "%s", err ? err->msg : "");
    airlock_error_free(err);
    return rc;
}

static void refused(const char *s, const char *want)
{
    struct airlock_pkcs11_uri u;
    char msg[512];
    int rc = parse(&u, s, msg, sizeof(msg));
    if (rc != AIRLOCK_EUSAGE || !strstr(msg, want))
        fprintf(stderr, "uri '%s': rc %d, message '%s' (want '%s')\n", s, rc, msg, want);
    CHECK(rc == AIRLOCK_EUSAGE);
    CHECK(strstr(msg, want) != NULL);
    airlock_pkcs11_uri_release(&u);
}

TEST(uri_cosign_form_parses)
{
    struct airlock_pkcs11_uri u;
    char msg[512];
    CHECK(parse(&u,
                "pkcs11:token=release;slot-id=7;id=%01%02;object=airlock?module-path=/usr/lib/"
                "softhsm/libsofthsm2.so&pin-value=1234",
                msg, sizeof(msg)) == 0);
    CHECK_STR(u.token, "release");
    CHECK_STR(u.object, "airlock");
    CHECK(u.has_slot_id && u.slot_id == 7);
    CHECK(u.id_len == 2 && u.id && u.id[0] == 1 && u.id[1] == 2);
    CHECK_STR(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
    CHECK_STR(u.pin_value, "1234");
    CHECK(u.pin_value_len == 4);
    CHECK_STR(airlock_pkcs11_module_of(&u), "/usr/lib/softhsm/libsofthsm2.so");
    airlock_pkcs11_uri_release(&u);
    CHECK(airlock_pkcs11_uri_is("PKCS11:token=x"));
    CHECK(!airlock_pkcs11_uri_is("cosign.key"));
    CHECK(!airlock_pkcs11_uri_is("pkcs11"));
}

TEST(uri_percent_encoding_is_decoded)
{
    struct airlock_pkcs11_uri u;
    char msg[512];
    CHECK(parse(&u, "pkcs11:token=My%20Token%3b%3D;object=a%2fb;id=%00%ff%41", msg,
                sizeof(msg)) == 0);
    CHECK_STR(u.token, "My Token;=");
    CHECK_STR(u.object, "a/b");
    CHECK(u.id_len == 3 && u.id && u.id[0] == 0 && u.id[1] == 0xff && u.id[2] == 'A');
    airlock_pkcs11_uri_release(&u);
    CHECK(parse(&u, "pkcs11:", msg, sizeof(msg)) == 0); /* any token, any key */
    CHECK(!u.token && !u.object && !u.id && !u.has_slot_id);
    airlock_pkcs11_uri_release(&u);
    CHECK(parse(&u, "pkcs11:type=private;serial=abc?pin-source=file:/run/pin", msg,
                sizeof(msg)) == 0);
    CHECK_STR(u.serial, "abc");
    CHECK_STR(u.pin_source, "/run/pin");
    airlock_pkcs11_uri_release(&u);
    CHECK(parse(&u, "pkcs11:?pin-source=%2Frun%2Fpin", msg, sizeof(msg)) == 0);
    CHECK_STR(u.pin_source, "/run/pin");
    airlock_pkcs11_uri_release(&u);
    refused("pkcs11:token=a%2", "bad percent-encoding");
    refused("pkcs11:token=a%zz", "bad percent-encoding");
    refused("pkcs11:token=a%", "bad percent-encoding");
    refused("pkcs11:token=a%00b", "NUL byte");
    refused("pkcs11:token=a b", "must be percent-encoded");
}

TEST(uri_duplicates_are_refused)
{
    refused("pkcs11:token=a;token=b", "'token' given twice");
    refused("pkcs11:object=a;object=a", "'object' given twice");
    refused("pkcs11:id=%01;id=%02", "'id' given twice");
    refused("pkcs11:slot-id=1;slot-id=1", "'slot-id' given twice");
    refused("pkcs11:?module-path=/a&module-path=/b", "'module-path' given twice");
    refused("pkcs11:?pin-value=1&pin-value=2", "'pin-value' given twice");
    refused("pkcs11:?pin-value=1&pin-source=/f", "pin-value and pin-source both given");
}

TEST(uri_unknown_attributes_are_refused)
{
    refused("pkcs11:foo=bar", "unknown path attribute 'foo'");
    refused("pkcs11:token=a?bar=1", "unknown query attribute 'bar'");
    refused("pkcs11:module-path=/x", "unknown path attribute 'module-path'"); /* query only */
    refused("pkcs11:token=a?object=b", "unknown query attribute 'object'");  /* path only */
    refused("pkcs11:library-description=x", "unknown path attribute");
    refused("pkcs11:?module-name=softhsm2", "module-name is not supported");
    refused("pkcs11:type=cert", "type 'cert'");
    refused("pkcs11:token", "not an attribute=value pair");
    refused("pkcs11:=x", "not an attribute=value pair");
    refused("pkcs11:token=a;;object=b", "empty path attribute");
    refused("pkcs11:token=a;", "empty path attribute");
    refused("pkcs11:token=a?", "empty query");
    refused("pkcs11:token=a?pin-value=1&", "empty query attribute");
    refused("pkcs11:token=a#frag", "fragment");
    refused("cosign.key", "not a pkcs11: URI");
    refused("pkcs11:?pin-source=|/bin/pinentry", "a program");
}

TEST(uri_bad_slot_id_is_refused)
{
    refused("pkcs11:slot-id=", "slot-id '' is not a decimal slot number");
    refused("pkcs11:slot-id=-1", "slot-id '-1'");
    refused("pkcs11:slot-id=+1", "slot-id '+1'");
    refused("pkcs11:slot-id=0x10", "slot-id '0x10'");
    refused("pkcs11:slot-id=1%32", "slot-id '1%32'");
    refused("pkcs11:slot-id=99999999999999999999", "is not a decimal slot number");
    struct airlock_pkcs11_uri u;
    char msg[512];
    CHECK(parse(&u, "pkcs11:slot-id=0", msg, sizeof(msg)) == 0 && u.has_slot_id && !u.slot_id);
    airlock_pkcs11_uri_release(&u);
    CHECK(parse(&u, "pkcs11:slot-id=2054529475", msg, sizeof(msg)) == 0 &&
          u.slot_id == 2054529475UL);
    airlock_pkcs11_uri_release(&u);
}

TEST(uri_messages_never_show_the_pin)
{
    static const char *const bad[] = {
        "pkcs11:token=a?pin-value=s3cr3t&pin-value=s3cr3t",
        "pkcs11:token=a?pin-value=s3cr3t%zz",
        "pkcs11:token=a?pin-value=s3cr3t&x=s3cr3t",
        "pkcs11:token=a?pin-value=s3cr3t&pin-source=s3cr3t",
        "pkcs11:token=a?pin-value=s3cr3t s3cr3t",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct airlock_pkcs11_uri u;
        char msg[512];
        CHECK(parse(&u, bad[i], msg, sizeof(msg)) == AIRLOCK_EUSAGE);
        CHECK(*msg && !strstr(msg, "s3cr3t"));
        airlock_pkcs11_uri_release(&u);
    }
}

TEST(uri_length_is_capped)
{
    size_t n = AIRLOCK_PKCS11_MAX_URI + 10;
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    if (!s)
        return;
    memcpy(s, "pkcs11:token=", 13);
    memset(s + 13, 'a', n - 13);
    s[n] = '\0';
    refused(s, "longer than");
    free(s);
    char pin[AIRLOCK_PKCS11_MAX_PIN + 40];
    snprintf(pin, sizeof(pin), "pkcs11:?pin-value=");
    memset(pin + 18, '7', AIRLOCK_PKCS11_MAX_PIN + 1);
    pin[18 + AIRLOCK_PKCS11_MAX_PIN + 1] = '\0';
    refused(pin, "pin-value longer than");
}

TEST(rv_names_are_words)
{
    char buf[24];
    CHECK_STR(airlock_pkcs11_rv_name(0xa0, buf), "CKR_PIN_INCORRECT");
    CHECK_STR(airlock_pkcs11_rv_name(0xe0, buf), "CKR_TOKEN_NOT_PRESENT");
    CHECK_STR(airlock_pkcs11_rv_name(0x12345, buf), "CKR_0x12345");
}

TEST(module_that_is_not_there_fails_with_its_name)
{
    struct airlock_pkcs11_token *t = NULL;
    size_t n = 0;
    struct airlock_error *err = NULL;
    CHECK(airlock_pkcs11_tokens_list(&t, &n, "/nonexistent/libnothing.so", &err) ==
          AIRLOCK_ENOTFOUND);
    CHECK(err && strstr(err->msg, "'/nonexistent/libnothing.so'"));
    airlock_error_free(err);
    free(t);
}
