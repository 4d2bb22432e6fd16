#include "args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cli_registry cr;
static struct airlock_export_opts eo = {.format = AIRLOCK_FORMAT_AUTO};
static const char *out, *images_file, *set_file, *have_file, *since_file;
static uint64_t split;
static int json;

static int format_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)name;
    (void)cmd;
    struct airlock_error *err = NULL;
    return airlock_format_parse(ctx, arg, &err) ? cli_fail(err) : 0;
}

static const struct cli_opt opts[] = {
    {CLI_STR, "output", 'o', &out, "BUNDLE", "DIR/, FILE.tar or FILE.tar.zst (required)", 0, 0,
     NULL},
    {CLI_STR, "images", 0, &images_file, "FILE", "references, one a line ('#' starts a comment)",
     0, 0, NULL},
    {CLI_STR, "set", 0, &set_file, "FILE", "a set file or a lock (see above)", 0, 0, NULL},
    {CLI_FLAG, "dry-run", 0, &eo.dry_run, NULL,
     "resolve and print the plan (on stdout), write nothing", 0, 0, NULL},
    {CLI_CALL, "format", 0, &eo.format, "FORMAT", "dir, tar or tar.zst (default: from the path)",
     0, 0, format_opt},
    {CLI_STR, "platform", 0, &eo.platform, "P",
     "keep only os/arch[/variant] of a multi-arch image", 0, 0, NULL},
    {CLI_SIZE, "split", 0, &split, "SIZE",
     "write the bundle as parts BUNDLE.001, ... no larger than SIZE (as 'airlock split' cuts "
     "them), straight away: no whole copy is ever made (a split export does not resume: an "
     "interrupted one starts again)",
     65536, 0, NULL},
    {CLI_STR, "have", 0, &have_file, "INVENTORY",
     "a delta: leave out the layers INVENTORY (airlock inventory of the destination) lists; "
     "manifests, configs and signatures always travel",
     0, 0, NULL},
    {CLI_STR, "since", 0, &since_file, "LOCK",
     "a delta: leave out the layers of the images LOCK (the last drop's lock file, kind "
     "ImageSetLock) pins; a lock none of whose images is in a repository this export takes is "
     "refused (exit 2)",
     0, 0, NULL},
    CLI_OPT_JSON(&json, "print the result as JSON"),
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock export [options] REF... -o BUNDLE\n"
            "       airlock export [options] --images FILE -o BUNDLE\n"
            "       airlock export [options] --set SET.yaml|SET.json|LOCK.json -o BUNDLE\n"
            "\n"
            "Pulls images from registries into a bundle: tags are resolved to digests, the\n"
            "whole index (every platform) is kept unless --platform is given, and what travels\n"
            "with each image comes along: its sha256-<hex>.sig, .att and .sbom tags and its\n"
            "OCI 1.1 referrers (signatures, attestations, SBOMs, sigstore bundles; from the\n"
            "referrers API when the registry serves it, else the sha256-<hex> fallback tag),\n"
            "for an index also those of each platform manifest, listed in the bundle under\n"
            "REPO:sha256-<hex>. Blobs are fetched in parallel straight into the\n"
            "bundle, each digest checked as the bytes arrive; a dropped download continues\n"
            "with Range. Adding to an existing bundle reuses the blobs it has. An export\n"
            "that fails or is killed keeps what it fetched in .BUNDLE.airlock-partial beside\n"
            "the destination: the same export again fetches only the rest.\n"
            "\n"
            "Everything is resolved first (tags to digests, the filters of a set) and printed\n"
            "as a plan before any blob moves: per image its digest, the bytes it brings that\n"
            "the bundle does not have yet, and whether the bundle already holds it. The\n"
            "bundle's index.json records which set (path, sha256) and which resolution (each\n"
            "request, the tag and digest taken, the time) it came from; 'airlock inspect\n"
            "--lock' turns that into a lock file that --set accepts (every image by digest).\n"
            "A reference with a tag and a digest is taken by digest; a tag that now points\n"
            "elsewhere is warned about, naming both.\n"
            "\n"
            "A set file (YAML, or the same in JSON; samples/site.yaml, samples/site.json):\n"
            "  apiVersion: airlock.dev/v1          # optional\n"
            "  kind: ImageSet                      # ImageSetLock: a lock (images by digest)\n"
            "  registries:\n"
            "    - host: registry.k8s.io\n"
            "      repositories:\n"
            "        - name: kube-apiserver\n"
            "          semver: '>=1.29 <1.30'      # node-semver ranges: ~1.29 ^1.2 1.29.x\n"
            "          allow: ['^v1\\.29\\.']       # POSIX extended regexes, unanchored\n"
            "          deny: ['-rc']\n"
            "          latest: 3                   # by version order when every admitted tag\n"
            "                                      # is a version, else the registry's order\n"
            "          tags: [v1.28.9]             # explicit tags and digests, too\n"
            "          digests: ['sha256:...']\n"
            "          platforms: [linux/amd64]    # one: that manifest; several: all of an\n"
            "                                      # index's platforms, or an error\n"
            "          attachments: true           # .sig/.att/.sbom and referrers (default)\n"
            "  images:                             # plain references, or mappings:\n"
            "    - docker.io/library/busybox:1.36\n"
            "    - {ref: 'quay.io/x/y:1.0@sha256:...', platforms: [linux/arm64],\n"
            "       attachments: false}\n"
            "A repository with filters and nothing admitted is an error naming it; one with\n"
            "neither filters nor tags nor digests too (say allow: '.*' for every tag).\n"
            "\n"
            "A delta bundle (--have INVENTORY or --since LOCK) carries every manifest, config\n"
            "and signature but leaves out the layers the destination already holds, and\n"
            "records in its index.json which ones and on what basis (the inventory's or the\n"
            "lock's digest). verify lists them as expected at the destination; push checks\n"
            "that each one is there before anything moves. A delta is written as a new bundle.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, own);
    cli_registry_help_print(f);
}

#define IMAGES_MAX_FILE (4u << 20)
#define IMAGES_MAX 20000

/* The references of an --images file: *refs holds them NUL-separated (comments, blanks and
 * surrounding spaces gone); returns an exit code. */
static int read_images(char **refs, size_t *n, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(&text, &len, path, IMAGES_MAX_FILE);
    if (rc)
        return rc;
    *n = 0;
    size_t w = 0, line = 0;
    for (char *p = text, *e; p < text + len; p = e + 1) {
        e = memchr(p, '\n', (size_t)(text + len - p));
        if (!e)
            e = text + len;
        line++;
        char *h = memchr(p, '#', (size_t)(e - p)), *end = h ? h : e;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        if (end == p)
            continue;
        if (memchr(p, ' ', (size_t)(end - p)) || memchr(p, '\t', (size_t)(end - p)) ||
            memchr(p, '\0', (size_t)(end - p))) {
            free(text);
            return cli_usage_error("export", "'%s' line %zu: one reference a line", path, line);
        }
        if (++*n > IMAGES_MAX) {
            free(text);
            return cli_usage_error("export", "'%s': more than %d references", path, IMAGES_MAX);
        }
        memmove(text + w, p, (size_t)(end - p));
        w += (size_t)(end - p);
        text[w++] = '\0';
    }
    if (!*n) {
        free(text);
        return cli_usage_error("export", "'%s' lists no reference", path);
    }
    char *t = realloc(text, w + 1);
    if (t)
        text = t;
    text[w] = '\0';
    *refs = text;
    return EXIT_OK;
}

struct plan_ctx {
    int quiet, dry, json;
};

/* The plan: on stderr before the blobs move, on stdout as the result of --dry-run. */
static void show_plan(void *ctx, const struct airlock_export_plan *p)
{
    struct plan_ctx *pc = ctx;
    FILE *f = pc->dry ? stdout : stderr;
    char sz[16];
    if (!pc->dry && pc->quiet)
        return;
    if (pc->json && pc->dry) {
        cli_printf(f, "{\"images\":[");
        for (size_t i = 0; i < p->n; i++) {
            cli_printf(f, "%s{\"name\":", i ? "," : "");
            cli_json_str(f, p->images[i].name);
            cli_printf(f, ",\"requested\":");
            cli_json_str(f, p->images[i].requested);
            cli_printf(f, ",\"digest\":\"%s\",\"newBytes\":%llu,\"newBlobs\":%zu,\"inBundle\":%s}",
                       p->images[i].digest, (unsigned long long)p->images[i].new_bytes,
                       p->images[i].new_blobs, p->images[i].in_bundle ? "true" : "false");
        }
        cli_printf(f, "],\"blobsFetch\":%zu,\"bytesFetch\":%llu,\"blobsReused\":%zu,\"bytesReused\":%llu}",
                   p->blobs_fetch, (unsigned long long)p->bytes_fetch, p->blobs_reused,
                   (unsigned long long)p->bytes_reused);
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct airlock_export_plan_image *im = &p->images[i];
        airlock_format_size(sz, im->new_bytes);
        int same = !strcmp(im->name, im->requested);
        cli_printf(f, "%s\t%s\t%s%s%s%s%s\n", im->digest, sz, im->name, same ? "" : " (",
                   same ? "" : im->requested, same ? "" : ")", im->in_bundle ? " [in bundle]" : "");
    }
    airlock_format_size(sz, p->bytes_fetch);
    char rs[16];
    airlock_format_size(rs, p->bytes_reused);
    cli_printf(f, "plan: %zu images, %zu blobs to fetch (%s), %zu already in the bundle (%s)\n",
               p->n, p->blobs_fetch, sz, p->blobs_reused, rs);
}

/* after "airlock: interrupted; " (cli_interrupt_hint) */
static void interrupted(FILE *f, void *ctx)
{
    (void)ctx;
    if (split)
        cli_printf(f, "nothing half-written was left: no part of '%s' was kept; run the same "
                      "command again (a split export starts again)", out);
    else
        cli_printf(f, "'%s' was not changed; the %zu blobs fetched are kept beside it (in "
                      ".NAME.airlock-partial); run the same command again to fetch only the "
                      "rest", out, cr.bar.moved);
}

static int export_run(const struct cli_list *refs)
{
    struct plan_ctx pc = {0};
    size_t n_parts = 0;
    char parts_label[64] = "";
    int rc = EXIT_OK;
    struct airlock_error *err = NULL;
    if (!out)
        return cli_usage_error("export", "missing -o BUNDLE");
    if (!refs->n && !images_file && !set_file)
        return cli_usage_error("export", "no image reference given (REF..., --images or --set)");
    if (set_file && (images_file || refs->n))
        return cli_usage_error("export", "--set takes no other references");
    cr.quiet = cli_quiet() || json;
    if (split && airlock_format_for_path(out) == AIRLOCK_FORMAT_DIR)
        return cli_usage_error("export", "--split writes .tar parts: give -o NAME.tar");
    if (have_file && since_file)
        return cli_usage_error("export", "give --have or --since, not both");
    if ((rc = cli_registry_finish(&cr, "export")))
        return rc;
    struct airlock_inventory *have = NULL;
    if ((have_file && airlock_inventory_load(&have, have_file, &err)) ||
        (since_file && airlock_inventory_from_lock(&have, since_file, &cr.o, &err))) {
        cli_registry_release(&cr);
        return cli_fail(err);
    }
    eo.have = have;
    cli_interrupt_hint(interrupted, NULL);
    struct airlock_import_result *res = NULL;
    struct airlock_image_set *set = NULL;
    struct airlock_set_items *items = NULL;
    struct airlock_export_item *list = NULL;
    char *listed = NULL, set_digest[AIRLOCK_DIGEST_SIZE];
    size_t n_items = 0;
    eo.split_size = split;
    pc.quiet = cr.quiet;
    pc.dry = eo.dry_run;
    pc.json = json;
    eo.plan = show_plan;
    eo.plan_ctx = &pc;
    if (set_file) {
        if (airlock_image_set_load(&set, set_file, &err) ||
            airlock_image_set_resolve(&items, set, &cr.o, &err)) {
            rc = cli_fail(err);
            goto done;
        }
        const struct airlock_export_item *l = airlock_set_items_list(items, &n_items);
        eo.set_path = set_file;
        eo.set_digest = set->digest;
        rc = airlock_export_items(&res, l, n_items, out, &cr.o, &eo, &err);
    } else {
        size_t n_file = 0;
        if (images_file && (rc = read_images(&listed, &n_file, images_file)))
            goto done;
        if (images_file) {
            eo.set_path = images_file;
            airlock_sha256_digest(set_digest, listed, strlen(listed) ? strlen(listed) : 0, NULL);
            eo.set_digest = set_digest;
        }
        n_items = n_file + refs->n;
        if (!(list = calloc(n_items + 1, sizeof(*list)))) {
            rc = cli_fail(NULL);
            goto done;
        }
        size_t k = 0;
        for (size_t i = 0; i < refs->n; i++)
            list[k++].ref = cli_registry_ref(refs->v[i]);
        for (char *p = listed; p && k < n_items; p += strlen(p) + 1)
            if (*p)
                list[k++].ref = cli_registry_ref(p);
        rc = airlock_export_items(&res, list, k, out, &cr.o, &eo, &err);
    }
    cli_registry_release(&cr);
    for (size_t i = 0; !rc && i < res->n_warnings; i++)
        cli_printf(stderr, "airlock: warning: %s\n", res->warnings[i]);
    if (!rc && res->n_parts) {
        n_parts = res->n_parts;
        snprintf(parts_label, sizeof(parts_label), ".001 to .%03zu", res->n_parts);
    }
    if (rc)
        rc = cli_fail(err);
    else if (eo.dry_run) {
        if (json)
            cli_printf(stdout, "\n");
    } else if (json) {
        cli_printf(stdout, "{\"bundle\":");
        cli_json_str(stdout, out);
        cli_printf(stdout, ",\"blobs\":%llu,\"bytes\":%llu,", (unsigned long long)res->blobs_written,
               (unsigned long long)res->bytes_written);
        if (have)
            cli_printf(stdout, "\"delta\":{\"basis\":\"%s\",\"omitted\":%llu,\"omittedBytes\":%llu},",
                       res->delta_basis, (unsigned long long)res->blobs_omitted,
                       (unsigned long long)res->bytes_omitted);
        cli_printf(stdout, "\"images\":[");
        for (size_t i = 0; i < res->n; i++) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\"}", res->digests[i]);
        }
        cli_printf(stdout, "],\"warnings\":[");
        for (size_t i = 0; i < res->n_warnings; i++) {
            if (i)
                putchar(',');
            cli_json_str(stdout, res->warnings[i]);
        }
        cli_printf(stdout, "],\"parts\":[");
        for (size_t i = 0; i < res->n_parts; i++) {
            cli_printf(stdout, "%s{\"path\":", i ? "," : "");
            cli_json_str(stdout, res->parts[i]);
            cli_printf(stdout, ",\"size\":%llu}", (unsigned long long)res->part_sizes[i]);
        }
        cli_printf(stdout, "]}\n");
    } else {
        for (size_t i = 0; i < res->n; i++)
            cli_printf(stdout, "%s\t%s\n", res->digests[i], res->refs[i]);
        if (!cr.quiet) {
            char sz[16];
            airlock_format_size(sz, res->bytes_written);
            cli_printf(stderr, "wrote '%s'%s%s: %zu references, %llu blobs fetched (%s)\n", out,
                    n_parts ? " in parts " : "", n_parts ? parts_label : "", res->n,
                    (unsigned long long)res->blobs_written, sz);
            if (have) {
                airlock_format_size(sz, res->bytes_omitted);
                cli_printf(stderr, "delta against %s: %llu layers (%s) left out, expected at the "
                                   "destination\n",
                           res->delta_basis, (unsigned long long)res->blobs_omitted, sz);
            }
        }
    }
done:
    airlock_inventory_free(have);
    airlock_import_result_free(res);
    airlock_set_items_free(items);
    airlock_image_set_free(set);
    free(list);
    free(listed);
    cli_registry_release(&cr);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    cli_registry_init(&cr, 0);
    const struct cli_opt *const tables[] = {opts, cli_registry_table(&cr), NULL};
    struct cli_list refs = {0};
    int rc = cli_parse("export", argc, argv, tables, &refs, help);
    if (!rc)
        rc = export_run(&refs);
    cli_list_release(&refs);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
