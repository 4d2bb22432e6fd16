/* airlock inventory: what a registry (or some of its repositories) already holds, written as
 * one checksummed file for `export --have` on the other side of the air gap. */
#include "args.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cli_registry cr;
static const char *out, *set_path;
static struct cli_list repos, maps;
static int page, json;

static const struct cli_opt inv_opts[] = {
    {CLI_STR, "output", 'o', &out, "FILE", "write the inventory here (required; '-': stdout)", 0,
     0, NULL},
    {CLI_LIST, "repo", 0, &repos, "NAME",
     "list only this repository under PREFIX (repeatable; default: every repository of the "
     "catalog under PREFIX)",
     0, 100000, NULL},
    {CLI_STR, "set", 0, &set_path, "FILE",
     "list only the repositories the image set FILE's images are pushed to at "
     "REGISTRY[/PREFIX] (not with --repo)",
     0, 0, NULL},
    CLI_OPT_MAP(&maps, "with --set: rename repository SRC to DST, as push --map"),
    {CLI_INT, "page-size", 0, &page, "N",
     "ask for pages of N (catalog and tags; default: the registry's)", 1, 100000, NULL},
    CLI_OPT_JSON(&json, "print {\"inventory\", \"digest\", \"repositories\", \"tags\", "
                        "\"manifests\", \"blobs\"} on stdout"),
    CLI_OPT_END};
static const struct cli_opt *const inv_own[] = {inv_opts, NULL};

static void inv_help(FILE *f)
{
    fprintf(f,
            "usage: airlock inventory [options] [docker://]REGISTRY[/PREFIX] -o FILE\n"
            "       airlock inventory --set FILE [--map SRC=DST]... REGISTRY[/PREFIX] -o FILE\n"
            "\n"
            "Lists what the registry holds, for a delta export outside ('airlock export\n"
            "--have FILE'): every repository of its catalog equal to or under PREFIX (the\n"
            "catalog and the tags followed through their pages), or only those --repo names,\n"
            "or with --set only the repositories 'airlock push' (with the same --map) puts\n"
            "the set's images in (no upstream registry is asked), and for each tag the\n"
            "manifest digests and the blob digests they reference, each blob with every\n"
            "repository that holds it (push mounts a blob a delta leaves out from them).\n"
            "Digests are sorted and listed once (100000 blobs: about 8 MB). The file is one\n"
            "line {\"digest\":\"sha256:...\",\"inventory\":{...}}: the digest covers the\n"
            "inventory's bytes, so a cut-off or edited file is refused by export. It is a\n"
            "checksum, not a signature: an inventory can only make an export leave blobs out,\n"
            "and push checks that each of them is at the destination before anything moves.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, inv_own);
    cli_registry_help_print(f);
}

/* The repositories at where that push (with --map) puts the images of the set file path:
 * whole paths in the registry, as airlock_ref_destination gives them. Returns an exit code. */
static int set_repos(char ***dst, size_t *n, const char *path, const char *where)
{
    struct airlock_image_set *set = NULL;
    struct airlock_error *err = NULL;
    if (airlock_image_set_load(&set, path, &err))
        return cli_fail(err);
    int rc = EXIT_OK;
    for (size_t i = 0; i < set->n_repos + set->n_images && !rc; i++) {
        char *src = NULL;
        struct airlock_ref d = {0};
        if (i < set->n_repos ? asprintf(&src, "%s/%s", set->repos[i].registry,
                                        set->repos[i].name) < 0
                             : !(src = strdup(set->images[i - set->n_repos].ref))) {
            rc = cli_fail(NULL);
            break;
        }
        if (airlock_ref_destination(&d, src, where, (const char *const *)maps.v, maps.n, &err))
            rc = cli_fail(err);
        else {
            char **nl = realloc(*dst, (*n + 1) * sizeof(*nl));
            if (nl)
                *dst = nl;
            if (!nl || !(nl[*n] = strdup(d.path)))
                rc = cli_fail(NULL);
            else
                (*n)++;
        }
        airlock_ref_release(&d);
        free(src);
    }
    airlock_image_set_free(set);
    return rc;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Writes text to path atomically (a temporary beside it, renamed); returns an exit code. */
static int write_file(const char *path, const char *text, size_t len)
{
    if (!strcmp(path, "-"))
        return fwrite(text, 1, len, stdout) == len ? EXIT_OK : EXIT_FAILURE_OP;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.airlock-tmp", path) < 0)
        return cli_fail(NULL);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = EXIT_OK;
    size_t done = 0;
    while (fd >= 0 && done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (fd < 0 || done < len || fsync(fd) || close(fd) || rename(tmp, path)) {
        struct airlock_error *err = NULL;
        airlock_error_set_errno(&err, AIRLOCK_EOS, errno, "write inventory '%s'", path);
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        rc = cli_fail(err);
    }
    free(tmp);
    return rc;
}

static int inv_run(const struct cli_list *ops)
{
    if (ops->n != 1)
        return cli_usage_error("inventory", "give one REGISTRY[/PREFIX]");
    if (!out)
        return cli_usage_error("inventory", "missing -o FILE");
    if (json && !strcmp(out, "-"))
        return cli_usage_error("inventory", "--json prints on stdout: give -o FILE");
    const char *where = cli_registry_ref(ops->v[0]); /* docker://HOST/REPO, as skopeo writes */
    int rc;
    if (strchr(where, '@') || strstr(where, "://"))
        return cli_usage_error("inventory", "'%s': give REGISTRY[/PREFIX], no tag or digest",
                               where);
    if (set_path && repos.n)
        return cli_usage_error("inventory", "give --set FILE or --repo NAME, not both");
    if (maps.n && !set_path)
        return cli_usage_error("inventory", "--map renames the set's repositories: give --set");
    char **set_names = NULL;
    size_t n_set = 0;
    if (set_path && (rc = set_repos(&set_names, &n_set, set_path, where))) {
        free_names(set_names, n_set);
        return rc;
    }
    cr.quiet = cli_quiet() || json;
    rc = cli_registry_finish(&cr, "inventory");
    if (rc) {
        free_names(set_names, n_set);
        return rc;
    }
    struct airlock_inventory_opts o = {repos.v, repos.n, (size_t)page, 0};
    if (set_path) {
        o.repos = (const char *const *)set_names;
        o.n_repos = n_set;
        o.full_paths = 1;
    }
    struct airlock_inventory_result *res = NULL;
    struct airlock_error *err = NULL;
    rc = airlock_inventory_take(&res, where, &o, &cr.o, &err);
    free_names(set_names, n_set);
    cli_registry_release(&cr);
    if (rc)
        return cli_fail(err);
    rc = write_file(out, res->text, res->len);
    if (!rc && json) {
        cli_printf(stdout, "{\"inventory\":");
        cli_json_str(stdout, out);
        cli_printf(stdout,
                   ",\"digest\":\"%s\",\"repositories\":%zu,\"tags\":%zu,\"manifests\":%zu,"
                   "\"blobs\":%zu,\"bytes\":%zu}\n",
                   res->digest, res->repositories, res->tags, res->manifests, res->blobs,
                   res->len);
    } else if (!rc && !cr.quiet)
        cli_printf(stderr,
                   "inventory of '%s' in '%s' (%s): %zu repositories, %zu tags, %zu manifests, "
                   "%zu blobs\n",
                   where, out, res->digest, res->repositories, res->tags, res->manifests,
                   res->blobs);
    airlock_inventory_result_free(res);
    return rc;
}

int cmd_inventory(int argc, char **argv)
{
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {inv_opts, cli_registry_table(&cr), NULL};
    struct cli_list ops = {0};
    int rc = cli_parse("inventory", argc, argv, tables, &ops, inv_help);
    if (!rc)
        rc = inv_run(&ops);
    cli_list_release(&ops);
    cli_list_release(&repos);
    cli_list_release(&maps);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
