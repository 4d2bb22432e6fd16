/* The policy.json evaluator against the cases containers/image tests itself with
 * (signature/policy_reference_match_test.go, policy_eval_test.go, policy_config_test.go,
 * policy_eval_sigstore_test.go and signature/fixtures/): the cases and their expected verdicts
 * carried over as tables. */
#include "airlock/policy.h"
#include "airlock/sign.h"
#include "core_int.h"
#include "harness.h"

#define DG "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DG_OTHER "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RHEL "registry.access.redhat.com/rhel7/rhel:7.2.3"
#define RHEL_UNTAGGED "registry.access.redhat.com/rhel7/rhel"

struct pair {
    const char *a, *b;
    int result;
};

/* exact reference match, symmetric (prmExactMatchTestTable) */
static const struct pair exact_table[] = {
    {"busybox:latest", "busybox:latest", 1},
    {RHEL, RHEL, 1},
    {"busybox" DG, "busybox" DG, 1},
    {"library/busybox:latest", "busybox:latest", 1},
    {"docker.io/library/busybox:latest", "busybox:latest", 1},
    {"library/busybox" DG, "busybox" DG, 1},
    {"busybox:latest", "busybox:notlatest", 0},
    {"busybox:latest", "notbusybox:latest", 0},
    {"busybox:latest", "hostname/library/busybox:notlatest", 0},
    {"hostname/library/busybox:latest", "busybox:notlatest", 0},
    {"busybox:latest", RHEL, 0},
    {"busybox" DG, "notbusybox" DG, 0},
    {"busybox:latest", "busybox" DG, 0},
    {"busybox" DG, "busybox" DG_OTHER, 0},
    {"busybox", "busybox:latest", 0},
    {"busybox", "busybox" DG, 0},
    {"busybox", "busybox", 0},
    {"busybox:latest" DG, "busybox:latest" DG, 1},
    {"busybox:latest" DG, "busybox:latest" DG_OTHER, 0},
    {"busybox:latest" DG, "busybox:notlatest" DG, 0},
    {"busybox:latest" DG, "busybox" DG, 0},
    {"busybox:latest" DG, "busybox:latest", 0},
    {"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", 0},
    {"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", 0},
    {"INVALID", "INVALID", 0},
};

/* repository-only match, symmetric (prmRepositoryMatchTestTable) */
static const struct pair repo_table[] = {
    {"busybox:latest", "busybox:latest", 1},
    {RHEL, RHEL, 1},
    {"busybox" DG, "busybox" DG, 1},
    {"library/busybox:latest", "busybox:latest", 1},
    {"docker.io/library/busybox:latest", "busybox:latest", 1},
    {"library/busybox" DG, "busybox" DG, 1},
    {"busybox:latest", "busybox:notlatest", 1},
    {RHEL "tagsuffix", RHEL, 1},
    {"library/busybox:latest", "busybox:notlatest", 1},
    {"busybox:latest", "library/busybox:notlatest", 1},
    {"docker.io/library/busybox:notlatest", "busybox:latest", 1},
    {"busybox:notlatest", "docker.io/library/busybox:latest", 1},
    {"busybox:latest", "busybox" DG, 1},
    {"busybox" DG, "busybox" DG_OTHER, 1},
    {"busybox", "busybox:notlatest", 1},
    {RHEL, RHEL_UNTAGGED, 1},
    {"busybox", "busybox" DG, 1},
    {"library/busybox", "busybox", 1},
    {"docker.io/library/busybox", "busybox", 1},
    {"busybox:latest", "notbusybox:latest", 0},
    {"hostname/library/busybox:latest", "busybox:notlatest", 0},
    {"busybox:latest", RHEL, 0},
    {"busybox" DG, "notbusybox" DG, 0},
    {"busybox:latest" DG, "busybox:latest" DG, 1},
    {"busybox:latest" DG, "busybox:latest" DG_OTHER, 1},
    {"busybox:latest" DG, "busybox:notlatest" DG, 1},
    {"busybox:latest" DG, "busybox" DG, 1},
    {"busybox:latest" DG, "busybox:latest", 1},
    {"UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", 0},
    {"", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", 0},
    {"INVALID", "INVALID", 0},
};

/* matchRepoDigestOrExact, image then signature (matchRepoDigestOrExactTestTable) */
static const struct pair mrdoe_table[] = {
    {"busybox:latest", "busybox:notlatest", 0},
    {RHEL "tagsuffix", RHEL, 0},
    {"library/busybox:latest", "busybox:notlatest", 0},
    {"busybox:latest", "library/busybox:notlatest", 0},
    {"docker.io/library/busybox:notlatest", "busybox:latest", 0},
    {"busybox:notlatest", "docker.io/library/busybox:latest", 0},
    {"busybox", "busybox:latest", 0},
    {"busybox:latest", "busybox", 0},
    {"busybox", "busybox" DG, 0},
    {"busybox" DG, "busybox", 0},
    {RHEL, RHEL_UNTAGGED, 0},
    {"busybox", "busybox", 0},
    {"busybox:latest", "busybox" DG, 0},
    {"busybox" DG, "busybox:latest", 1},
    {"busybox" DG, "busybox" DG_OTHER, 1},
    {"busybox:latest" DG, "busybox:latest", 0},
    {"busybox:latest" DG, "busybox:notlatest", 0},
    {"busybox:latest", "busybox:latest" DG, 0},
    {"busybox:latest" DG, "busybox:latest" DG_OTHER, 0},
    {"busybox:latest" DG, "busybox:notlatest" DG_OTHER, 0},
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

static int valid_ref(const char *s)
{
    struct airlock_ref r;
    if (!s || !*s || airlock_ref_parse(&r, s, NULL))
        return 0;
    airlock_ref_release(&r);
    /* containers/image takes an uppercase first component as a path: invalid */
    return strcmp(s, "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES") && strcmp(s, "INVALID");
}

static int match(enum airlock_identity_type t, const char *image, const char *sig)
{
    struct airlock_signed_identity id = {t, NULL, NULL, NULL};
    return airlock_signed_identity_match(&id, image, sig);
}

static int check_case(int got, int want, const char *rule, const char *a, const char *b)
{
    if (got != want) {
        fprintf(stderr, "%s: image '%s' signed '%s': got %d, want %d\n", rule, a, b, got, want);
        harness_failures++;
    }
    return got == want;
}

TEST(match_exact_table)
{
    for (size_t i = 0; i < N(exact_table); i++) {
        const struct pair *p = &exact_table[i];
        if (valid_ref(p->a))
            check_case(match(AIRLOCK_IDENTITY_MATCH_EXACT, p->a, p->b), p->result, "matchExact",
                       p->a, p->b);
        if (valid_ref(p->b))
            check_case(match(AIRLOCK_IDENTITY_MATCH_EXACT, p->b, p->a), p->result, "matchExact",
                       p->b, p->a);
    }
}

TEST(exact_reference_table)
{
    for (size_t i = 0; i < N(exact_table); i++) {
        const struct pair *p = &exact_table[i];
        struct airlock_signed_identity a = {AIRLOCK_IDENTITY_EXACT_REFERENCE, p->a, NULL, NULL};
        struct airlock_signed_identity b = {AIRLOCK_IDENTITY_EXACT_REFERENCE, p->b, NULL, NULL};
        /* the image is not consulted at all */
        check_case(airlock_signed_identity_match(&a, "unrelated/image:1", p->b), p->result,
                   "exactReference", p->a, p->b);
        check_case(airlock_signed_identity_match(&b, NULL, p->a), p->result, "exactReference",
                   p->b, p->a);
    }
}

TEST(match_repository_table)
{
    for (size_t i = 0; i < N(repo_table); i++) {
        const struct pair *p = &repo_table[i];
        if (valid_ref(p->a))
            check_case(match(AIRLOCK_IDENTITY_MATCH_REPOSITORY, p->a, p->b), p->result,
                       "matchRepository", p->a, p->b);
        if (valid_ref(p->b))
            check_case(match(AIRLOCK_IDENTITY_MATCH_REPOSITORY, p->b, p->a), p->result,
                       "matchRepository", p->b, p->a);
    }
}

TEST(exact_repository_table)
{
    for (size_t i = 0; i < N(repo_table); i++) {
        const struct pair *p = &repo_table[i];
        struct airlock_signed_identity a = {AIRLOCK_IDENTITY_EXACT_REPOSITORY, p->a, NULL, NULL};
        struct airlock_signed_identity b = {AIRLOCK_IDENTITY_EXACT_REPOSITORY, p->b, NULL, NULL};
        check_case(airlock_signed_identity_match(&a, "unrelated/image:1", p->b), p->result,
                   "exactRepository", p->a, p->b);
        check_case(airlock_signed_identity_match(&b, NULL, p->a), p->result, "exactRepository",
                   p->b, p->a);
    }
}

/* matchRepoDigestOrExact accepts what matchExact accepts, refuses what matchRepository
 * refuses, and the asymmetric table; remapIdentity with a prefix that never matches, and one
 * that rewrites a modified host back, behaves the same */
static void mrdoe_like(const struct airlock_signed_identity *never, int remap_modified)
{
    struct {
        const struct pair *t;
        size_t n;
        int sel, sym;
    } sets[] = {{exact_table, N(exact_table), 1, 1},
                {repo_table, N(repo_table), 0, 1},
                {mrdoe_table, N(mrdoe_table), -1, 0}};
    for (size_t s = 0; s < 3; s++)
        for (size_t i = 0; i < sets[s].n; i++) {
            const struct pair *p = &sets[s].t[i];
            if (sets[s].sel >= 0 && p->result != sets[s].sel)
                continue;
            for (int dir = 0; dir < (sets[s].sym ? 2 : 1); dir++) {
                const char *img = dir ? p->b : p->a, *sig = dir ? p->a : p->b;
                if (!valid_ref(img))
                    continue;
                check_case(airlock_signed_identity_match(never, img, sig), p->result,
                           never->type == AIRLOCK_IDENTITY_REMAP ? "remapIdentity (no rewrite)"
                                                                 : "matchRepoDigestOrExact",
                           img, sig);
                if (!remap_modified)
                    continue;
                /* rewrite: the image lives at a host one letter off, mapped back to its own */
                struct airlock_ref r;
                CHECK(airlock_ref_parse(&r, img, NULL) == 0);
                char *full = NULL, mod[300];
                const char *slash = strrchr(img, '/');
                int tagged = strchr(slash ? slash : img, ':') || strchr(img, '@');
                char *name = airlock_ref_repository(&r);
                CHECK(asprintf(&full, "%s%s%s%s%s", name, tagged && r.tag ? ":" : "",
                               tagged && r.tag ? r.tag : "", r.digest ? "@" : "",
                               r.digest ? r.digest : "") > 0);
                snprintf(mod, sizeof(mod), "%c%s", full[0] == 'z' ? 'a' : full[0] + 1, full + 1);
                char host[200];
                snprintf(host, sizeof(host), "%c%s", r.domain[0] == 'z' ? 'a' : r.domain[0] + 1,
                         r.domain + 1);
                struct airlock_signed_identity back = {AIRLOCK_IDENTITY_REMAP, NULL, host,
                                                       r.domain};
                check_case(airlock_signed_identity_match(&back, mod, sig), p->result,
                           "remapIdentity (rewritten)", mod, sig);
                free(name);
                free(full);
                airlock_ref_release(&r);
            }
        }
}

TEST(match_repo_digest_or_exact_table)
{
    struct airlock_signed_identity d = {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL,
                                        NULL};
    mrdoe_like(&d, 0);
}

TEST(remap_identity_behaves_as_match_repo_digest_or_exact)
{
    struct airlock_signed_identity never = {AIRLOCK_IDENTITY_REMAP, NULL,
                                            "never-causes-a-rewrite.example",
                                            "never-causes-a-rewrite.example"};
    mrdoe_like(&never, 1);
}

/* refMatchesPrefix: with signedPrefix docker.io/library/signed-prefix, a match rewrites */
TEST(remap_prefix_matching_table)
{
    static const struct {
        const char *ref, *prefix;
        int expected;
    } t[] = {
        {"docker.io/image", "docker.io", 1},
        {"docker.io/image", "example.com", 0},
        {"example.com:5000/image", "example.com:5000", 1},
        {"example.com:50000/image", "example.com:5000", 0},
        {"example.com:5000/image", "example.com", 0},
        {"example.com/foo", "example.com", 1},
        {"example.com/foo/bar", "example.com", 1},
        {"example.com/foo/bar:baz", "example.com", 1},
        {"example.com/foo/bar" DG, "example.com", 1},
        {"docker.io/ns/image", "docker.io/library", 0},
        {"example.com/library", "docker.io/library", 0},
        {"docker.io/libraryy/image", "docker.io/library", 0},
        {"docker.io/library/busybox", "docker.io/library", 1},
        {"example.com/ns/image", "example.com/ns", 1},
        {"example.com/ns2/image", "example.com/ns", 0},
        {"example.com/n2/image", "example.com/ns", 0},
        {"example.com", "example.com/library/busybox", 0},
        {"example.com:5000/ns/image", "example.com/ns", 0},
        {"example.com/ns/image", "example.com:5000/ns", 0},
        {"docker.io/library/busybox", "docker.io/library/busybox", 1},
        {"example.com/library/busybox", "docker.io/library/busybox", 0},
        {"docker.io/library/busybox2", "docker.io/library/busybox", 0},
        {"example.com/ns/image", "example.com/ns/image", 1},
        {"example.com/ns/imag2", "example.com/ns/image", 0},
        {"example.com/ns/imagee", "example.com/ns/image", 0},
        {"example.com:5000/ns/image", "example.com/ns/image", 0},
        {"example.com/ns/image", "example.com:5000/ns/image", 0},
        {"example.com/ns/image:tag", "example.com/ns/image", 1},
        {"example.com/ns/image" DG, "example.com/ns/image", 1},
        {"example.com/ns/image:tag" DG, "example.com/ns/image", 1},
    };
    for (size_t i = 0; i < N(t); i++) {
        char *out = NULL;
        struct airlock_error *e = NULL;
        CHECK(airlock_policy_prefix_valid(t[i].prefix));
        int rc = airlock_policy_remap(&out, t[i].prefix, "docker.io/library/signed-prefix",
                                      t[i].ref, &e);
        int rewritten = !rc && !strncmp(out, "docker.io/library/signed-prefix", 31);
        if (rc || rewritten != t[i].expected) {
            fprintf(stderr, "remap '%s' prefix '%s': rc %d, got '%s'\n", t[i].ref, t[i].prefix,
                    rc, out ? out : e ? e->msg : "");
            harness_failures++;
        }
        free(out);
        airlock_error_free(e);
    }
}

TEST(remap_rewrite_table)
{
    static const struct {
        const char *prefix, *signed_prefix, *ref, *expected; /* NULL: an error */
    } t[] = {
        {"mirror.example", "vendor.example", "mirror.example/ns/image:tag",
         "vendor.example/ns/image:tag"},
        {"mirror.example", "vendor.example", "different.com/ns/image:tag",
         "different.com/ns/image:tag"},
        {"mirror.example/ns", "vendor.example/vendor-ns", "mirror.example/different-ns/image:tag",
         "mirror.example/different-ns/image:tag"},
        {"docker.io", "not-docker-signed.example/ns", "busybox",
         "not-docker-signed.example/ns/library/busybox"},
        {"example.com/mirror", "example.com/vendor", "example.com/mirror/image:tag",
         "example.com/vendor/image:tag"},
        {"example.com/ns/mirror", "example.com/ns/vendor", "example.com/ns/mirror:tag",
         "example.com/ns/vendor:tag"},
        {"mirror.example", "vendor.example", "prefixmirror.example/ns/image:tag",
         "prefixmirror.example/ns/image:tag"},
        {"docker.io", "not-docker-signed.example", "busybox",
         "not-docker-signed.example/library/busybox"},
        {"docker.io/library", "not-docker-signed.example/ns", "busybox",
         "not-docker-signed.example/ns/busybox"},
        {"docker.io/library/busybox", "not-docker-signed.example/ns/notbusybox", "busybox",
         "not-docker-signed.example/ns/notbusybox"},
        {"mirror.example", "vendor.example", "mirror.example/image", "vendor.example/image"},
        {"mirror.example", "vendor.example", "mirror.example/image:tag",
         "vendor.example/image:tag"},
        {"mirror.example", "vendor.example", "mirror.example/image" DG, "vendor.example/image" DG},
        {"mirror.example", "vendor.example", "mirror.example/image:tag" DG,
         "vendor.example/image:tag" DG},
        {"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", NULL},
        {"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" DG, NULL},
        {"mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", NULL},
    };
    for (size_t i = 0; i < N(t); i++) {
        char *out = NULL;
        int rc = airlock_policy_remap(&out, t[i].prefix, t[i].signed_prefix, t[i].ref, NULL);
        if (t[i].expected) {
            CHECK(rc == 0);
            CHECK_STR(out, t[i].expected);
        } else if (rc != AIRLOCK_EUSAGE) {
            fprintf(stderr, "remap '%s' to '%s': want an error, got '%s'\n", t[i].ref,
                    t[i].signed_prefix, out ? out : "");
            harness_failures++;
        }
        free(out);
    }
}

TEST(remap_identity_matches_table)
{
    static const struct {
        const char *prefix, *signed_prefix, *image, *sig;
        int result;
    } t[] = {
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest", 1},
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest",
         0},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", 1},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1",
         0},
        {"mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest",
         1},
        {"mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest",
         0},
        {"docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", 1},
        {"docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest", 0},
        {"busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", 0},
        {"docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest",
         "busybox:latest", 0},
        {"UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", 1},
        {"example.com", "UPPERCASE", "example.com/foo:latest", "UPPERCASE/foo:latest", 0},
    };
    for (size_t i = 0; i < N(t); i++) {
        struct airlock_signed_identity id = {AIRLOCK_IDENTITY_REMAP, NULL, t[i].prefix,
                                             t[i].signed_prefix};
        check_case(airlock_signed_identity_match(&id, t[i].image, t[i].sig), t[i].result,
                   "remapIdentity", t[i].image, t[i].sig);
    }
    struct airlock_signed_identity id = {AIRLOCK_IDENTITY_REMAP, NULL, "docker.io", "docker.io"};
    CHECK(!airlock_signed_identity_match(&id, NULL, ""));
}

TEST(remap_prefix_validation_table)
{
    static const char *const ok[] = {
        "localhost",
        "example.com",
        "example.com:80",
        "example.com/repo",
        "example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
        "example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
        "shortname",
        "ns/shortname",
    };
    static const char *const bad[] = {
        "",
        "repo_with_underscores",
        "example.com/",
        "example.com/UPPERCASEISINVALID",
        "example.com/repo/",
        "example.com/repo:tag",
        "example.com/repo" DG,
        "example.com/repo:tag" DG,
    };
    for (size_t i = 0; i < N(ok); i++)
        if (!airlock_policy_prefix_valid(ok[i])) {
            fprintf(stderr, "prefix '%s' refused\n", ok[i]);
            harness_failures++;
        }
    for (size_t i = 0; i < N(bad); i++)
        if (airlock_policy_prefix_valid(bad[i])) {
            fprintf(stderr, "prefix '%s' accepted\n", bad[i]);
            harness_failures++;
        }
}

/* ---- parsing ----------------------------------------------------------------------------- */

static struct airlock_policy *parse(const char *json, struct airlock_error **err)
{
    struct airlock_policy *p = NULL;
    if (airlock_policy_parse(&p, json, strlen(json), "test.json", err))
        return NULL;
    return p;
}

/* signature/fixtures/policy.json, the document containers/image's own tests read */
static const char fixture_policy[] =
    "{\"default\":[{\"type\":\"reject\"}],\"transports\":{"
    "\"dir\":{\"\":[{\"type\":\"insecureAcceptAnything\"}]},"
    "\"docker\":{"
    "\"example.com/playground\":[{\"type\":\"insecureAcceptAnything\"}],"
    "\"example.com/production\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\","
    "\"keyPath\":\"/keys/employee-gpg-keyring\"}],"
    "\"example.com/hardened\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\","
    "\"keyPath\":\"/keys/employee-gpg-keyring\",\"signedIdentity\":{\"type\":\"matchRepository\"}},"
    "{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPath\":\"/keys/public-key-signing-"
    "gpg-keyring\",\"signedIdentity\":{\"type\":\"matchExact\"}},{\"type\":\"signedBaseLayer\","
    "\"baseLayerIdentity\":{\"type\":\"exactRepository\",\"dockerRepository\":\"registry.access."
    "redhat.com/rhel7/rhel\"}}],"
    "\"example.com/hardened-x509\":[{\"type\":\"signedBy\",\"keyType\":\"X509Certificates\","
    "\"keyPath\":\"/keys/employee-cert-file\",\"signedIdentity\":{\"type\":\"matchRepository\"}},"
    "{\"type\":\"signedBy\",\"keyType\":\"signedByX509CAs\",\"keyPath\":\"/keys/public-key-signing-"
    "ca-file\"}],"
    "\"registry.access.redhat.com\":[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\","
    "\"keyPath\":\"/keys/RH-key-signing-key-gpg-keyring\",\"signedIdentity\":{\"type\":"
    "\"matchRepoDigestOrExact\"}}],"
    "\"registry.redhat.io/beta\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":"
    "[\"/keys/RH-production-signing-key-gpg-keyring\",\"/keys/RH-beta-signing-key-gpg-keyring\"]}],"
    "\"private-mirror:5000/vendor-mirror\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\","
    "\"keyPath\":\"/keys/vendor-gpg-keyring\",\"signedIdentity\":{\"type\":\"remapIdentity\","
    "\"prefix\":\"private-mirror:5000/vendor-mirror\",\"signedPrefix\":\"vendor.example.com\"}}],"
    "\"*.access.redhat.com\":[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPath\":"
    "\"/keys/RH-key-signing-key-gpg-keyring\",\"signedIdentity\":{\"type\":"
    "\"matchRepoDigestOrExact\"}}],"
    "\"*.redhat.com\":[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPath\":"
    "\"/keys/RH-key-signing-key-gpg-keyring\",\"signedIdentity\":{\"type\":"
    "\"matchRepoDigestOrExact\"}}],"
    "\"*.com\":[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPath\":"
    "\"/keys/RH-key-signing-key-gpg-keyring\",\"signedIdentity\":{\"type\":"
    "\"matchRepoDigestOrExact\"}}],"
    "\"bogus/key-data-example\":[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\","
    "\"keyData\":\"bm9uc2Vuc2U=\"}],"
    "\"bogus/signed-identity-example\":[{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":"
    "{\"type\":\"exactReference\",\"dockerReference\":\"registry.access.redhat.com/rhel7/rhel:"
    "latest\"}}],"
    "\"example.com/sigstore/key-data-example\":[{\"type\":\"sigstoreSigned\",\"keyData\":"
    "\"bm9uc2Vuc2U=\"}],"
    "\"example.com/sigstore/key-path-example\":[{\"type\":\"sigstoreSigned\",\"keyPath\":"
    "\"/keys/public-key\",\"signedIdentity\":{\"type\":\"matchRepository\"}}]}}}";

TEST(fixture_policy_parses_and_picks_scopes)
{
    struct airlock_error *e = NULL;
    struct airlock_policy *p = parse(fixture_policy, &e);
    CHECK(p != NULL);
    if (e)
        fprintf(stderr, "%s\n", e->msg);
    airlock_error_free(e);
    if (!p)
        return;
    static const struct {
        const char *ref, *scope; /* NULL: default */
    } t[] = {
        {"example.com/playground/x:1", "example.com/playground"},
        {"example.com/hardened/app:1", "example.com/hardened"},
        {"registry.access.redhat.com/rhel7/rhel:latest", "registry.access.redhat.com"},
        {"cdn.access.redhat.com/rhel7:latest", "*.access.redhat.com"},
        {"registry.redhat.io/beta/x:1", "registry.redhat.io/beta"},
        {"registry.redhat.io/other:1", NULL},
        {"registry.redhat.com/other:1", "*.redhat.com"},
        {"quay.example.com/other:1", "*.com"},
        {"quay.io/foo:1", NULL},
        {"other.com/x" DG, "*.com"},
        {"private-mirror:5000/vendor-mirror/app:1", "private-mirror:5000/vendor-mirror"},
        {"busybox:latest", NULL},
    };
    for (size_t i = 0; i < N(t); i++) {
        const char *got = airlock_policy_scope(p, t[i].ref);
        if ((!got) != (!t[i].scope) || (got && strcmp(got, t[i].scope))) {
            fprintf(stderr, "scope of '%s': got '%s', want '%s'\n", t[i].ref,
                    got ? got : "(default)", t[i].scope ? t[i].scope : "(default)");
            harness_failures++;
        }
    }
    /* registry.redhat.io matches *.redhat.com; .io has no scope */
    struct airlock_policy_result r;
    CHECK(airlock_policy_evaluate(
              &r, p, "example.com/playground/x:1",
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL,
              NULL) == 0);
    CHECK(r.ok && r.n_checks == 1);
    CHECK_STR(r.scope, "docker:example.com/playground");
    airlock_policy_result_release(&r);
    CHECK(airlock_policy_evaluate(
              &r, p, "quay.io/foo:1",
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL,
              NULL) == 0);
    CHECK(!r.ok && r.n_checks == 1);
    CHECK_STR(r.scope, "default");
    airlock_policy_result_release(&r);
    /* GPG and signedBaseLayer: failing, said so */
    CHECK(airlock_policy_evaluate(
              &r, p, "example.com/hardened/app:1",
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL,
              NULL) == 0);
    CHECK(!r.ok && r.n_checks == 3);
    CHECK(r.n_checks == 3 && strstr(r.checks[0].reason, "GPG") && !r.checks[0].ok);
    CHECK(r.n_checks == 3 && strstr(r.checks[2].reason, "signedBaseLayer"));
    airlock_policy_result_release(&r);
    airlock_policy_free(p);
}

/* policy_eval_test.go's scope selection: full, namespaces, host, wildcards, "", default */
TEST(scope_selection_table)
{
    const char *json =
        "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
        "\"\":[{\"type\":\"reject\"}],\"unmatched\":[{\"type\":\"reject\"}],"
        "\"deep.com\":[{\"type\":\"reject\"}],\"*.very.deep.com\":[{\"type\":\"reject\"}],"
        "\"*.deep.com\":[{\"type\":\"reject\"}],\"deep.com/n1\":[{\"type\":\"reject\"}],"
        "\"deep.com/n1/n2\":[{\"type\":\"reject\"}],\"deep.com/n1/n2/n3\":[{\"type\":\"reject\"}],"
        "\"deep.com/n1/n2/n3/repo\":[{\"type\":\"reject\"}],"
        "\"deep.com/n1/n2/n3/repo:tag2\":[{\"type\":\"reject\"}]},"
        "\"atomic\":{\"unmatched\":[{\"type\":\"reject\"}]}}}";
    static const struct {
        const char *ref, *scope;
    } t[] = {
        {"deep.com/n1/n2/n3/repo:tag2", "deep.com/n1/n2/n3/repo:tag2"},
        {"deep.com/n1/n2/n3/repo:nottag2", "deep.com/n1/n2/n3/repo"},
        {"deep.com/n1/n2/n3/notrepo:tag2", "deep.com/n1/n2/n3"},
        {"deep.com/n1/n2/notn3/repo:tag2", "deep.com/n1/n2"},
        {"deep.com/n1/notn2/n3/repo:tag2", "deep.com/n1"},
        {"deep.com/notn1/n2/n3/repo:tag2", "deep.com"},
        {"very.deep.com/n1/n2/n3/repo:tag2", "*.deep.com"},
        {"not.very.deep.com/n1/n2/n3/repo:tag2", "*.very.deep.com"},
        {"this.does-not/match:anything", ""},
        {"deep.com:5000/n1/n2/n3/repo:tag2", ""}, /* no port-less host match */
        {"x.very.deep.com:5000/repo:1", "*.very.deep.com"},
    };
    struct airlock_error *e = NULL;
    struct airlock_policy *p = parse(json, &e);
    CHECK(p != NULL);
    airlock_error_free(e);
    for (size_t i = 0; p && i < N(t); i++) {
        const char *got = airlock_policy_scope(p, t[i].ref);
        if (!got || strcmp(got, t[i].scope)) {
            fprintf(stderr, "scope of '%s': got '%s', want '%s'\n", t[i].ref,
                    got ? got : "(default)", t[i].scope);
            harness_failures++;
        }
    }
    airlock_policy_free(p);
    /* no docker transport at all, or one without "": the global default */
    p = parse("{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{\"atomic\":"
              "{\"\":[{\"type\":\"reject\"}]},\"docker\":{\"x.com\":[{\"type\":\"reject\"}]}}}",
              NULL);
    CHECK(p && airlock_policy_scope(p, "this.does-not/match:anything") == NULL);
    airlock_policy_free(p);
}

/* what containers/image refuses when reading a policy (policy_config_test.go); the message
 * names the file and the member path */
TEST(parse_errors_table)
{
    static const struct {
        const char *json, *want; /* want: a substring of the message */
    } t[] = {
        {"{}", "default policy is missing"},
        {"{\"transports\":{}}", "default policy is missing"},
        {"{\"default\":[{\"type\":\"reject\"}],\"unexpected\":1}", "unknown member 'unexpected'"},
        {"{\"default\":1}", "default: must be an array"},
        {"{\"default\":{}}", "default: must be an array"},
        {"{\"default\":[]}", "must not be empty"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":1}", "transports: must be"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":[]}", "transports: must be"},
        {"{\"default\":[{\"type\":\"reject\"}],\"default\":[{\"type\":\"reject\"}]}",
         "member 'default' given twice"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"a\":1}}}",
         "transports.docker[\"a\"]: must be an array"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"\":{}}}}",
         "transports.docker[\"\"]: must be an array"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"a\":[]}}}",
         "must not be empty"},
        {"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"a\":[{\"type\":"
         "\"reject\"}],\"a\":[{\"type\":\"reject\"}]}}}",
         "scope 'a' given twice"},
        {"{\"default\":[{\"type\":\"this is invalid\"}]}", "unknown policy requirement type"},
        {"{\"default\":[{}]}", "unknown policy requirement type ''"},
        {"{\"default\":[1]}", "default[0]: must be a JSON object"},
        {"{\"default\":[{\"type\":\"reject\",\"x\":1}]}", "default[0]: unknown member 'x'"},
        {"{\"default\":[{\"type\":1}]}", "'type' must be a string"},
        {"{\"default\":[{\"type\":\"insecureAcceptAnything\",\"type\":\"reject\"}]}",
         "given twice"},
        {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\"}]}", "exactly one of"},
        {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"bad\",\"keyPath\":\"/x\"}]}",
         "unrecognized keyType value 'bad'"},
        {"{\"default\":[{\"type\":\"signedBy\",\"keyPath\":\"/x\"}]}", "keyType"},
        {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/x\","
         "\"keyData\":\"YQ==\"}]}",
         "exactly one of"},
        {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"!!\"}]}",
         "not valid base64"},
        {"{\"default\":[{\"type\":\"signedBaseLayer\"}]}", "member 'baseLayerIdentity' missing"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\"}]}", "exactly one of keyPath"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"keyData\":\"YQ==\"}]}",
         "exactly one of keyPath"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPaths\":[]}]}", "contains no entries"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyDatas\":[]}]}", "contains no entries"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPaths\":[1]}]}",
         "'keyPaths' must be an array of strings"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":1}]}",
         "'keyPath' must be a string"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyData\":\"not base64\"}]}",
         "not valid base64"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"unknown\":1}]}",
         "default[0]: unknown member 'unknown'"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
         "\"https://x\",\"subjectEmail\":\"a@b\"}}]}",
         "must be specified if fulcio is used"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"rekorPublicKeyPath\":"
         "\"/r\",\"rekorPublicKeyData\":\"YQ==\"}]}",
         "at most one of rekorPublicKeyPath"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/c\"},"
         "\"rekorPublicKeyPath\":\"/r\"}]}",
         "not supported for pki"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"bogus\":1},"
         "\"rekorPublicKeyPath\":\"/r\"}]}",
         "default[0].fulcio: unknown member 'bogus'"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":1}]}",
         "default[0].signedIdentity: must be a JSON object"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"bogus\"}}]}",
         "unknown policy reference match type 'bogus'"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"matchExact\",\"x\":1}}]}",
         "default[0].signedIdentity: unknown member 'x'"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"exactReference\"}}]}",
         "member 'dockerReference' missing"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"exactReference\",\"dockerReference\":\"busybox\"}}]}",
         "contains neither a tag nor digest"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"exactReference\",\"dockerReference\":\"UPPERCASE\"}}]}",
         "invalid format of dockerReference"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"exactRepository\",\"dockerRepository\":\"\"}}]}",
         "invalid format of dockerRepository"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"remapIdentity\",\"prefix\":\"example.com/UPPERCASEISINVALID\","
         "\"signedPrefix\":\"example.com\"}}]}",
         "prefix 'example.com/UPPERCASEISINVALID' is not valid"},
        {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
         "{\"type\":\"remapIdentity\",\"prefix\":\"example.com\"}}]}",
         "member 'signedPrefix' missing"},
        {"{\"default\":[{\"type\":\"reject\"}]} x", "unexpected data after"},
        {"[]", "must be a JSON object"},
        {"{\"default\":[{\"type\":\"reject\"}]", "invalid JSON"},
    };
    for (size_t i = 0; i < N(t); i++) {
        struct airlock_error *e = NULL;
        struct airlock_policy *p = parse(t[i].json, &e);
        if (p || !e || e->code != AIRLOCK_EUSAGE || !strstr(e->msg, t[i].want) ||
            !strstr(e->msg, "policy 'test.json'")) {
            fprintf(stderr, "policy %s: want '%s', got '%s'\n", t[i].json, t[i].want,
                    e ? e->msg : "(accepted)");
            harness_failures++;
        }
        airlock_policy_free(p);
        airlock_error_free(e);
    }
}

TEST(parse_accepts_what_containers_image_accepts)
{
    static const char *const ok[] = {
        "{\"default\":[{\"type\":\"reject\"}]}",
        "{\"default\":[{\"type\":\"reject\"}],\"transports\":{}}",
        "{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{\"unknown\":{\"x\":"
        "[{\"type\":\"reject\"}]},\"atomic\":{\"registry.access.redhat.com/rhel7\":"
        "[{\"type\":\"reject\"}]}}}",
        "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/"
        "nonexistent\",\"rekorPublicKeyPath\""
        ":\"/r\"}]}",
        "{\"default\":[{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/"
        "c\",\"subjectEmail\":"
        "\"a@b\"}}]}",
        "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\",\"signedIdentity\":"
        "{\"type\":\"remapIdentity\",\"prefix\":\"example.com/docker-library\",\"signedPrefix\":"
        "\"docker.io/library\"}}]}",
        "\n {\"default\":[{\"type\":\"reject\"}]}\n",
    };
    for (size_t i = 0; i < N(ok); i++) {
        struct airlock_error *e = NULL;
        struct airlock_policy *p = parse(ok[i], &e);
        if (!p) {
            fprintf(stderr, "policy %s refused: %s\n", ok[i], e ? e->msg : "");
            harness_failures++;
        }
        airlock_policy_free(p);
        airlock_error_free(e);
    }
}

/* ---- sigstoreSigned with containers/image's own signatures --------------------------------- */

/* signature/fixtures/cosign.pub and cosign2.pub */
static const char cosign_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0\n"
    "vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==\n"
    "-----END PUBLIC KEY-----\n";
static const char cosign2_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwOkOF9xpfG8ghueIhnZ66ooujwt1\n"
    "+ReV3HupgKnGFYnEh3Hh1YTg5L6kN1Yakkt5WltRoav8/R3hpCtUO3Rldw==\n"
    "-----END PUBLIC KEY-----\n";
/* dir-img-cosign-valid/signature-1: cosign's own, identity without a tag */
static const char valid_payload_b64[] =
    "eyJjcml0aWNhbCI6eyJpZGVudGl0eSI6eyJkb2NrZXItcmVmZXJlbmNlIjoiMTkyLjE2OC42NC4yOjUwMDAvY29zaWdu"
    "LXNpZ25lZC1zaW5nbGUtc2FtcGxlIn0sImltYWdlIjp7ImRvY2tlci1tYW5pZmVzdC1kaWdlc3QiOiJzaGEyNTY6NjM0"
    "YThmMzViNWYxNmRjZjRhYWEwODIyYWRjMGIxOTY0YmI3ODZmY2ExMmY2ODMxZGU4ZGRjNDVlNTk4NmEwMCJ9LCJ0eXBl"
    "IjoiY29zaWduIGNvbnRhaW5lciBpbWFnZSBzaWduYXR1cmUifSwib3B0aW9uYWwiOm51bGx9";
static const char valid_sig[] =
    "MEYCIQDmtamqYPjMg81nqeBhptrPls44aA/r7PwLmspINJY4MwIhANKRpqe2E9UCBtGFdPoz/8jAbaQm4uP4h+IpwKTE"
    "6ClR";
/* dir-img-cosign-valid-with-tag/signature-1: skopeo's, identity with a tag, optional with
 * creator and timestamp */
static const char tag_payload_b64[] =
    "eyJjcml0aWNhbCI6eyJpZGVudGl0eSI6eyJkb2NrZXItcmVmZXJlbmNlIjoiMTkyLjE2OC42NC4yOjUwMDAvc2tvcGVv"
    "LXNpZ25lZDp0YWcifSwiaW1hZ2UiOnsiZG9ja2VyLW1hbmlmZXN0LWRpZ2VzdCI6InNoYTI1Njo2MzRhOGYzNWI1ZjE2"
    "ZGNmNGFhYTA4MjJhZGMwYjE5NjRiYjc4NmZjYTEyZjY4MzFkZThkZGM0NWU1OTg2YTAwIn0sInR5cGUiOiJjb3NpZ24g"
    "Y29udGFpbmVyIGltYWdlIHNpZ25hdHVyZSJ9LCJvcHRpb25hbCI6eyJjcmVhdG9yIjoiY29udGFpbmVycy9pbWFnZSA1"
    "LjIxLjItZGV2IiwidGltZXN0YW1wIjoxNjU3Mjk2NjA5fX0=";
static const char tag_sig[] =
    "MEUCIAhoI92AgO+sWjr6N+QjEDQE9Wwg1oaDDcaJIlALUqRlAiEA9+iphb/7b5T13Wy7KnlXMUM17uYTgEkUl97pu3GD"
    "/5M=";
#define FIX_DIGEST "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
#define FIX_REPO "192.168.64.2:5000/cosign-signed-single-sample"

struct sigset {
    struct airlock_policy_sig v[4];
    size_t n;
    int calls;
};

static int give_sigs(void *ctx, const char *digest, const struct airlock_policy_sig **sigs,
                     size_t *n, struct airlock_error **err)
{
    (void)digest;
    (void)err;
    struct sigset *s = ctx;
    s->calls++;
    *sigs = s->v;
    *n = s->n;
    return 0;
}

static char *b64(const char *s)
{
    return airlock_b64_encode(s, strlen(s));
}

static char *decoded(const char *b, size_t *len)
{
    unsigned char *out = NULL;
    CHECK(airlock_b64_decode(&out, len, b, strlen(b), NULL) == 0);
    return (char *)out;
}

/* Evaluates a policy whose default is the one requirement req (a JSON object). */
static int eval_one(const char *req, const char *ref, const char *digest, struct sigset *s,
                    char **reason)
{
    char *json = NULL;
    struct airlock_error *e = NULL;
    CHECK(asprintf(&json, "{\"default\":[%s]}", req) > 0);
    struct airlock_policy *p = parse(json, &e);
    free(json);
    if (!p) {
        fprintf(stderr, "policy [%s]: %s\n", req, e ? e->msg : "");
        airlock_error_free(e);
        harness_failures++;
        return -1;
    }
    struct airlock_policy_result r;
    int rc = airlock_policy_evaluate(&r, p, ref, digest, give_sigs, s, &e);
    airlock_policy_free(p);
    if (rc) {
        fprintf(stderr, "evaluate: %s\n", e ? e->msg : "");
        airlock_error_free(e);
        harness_failures++;
        return -1;
    }
    int ok = r.ok;
    if (reason)
        *reason = r.n_checks ? strdup(r.checks[0].reason) : NULL;
    airlock_policy_result_release(&r);
    return ok;
}

TEST(sigstore_signed_with_containers_image_signatures)
{
    size_t vl, tl;
    char *vp = decoded(valid_payload_b64, &vl), *tp = decoded(tag_payload_b64, &tl);
    char *k1 = b64(cosign_pub), *k2 = b64(cosign2_pub), *req = NULL, *why = NULL;
    char kp1[512], kp2[512];
    snprintf(kp1, sizeof(kp1), "%s", harness_tmp_path("cosign.pub"));
    snprintf(kp2, sizeof(kp2), "%s", harness_tmp_path("cosign2.pub"));
    FILE *f = fopen(kp1, "w");
    fputs(cosign_pub, f);
    fclose(f);
    f = fopen(kp2, "w");
    fputs(cosign2_pub, f);
    fclose(f);
    struct sigset one = {{{vp, vl, valid_sig}}, 1, 0};
    const char *by_digest = FIX_REPO "@" FIX_DIGEST;
    /* every key source, with matchRepository (cosign's identity names no tag) */
    const char *mr = ",\"signedIdentity\":{\"type\":\"matchRepository\"}}";
    char *reqs[6];
    CHECK(asprintf(&reqs[0], "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"%s", kp1, mr) > 0);
    CHECK(asprintf(&reqs[1], "{\"type\":\"sigstoreSigned\",\"keyPaths\":[\"%s\",\"%s\"]%s", kp1,
                   kp2, mr) > 0);
    CHECK(asprintf(&reqs[2], "{\"type\":\"sigstoreSigned\",\"keyPaths\":[\"%s\",\"%s\"]%s", kp2,
                   kp1, mr) > 0);
    CHECK(asprintf(&reqs[3], "{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\"%s", k1, mr) > 0);
    CHECK(asprintf(&reqs[4], "{\"type\":\"sigstoreSigned\",\"keyDatas\":[\"%s\",\"%s\"]%s", k1,
                   k2, mr) > 0);
    CHECK(asprintf(&reqs[5], "{\"type\":\"sigstoreSigned\",\"keyDatas\":[\"%s\",\"%s\"]%s", k2,
                   k1, mr) > 0);
    for (size_t i = 0; i < N(reqs); i++) {
        CHECK(eval_one(reqs[i], FIX_REPO ":latest", FIX_DIGEST, &one, NULL) == 1);
        CHECK(eval_one(reqs[i], by_digest, FIX_DIGEST, &one, NULL) == 1);
        free(reqs[i]);
    }
    /* the default identity rule: cosign's tagless identity fails by tag and by digest alike
     * (a name-only signed reference never matches) */
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\"}", kp1) > 0);
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &one, &why) == 0);
    CHECK(why && strstr(why, "identity '" FIX_REPO "' is not accepted"));
    free(why);
    CHECK(eval_one(req, FIX_REPO ":latest", FIX_DIGEST, &one, NULL) == 0);
    /* a signature that does not verify */
    char *bad = b64("invalid signature");
    struct sigset badsig = {{{vp, vl, bad}}, 1, 0};
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &badsig, &why) == 0);
    CHECK(why && strstr(why, "cryptographic signature verification failed"));
    free(why);
    free(req);
    /* a valid signature by an unknown key */
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\",\"signedIdentity\":"
                         "{\"type\":\"matchRepository\"}}", kp2) > 0);
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &one, NULL) == 0);
    free(req);
    /* a valid signature with a rejected identity */
    CHECK(asprintf(&req,
                   "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\",\"signedIdentity\":"
                   "{\"type\":\"exactReference\",\"dockerReference\":\"this/does-not:match\"}}",
                   kp1) > 0);
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &one, NULL) == 0);
    free(req);
    /* a valid signature of another manifest */
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\",\"signedIdentity\":"
                         "{\"type\":\"matchRepository\"}}", kp1) > 0);
    CHECK(eval_one(req, FIX_REPO ":latest",
                   "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &one,
                   &why) == 0);
    CHECK(why && strstr(why, "signature for digest " FIX_DIGEST " does not match"));
    free(why);
    /* no signatures */
    struct sigset none = {{{NULL, 0, NULL}}, 0, 0};
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &none, &why) == 0);
    CHECK_STR(why, "A signature was required, but no signature exists");
    free(why);
    /* one bad, one good: accepted; two bad: both reasons */
    struct sigset mixed = {{{vp, vl, bad}, {vp, vl, valid_sig}}, 2, 0};
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &mixed, NULL) == 1);
    struct sigset unreadable = {{{NULL, 0, valid_sig}}, 1, 0};
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &unreadable, &why) == 0);
    CHECK(why && strstr(why, "cannot be read"));
    free(why);
    struct sigset twobad = {{{vp, vl, bad}, {vp, vl, NULL}}, 2, 0};
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &twobad, &why) == 0);
    CHECK(why && strstr(why, "none of the 2 signatures") && strstr(why, "missing"));
    free(why);
    free(req);
    /* matchExact: skopeo's tagged identity passes at its tag, not at another; cosign's
     * tagless one never */
    struct sigset tagged = {{{tp, tl, tag_sig}}, 1, 0};
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyPath\":\"%s\",\"signedIdentity\":"
                         "{\"type\":\"matchExact\"}}", kp1) > 0);
    CHECK(eval_one(req, "192.168.64.2:5000/skopeo-signed:tag", FIX_DIGEST, &tagged, NULL) == 1);
    CHECK(eval_one(req, "192.168.64.2:5000/skopeo-signed:othertag", FIX_DIGEST, &tagged, NULL) ==
          0);
    CHECK(eval_one(req, FIX_REPO ":latest", FIX_DIGEST, &one, NULL) == 0);
    free(req);
    /* the default rule with the tagged identity: by tag and by digest */
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\"}", k1) > 0);
    CHECK(eval_one(req, "192.168.64.2:5000/skopeo-signed:tag", FIX_DIGEST, &tagged, NULL) == 1);
    CHECK(eval_one(req, "192.168.64.2:5000/skopeo-signed@" FIX_DIGEST, FIX_DIGEST, &tagged,
                   NULL) == 1);
    CHECK(eval_one(req, "192.168.64.2:5000/skopeo-signed:othertag", FIX_DIGEST, &tagged, NULL) ==
          0);
    free(req);
    /* remapIdentity: pulled from a mirror, signed by the vendor under its own name */
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\",\"signedIdentity\":"
                         "{\"type\":\"remapIdentity\",\"prefix\":\"mirror.internal/vendor\","
                         "\"signedPrefix\":\"192.168.64.2:5000\"}}", k1) > 0);
    CHECK(eval_one(req, "mirror.internal/vendor/skopeo-signed:tag", FIX_DIGEST, &tagged, NULL) ==
          1);
    CHECK(eval_one(req, "mirror.internal/other/skopeo-signed:tag", FIX_DIGEST, &tagged, NULL) == 0);
    free(req);
    /* a key file that cannot be read, or key data that is no key: the requirement fails */
    CHECK(eval_one("{\"type\":\"sigstoreSigned\",\"keyPath\":\"/nonexistent/k.pub\"}", by_digest,
                   FIX_DIGEST, &one, &why) == 0);
    CHECK(why && strstr(why, "/nonexistent/k.pub"));
    free(why);
    CHECK(eval_one("{\"type\":\"sigstoreSigned\",\"keyData\":\"bm9uc2Vuc2U=\"}", by_digest,
                   FIX_DIGEST, &one, &why) == 0);
    CHECK(why && strstr(why, "keyData"));
    free(why);
    /* keyless and Rekor: not checkable offline, by name; they never ask for signatures */
    struct sigset counted = {{{vp, vl, valid_sig}}, 1, 0};
    CHECK(eval_one("{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
                   "\"https://o\",\"subjectEmail\":\"a@b\"},\"rekorPublicKeyPath\":\"/r\"}",
                   by_digest, FIX_DIGEST, &counted, &why) == 0);
    CHECK(why && strstr(why, "fulcio") && strstr(why, "not checkable"));
    free(why);
    CHECK(eval_one("{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/c\"}}", by_digest,
                   FIX_DIGEST, &counted, &why) == 0);
    CHECK(why && strstr(why, "pki"));
    free(why);
    CHECK(asprintf(&req, "{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\",\"rekorPublicKeyData\":"
                         "\"%s\"}", k1, k2) > 0);
    CHECK(eval_one(req, by_digest, FIX_DIGEST, &counted, &why) == 0);
    CHECK(why && strstr(why, "rekorPublicKeyData"));
    free(why);
    free(req);
    CHECK(counted.calls == 0);
    free(bad);
    free(k1);
    free(k2);
    free(vp);
    free(tp);
}

TEST(all_requirements_of_a_scope_must_hold)
{
    struct airlock_error *e = NULL;
    struct airlock_policy *p = parse(
        "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
        "\"reg.internal/ok\":[{\"type\":\"insecureAcceptAnything\"}],"
        "\"reg.internal/mixed\":[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"reject\"}]}}}",
        &e);
    CHECK(p != NULL);
    airlock_error_free(e);
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    struct airlock_policy_result r;
    CHECK(p && airlock_policy_evaluate(&r, p, "reg.internal/ok/a:1", d, NULL, NULL, NULL) == 0);
    CHECK(r.ok);
    airlock_policy_result_release(&r);
    CHECK(p && airlock_policy_evaluate(&r, p, "reg.internal/mixed/a:1", d, NULL, NULL, NULL) == 0);
    CHECK(!r.ok && r.n_checks == 2 && r.checks[0].ok && !r.checks[1].ok);
    CHECK(r.n_checks == 2 && strstr(r.checks[1].requirement, "reject"));
    airlock_policy_result_release(&r);
    /* a reference without a tag or digest, or with both, is not an image to check */
    CHECK(p && airlock_policy_evaluate(&r, p, "reg.internal/ok/a", d, NULL, NULL, NULL) ==
                   AIRLOCK_EUSAGE);
    CHECK(p && airlock_policy_evaluate(&r, p, "reg.internal/ok/a:1@sha256:0123456789abcdef012345"
                                              "6789abcdef0123456789abcdef0123456789abcdef",
                                       d, NULL, NULL, NULL) == AIRLOCK_EUSAGE);
    airlock_policy_free(p);
}

/* Docker Hub names and nested repositories, as ParseNormalizedNamed reads them */
TEST(docker_hub_and_nested_repositories)
{
    static const struct {
        enum airlock_identity_type t;
        const char *image, *sig;
        int result;
    } t[] = {
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "docker.io/library/nginx:1.27",
         "index.docker.io/library/nginx:1.27", 1},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "nginx:1.27", "docker.io/nginx:1.27", 1},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "nginx:1.27", "index.docker.io/library/nginx",
         0},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "nginx:1.27", "library/nginx:1.27", 1},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "nginx:1.27", "Docker.io/library/nginx:1.27",
         0},
        {AIRLOCK_IDENTITY_MATCH_REPOSITORY, "bitnami/nginx:1", "docker.io/bitnami/nginx", 1},
        {AIRLOCK_IDENTITY_MATCH_REPOSITORY, "bitnami/nginx:1", "docker.io/library/bitnami/nginx",
         0},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "registry.internal/devops/library/nginx:1.27",
         "registry.internal/devops/library/nginx:1.27", 1},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "registry.internal/devops/library/nginx:1.27",
         "index.docker.io/library/nginx:1.27", 0},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "registry.internal/devops/library/nginx:1.27",
         "registry.internal/devops/nginx:1.27", 0},
        {AIRLOCK_IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, "registry.internal/devops/library/nginx" DG,
         "registry.internal/devops/library/nginx:1.27", 1},
        {AIRLOCK_IDENTITY_MATCH_REPOSITORY, "localhost:5000/a/b/c:1", "localhost:5000/a/b/c", 1},
        {AIRLOCK_IDENTITY_MATCH_REPOSITORY, "localhost:5000/a/b/c:1", "localhost/a/b/c", 0},
    };
    for (size_t i = 0; i < N(t); i++)
        check_case(match(t[i].t, t[i].image, t[i].sig), t[i].result, "docker hub/nested",
                   t[i].image, t[i].sig);
    /* remapIdentity from a mirror of Docker Hub: the signed name is docker.io's */
    struct airlock_signed_identity id = {AIRLOCK_IDENTITY_REMAP, NULL, "registry.internal/hub",
                                         "docker.io"};
    CHECK(airlock_signed_identity_match(&id, "registry.internal/hub/library/nginx:1.27",
                                        "nginx:1.27"));
    CHECK(!airlock_signed_identity_match(&id, "registry.internal/hub/library/nginx:1.27",
                                         "index.docker.io/library/nginx"));
}
