#include "args.h"
#include "cli.h"
#include "airlock/sign.h"

#include <stdlib.h>
#include <string.h>

static int json, lock;

static const struct cli_opt opts[] = {
    CLI_OPT_JSON(&json, "machine-readable output"),
    {CLI_FLAG, "lock", 0, &lock, NULL, "print the lock file of the bundle's export record", 0, 0,
     NULL},
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f, "usage: airlock inspect [--json] BUNDLE\n"
               "       airlock inspect [--json] PART... (the parts of one split set)\n"
               "       airlock inspect --lock BUNDLE > LOCK.json\n"
               "\n"
               "Lists the images of a bundle: reference, digest, type, platforms, total size,\n"
               "and the signatures, attestations and SBOMs that travel with each (for an\n"
               "index also the attestations of each platform manifest, a line each). Reads\n"
               "only metadata (no layer is hashed; use 'airlock verify' for that). Any part\n"
               "of a split set opens the set (the others are found beside it, or named one\n"
               "by one in any order); a part not found is named on stderr. A delta bundle\n"
               "(export --have, --since) says so: the layers it leaves out (number, size)\n"
               "and its basis (the inventory's or the lock's digest).\n"
               "\n"
               "With --lock, prints what the exports that made the bundle recorded, as a lock\n"
               "file (kind ImageSetLock: each image the bundle still holds, by its name and\n"
               "digest) that 'airlock export --set LOCK.json' takes to fetch exactly the same\n"
               "digests again.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, own);
}

#define TYPES_MAX 16
struct counts {
    int sigs, atts, sboms, referrers;
    /* attestations by the predicateType their attachment claims (not verified: that is
     * 'airlock attestations --key'); SBOM types also count in sbom_atts */
    const char *types[TYPES_MAX];
    int type_n[TYPES_MAX];
    size_t n_types;
    int sbom_atts;
    char *owned[64]; /* the type strings (copies) */
    size_t n_owned;
};

static void count_type(struct counts *k, const char *t)
{
    if (!t || !strcmp(t, AIRLOCK_PREDICATE_COSIGN_SIGN))
        return;
    k->sbom_atts += airlock_predicate_is_sbom(t);
    for (size_t i = 0; i < k->n_types; i++)
        if (!strcmp(k->types[i], t)) {
            k->type_n[i]++;
            return;
        }
    if (k->n_types == TYPES_MAX || k->n_owned == 64 || !(k->owned[k->n_owned] = strdup(t)))
        return;
    k->types[k->n_types] = k->owned[k->n_owned++];
    k->type_n[k->n_types++] = 1;
}

static void counts_release(struct counts *k)
{
    for (size_t i = 0; i < k->n_owned; i++)
        free(k->owned[i]);
}

/* The catalog's attachments sorted by subject, so each image finds its own by a binary
 * search instead of a scan of every entry (linear in the images, not quadratic). */
struct by_subject {
    const struct airlock_catalog *c;
    size_t *v; /* entry numbers of the attachments */
    size_t n;
};

static const struct airlock_catalog *sort_cat;
static int subject_cmp(const void *a, const void *b)
{
    return strcmp(sort_cat->entries[*(const size_t *)a].subject,
                  sort_cat->entries[*(const size_t *)b].subject);
}

static int by_subject_make(struct by_subject *bs, const struct airlock_catalog *c)
{
    bs->c = c;
    bs->n = 0;
    if (!(bs->v = malloc((c->n + 1) * sizeof(*bs->v))))
        return -1;
    for (size_t i = 0; i < c->n; i++)
        if (c->entries[i].role != AIRLOCK_ROLE_IMAGE)
            bs->v[bs->n++] = i;
    sort_cat = c;
    qsort(bs->v, bs->n, sizeof(*bs->v), subject_cmp);
    return 0;
}

static struct counts attachments(struct airlock_bundle *b, const struct by_subject *bs,
                                 const char *digest)
{
    struct counts k;
    memset(&k, 0, sizeof(k));
    size_t lo = 0, hi = bs->n;
    while (lo < hi) { /* the first attachment whose subject is not below digest */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(bs->c->entries[bs->v[mid]].subject, digest) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < bs->n && !strcmp(bs->c->entries[bs->v[i]].subject, digest); i++) {
        const struct airlock_entry *e = &bs->c->entries[bs->v[i]];
        int layers = 1;
        struct airlock_buf raw = AIRLOCK_BUF_INIT(0);
        struct airlock_oci *m = NULL;
        if (!airlock_bundle_blob_read(b, e->desc.digest, AIRLOCK_MAX_MANIFEST, &raw, NULL) &&
            !airlock_oci_parse(&m, raw.data, raw.len, "attachment", NULL)) {
            layers = (int)m->n_layers;
            for (size_t l = 0; l < m->n_layers; l++) /* .att layers; a referrers index's entries */
                count_type(&k, airlock_annotation_get(
                                   m->layers[l].annotations, m->layers[l].n_annotations,
                                   e->role == AIRLOCK_ROLE_ATTESTATION ? AIRLOCK_ANN_PREDICATE_TYPE
                                                                       : AIRLOCK_ANN_BUNDLE_PREDICATE));
            if (e->role == AIRLOCK_ROLE_REFERRERS && m->kind == AIRLOCK_OCI_MANIFEST)
                count_type(&k, airlock_annotation_get(m->annotations, m->n_annotations,
                                                      AIRLOCK_ANN_BUNDLE_PREDICATE));
        }
        airlock_oci_free(m);
        airlock_buf_release(&raw);
        switch (e->role) {
        case AIRLOCK_ROLE_SIGNATURE:
            k.sigs += layers;
            break;
        case AIRLOCK_ROLE_ATTESTATION:
            k.atts += layers;
            break;
        case AIRLOCK_ROLE_SBOM:
            k.sboms += 1;
            break;
        default:
            k.referrers += layers;
        }
    }
    return k;
}

/* The attestations of each platform manifest of index entry e that the bundle holds (attest
 * --recursive, cosign attest --recursive): a line each under the image, or JSON's
 * "platformAttestations". Claimed types, as for the image. */
static void platform_attestations(struct airlock_bundle *b, const struct by_subject *bs,
                                  const struct airlock_catalog *cat,
                                  const struct airlock_entry *e, int json_out)
{
    const struct airlock_graph_node *nd = airlock_graph_node(cat->graph, e->node);
    size_t n = nd && nd->kind == AIRLOCK_NODE_INDEX && nd->doc ? nd->doc->n_layers : 0;
    int first = 1;
    if (json_out)
        cli_printf(stdout, ",\"platformAttestations\":[");
    for (size_t p = 0; p < n; p++) {
        const struct airlock_descriptor *c = &nd->doc->layers[p];
        if (c->platform_os && !strcmp(c->platform_os, "unknown"))
            continue; /* an attestation manifest (buildx), no platform */
        struct counts k = attachments(b, bs, c->digest);
        char plat[160];
        snprintf(plat, sizeof(plat), "%s/%s%s%s", c->platform_os ? c->platform_os : "?",
                 c->platform_arch ? c->platform_arch : "?", c->platform_variant ? "/" : "",
                 c->platform_variant ? c->platform_variant : "");
        if (json_out) {
            cli_printf(stdout, "%s{\"platform\":", first ? "" : ",");
            cli_json_str(stdout, plat);
            cli_printf(stdout,
                       ",\"digest\":\"%s\",\"signatures\":%d,\"attestations\":%d,"
                       "\"referrers\":%d,\"sbomAttestations\":%d,\"attestationTypes\":{",
                       c->digest, k.sigs, k.atts, k.referrers, k.sbom_atts);
            for (size_t t = 0; t < k.n_types; t++)
                cli_printf(stdout, "%s", t ? "," : ""), cli_json_str(stdout, k.types[t]),
                    cli_printf(stdout, ":%d", k.type_n[t]);
            cli_printf(stdout, "}}");
            first = 0;
        } else if (k.n_types) {
            cli_printf(stdout, "  platform %s (%.19s) attested:", plat, c->digest);
            for (size_t t = 0; t < k.n_types; t++)
                cli_printf(stdout, " %s x%d", k.types[t], k.type_n[t]);
            cli_printf(stdout, " (claimed)\n");
        }
        counts_release(&k);
    }
    if (json_out)
        cli_printf(stdout, "]");
}

/* A delta bundle's record (index.json's AIRLOCK_ANN_DELTA_RECORD): what it leaves out, on
 * what basis. Shown as recorded; one that is not true of the bundle gets a warning (verify and
 * push refuse it). NULL for a full bundle, or a record that cannot be read (warned). */
static struct airlock_delta *delta_of(struct airlock_bundle *b, const struct airlock_catalog *cat,
                                      uint64_t *bytes)
{
    struct airlock_error *err = NULL;
    struct airlock_delta *d = NULL;
    char **found = NULL;
    size_t n = 0;
    int rc = airlock_delta_load(&d, b, &err);
    *bytes = 0;
    if (rc) {
        if (rc != AIRLOCK_ENOTFOUND)
            cli_printf(stderr, "airlock: warning: %s\n", err ? err->msg : "cannot read it");
        airlock_error_free(err);
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++)
        *bytes += d->omitted[i].size;
    if (airlock_delta_check(&found, &n, d, b, cat->graph, &err) == 0 && n)
        cli_printf(stderr, "airlock: warning: the delta record of '%s' is not true of the bundle: "
                           "%s%s\n",
                   airlock_bundle_path(b), found[0], n > 1 ? " (and more: see airlock verify)" : "");
    for (size_t i = 0; i < n; i++)
        free(found[i]);
    free(found);
    airlock_error_free(err);
    return d;
}

static int inspect_run(const struct cli_list *ins)
{
    if (!ins->n)
        return cli_usage_error("inspect", "expected a BUNDLE (or the parts of one split set)");
    struct airlock_error *err = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_catalog *cat = NULL;
    if (airlock_bundle_open_set(&b, ins->v, ins->n, 0,
                                &err) ||
        airlock_catalog_load(&cat, b, &err)) {
        airlock_bundle_free(b);
        int rc = cli_fail(err);
        if (ins->n == 1)
            cli_short_name_hint(ins->v[0]);
        return rc;
    }
    int rc = EXIT_OK;
    if (lock) {
        char *text = NULL;
        if (airlock_set_record_lock(&text, b, &err))
            rc = cli_fail(err);
        else {
            fputs(text, stdout);
            fputs("\n", stdout);
        }
        free(text);
        airlock_catalog_free(cat);
        airlock_bundle_free(b);
        return rc;
    }
    uint64_t omitted_bytes = 0;
    struct airlock_delta *delta = delta_of(b, cat, &omitted_bytes);
    if (json) {
        cli_printf(stdout, "{\"bundle\":"), cli_json_str(stdout, ins->v[0]),
            cli_printf(stdout, ",\"format\":\"%s\",", airlock_bundle_format_label(b));
        if (delta) {
            cli_printf(stdout, "\"delta\":{\"omitted\":%zu,\"omittedBytes\":%llu,\"basis\":",
                       delta->n, (unsigned long long)omitted_bytes);
            cli_json_str(stdout, delta->basis_kind);
            cli_printf(stdout, ",\"digest\":\"%s\"", delta->basis_digest);
            if (delta->basis_registry)
                cli_printf(stdout, ",\"registry\":"), cli_json_str(stdout, delta->basis_registry);
            cli_printf(stdout, "},");
        }
        cli_printf(stdout, "\"images\":[");
    }
    else
        cli_printf(stdout, "%-50s %-19s %-6s %-24s %10s  %s\n", "REFERENCE", "DIGEST", "TYPE", "PLATFORMS",
               "SIZE", "SIGNED");
    int first = 1;
    struct by_subject bs = {cat, NULL, 0};
    if (by_subject_make(&bs, cat)) {
        free(bs.v);
        airlock_delta_free(delta);
        airlock_catalog_free(cat);
        airlock_bundle_free(b);
        return cli_fail(NULL);
    }
    for (size_t i = 0; i < cat->n; i++) {
        const struct airlock_entry *e = &cat->entries[i];
        if (e->role != AIRLOCK_ROLE_IMAGE)
            continue;
        struct airlock_image_summary s;
        if (airlock_image_summarize(&s, b, &e->desc, &err)) {
            rc = cli_fail(err);
            err = NULL;
            break;
        }
        struct counts k = attachments(b, &bs, e->desc.digest);
        int is_index = airlock_media_type_is_index(e->desc.media_type);
        if (json) {
            cli_printf(stdout, "%s{\"ref\":", first ? "" : ",");
            cli_json_str(stdout, e->ref);
            cli_printf(stdout, ",\"digest\":\"%s\",\"mediaType\":", e->desc.digest);
            cli_json_str(stdout, e->desc.media_type);
            cli_printf(stdout, ",\"platforms\":[");
            for (size_t p = 0; p < s.n_platforms; p++)
                cli_printf(stdout, "%s", p ? "," : ""), cli_json_str(stdout, s.platforms[p]);
            cli_printf(stdout, "],\"size\":%llu,\"complete\":%s,\"signatures\":%d,\"attestations\":%d,"
                   "\"sboms\":%d,\"referrers\":%d,\"sbomAttestations\":%d,\"attestationTypes\":{",
                   (unsigned long long)s.size, s.complete ? "true" : "false", k.sigs, k.atts,
                   k.sboms, k.referrers, k.sbom_atts);
            for (size_t t = 0; t < k.n_types; t++)
                cli_printf(stdout, "%s", t ? "," : ""), cli_json_str(stdout, k.types[t]),
                    cli_printf(stdout, ":%d", k.type_n[t]);
            cli_printf(stdout, "}");
            if (is_index)
                platform_attestations(b, &bs, cat, e, 1);
            cli_printf(stdout, "}");
        } else {
            char plats[256] = "", sz[16], sig[64] = "";
            for (size_t p = 0; p < s.n_platforms; p++) {
                if (p)
                    strncat(plats, ",", sizeof(plats) - strlen(plats) - 1);
                strncat(plats, s.platforms[p], sizeof(plats) - strlen(plats) - 1);
            }
            airlock_format_size(sz, s.size);
            if (k.sigs)
                snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%d sig ", k.sigs);
            if (k.atts)
                snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%d att ", k.atts);
            if (k.sboms || k.sbom_atts)
                snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "sbom ");
            if (k.referrers)
                snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%d referrer ",
                         k.referrers);
            cli_printf(stdout, "%-50s %.19s %-6s %-24s %10s  %s%s\n", e->ref ? e->ref : "(unnamed)",
                   e->desc.digest, is_index ? "index" : "image", plats[0] ? plats : "-", sz,
                   sig[0] ? sig : "no", s.complete ? "" : " (incomplete)");
        }
        if (!json && k.n_types) { /* attestations by type: their own line, under the image */
            cli_printf(stdout, "  attested:");
            for (size_t t = 0; t < k.n_types; t++)
                cli_printf(stdout, " %s x%d", k.types[t], k.type_n[t]);
            cli_printf(stdout, " (claimed; verify: airlock attestations --key)\n");
        }
        if (!json && is_index)
            platform_attestations(b, &bs, cat, e, 0);
        counts_release(&k);
        first = 0;
        airlock_image_summary_release(&s);
    }
    if (json && rc == EXIT_OK) {
        cli_printf(stdout, "],\"artifacts\":[");
        first = 1;
        for (size_t i = 0; i < cat->n; i++) {
            const struct airlock_entry *e = &cat->entries[i];
            static const char *roles[] = {"image", "signature", "attestation", "sbom",
                                          "referrers"};
            if (e->role == AIRLOCK_ROLE_IMAGE)
                continue;
            cli_printf(stdout, "%s{\"ref\":", first ? "" : ",");
            cli_json_str(stdout, e->ref);
            cli_printf(stdout, ",\"digest\":\"%s\",\"role\":\"%s\",\"subject\":\"%s\"}", e->desc.digest,
                   roles[e->role], e->subject);
            first = 0;
        }
        cli_printf(stdout, "]}\n");
    }
    if (!json && rc == EXIT_OK && delta) {
        char sz[16];
        airlock_format_size(sz, omitted_bytes);
        cli_printf(stdout, "delta bundle: %zu layer blob%s left out (%s), expected at the "
                           "destination; basis: %s %s",
                   delta->n, delta->n == 1 ? "" : "s", sz, delta->basis_kind,
                   delta->basis_digest);
        if (delta->basis_registry)
            cli_printf(stdout, " (registry %s)", delta->basis_registry);
        cli_printf(stdout, "\n");
    }
    airlock_delta_free(delta);
    for (size_t i = 0; i < airlock_bundle_warning_count(b); i++)
        cli_printf(stderr, "airlock: warning: %s\n", airlock_bundle_warning(b, i));
    struct airlock_split_info si; /* metadata is in every part; the layers are not */
    for (unsigned k = 1; airlock_bundle_split_info(b, &si) && k <= si.parts; k++)
        if (!airlock_bundle_split_part_present(b, k))
            cli_printf(stderr,
                       "airlock: warning: part %u of %u '%s' is missing: the layers it holds are "
                       "not here\n",
                       k, si.parts, airlock_bundle_split_part_path(b, k));
    free(bs.v);
    airlock_catalog_free(cat);
    airlock_bundle_free(b);
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("inspect", argc, argv, own, &ins, help);
    if (!rc)
        rc = inspect_run(&ins);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
