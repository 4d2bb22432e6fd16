/* Image sets: semantic versions, ranges, tag filters, the set file parser. */
#include "harness.h"

#include "airlock/core.h"

static int in_range(const char *range, const char *tag)
{
    struct airlock_semver_range r;
    struct airlock_semver v;
    if (airlock_semver_range_parse(&r, range, NULL)) {
        fprintf(stderr, "range '%s' did not parse\n", range);
        return -1;
    }
    if (airlock_semver_parse(&v, tag))
        return -2;
    return airlock_semver_range_match(&r, &v);
}

TEST(semver_parse_table)
{
    static const struct {
        const char *tag;
        int ok;
        unsigned long long a, b, c;
        const char *pre;
    } t[] = {
        {"1.29.3", 1, 1, 29, 3, ""},     {"v1.29.3", 1, 1, 29, 3, ""},
        {"1.29", 1, 1, 29, 0, ""},       {"3", 1, 3, 0, 0, ""},
        {"1.30.0-rc.1", 1, 1, 30, 0, "rc.1"}, {"1.2.3+build.5", 1, 1, 2, 3, ""},
        {"1.2.3-alpine", 1, 1, 2, 3, "alpine"}, {"latest", 0, 0, 0, 0, ""},
        {"01.2.3", 0, 0, 0, 0, ""},      {"1.2.3.4", 0, 0, 0, 0, ""},
        {"1..2", 0, 0, 0, 0, ""},        {"1.2.3-", 0, 0, 0, 0, ""},
        {"1.2.3-a..b", 0, 0, 0, 0, ""},  {"", 0, 0, 0, 0, ""},
        {"v", 0, 0, 0, 0, ""},           {"1.2.x", 0, 0, 0, 0, ""},
        {"99999999999999999999.0.0", 0, 0, 0, 0, ""}, {"sha256-abc", 0, 0, 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct airlock_semver v;
        int ok = !airlock_semver_parse(&v, t[i].tag);
        if (ok != t[i].ok)
            fprintf(stderr, "tag '%s'\n", t[i].tag);
        CHECK(ok == t[i].ok);
        if (ok && t[i].ok) {
            CHECK(v.v[0] == t[i].a && v.v[1] == t[i].b && v.v[2] == t[i].c);
            CHECK(!strcmp(v.pre, t[i].pre));
        }
    }
}

TEST(semver_precedence)
{
    /* semver.org section 11's example chain, and leading 'v' alike */
    static const char *order[] = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                  "1.0.0-beta",   "1.0.0-beta.2",  "1.0.0-beta.11",
                                  "1.0.0-rc.1",   "1.0.0",         "v1.0.1",
                                  "1.2",          "1.10.0",        "2.0.0"};
    for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
        struct airlock_semver a, b;
        CHECK(!airlock_semver_parse(&a, order[i]) && !airlock_semver_parse(&b, order[i + 1]));
        if (airlock_semver_cmp(&a, &b) >= 0)
            fprintf(stderr, "'%s' should sort before '%s'\n", order[i], order[i + 1]);
        CHECK(airlock_semver_cmp(&a, &b) < 0);
        CHECK(airlock_semver_cmp(&b, &a) > 0);
    }
    struct airlock_semver a, b;
    CHECK(!airlock_semver_parse(&a, "1.2.3+x") && !airlock_semver_parse(&b, "v1.2.3"));
    CHECK(airlock_semver_cmp(&a, &b) == 0);
}

TEST(semver_range_table)
{
    static const struct {
        const char *range, *tag;
        int want;
    } t[] = {
        {">=1.29 <1.30", "1.29.0", 1},   {">=1.29 <1.30", "1.29.14", 1},
        {">=1.29 <1.30", "v1.29.2", 1},  {">=1.29 <1.30", "1.30.0", 0},
        {">=1.29 <1.30", "1.28.9", 0},   {">=1.29 <1.30", "1.29.5-rc.1", 0},
        {">=1.29 <1.30", "1.30.0-rc.1", 0},
        {"~1.29", "1.29.7", 1},          {"~1.29", "1.30.0", 0},
        {"~1.29.3", "1.29.2", 0},        {"~1.29.3", "1.29.3", 1},
        {"~1", "1.99.0", 1},             {"~1", "2.0.0", 0},
        {"^1.2", "1.2.0", 1},            {"^1.2", "1.9.9", 1},
        {"^1.2", "2.0.0", 0},            {"^1.2", "1.1.9", 0},
        {"^0.2.3", "0.2.9", 1},          {"^0.2.3", "0.3.0", 0},
        {"^0.0.3", "0.0.3", 1},          {"^0.0.3", "0.0.4", 0},
        {"1.29.x", "1.29.4", 1},         {"1.29.x", "1.30.0", 0},
        {"1.x", "1.0.1", 1},             {"1.x", "2.0.0", 0},
        {"*", "7.1.0", 1},               {"x", "0.0.1", 1},
        {"*", "7.1.0-beta", 0},          {"1.29", "1.29.3", 1},
        {"=1.29.3", "1.29.3", 1},        {"1.29.3", "1.29.4", 0},
        {">1.29", "1.29.9", 0},          {">1.29", "1.30.0", 1},
        {"<=1.29", "1.29.9", 1},         {"<=1.29", "1.30.0", 0},
        {">1.2.3", "1.2.4", 1},          {"<1.2.3", "1.2.2", 1},
        {"<=1.2.3", "1.2.3", 1},         {">1.2.3", "1.2.3", 0},
        {"<1.2 || >=2.1", "1.1.0", 1},   {"<1.2 || >=2.1", "2.0.0", 0},
        {"<1.2 || >=2.1", "2.1.0", 1},
        {">=1.30.0-rc.1 <1.31", "1.30.0-rc.2", 1}, {">=1.30.0-rc.1 <1.31", "1.30.0-alpha", 0},
        {">=1.30.0-rc.1 <1.31", "1.30.1-rc.1", 0}, {">=1.30.0-rc.1 <1.31", "1.30.5", 1},
        {"v1.29.x", "1.29.1", 1},        {"~>1.2", "1.2.5", 1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = in_range(t[i].range, t[i].tag);
        if (got != t[i].want)
            fprintf(stderr, "'%s' in '%s': got %d, want %d\n", t[i].tag, t[i].range, got,
                    t[i].want);
        CHECK(got == t[i].want);
    }
}

TEST(semver_range_rejects)
{
    static const char *bad[] = {"",      "   ",    ">=",      "1.2.3.4",   "abc", ">=1.2 <",
                                "|| 1",  "1 ||",   "1.x.3",   "1.2-rc1",   "><1", "1.2.3 - 1.4",
                                "^",     "~",      "1.2.3-",  ">=01.2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct airlock_semver_range r;
        struct airlock_error *e = NULL;
        int rc = airlock_semver_range_parse(&r, bad[i], &e);
        if (!rc)
            fprintf(stderr, "range '%s' parsed\n", bad[i]);
        CHECK(rc == AIRLOCK_EUSAGE);
        CHECK(e && strstr(e->msg, "semver range"));
        airlock_error_free(e);
    }
    char longr[400];
    memset(longr, '1', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    struct airlock_semver_range r;
    CHECK(airlock_semver_range_parse(&r, longr, NULL) == AIRLOCK_EUSAGE);
    /* more comparators than fit */
    CHECK(airlock_semver_range_parse(&r, ">1 >1 >1 >1 >1 >1 >1 >1 >1", NULL) == AIRLOCK_EUSAGE);
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

TEST(tags_filter_semver_regex_latest)
{
    const char *tags[] = {"latest", "1.29.10", "1.29.2", "v1.29.3", "1.30.0", "1.29.4-rc.1",
                          "1.28.9", "sha256-" "0123456789abcdef0123456789abcdef0123456789abcdef"
                                    "0123456789abcdef.sig", "1.29.1-alpine"};
    size_t n = sizeof(tags) / sizeof(tags[0]), got = 0;
    char **out = NULL;
    int sv = 0;
    struct airlock_tag_filter f = {0};
    f.semver = ">=1.29 <1.30";
    CHECK(!airlock_tags_filter(&out, &got, &sv, tags, n, &f, NULL));
    CHECK(got == 3 && sv == 1);
    CHECK(got == 3 && !strcmp(out[0], "1.29.2") && !strcmp(out[1], "v1.29.3") &&
          !strcmp(out[2], "1.29.10"));
    free_list(out, got);
    f.latest = 2;
    CHECK(!airlock_tags_filter(&out, &got, &sv, tags, n, &f, NULL));
    CHECK(got == 2 && !strcmp(out[0], "v1.29.3") && !strcmp(out[1], "1.29.10"));
    free_list(out, got);
    /* regex: allow then deny; a non-version is kept, so the registry's order holds */
    const char *allow[] = {"^1\\.29\\.", "^latest$"}, *deny[] = {"-rc", "alpine"};
    struct airlock_tag_filter g = {NULL, allow, 2, deny, 2, 0};
    CHECK(!airlock_tags_filter(&out, &got, &sv, tags, n, &g, NULL));
    CHECK(got == 3 && sv == 0);
    CHECK(got == 3 && !strcmp(out[0], "latest") && !strcmp(out[1], "1.29.10") &&
          !strcmp(out[2], "1.29.2"));
    free_list(out, got);
    g.latest = 1;
    CHECK(!airlock_tags_filter(&out, &got, &sv, tags, n, &g, NULL));
    CHECK(got == 1 && !strcmp(out[0], "1.29.2"));
    free_list(out, got);
    /* nothing matches: an empty list, not an error (the caller names the repository) */
    struct airlock_tag_filter h = {0};
    h.semver = ">=9";
    CHECK(!airlock_tags_filter(&out, &got, &sv, tags, n, &h, NULL));
    CHECK(got == 0 && out && !out[0]);
    free_list(out, got);
    const char *badre[] = {"(unclosed"};
    struct airlock_tag_filter b = {NULL, badre, 1, NULL, 0, 0};
    struct airlock_error *e = NULL;
    CHECK(airlock_tags_filter(&out, &got, &sv, tags, n, &b, &e) == AIRLOCK_EUSAGE);
    CHECK(e && strstr(e->msg, "(unclosed"));
    airlock_error_free(e);
}
