#include "harness.h"
#include "layout_int.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void norm_ok(const char *in, const char *want)
{
    char *out = NULL;
    CHECK(arch_name_normalize(&out, in, "t", NULL) == 0);
    CHECK_STR(out, want);
    free(out);
}

TEST(entry_names_are_normalized_or_refused)
{
    norm_ok("./blobs/sha256/", "blobs/sha256");
    norm_ok("index.json", "index.json");
    norm_ok("./", "");
    norm_ok("a//b/./c", "a/b/c");
    char *out = NULL;
    struct airlock_error *err = NULL;
    CHECK(arch_name_normalize(&out, "/etc/passwd", "t.tar", &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "absolute path refused") && strstr(err->msg, "/etc/passwd"));
    airlock_error_free(err);
    err = NULL;
    CHECK(arch_name_normalize(&out, "blobs/../../x", "t.tar", &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "'..' in path refused"));
    airlock_error_free(err);
}

TEST(layout_names_are_classified)
{
    char d[AIRLOCK_DIGEST_SIZE];
    CHECK(bundle_classify("index.json", d, "t", NULL) == 0);
    CHECK(bundle_classify("blobs/sha256", d, "t", NULL) == 0);
    CHECK(bundle_classify("blobs/sha256/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          d, "t", NULL) == 1);
    CHECK_STR(d, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    CHECK(bundle_classify("blobs/sha256/xyz", d, "t", NULL) == AIRLOCK_EINTEGRITY);
    CHECK(bundle_classify("blobs/sha256/"
                          "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                          d, "t", NULL) == AIRLOCK_EINTEGRITY);
    CHECK(bundle_classify("blobs/sha512/00", d, "t", NULL) == AIRLOCK_EINTEGRITY);
    CHECK(bundle_classify("README", d, "t", NULL) == 2);
}

TEST(ustar_header_fields)
{
    unsigned char h[512];
    CHECK(tarw_header(h, "blobs/sha256/abc", 1234, '0') == 0);
    CHECK(!memcmp(h + 257, "ustar", 6));
    CHECK(!strcmp((char *)h + 124, "00000002322")); /* 1234 octal */
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    CHECK(strtoul((char *)h + 148, NULL, 8) == sum);
    /* sizes past 8 GiB use base-256 */
    CHECK(tarw_header(h, "big", 10ull << 30, '0') == 0);
    CHECK(h[124] == 0x80);
    uint64_t v = 0;
    for (int i = 1; i < 12; i++)
        v = (v << 8) | h[124 + i];
    CHECK(v == 10ull << 30);
    char longname[120];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(tarw_header(h, longname, 1, '0') != 0);
}

static const char index_json[] = "{\"schemaVersion\":2,\"manifests\":[]}";

static void write_and_read(enum airlock_format fmt, const char *name)
{
    const char *path = harness_tmp_path(name);
    struct airlock_writer *w = NULL;
    struct airlock_error *err = NULL;
    char d[AIRLOCK_DIGEST_SIZE];
    CHECK(airlock_writer_new(&w, path, fmt, &err) == 0);
    CHECK(airlock_writer_add_bytes(w, "hello", 5, NULL, d, &err) == 0);
    CHECK(airlock_writer_has(w, d));
    /* a wrong digest is refused and names the digest */
    CHECK(airlock_writer_add_bytes(w, "x", 1, d, NULL, &err) == 0); /* present: no-op */
    CHECK(airlock_writer_commit(w, index_json, strlen(index_json), &err) == 0);
    airlock_writer_free(w);
    if (err)
        fprintf(stderr, "%s\n", err->msg), airlock_error_free(err), err = NULL;
    struct airlock_bundle *b = NULL;
    CHECK(airlock_bundle_open(&b, path, AIRLOCK_OPEN_HASH, &err) == 0);
    if (!b) {
        fprintf(stderr, "%s\n", err ? err->msg : "?");
        airlock_error_free(err);
        return;
    }
    CHECK(airlock_bundle_format(b) == fmt);
    CHECK(airlock_bundle_blob_count(b) == 1);
    uint64_t sz = 0;
    CHECK(airlock_bundle_blob_stat(b, d, &sz) == 0 && sz == 5);
    char actual[AIRLOCK_DIGEST_SIZE];
    CHECK(airlock_bundle_blob_hash(b, d, actual, NULL) == 0);
    CHECK_STR(actual, d);
    size_t len;
    CHECK_STR(airlock_bundle_index(b, &len), index_json);
    airlock_bundle_free(b);
}

TEST(writer_roundtrip_all_forms)
{
    write_and_read(AIRLOCK_FORMAT_TAR, "rt.tar");
    write_and_read(AIRLOCK_FORMAT_TAR_ZST, "rt.tar.zst");
    write_and_read(AIRLOCK_FORMAT_DIR, "rt.dir");
}

TEST(writer_refuses_wrong_content_and_leaves_nothing)
{
    const char *path = harness_tmp_path("bad.tar");
    struct airlock_writer *w = NULL;
    struct airlock_error *err = NULL;
    CHECK(airlock_writer_new(&w, path, AIRLOCK_FORMAT_TAR, &err) == 0);
    int rc = airlock_writer_add_bytes(
        w, "hello", 5, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        NULL, &err);
    CHECK(rc == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "does not match its digest"));
    airlock_error_free(err);
    airlock_writer_free(w); /* never committed */
    struct stat st;
    CHECK(stat(path, &st) != 0);
    /* no temporary file is left beside it */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | grep -q airlock-", harness_tmp_dir());
    CHECK(system(cmd) != 0);
}

TEST(format_from_path)
{
    CHECK(airlock_format_for_path("x.tar") == AIRLOCK_FORMAT_TAR);
    CHECK(airlock_format_for_path("x.tar.zst") == AIRLOCK_FORMAT_TAR_ZST);
    CHECK(airlock_format_for_path("x/") == AIRLOCK_FORMAT_DIR);
    CHECK(airlock_format_for_path("/tmp") == AIRLOCK_FORMAT_DIR);
    enum airlock_format f;
    CHECK(airlock_format_parse(&f, "tar.zst", NULL) == 0 && f == AIRLOCK_FORMAT_TAR_ZST);
    CHECK(airlock_format_parse(&f, "zip", NULL) == AIRLOCK_EUSAGE);
}

TEST(role_of_entries)
{
    CHECK(airlock_role_of(AIRLOCK_KIND_SIGS, NULL) == AIRLOCK_ROLE_SIGNATURE);
    CHECK(airlock_role_of("dev.hauler/atts", NULL) == AIRLOCK_ROLE_ATTESTATION);
    CHECK(airlock_role_of(NULL,
                          "r.io/a:sha256-0123456789abcdef0123456789abcdef0123456789abcdef01234567"
                          "89abcdef.sig") == AIRLOCK_ROLE_SIGNATURE);
    CHECK(airlock_role_of(NULL,
                          "r.io/a:sha256-0123456789abcdef0123456789abcdef0123456789abcdef01234567"
                          "89abcdef") == AIRLOCK_ROLE_REFERRERS);
    CHECK(airlock_role_of(AIRLOCK_KIND_IMAGE, "r.io/a:1") == AIRLOCK_ROLE_IMAGE);
    CHECK(airlock_role_of(NULL, "r.io/a:sha256-short.sig") == AIRLOCK_ROLE_IMAGE);
}

/* A bundle of one image (a 300 KiB layer) at path, split into parts of part_size at base. */
static void split_image(const char *path, const char *base, uint64_t part_size)
{
    struct airlock_writer *w = NULL;
    struct airlock_error *err = NULL;
    char layer[AIRLOCK_DIGEST_SIZE], config[AIRLOCK_DIGEST_SIZE], man[AIRLOCK_DIGEST_SIZE];
    size_t n = 300 * 1024;
    unsigned char *data = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; data && i < n; i++)
        data[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    char cfg[512], mf[1024], idx[1024];
    struct stat st;
    if (stat(path, &st) == 0)
        goto split;
    CHECK(data && airlock_writer_new(&w, path, AIRLOCK_FORMAT_TAR, &err) == 0);
    CHECK(airlock_writer_add_bytes(w, data, n, NULL, layer, &err) == 0);
    snprintf(cfg, sizeof(cfg),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
             "\"diff_ids\":[\"%s\"]}}", layer);
    CHECK(airlock_writer_add_bytes(w, cfg, strlen(cfg), NULL, config, &err) == 0);
    snprintf(mf, sizeof(mf),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
             "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
             config, strlen(cfg), layer, n);
    CHECK(airlock_writer_add_bytes(w, mf, strlen(mf), NULL, man, &err) == 0);
    snprintf(idx, sizeof(idx),
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/a/b:1\"}}]}",
             man, strlen(mf));
    CHECK(airlock_writer_commit(w, idx, strlen(idx), &err) == 0);
    airlock_writer_free(w);
split:
    free(data);
    struct airlock_bundle *b = NULL;
    struct airlock_split_result *r = NULL;
    CHECK(airlock_bundle_open(&b, path, 0, &err) == 0);
    CHECK(b && airlock_split(&r, b, base, part_size, NULL, NULL, &err) == 0);
    CHECK(r && r->n >= 3);
    if (err)
        fprintf(stderr, "%s\n", err->msg), airlock_error_free(err);
    airlock_split_result_free(r);
    airlock_bundle_free(b);
}

/* The paths a command is given: the parts of one set, wherever they are and in any order, are
 * one input; a bundle of its own and a part of another set are inputs of their own. */
TEST(inputs_group_parts_of_one_set)
{
    char a1[512], b2[512], b3[512], c1[512], whole[512], o1[512];
    snprintf(whole, sizeof(whole), "%s", harness_tmp_path("g.tar"));
    split_image(whole, harness_tmp_path("g.tar"), 128 * 1024);
    split_image(whole, harness_tmp_path("o.tar"), 160 * 1024);
    mkdir(harness_tmp_path("a"), 0755);
    mkdir(harness_tmp_path("b"), 0755);
    mkdir(harness_tmp_path("c"), 0755);
    snprintf(a1, sizeof(a1), "%s", harness_tmp_path("a/g.tar.001"));
    snprintf(b2, sizeof(b2), "%s", harness_tmp_path("b/g.tar.002"));
    snprintf(b3, sizeof(b3), "%s", harness_tmp_path("b/g.tar.003"));
    snprintf(c1, sizeof(c1), "%s", harness_tmp_path("c/g.tar.001"));
    snprintf(o1, sizeof(o1), "%s", harness_tmp_path("o.tar.001"));
    CHECK(rename(harness_tmp_path("g.tar.001"), a1) == 0);
    CHECK(rename(harness_tmp_path("g.tar.002"), b2) == 0);
    CHECK(rename(harness_tmp_path("g.tar.003"), b3) == 0);
    CHECK(access(harness_tmp_path("g.tar.004"), F_OK) != 0);

    struct airlock_error *err = NULL;
    struct airlock_bundle_inputs *in = NULL;
    const char *mixed[] = {b2, whole, a1, o1, a1};
    CHECK(airlock_bundle_inputs_group(&in, mixed, 5, &err) == 0);
    CHECK(in && in->n == 3);
    if (in && in->n == 3) {
        CHECK(in->v[0].n == 2 && in->v[0].parts == 3 && in->v[0].set[0]);
        CHECK(in->v[0].paths[0] == b2 && in->v[0].part[0] == 2);
        CHECK(in->v[0].paths[1] == a1 && in->v[0].part[1] == 1);
        CHECK(in->v[1].n == 1 && !in->v[1].set[0] && in->v[1].paths[0] == whole);
        CHECK(in->v[2].n == 1 && in->v[2].set[0] && strcmp(in->v[2].set, in->v[0].set));
        /* the set opens whole: part 3 is found beside part 2, not beside the first named */
        struct airlock_bundle *b = NULL;
        CHECK(airlock_bundle_input_open(&b, &in->v[0], 0, &err) == 0);
        CHECK(b && airlock_bundle_split_check_whole(b, &err) == 0);
        CHECK_STR(b ? airlock_bundle_split_part_path(b, 3) : NULL, b3);
        airlock_bundle_free(b);
    }
    airlock_bundle_inputs_free(in);
    in = NULL;

    /* one part from two places is refused, naming both */
    FILE *f = fopen(a1, "rb"), *g = fopen(c1, "wb");
    char buf[65536];
    size_t got;
    while (f && g && (got = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, got, g);
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    const char *twice[] = {a1, b2, c1};
    CHECK(airlock_bundle_inputs_group(&in, twice, 3, &err) == AIRLOCK_EUSAGE);
    CHECK(err && strstr(err->msg, "both part 1 of the set") && strstr(err->msg, "c/g.tar.001"));
    airlock_error_free(err);
    err = NULL;
    airlock_bundle_inputs_free(in);
    in = NULL;

    /* open_set: a part of another set is named as such */
    struct airlock_bundle *b = NULL;
    const char *apart[] = {a1, o1};
    CHECK(airlock_bundle_open_set(&b, apart, 2, 0, &err) == AIRLOCK_EUSAGE);
    CHECK(!b && err && strstr(err->msg, "another split set"));
    airlock_error_free(err);
    err = NULL;
    /* a missing part is named by check_whole */
    CHECK(rename(b3, harness_tmp_path("gone")) == 0);
    const char *two[] = {a1, b2};
    CHECK(airlock_bundle_open_set(&b, two, 2, 0, &err) == 0);
    CHECK(b && airlock_bundle_split_check_whole(b, &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "part 3") && strstr(err->msg, "is missing"));
    airlock_error_free(err);
    airlock_bundle_free(b); /* the parts go with the scratch directory at exit */
}

TEST(split_json_pieces_may_not_wrap_around)
{
    /* 9e18 + 9e18 + 5e17 wraps 2^64 to exactly the blob's size */
    static const char j[] =
        "{\"airlockSplit\":1,\"set\":\"sha256:"
        "77017efc3469204b62a8a1d409bcf8f939c9afba1f274aba6f656bf80aaf1c61\",\"part\":1,"
        "\"parts\":3,\"name\":\"b.tar\",\"partSize\":409600,\"blobs\":[{\"digest\":\"sha256:"
        "c8bedbfbbb7d686c77043140dc8e9b7fc089007d89ff1acdc57779b8f71e671b\","
        "\"size\":53255926290448384,\"pieces\":["
        "{\"part\":1,\"size\":9000000000000000000,\"digest\":\"sha256:"
        "61eb1786a49570f5bcd98a38ba27f3ef9ead7cc277367bbc313fc716e24d0924\"},"
        "{\"part\":2,\"size\":9000000000000000000,\"digest\":\"sha256:"
        "56c30d948845ecdfc8f2d27999fca5b70a9afdbc97dabe3068c055c1f4839d2a\"},"
        "{\"part\":3,\"size\":500000000000000000,\"digest\":\"sha256:"
        "95afd359a166b48e9dc36bc5d1bddfdeaa24afa1cb59ad21e0f7de7563540203\"}]}],"
        "\"contents\":[]}";
    struct bundle_split *s = NULL;
    struct airlock_error *err = NULL;
    CHECK(split_parse(&s, j, sizeof(j) - 1, "b.tar.001", &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "malformed blob entry"));
    airlock_error_free(err);
}

TEST(cancel_stops_a_blob_write_and_leaves_nothing)
{
    const char *path = harness_tmp_path("cancelled.tar");
    struct airlock_writer *w = NULL;
    struct airlock_error *err = NULL;
    CHECK(airlock_writer_new(&w, path, AIRLOCK_FORMAT_TAR, &err) == 0);
    CHECK(airlock_writer_blob_begin(
              w, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 10,
              &err) == 0);
    CHECK(airlock_writer_blob_data(w, "hello", 5, &err) == 0);
    CHECK(!airlock_cancelled());
    airlock_cancel(); /* as the SIGINT handler does */
    CHECK(airlock_cancelled());
    CHECK(airlock_writer_blob_data(w, "hello", 5, &err) == AIRLOCK_ECANCELLED);
    CHECK(err && !strcmp(err->msg, "interrupted"));
    airlock_error_free(err);
    airlock_writer_free(w);
    struct stat st;
    CHECK(stat(path, &st) != 0);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | grep -q airlock-", harness_tmp_dir());
    CHECK(system(cmd) != 0);
}

TEST(space_check_names_both_numbers)
{
    struct airlock_error *err = NULL;
    const char *path = harness_tmp_path("huge.tar");
    CHECK(airlock_space_check(path, 0, &err) == 0);
    CHECK(airlock_space_check(path, (uint64_t)1 << 60, &err) == AIRLOCK_ENOSPACE);
    CHECK(err && strstr(err->msg, "not enough free space for '") && strstr(err->msg, "huge.tar") &&
          strstr(err->msg, "free") && strstr(err->msg, "needs"));
    airlock_error_free(err);
    struct stat st;
    CHECK(stat(path, &st) != 0);
}
