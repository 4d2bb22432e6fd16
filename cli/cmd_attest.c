/* airlock attest, attestations, sbom: in-toto attestations inside a bundle, offline (cosign
 * attest and verify-attestation with a key), and the SBOMs that travel with an image. */
#include "args.h"
#include "cli.h"
#include "airlock/sign.h"

#include <stdlib.h>
#include <string.h>

#define SBOM_MAX (64u << 20) /* a plain .sbom or referrer SBOM document printed by sbom */

static const char *keyfile, *pwfile, *predfile, *type;
static int json, format, recursive, replace, yes;

static const struct cli_opt attest_opts[] = {
    {CLI_STR, "key", 'k', &keyfile, "FILE",
     "cosign private key (password: COSIGN_PASSWORD, --password-file, a prompt, or stdin), or a "
     "key on a PKCS#11 token ('airlock pkcs11 --help')",
     0, 0, NULL},
    {CLI_STR, "predicate", 0, &predfile, "FILE",
     "the predicate document: an SBOM (SPDX, CycloneDX), SLSA provenance, a scan, ...", 0, 0, NULL},
    {CLI_STR, "type", 0, &type, "TYPE",
     "its type, as cosign names it: slsaprovenance, slsaprovenance02, slsaprovenance1, link, "
     "spdx, spdxjson, cyclonedx, vuln, openvex, custom, or a predicateType URI (default custom)",
     0, 0, NULL},
    {CLI_FLAG, "replace", 0, &replace, NULL,
     "drop the attestations of this type this key made before", 0, 0, NULL},
    {CLI_FLAG, "recursive", 0, &recursive, NULL,
     "attest each platform manifest of an index too (cosign's --recursive)", 0, 0, NULL},
    {CLI_CHOICE, "signature-format", 0, &format, "simplesigning|bundle|both",
     "which formats to write (default both): the legacy .att, a sigstore bundle referrer", 0, 0,
     NULL},
    {CLI_STR, "password-file", 0, &pwfile, "F", "read the key's password from F", 0, 0, NULL},
    CLI_OPTS_COSIGN_WRITE(&format, &yes),
    CLI_OPT_JSON(&json, "print what was attested as JSON"),
    CLI_OPT_END};
static const struct cli_opt *const attest_own[] = {attest_opts, NULL};

static void attest_help(FILE *f)
{
    fprintf(f, "usage: airlock attest --key cosign.key --predicate FILE --type TYPE [options]\n"
               "                      BUNDLE [REF...]\n"
               "\n"
               "Attests images inside a bundle, offline, as cosign attest does: an in-toto\n"
               "statement whose subject is the image's digest (with --recursive also each\n"
               "platform manifest's, one statement each) and whose predicate is FILE, signed\n"
               "as DSSE with the cosign key. Every image, or the REFs named (references or\n"
               "digests). Two formats are written by default, as cosign would push them:\n"
               "  simplesigning  the legacy .att manifest (REPO:sha256-<hex>.att): one DSSE\n"
               "                 envelope layer per attestation, annotated as cosign\n"
               "                 does: predicateType, and dev.cosignproject.cosign/\n"
               "                 signature empty (cosign 1 and 2, Kyverno)\n"
               "  bundle         a sigstore bundle (v0.3) as an OCI 1.1 referrer of the image,\n"
               "                 dev.sigstore.bundle.predicateType the type, listed in the\n"
               "                 referrers index REPO:sha256-<hex> (cosign 3, GitHub attest)\n"
               "A JSON type's predicate goes into the statement byte for byte (it must be a JSON\n"
               "object, no key twice in one object: that would be read two ways), so\n"
               "'airlock sbom' and 'airlock attestations' give FILE back exactly;\n"
               "spdx (tag-value) goes in as a string, custom wrapped as cosign does ({\"Data\":\n"
               "..., \"Timestamp\": ...}). Each attest adds one; --replace first drops those of\n"
               "the same type this key made. Written in place as 'airlock sign' writes.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, attest_own);
    fprintf(f, "\n"
               "exit codes: 0 attested, 1 operational error, 2 usage (also a predicate that\n"
               "is not what its type needs), 4 the bundle is missing, corrupt or malformed\n");
}

static int attest_run(const struct cli_list *ins)
{
    struct airlock_sign_opts so = AIRLOCK_SIGN_OPTS_INIT;
    static const unsigned formats[] = {
        0, AIRLOCK_SIGN_WRITE_SIMPLESIGNING, AIRLOCK_SIGN_WRITE_BUNDLE,
        AIRLOCK_SIGN_WRITE_SIMPLESIGNING | AIRLOCK_SIGN_WRITE_BUNDLE};
    struct airlock_error *err = NULL;
    struct airlock_key *k = NULL;
    struct airlock_sign_result *res = NULL;
    char *pred = NULL, *probe = NULL;
    size_t plen = 0, probe_len = 0;
    int rc = EXIT_OK;
    if (!keyfile)
        return cli_usage_error("attest", "missing --key");
    if (!predfile)
        return cli_usage_error("attest", "missing --predicate FILE");
    if (!ins->n)
        return cli_usage_error("attest", "missing BUNDLE");
    so.predicate_type = type ? type : "custom";
    if (!airlock_predicate_type_uri(so.predicate_type, NULL))
        return cli_usage_error("attest",
                               "--type '%s' is neither a cosign predicate type (slsaprovenance, "
                               "slsaprovenance02, slsaprovenance1, link, spdx, spdxjson, "
                               "cyclonedx, vuln, openvex, custom) nor a URI",
                               so.predicate_type);
    if ((rc = cli_read_file(&pred, &plen, predfile, AIRLOCK_MAX_SIGSTORE_BUNDLE / 2)))
        return rc;
    /* the predicate is judged before a password is asked for */
    if (airlock_intoto_attestation_build(
            &probe, &probe_len, AIRLOCK_INTOTO_STATEMENT_V1,
            "sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL,
            so.predicate_type, pred, plen, NULL, predfile, &err)) {
        rc = cli_fail(err);
        goto out;
    }
    so.predicate = pred;
    so.predicate_len = plen;
    so.predicate_what = predfile;
    so.replace = replace;
    so.recursive = recursive;
    if (format)
        so.formats = formats[format];
    so.refs = ins->v + 1;
    so.n_refs = ins->n - 1;
    if (airlock_bundle_sign_check(ins->v[0], &err)) {
        rc = cli_fail(err);
        goto out;
    }
    if ((rc = cli_load_key(&k, keyfile, pwfile)))
        goto out;
    if (airlock_bundle_attest(&res, ins->v[0], k, &so, &err))
        rc = cli_fail(err);
    airlock_key_free(k);
    if (rc)
        goto out;
    if (json)
        cli_printf(stdout, "{\"bundle\":"), cli_json_str(stdout, ins->v[0]),
            cli_printf(stdout, ",\"predicateType\":"),
            cli_json_str(stdout, airlock_predicate_type_uri(so.predicate_type, NULL)),
            cli_printf(stdout, ",\"attested\":[");
    for (size_t i = 0; i < res->n; i++) {
        if (json) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\"}", res->digests[i]);
        } else
            cli_printf(stdout, "%s\t%s\t%s\n", res->digests[i], res->refs[i],
                       airlock_predicate_type_uri(so.predicate_type, NULL));
    }
    if (json)
        cli_printf(stdout, "]}\n");
    airlock_sign_result_free(res);
out:
    free(pred);
    free(probe);
    return rc;
}

int cmd_attest(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("attest", argc, argv, attest_own, &ins, attest_help);
    if (!rc)
        rc = attest_run(&ins);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

/* ---- shared by verify --json and attestations ------------------------------------------- */

/* Writes a predicate for --json: a JSON predicate as it is, a string one as a string. */
static void json_predicate(const struct airlock_att_found *a)
{
    char *p = NULL;
    size_t n = 0;
    int is_string = 0;
    if (!a->statement ||
        airlock_intoto_predicate(&p, &n, &is_string, a->statement, a->statement_len, NULL)) {
        cli_printf(stdout, "null");
        return;
    }
    if (is_string)
        cli_json_str(stdout, p);
    else
        fwrite(p, 1, n, stdout); /* verified JSON, as signed */
    free(p);
}

void cli_att_json(const struct airlock_sig_image *im, int predicates)
{
    cli_printf(stdout, ",\"attestations\":[");
    for (size_t k = 0; k < im->n_atts; k++) {
        const struct airlock_att_found *a = &im->atts[k];
        cli_printf(stdout, "%s{\"predicateType\":", k ? "," : "");
        if (a->predicate_type)
            cli_json_str(stdout, a->predicate_type);
        else
            cli_printf(stdout, "null");
        cli_printf(stdout,
                   ",\"format\":\"%s\",\"verified\":%s,\"size\":%llu,\"manifest\":\"%s\","
                   "\"layer\":\"%s\"",
                   a->format, a->verified ? "true" : "false", (unsigned long long)a->size,
                   a->manifest, a->layer);
        if (a->unlisted)
            cli_printf(stdout, ",\"unlisted\":true");
        if (a->why)
            cli_printf(stdout, ",\"error\":"), cli_json_str(stdout, a->why);
        if (predicates && a->verified)
            cli_printf(stdout, ",\"predicate\":"), json_predicate(a);
        cli_printf(stdout, "}");
    }
    cli_printf(stdout, "]");
    if (im->att_failure)
        cli_printf(stdout, ",\"attestationError\":"), cli_json_str(stdout, im->att_failure);
}

void cli_att_text(const struct airlock_sig_image *im, FILE *f)
{
    for (size_t k = 0; k < im->n_atts; k++)
        if (im->atts[k].verified)
            cli_printf(f, "  - Attestation %s (%s) verified against the key\n",
                       im->atts[k].predicate_type ? im->atts[k].predicate_type : "?",
                       im->atts[k].format);
}

/* ---- attestations and sbom ---------------------------------------------------------------- */

static const char *list_key, *list_type;
static int list_json;

static const struct cli_opt list_opts[] = {
    {CLI_STR, "key", 'k', &list_key, "FILE",
     "cosign public key (cosign.pub) to verify the attestations with; without it nothing is "
     "verified and no predicate is printed",
     0, 0, NULL},
    {CLI_STR, "type", 0, &list_type, "TYPE",
     "only attestations of TYPE (a cosign type name or URI); with --key, print their verified "
     "predicates instead of the list",
     0, 0, NULL},
    CLI_OPT_JSON(&list_json, "the list as JSON, verified predicates included"),
    CLI_OPT_END};
static const struct cli_opt *const list_own[] = {list_opts, NULL};

static const struct cli_opt sbom_opts[] = {
    {CLI_STR, "key", 'k', &list_key, "FILE",
     "cosign public key (cosign.pub) to verify SBOM attestations with", 0, 0, NULL},
    CLI_OPT_END};
static const struct cli_opt *const sbom_own[] = {sbom_opts, NULL};

static void list_help(FILE *f)
{
    fprintf(f, "usage: airlock attestations [--key cosign.pub] [--type TYPE] [--json] BUNDLE\n"
               "                            [REF]\n"
               "\n"
               "Lists the attestations each image of the bundle carries, and each platform\n"
               "manifest of an index (attest --recursive; nested as \"platforms\" in --json),\n"
               "or those of REF alone: an image by reference or digest, a platform manifest\n"
               "by its digest (REPO@sha256:..., or sha256:...). In the legacy .att manifest\n"
               "(format dsse-envelope) and as sigstore bundle referrers (sigstore-bundle),\n"
               "each with its predicateType, whether its DSSE signature verifies with the\n"
               "key over a statement about the image (cosign verify-attestation's checks;\n"
               "unverified types are what the attachment claims), and its size. One line\n"
               "per attestation on stdout:\n"
               "  DIGEST REF TYPE FORMAT verified|UNVERIFIED SIZE [unlisted]\n"
               "(unlisted: a referrer in blobs/ that index.json does not list, as cosign save\n"
               "leaves them or attest --replace leaves one in a plain tar; push does not carry\n"
               "it).\n"
               "With --type and --key the verified predicates of that type are printed\n"
               "instead, exactly as signed.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, list_own);
    fprintf(f, "\nexit codes: 0 listed, 1 operational error, 2 usage, 3 --type given and no\n"
               "verified attestation of it, 4 the bundle is damaged\n");
}

static void sbom_help(FILE *f)
{
    fprintf(f, "usage: airlock sbom [--key cosign.pub] BUNDLE REF\n"
               "\n"
               "Prints the SBOM of the image REF (a reference or digest; a platform manifest\n"
               "of an index by its digest, REPO@sha256:...) on stdout, byte for byte: the\n"
               "predicate of its newest attestation of an SPDX or CycloneDX type that\n"
               "verifies with the key, or else a plain SBOM that travels with it (an .sbom\n"
               "attachment, or a referrer whose artifact type is an SBOM's), said on stderr\n"
               "as not signed. Newest: by the statement subject's org.opencontainers.image.\n"
               "created annotation, else the time the document says it was made (SPDX\n"
               "creationInfo.created, CycloneDX metadata.timestamp), both signed; else by\n"
               "the attachment's org.opencontainers.image.created (not signed); one with a\n"
               "time before one without; on a tie the last in the bundle. With several,\n"
               "stderr says which rule chose. Written to a terminal only when it holds no\n"
               "control characters (escape sequences, bidi overrides): else refused, exit 1.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, sbom_own);
    fprintf(f, "\nexit codes: 0 printed, 1 operational error (also: no SBOM at all), 2 usage\n"
               "(also: only SBOM attestations and no --key), 3 only SBOM attestations that do\n"
               "not verify with the key, 4 the bundle is damaged\n");
}

static int ref_is(const char *want, const struct airlock_sig_image *im)
{
    if (!strncmp(want, "sha256:", 7))
        return !strcmp(want, im->digest);
    struct airlock_ref a, b;
    int ok = 0;
    if (!im->ref || airlock_ref_parse(&a, want, NULL))
        return 0;
    if (!airlock_ref_parse(&b, im->ref, NULL)) {
        char *x = airlock_ref_format(&a), *y = airlock_ref_format(&b);
        ok = x && y && !strcmp(x, y);
        if (!ok && a.digest) /* by digest (a tag beside it names the index: the digest decides) */
            ok = !strcmp(a.domain, b.domain) && !strcmp(a.path, b.path) &&
                 !strcmp(a.digest, im->digest);
        free(x);
        free(y);
        airlock_ref_release(&b);
    }
    airlock_ref_release(&a);
    return ok;
}

static int is_sbom_type(const char *t)
{
    return t && (strstr(t, "spdx") || strstr(t, "cyclonedx") || strstr(t, "syft"));
}

/* An SBOM that could be printed: attested (att) or plain, and when it says it was made. */
struct sbom_cand {
    char *doc;
    size_t len;
    const struct airlock_att_found *att; /* verified attestation; NULL: a plain SBOM */
    const char *how;                     /* plain: what it is */
    const char *layer;                   /* plain: its blob */
    char *when;                          /* the time it was judged by, as written */
    const char *source;                  /* where that time is from (NULL: none) */
    int64_t sec;
    int32_t nsec;
    int known, unlisted;
};

struct sbom_cands {
    struct sbom_cand *v;
    size_t n;
};

static void sbom_cands_release(struct sbom_cands *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].doc), free(c->v[i].when);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* Adds doc (taken) with its time: for an attestation the org.opencontainers.image.created
 * annotation of its statement's subject (signed), then the document's own creation time
 * (signed inside the statement for an attestation), else the attachment's
 * org.opencontainers.image.created annotation (not signed). 0, or -1 out of memory (doc
 * freed). */
static int sbom_cand_add(struct sbom_cands *c, char *doc, size_t len,
                         const struct airlock_att_found *att, const char *annotation)
{
    struct sbom_cand *v = realloc(c->v, (c->n + 1) * sizeof(*v));
    if (!v) {
        free(doc);
        return -1;
    }
    c->v = v;
    v += c->n++;
    memset(v, 0, sizeof(*v));
    v->doc = doc;
    v->len = len;
    v->att = att;
    v->unlisted = att && att->unlisted;
    char *st = att ? airlock_intoto_statement_created(att->statement, att->statement_len) : NULL;
    if (st && !airlock_rfc3339_parse(st, &v->sec, &v->nsec)) {
        v->when = st;
        v->source = "its statement's org.opencontainers.image.created annotation (signed)";
        v->known = 1;
        return 0;
    }
    free(st);
    char *own = airlock_sbom_created(doc, len);
    if (own && !airlock_rfc3339_parse(own, &v->sec, &v->nsec)) {
        v->when = own;
        v->source = att ? "its creation time in the signed document" : "its creation time in "
                                                                          "the document";
        v->known = 1;
    } else if (free(own), annotation && !airlock_rfc3339_parse(annotation, &v->sec, &v->nsec)) {
        v->when = strdup(annotation);
        v->source = "its org.opencontainers.image.created annotation (not signed; the document "
                    "says no time)";
        v->known = v->when != NULL;
    }
    return 0;
}

/* The SBOM to print: the newest by the time each says (one with a time before one without),
 * then a listed one before an unlisted one, then the last in the bundle's order (the last one
 * attested). The same for every run over the same bundle. */
static const struct sbom_cand *sbom_pick(const struct sbom_cands *c, size_t *distinct)
{
    const struct sbom_cand *best = NULL;
    *distinct = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct sbom_cand *x = &c->v[i];
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = c->v[k].len == x->len && !memcmp(c->v[k].doc, x->doc, x->len);
        *distinct += !seen; /* both formats of one attestation are one SBOM */
        if (best && (best->known != x->known ? best->known
                     : x->known && (best->sec != x->sec || best->nsec != x->nsec)
                         ? best->sec > x->sec || (best->sec == x->sec && best->nsec > x->nsec)
                         : !best->unlisted && x->unlisted))
            continue;
        best = x;
    }
    return best;
}

/* The plain SBOMs of digest in the bundle (.sbom, or an SBOM referrer): their first layers. */
static int plain_sboms(struct airlock_bundle *b, const struct airlock_sig_report *sr,
                       const struct airlock_sig_image *im, struct sbom_cands *out)
{
    for (size_t i = 0; i < sr->n_images; i++) {
        const struct airlock_sig_image *s = &sr->images[i];
        if (strcmp(s->subject, im->digest) ||
            (s->role != AIRLOCK_ROLE_SBOM && s->role != AIRLOCK_ROLE_REFERRERS))
            continue;
        const struct airlock_graph_node *nd = airlock_graph_node(sr->graph, s->node);
        size_t n = nd && nd->kind == AIRLOCK_NODE_INDEX ? nd->n_kids : 1;
        for (size_t c = 0; nd && c < n; c++) {
            const struct airlock_graph_node *m =
                nd->kind == AIRLOCK_NODE_INDEX ? airlock_graph_node(sr->graph, nd->kids[c]) : nd;
            if (!m || m->kind != AIRLOCK_NODE_MANIFEST || !m->doc || !m->doc->n_layers)
                continue;
            const struct airlock_oci *d = m->doc;
            if (s->role == AIRLOCK_ROLE_REFERRERS &&
                !is_sbom_type(d->artifact_type ? d->artifact_type : d->config.media_type) &&
                !is_sbom_type(d->layers[0].media_type))
                continue;
            struct airlock_buf raw = AIRLOCK_BUF_INIT(SBOM_MAX);
            if (airlock_bundle_blob_read(b, d->layers[0].digest, SBOM_MAX, &raw, NULL))
                continue;
            size_t len = 0;
            char *doc = airlock_buf_detach(&raw, &len);
            if (!doc && !(doc = strdup("")))
                return -1;
            if (sbom_cand_add(out, doc, len, NULL,
                              airlock_annotation_get(d->annotations, d->n_annotations,
                                                     AIRLOCK_ANN_CREATED)))
                return -1;
            out->v[out->n - 1].how = s->role == AIRLOCK_ROLE_SBOM ? "a plain .sbom attachment"
                                                                  : "a plain referrer artifact";
            out->v[out->n - 1].layer = d->layers[0].digest;
        }
    }
    return 0;
}

/* Says on stderr, when there was a choice, which SBOM was taken and by what rule. */
static void sbom_rule_note(const char *name, const struct sbom_cand *best, size_t distinct,
                           const char *what)
{
    if (distinct < 2)
        return;
    if (best->known)
        cli_printf(stderr,
                   "airlock: note: '%s' carries %zu different %s: printed the newest by the "
                   "time each says it was made, this one by %s: %s\n",
                   name, distinct, what, best->source, best->when);
    else
        cli_printf(stderr,
                   "airlock: note: '%s' carries %zu different %s and none says when it was "
                   "made: printed the last one in the bundle (the last attached)\n",
                   name, distinct, what);
}

/* A document to stdout byte for byte; to a terminal only if it holds nothing that a terminal
 * would act on (escape sequences, bidi overrides): a hostile SBOM must not retitle, clear or
 * rewrite the screen of whoever reviews it. 0 written, else the exit code. */
static int put_document(const char *p, size_t n, const char *what)
{
    if (cli_stdout_tty() && !cli_text_inert(p, n)) {
        cli_printf(stderr,
                   "airlock: error: %s holds terminal control characters or is not UTF-8 "
                   "text: not written to a terminal (redirect stdout to a file)\n",
                   what);
        return EXIT_FAILURE_OP;
    }
    fwrite(p, 1, n, stdout);
    return 0;
}

/* --type: only the attestations of that type */
static void only_type(struct airlock_sig_image *im, const char *want)
{
    for (size_t k = im->n_atts; k-- > 0;)
        if (!im->atts[k].predicate_type || strcmp(im->atts[k].predicate_type, want)) {
            struct airlock_att_found *a = &im->atts[k];
            free(a->predicate_type);
            free(a->why);
            free(a->statement);
            free(a->created);
            memmove(a, a + 1, (im->n_atts - k - 1) * sizeof(*a));
            im->n_atts--;
        }
}

/* One image's (or platform manifest's) object of attestations --json. */
static void list_json_image(const struct airlock_sig_image *im, int first, int nested)
{
    cli_printf(stdout, "%s{\"ref\":", first ? "" : ",");
    cli_json_str(stdout, im->ref);
    cli_printf(stdout, ",\"digest\":\"%s\"", im->digest);
    if (im->platform)
        cli_printf(stdout, ",\"platform\":"), cli_json_str(stdout, im->platform);
    cli_att_json(im, 1);
    if (nested && im->n_platforms) {
        cli_printf(stdout, ",\"platforms\":[");
        for (size_t p = 0; p < im->n_platforms; p++)
            list_json_image(&im->platforms[p], !p, 0);
        cli_printf(stdout, "]");
    }
    cli_printf(stdout, "}");
}

static int list_run(const struct cli_list *ins, int sbom)
{
    const char *cmd = sbom ? "sbom" : "attestations";
    struct airlock_sig_check_opts so;
    struct airlock_error *err = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_sig_report *sr = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_sig_image **recs = NULL;
    size_t n_recs = 0;
    const char *want = NULL;
    int rc = EXIT_OK, any = 0, printed = 0;
    memset(&so, 0, sizeof(so));
    if (!ins->n || ins->n > 2 || (sbom && ins->n != 2))
        return cli_usage_error(cmd, sbom ? "expected BUNDLE REF" : "expected BUNDLE [REF]");
    if (list_type && !(want = airlock_predicate_type_uri(list_type, NULL)))
        return cli_usage_error(cmd, "--type '%s' is neither a cosign predicate type nor a URI",
                               list_type);
    if (list_key && (rc = cli_load_pubkey(&pub, list_key)))
        return rc;
    so.key = pub;
    so.allow_unsigned = 1;
    so.list_attestations = 1;
    so.keep_statements = 1;
    if (airlock_bundle_open(&b, ins->v[0], 0, &err) ||
        airlock_bundle_verify_signatures(&sr, b, &so, &err)) {
        rc = cli_fail(err);
        cli_short_name_hint(ins->v[0]);
        goto out;
    }
    if (list_json && !sbom)
        cli_printf(stdout, "{\"bundle\":"), cli_json_str(stdout, ins->v[0]),
            cli_printf(stdout, ",\"images\":[");
    /* the records: each image, and each platform manifest of an index (attest --recursive
     * attests them); with REF, the one it names (a platform manifest by its digest) */
    n_recs = 0;
    for (size_t i = 0; i < sr->n_images; i++)
        n_recs += 1 + sr->images[i].n_platforms;
    if (!(recs = calloc(n_recs + 1, sizeof(*recs)))) {
        rc = cli_fail(NULL);
        goto out;
    }
    n_recs = 0;
    for (size_t i = 0; i < sr->n_images; i++) {
        struct airlock_sig_image *im = &sr->images[i];
        if (im->role != AIRLOCK_ROLE_IMAGE)
            continue;
        if (ins->n == 1 || ref_is(ins->v[1], im))
            recs[n_recs++] = im;
        for (size_t p = 0; p < im->n_platforms; p++) {
            struct airlock_sig_image *pl = &im->platforms[p];
            if (want)
                only_type(pl, want);
            if (ins->n == 2 ? ref_is(ins->v[1], pl) : !(list_json && !sbom))
                recs[n_recs++] = pl; /* listing all as JSON: nested under the index */
        }
    }
    for (size_t r = 0; r < n_recs; r++) {
        struct airlock_sig_image *im = recs[r];
        any++;
        if (want)
            only_type(im, want);
        if (sbom) {
            const char *name = im->ref ? im->ref : im->digest;
            struct sbom_cands cands = {0};
            const struct sbom_cand *best;
            size_t unverified = 0, distinct = 0;
            char what[200];
            for (size_t k = 0; k < im->n_atts; k++) {
                const struct airlock_att_found *a = &im->atts[k];
                if (!airlock_predicate_is_sbom(a->predicate_type))
                    continue;
                if (!a->verified) {
                    unverified++;
                    continue;
                }
                char *p = NULL;
                size_t n = 0;
                int is_string = 0;
                if (airlock_intoto_predicate(&p, &n, &is_string, a->statement, a->statement_len,
                                             &err)) {
                    sbom_cands_release(&cands);
                    rc = cli_fail(err);
                    goto out;
                }
                if (sbom_cand_add(&cands, p, n, a, a->created)) {
                    sbom_cands_release(&cands);
                    rc = cli_fail(NULL);
                    goto out;
                }
            }
            if ((best = sbom_pick(&cands, &distinct))) {
                snprintf(what, sizeof(what), "the SBOM of '%s'", name);
                rc = put_document(best->doc, best->len, what);
                if (!rc) {
                    printed = 1;
                    sbom_rule_note(name, best, distinct, "SBOMs that verify with the key");
                    cli_printf(stderr,
                               "airlock: the SBOM of '%s' (%s), attested in %s '%s', verified "
                               "with '%s'\n",
                               name, best->att->predicate_type, best->att->format,
                               best->att->layer, list_key);
                }
                sbom_cands_release(&cands);
                if (rc)
                    goto out;
                break;
            }
            if (plain_sboms(b, sr, im, &cands)) {
                sbom_cands_release(&cands);
                rc = cli_fail(NULL);
                goto out;
            }
            if ((best = sbom_pick(&cands, &distinct))) {
                snprintf(what, sizeof(what), "the unsigned SBOM of '%s'", name);
                rc = put_document(best->doc, best->len, what);
                if (!rc) {
                    printed = 1;
                    sbom_rule_note(name, best, distinct, "unsigned SBOMs");
                    cli_printf(stderr,
                               "airlock: warning: the SBOM of '%s' is not signed: not verified "
                               "by any key (%s '%s')%s\n",
                               name, best->how, best->layer,
                               unverified ? "; its SBOM attestations did not verify" : "");
                }
                sbom_cands_release(&cands);
                if (rc)
                    goto out;
                break;
            }
            sbom_cands_release(&cands);
            if (unverified) {
                cli_printf(stderr,
                           "airlock: error: '%s': %zu SBOM attestation%s, none verified%s\n",
                           name, unverified, unverified == 1 ? "" : "s",
                           list_key ? "" : " (give --key cosign.pub)");
                for (size_t k = 0; k < im->n_atts; k++)
                    if (im->atts[k].why)
                        cli_printf(stderr, "airlock: error:   %s\n", im->atts[k].why);
                rc = list_key ? EXIT_SIGNATURE : EXIT_USAGE;
                goto out;
            }
            continue;
        }
        if (list_json) {
            list_json_image(im, any == 1, ins->n == 1);
            continue;
        }
        for (size_t k = 0; k < im->n_atts; k++) {
            const struct airlock_att_found *a = &im->atts[k];
            if (want && list_key) {
                if (!a->verified)
                    continue;
                char *p = NULL;
                size_t n = 0;
                int is_string = 0;
                if (!airlock_intoto_predicate(&p, &n, &is_string, a->statement, a->statement_len,
                                              NULL)) {
                    if ((rc = put_document(p, n, "the predicate"))) {
                        free(p);
                        goto out;
                    }
                    if (!n || p[n - 1] != '\n')
                        fputc('\n', stdout);
                    printed = 1;
                }
                free(p);
                continue;
            }
            cli_printf(stdout, "%s %s %s %s %s %llu%s\n", im->digest,
                       im->ref ? im->ref : "(unnamed)",
                       a->predicate_type ? a->predicate_type : "(no type)", a->format,
                       a->verified ? "verified" : "UNVERIFIED", (unsigned long long)a->size,
                       a->unlisted ? " unlisted" : "");
            if (a->why && list_key)
                cli_printf(stderr, "airlock: warning: %s: %s\n", a->layer, a->why);
        }
    }
    if (list_json && !sbom)
        cli_printf(stdout, "]}\n");
    if (ins->n == 2 && !any) {
        cli_printf(stderr, "airlock: error: '%s': no image '%s' in the bundle\n", ins->v[0],
                   ins->v[1]);
        rc = EXIT_FAILURE_OP;
    } else if (sbom && !printed) {
        cli_printf(stderr, "airlock: error: '%s': image '%s' carries no SBOM\n", ins->v[0],
                   ins->v[1]);
        rc = EXIT_FAILURE_OP;
    } else if (!sbom && !list_json && want && list_key && !printed) {
        cli_printf(stderr, "airlock: error: no verified attestation of type '%s'\n", list_type);
        rc = EXIT_SIGNATURE;
    }
out:
    free(recs);
    airlock_sig_report_free(sr);
    airlock_bundle_free(b);
    airlock_pubkey_free(pub);
    return rc;
}

int cmd_attestations(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("attestations", argc, argv, list_own, &ins, list_help);
    if (!rc)
        rc = list_run(&ins, 0);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

int cmd_sbom(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("sbom", argc, argv, sbom_own, &ins, sbom_help);
    if (!rc)
        rc = list_run(&ins, 1);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
