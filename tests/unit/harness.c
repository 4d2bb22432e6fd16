#include "harness.h"

int harness_failures;
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
