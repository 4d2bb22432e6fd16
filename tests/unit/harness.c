#include "harness.h"
#include "airlock/core.h"

int harness_failures;

static char tmpdir[256];

static void tmp_cleanup(void)
{
    if (tmpdir[0])
        airlock_remove_tree(tmpdir);
}

const char *harness_tmp_dir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/airlock-unit-XXXXXX");
        if (!mkdtemp(tmpdir))
            abort();
        atexit(tmp_cleanup);
    }
    return tmpdir;
}

const char *harness_tmp_path(const char *name)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/%s", harness_tmp_dir(), name);
    return p;
}

char *harness_fixture(const char *rel, size_t *len)
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
static struct test_case cases[512];
static int n_cases;

void harness_register(const char *name, test_fn fn)
{
    if (n_cases < 512)
        cases[n_cases++] = (struct test_case){name, fn};
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 0; i < n_cases; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name))
            continue;
        cases[i].fn();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "no test named '%s'\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    if (harness_failures)
        fprintf(stderr, "%d check(s) failed\n", harness_failures);
    return harness_failures ? 1 : 0;
}
