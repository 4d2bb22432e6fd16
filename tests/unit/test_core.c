#include "airlock/core.h"
#include "core_int.h"
#include "harness.h"

#include <cjson/cJSON.h>

static void ref_ok(const char *in, const char *want, const char *want_repo)
{
    struct airlock_ref r;
    struct airlock_error *err = NULL;
    int rc = airlock_ref_parse(&r, in, &err);
    if (rc) {
        fprintf(stderr, "parse '%s' failed: %s\n", in, err ? err->msg : "?");
        harness_failures++;
        airlock_error_free(err);
        return;
    }
    char *s = airlock_ref_format(&r), *repo = airlock_ref_repository(&r);
    CHECK_STR(s, want);
    CHECK_STR(repo, want_repo);
    free(s);
    free(repo);
    airlock_ref_release(&r);
}

static void ref_bad(const char *in, const char *msg_part)
{
    struct airlock_ref r;
    struct airlock_error *err = NULL;
    int rc = airlock_ref_parse(&r, in, &err);
    CHECK(rc == AIRLOCK_EUSAGE);
    if (rc == 0) {
        fprintf(stderr, "'%s' parsed but should not\n", in);
        airlock_ref_release(&r);
    } else if (msg_part && (!err || !strstr(err->msg, msg_part))) {
        fprintf(stderr, "'%s': message '%s' lacks '%s'\n", in, err ? err->msg : "", msg_part);
        harness_failures++;
    }
    airlock_error_free(err);
}

TEST(ref_docker_hub_normalization)
{
    ref_ok("nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx");
    ref_ok("nginx:1.27", "docker.io/library/nginx:1.27", "docker.io/library/nginx");
    ref_ok("library/nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx");
    ref_ok("index.docker.io/library/nginx:1", "docker.io/library/nginx:1",
           "docker.io/library/nginx");
    ref_ok("docker.io/nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx");
    ref_ok("bitnami/redis:7", "docker.io/bitnami/redis:7", "docker.io/bitnami/redis");
}

TEST(ref_registries_ports_digests)
{
    ref_ok("localhost/foo", "localhost/foo:latest", "localhost/foo");
    ref_ok("localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "localhost:5000/a/b");
    ref_ok("registry.internal/devops/nginx:1.27", "registry.internal/devops/nginx:1.27",
           "registry.internal/devops/nginx");
    ref_ok("quay.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "quay.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "quay.io/x/y");
    ref_ok("a.b/c:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "a.b/c:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "a.b/c");
    ref_ok("127.0.0.1:5000/x:sha256-0123.sig", "127.0.0.1:5000/x:sha256-0123.sig",
           "127.0.0.1:5000/x");
    ref_ok("my-reg.example.com/a__b/c.d/e--f:tag_1.0-x", "my-reg.example.com/a__b/c.d/e--f:tag_1.0-x",
           "my-reg.example.com/a__b/c.d/e--f");
}

static void dest_ok(const char *src, const char *dest, const char *const *map, size_t n,
                    const char *want)
{
    struct airlock_ref d;
    struct airlock_error *e = NULL;
    int rc = airlock_ref_destination(&d, src, dest, map, n, &e);
    if (rc)
        fprintf(stderr, "%s -> %s: %s\n", src, dest, e ? e->msg : "");
    CHECK(rc == 0);
    airlock_error_free(e);
    if (rc)
        return;
    char *s = airlock_ref_format(&d);
    CHECK_STR(s, want);
    free(s);
    airlock_ref_release(&d);
}

TEST(ref_destination_is_what_push_uses)
{
    const char *map[] = {"docker.io/bitnami/redis=cache/redis", "quay.io/x/y=z"};
    dest_ok("nginx:1.27", "registry.internal/devops", NULL, 0,
            "registry.internal/devops/library/nginx:1.27");
    dest_ok("index.docker.io/library/nginx:1.27", "registry.internal/devops/", NULL, 0,
            "registry.internal/devops/library/nginx:1.27");
    dest_ok("quay.io/a/b:v1", "127.0.0.1:5000", NULL, 0, "127.0.0.1:5000/a/b:v1");
    dest_ok("bitnami/redis:7", "registry.internal/devops", map, 2,
            "registry.internal/cache/redis:7");
    dest_ok("quay.io/x/y:t", "reg.local:5000/p", map, 2, "reg.local:5000/z:t");
    dest_ok("quay.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "reg.local/p", NULL, 0,
            "reg.local/p/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    /* a bare host stays the host, never Docker Hub */
    dest_ok("nginx:1", "registry", NULL, 0, "registry/library/nginx:1");
    dest_ok("nginx:1", "docker.io/mirror", NULL, 0, "docker.io/mirror/library/nginx:1");
    struct airlock_ref d;
    struct airlock_error *e = NULL;
    CHECK(airlock_ref_destination(&d, "nginx", "", NULL, 0, &e) == AIRLOCK_EUSAGE);
    airlock_error_free(e);
    e = NULL;
    CHECK(airlock_ref_destination(&d, "nginx", "reg.local/UPPER", NULL, 0, &e) == AIRLOCK_EUSAGE);
    airlock_error_free(e);
}

TEST(ref_rejects_malformed)
{
    ref_bad("", NULL);
    ref_bad("Nginx", "lowercase");
    ref_bad("registry.internal/Foo/bar", "lowercase");
    ref_bad("nginx:", "invalid tag");
    ref_bad("nginx:-bad", "invalid tag");
    ref_bad("nginx@sha256:abc", "invalid digest");
    ref_bad("nginx@md5:0123", "invalid digest");
    ref_bad("a//b", NULL);
    ref_bad("-reg.com/x", NULL);
    ref_bad("reg.com:99999999/x", NULL);
    ref_bad("foo/../bar", NULL);
    ref_bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image ID");
    char longname[400];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ref_bad(longname, "longer than 255");
}

TEST(digest_check)
{
    CHECK(airlock_digest_check(
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL) ==
          0);
    CHECK(airlock_digest_check(
              "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL) ==
          AIRLOCK_EINTEGRITY);
    CHECK(airlock_digest_check("sha256:0123", NULL) == AIRLOCK_EINTEGRITY);
    CHECK(airlock_digest_check(
              "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
              NULL) == AIRLOCK_EINTEGRITY);
    struct airlock_error *err = NULL;
    CHECK(airlock_digest_check("sha512:00", &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "unsupported algorithm"));
    airlock_error_free(err);
    CHECK(airlock_digest_check(NULL, NULL) == AIRLOCK_EINTEGRITY);
}

TEST(sha256_known_answer)
{
    char d[AIRLOCK_DIGEST_SIZE];
    CHECK(airlock_sha256_digest(d, "abc", 3, NULL) == 0);
    CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    struct airlock_sha256 *h = NULL;
    CHECK(airlock_sha256_new(&h, NULL) == 0);
    airlock_sha256_update(h, "a", 1);
    airlock_sha256_update(h, "bc", 2);
    airlock_sha256_final(h, d);
    CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    airlock_sha256_final(h, d); /* reset: the empty string */
    CHECK_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    airlock_sha256_free(h);
}

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *s, struct airlock_oci **m, struct airlock_error **err)
{
    return airlock_oci_parse(m, s, strlen(s), "test", err);
}

TEST(oci_parse_manifest_and_index)
{
    struct airlock_oci *m = NULL;
    CHECK(parse("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                "\",\"size\":3},\"layers\":[{\"digest\":\"" D2 "\",\"size\":7,\"annotations\":"
                "{\"a\":\"b\"}}]}",
                &m, NULL) == 0);
    CHECK(m && m->kind == AIRLOCK_OCI_MANIFEST && m->n_layers == 1 && m->layers[0].size == 7);
    CHECK(m && m->media_type == NULL); /* umoci omits it */
    CHECK(m && airlock_annotation_get(m->layers[0].annotations, m->layers[0].n_annotations, "a"));
    airlock_oci_free(m);
    m = NULL;
    CHECK(parse("{\"schemaVersion\":2,\"mediaType\":\"" AIRLOCK_MT_OCI_INDEX
                "\",\"manifests\":[{\"mediaType\":\"" AIRLOCK_MT_OCI_MANIFEST
                "\",\"digest\":\"" D1 "\",\"size\":3,\"platform\":{\"os\":\"linux\","
                "\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}",
                &m, NULL) == 0);
    CHECK(m && m->kind == AIRLOCK_OCI_INDEX && m->n_layers == 1);
    CHECK_STR(m ? m->layers[0].platform_arch : NULL, "arm64");
    CHECK_STR(m ? m->layers[0].platform_variant : NULL, "v8");
    airlock_oci_free(m);
}

static void oci_bad(const char *s, const char *part)
{
    struct airlock_oci *m = NULL;
    struct airlock_error *err = NULL;
    int rc = parse(s, &m, &err);
    CHECK(rc == AIRLOCK_EINTEGRITY);
    if (rc == 0)
        airlock_oci_free(m);
    else if (!err || !strstr(err->msg, part)) {
        fprintf(stderr, "message '%s' lacks '%s'\n", err ? err->msg : "", part);
        harness_failures++;
    }
    airlock_error_free(err);
}

TEST(oci_parse_rejects)
{
    oci_bad("[]", "schemaVersion");
    oci_bad("{\"schemaVersion\":1,\"fsLayers\":[]}", "schema 1");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha512:00\",\"size\":1}]}",
            "unsupported algorithm");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:zz\",\"size\":1}]}",
            "64 lowercase hex");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}",
            "no valid size");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1.5}]}",
            "no valid size");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\"}]}", "no valid size");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"size\":1}]}", "without a digest");
    oci_bad("{\"schemaVersion\":2,\"mediaType\":\"" AIRLOCK_MT_OCI_MANIFEST "\",\"manifests\":[]}",
            "mediaType");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":1}}", "not a string");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[", "invalid JSON");
    oci_bad("{\"schemaVersion\":2}", "neither");
    oci_bad("not json", "not a JSON object");
}

/* Go's encoding/json (registry, containers/image, containerd) takes the last of two equal
 * members and folds names; cJSON takes the first, exactly: such documents are refused. */
TEST(oci_parse_rejects_what_go_reads_otherwise)
{
#define CFG "\"config\":{\"mediaType\":\"" AIRLOCK_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1}"
#define LAY(mt) "[{\"mediaType\":\"" mt "\",\"digest\":\"" D1 "\",\"size\":1}]"
    oci_bad("{\"schemaVersion\":2," CFG ",\"layers\":" LAY("a") ",\"layers\":" LAY("b") "}",
            "given twice");
    oci_bad("{\"schemaVersion\":2," CFG ",\"layers\":" LAY("a") ",\"Layers\":" LAY("b") "}",
            "given twice");
    oci_bad("{\"schemaVersion\":2," CFG ",\"Layers\":" LAY("b") "}", "is not 'layers'");
    oci_bad("{\"schemaVersion\":2," CFG ",\"layer\xc5\xbf\":" LAY("b") "}", "is not 'layers'");
    oci_bad("{\"schemaVersion\":2," CFG "," CFG "}", "given twice");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":\"1\",\"a\":\"2\"}}",
            "given twice");
    oci_bad("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,"
            "\"Size\":2}]}",
            "given twice");
    /* annotation names are a map's keys: exact in Go too */
    struct airlock_oci *m = NULL;
    const char *ok = "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":\"1\",\"A\":\"2\","
                     "\"Layers\":\"x\"}}";
    CHECK(airlock_oci_parse(&m, ok, strlen(ok), "t", NULL) == 0);
    airlock_oci_free(m);
#undef CFG
#undef LAY
}

TEST(json_depth_and_nul_guard)
{
    char deep[400];
    int n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    struct airlock_error *err = NULL;
    CHECK(airlock_json_check(deep, strlen(deep), "x", &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "nested deeper"));
    airlock_error_free(err);
    /* brackets inside strings do not count */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    CHECK(airlock_json_check(s, strlen(s), "x", NULL) == 0);
    CHECK(airlock_json_check("{\"a\":\"\0\"}", 9, "x", NULL) == AIRLOCK_EINTEGRITY);
}

TEST(buf_is_capped)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(8);
    CHECK(airlock_buf_append(&b, "12345678", 8) == 0);
    CHECK(airlock_buf_append(&b, "9", 1) == AIRLOCK_EINTEGRITY);
    CHECK(b.len == 8 && b.data[8] == '\0');
    size_t len;
    char *d = airlock_buf_detach(&b, &len);
    CHECK(len == 8 && !strcmp(d, "12345678") && b.data == NULL);
    free(d);
}

TEST(dmap_put_get_grow)
{
    struct core_dmap m = {0};
    char key[AIRLOCK_DIGEST_SIZE];
    for (size_t i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "sha256:%064zx", i * 7919);
        CHECK(core_dmap_put(&m, key, i) == 0);
    }
    for (size_t i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "sha256:%064zx", i * 7919);
        size_t *v = core_dmap_get(&m, key);
        CHECK(v && *v == i);
    }
    CHECK(core_dmap_get(&m, D1) == NULL);
    CHECK(m.n == 1000);
    core_dmap_release(&m);
}

TEST(errors_wrap_with_context)
{
    struct airlock_error *err = NULL;
    airlock_error_set(&err, AIRLOCK_EINTEGRITY, "blob '%s' is missing", "sha256:ab");
    airlock_error_wrap(&err, "push '%s'", "reg/repo:1");
    CHECK_STR(err->msg, "push 'reg/repo:1': blob 'sha256:ab' is missing");
    CHECK(err->code == AIRLOCK_EINTEGRITY);
    /* the root cause is kept: a second set does not overwrite */
    airlock_error_set(&err, AIRLOCK_EOS, "other");
    CHECK(err->code == AIRLOCK_EINTEGRITY);
    airlock_error_free(err);
    err = NULL;
    airlock_error_set_errno(&err, AIRLOCK_EOS, 2, "open '%s'", "x");
    CHECK_STR(err->msg, "open 'x': No such file or directory");
    airlock_error_free(err);
}

TEST(format_size)
{
    char s[16];
    airlock_format_size(s, 999);
    CHECK_STR(s, "999 B");
    airlock_format_size(s, 1500000);
    CHECK_STR(s, "1.5 MB");
}

struct seen {
    uint64_t done[8];
    size_t n;
};

static void record(void *ctx, const struct airlock_progress *p)
{
    struct seen *s = ctx;
    if (s->n < 8 && !strcmp(p->what, "write") && p->total == 10)
        s->done[s->n++] = p->done;
}

TEST(progress_reader_tells_start_each_read_and_end_once)
{
    struct airlock_mem_reader m = {"0123456789", 10, 0};
    struct seen s = {{0}, 0};
    struct airlock_progress_reader pr = {airlock_mem_read, &m, record, &s, "write", "d", 10, 0, 0};
    char buf[4];
    size_t got = 0;
    struct airlock_error *err = NULL;
    do
        CHECK(airlock_progress_read(&pr, buf, sizeof(buf), &got, &err) == 0);
    while (got);
    /* 0 first, then 4 and 8, then the end (10) once, though a read of 0 followed */
    CHECK(s.n == 4);
    CHECK(s.done[0] == 0 && s.done[1] == 4 && s.done[2] == 8 && s.done[3] == 10);
}

TEST(json_parse_takes_one_document_only)
{
    size_t at = 99;
    cJSON *j = core_json_parse("{\"a\":1} \r\n\t", 11, &at);
    CHECK(j != NULL);
    cJSON_Delete(j);
    CHECK(core_json_parse("{\"a\":1}{\"b\":2}", 14, &at) == NULL);
    CHECK(at == 7); /* where the second document starts */
    CHECK(core_json_parse("{\"a\":1} x", 9, NULL) == NULL);
    CHECK(core_json_parse("{\"a\":", 5, &at) == NULL);
    CHECK(core_json_parse(NULL, 0, NULL) == NULL);
}
