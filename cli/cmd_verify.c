#include "args.h"
#include "cli.h"
#include "airlock/sign.h"

#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

static int json, quiet, allow_unsigned, part_only, identity_check, threads, output;
enum { OUTPUT_JSON = 1, OUTPUT_TEXT = 2 }; /* -o */
static const char *keyfile, *identity, *to, *policyfile;
static struct cli_list maps;
static struct cli_annotations anns;
static struct cli_list atts; /* --attestation TYPE */

/* cosign 3's --new-bundle-format[=BOOL]: airlock reads both formats whatever it says */
static int new_bundle_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)ctx;
    (void)cmd;
    cli_printf(stderr, "airlock: note: --%s=%s: accepted as cosign's; airlock checks both "
                       "formats (.sig and sigstore bundles) always\n", name, arg);
    return 0;
}

/* cosign's --offline[=BOOL]: airlock has no transparency log or TUF root to fetch */
static int offline_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)ctx;
    (void)cmd;
    cli_printf(stderr, "airlock: note: --%s=%s: accepted as cosign's; airlock verifies a bundle "
                       "offline always (no transparency log, no TUF root)\n", name, arg);
    return 0;
}

/* cosign's --local-image[=BOOL] (the image is a directory cosign save wrote): a bundle is
 * always local; with =true the operand is a path whatever it looks like */
static int local_image;
static int local_image_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)cmd;
    *(int *)ctx = !strcmp(arg, "true");
    cli_printf(stderr, "airlock: note: --%s=%s: accepted as cosign's; a bundle is always local "
                       "(an OCI layout as cosign save writes is one)%s\n", name, arg,
               *(int *)ctx ? ": the operand is taken as a path" : "");
    return 0;
}

static const struct cli_opt opts[] = {
    {CLI_STR, "key", 'k', &keyfile, "FILE",
     "cosign public key (cosign.pub) to check signatures with", 0, 0, NULL},
    {CLI_STR, "identity", 0, &identity, "REF",
     "the signed docker-reference must be REF (with a tag or "
     "digest: exactly; without: the same repository), checked "
     "strictly as containers/image does (a sigstore bundle "
     "names no reference: only .sig layers count)",
     0, 0, NULL},
    {CLI_STR, "to", 0, &to, "DEST",
     "check each image as it will be pulled after 'airlock push "
     "BUNDLE DEST' (\"host[/prefix]\"): it and each platform "
     "manifest of it in the bundle need a verified .sig whose "
     "docker-reference containers/image's default rule "
     "(matchRepoDigestOrExact) accepts there: by tag, exactly "
     "DEST/...:tag; an entry without a tag, by digest: the same "
     "repository, signed with a tag or a digest (a bare repository name matches nothing). "
     "Reports per image and platform what was "
     "signed and what was needed. DEST is checked as push checks it: one with a tag "
     "or a digest is refused, explaining --map",
     0, 0, NULL},
    CLI_OPT_MAP(&maps, "rename repository SRC to DST at DEST, as push --map"),
    CLI_OPT_IDENTITY_CHECK(&identity_check, "any: skip the --to identity rule on purpose (said on "
                                            "stderr); --identity REF replaces it"),
    CLI_OPT_ANNOTATION(&anns, "the signature must carry K=V (repeatable): in "
                              "\"optional\", or in the bundle statement subject's "
                              "annotations"),
    CLI_OPT_ATTESTATION(&atts,
     "every image also needs an attestation of TYPE (a cosign type name: spdxjson, cyclonedx, "
     "slsaprovenance1, ..., or a URI) that verifies with the key, as cosign verify-attestation "
     "checks it (.att envelopes and sigstore bundle referrers; repeatable)"),
    {CLI_FLAG, "allow-unsigned", 0, &allow_unsigned, NULL,
     "images without any signature pass (bad ones still fail)", 0, 0, NULL},
    {CLI_FLAG, "part-only", 0, &part_only, NULL,
     "BUNDLE is one part of a split set (NAME.001...): check "
     "only that part (its blobs, every manifest and signature), "
     "not the others; without it the other parts are found "
     "beside it (and beside each PART named: any order, any "
     "media) and a missing or damaged part is named",
     0, 0, NULL},
    {CLI_STR, "policy", 0, &policyfile, "FILE",
     "a containers/image policy.json (containers-policy.json(5)): "
     "every image, and every platform manifest of an index, is "
     "checked at its destination reference (--to), by tag and "
     "by digest, against the requirements of the docker scope "
     "containers/image picks (insecureAcceptAnything, reject, "
     "sigstoreSigned with keyPath/keyPaths/keyData/keyDatas and "
     "any signedIdentity); fulcio, pki, rekorPublicKey* and "
     "signedBy (GPG) are reported as not checkable, failing. "
     "One line per image, platform and pull: policy ok|FAILED "
     "With --to DEST (and --map), at DEST; without, each image "
     "at the reference the bundle gives it",
     0, 0, NULL},
    CLI_OPT_JSON(&json, "machine-readable report on stdout"),
    {CLI_CHOICE, "output", 'o', &output, "json|text",
     "cosign's output instead of airlock's: on stdout, per image, a blank line and the JSON "
     "array of its verified .sig payloads as cosign re-marshals them (json), or each payload "
     "as signed (text); cosign's header on stderr. Sigstore bundle signatures are checked and "
     "counted but print no payload",
     0, 0, NULL},
    CLI_OPT_NO_TLOG("insecure-ignore-tlog",
                    "cosign's; only =true (airlock never checks a transparency log)"),
    {CLI_BOOL, "new-bundle-format", 0, NULL, NULL,
     "cosign's; both formats are always checked (said on stderr)", 0, 0, new_bundle_opt},
    {CLI_BOOL, "offline", 0, NULL, NULL,
     "cosign's; a bundle is always verified offline (said on stderr)", 0, 0, offline_opt},
    {CLI_BOOL, "local-image", 0, &local_image, NULL,
     "cosign's; a bundle is always local, and the operand is read as a path, never as a "
     "registry reference (said on stderr)", 0, 0, local_image_opt},
    CLI_OPT_THREADS(&threads, "hashing threads (default: one per core)"),
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f, "usage: airlock verify [options] BUNDLE\n"
               "       airlock verify [options] PART... (the parts of one split set)\n"
               "       airlock verify --key cosign.pub [options] REGISTRY/REPO:TAG\n"
               "\n"
               "Checks, offline and without writing anything, that every blob referenced from\n"
               "index.json down (indexes, manifests, configs, layers) is present with the\n"
               "right size and sha256, and lists blobs nothing references. Works on read-only\n"
               "media. With --key, every image must also carry a cosign signature that\n"
               "verifies with the key (as cosign verify --key does) and names its digest:\n"
               "a .sig layer (simplesigning, cosign 1/2), or a sigstore bundle referrer\n"
               "(sigstore-bundle, cosign 3: v0.3+ DSSE envelope, in-toto statement whose\n"
               "subject is the image; listed under REPO:sha256-<hex>, or left unlisted in\n"
               "blobs/ as cosign save does). Both are counted and reported by format.\n"
               "Keyless (certificate) and messageSignature bundles are named, not counted.\n"
               "What an entry is comes from its content, never from its \"kind\" label: a\n"
               "signature, attestation, SBOM or referrer only when it holds one and belongs\n"
               "to a verified image in the same repository; anything else is an image and\n"
               "needs a signature. push puts up exactly what this admits. Each entry gets its\n"
               "own status: ok, unsigned (allowed), UNSIGNED, BADSIG or FAILED.\n"
               "A reference instead of a bundle checks the image in its registry as\n"
               "cosign verify --key does (with the registry connection options below):\n"
               "the .sig tag, and the referrers API (when it answers with an OCI index)\n"
               "or else the sha256-<hex> fallback tag. An existing path is always a bundle;\n"
               "a name is a reference only with docker:// or when its first part is a\n"
               "registry (has a '.' or ':', or is localhost), it has a tag or digest, and it\n"
               "does not end like a bundle file (.tar, .zst, .tar.NNN). Short names (foo/bar,\n"
               "nginx:1.25) are bundle paths, never Docker Hub: write docker.io/foo/bar or\n"
               "docker://foo/bar.\n"
               "Exit codes: 0 verified, 1 operational error, 2 usage, 3 a signature or policy\n"
               "check failed (also a signed identity that is not the one --to needs), 4\n"
               "anything missing, corrupt, malformed or unsafe.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, own);
    cli_registry_help_print(f);
}

static const char *role_name(enum airlock_role r)
{
    switch (r) {
    case AIRLOCK_ROLE_SIGNATURE:
        return "signature";
    case AIRLOCK_ROLE_ATTESTATION:
        return "attestation";
    case AIRLOCK_ROLE_SBOM:
        return "sbom";
    case AIRLOCK_ROLE_REFERRERS:
        return "referrers";
    default:
        return "image";
    }
}

static void json_list(const char *name, char **v, size_t n)
{
    cli_printf(stdout, ",\"%s\":[", name);
    for (size_t i = 0; i < n; i++)
        cli_printf(stdout, "%s", i ? "," : ""), cli_json_str(stdout, v[i]);
    cli_printf(stdout, "]");
}

/* ,"signatures":[...],"signature_errors":[...] of one image (after "signatures":[ ) */
static void print_signatures(const struct airlock_sig_image *im)
{
    for (size_t k = 0; k < im->n_sigs; k++) {
        const struct airlock_sig_found *f = &im->sigs[k];
        cli_printf(stdout, "%s{\"format\":", k ? "," : "");
        cli_json_str(stdout, f->format ? f->format : AIRLOCK_SIG_FORMAT_SIMPLESIGNING);
        cli_printf(stdout, ",\"docker-reference\":");
        if (f->identity)
            cli_json_str(stdout, f->identity);
        else
            cli_printf(stdout, "null");
        if (f->predicate_type) {
            cli_printf(stdout, ",\"predicateType\":");
            cli_json_str(stdout, f->predicate_type);
        }
        cli_printf(stdout, ",\"annotations\":{");
        for (size_t a = 0; a < im->sigs[k].n_optional; a++) {
            cli_printf(stdout, "%s", a ? "," : "");
            cli_json_str(stdout, im->sigs[k].optional[a].key);
            cli_printf(stdout, ":");
            cli_json_str(stdout, im->sigs[k].optional[a].value);
        }
        cli_printf(stdout, "}}");
    }
    cli_printf(stdout, "]");
    json_list("signature_errors", im->failures, im->n_failures);
}

/* the text report: each verified signature's format (stderr, beside cosign's checklist) */
static void print_formats(const struct airlock_sig_image *im)
{
    for (size_t k = 0; k < im->n_sigs; k++) {
        const struct airlock_sig_found *f = &im->sigs[k];
        cli_printf(stderr, "  - Signature %zu: %s%s%s%s\n", k + 1,
                   f->format ? f->format : AIRLOCK_SIG_FORMAT_SIMPLESIGNING,
                   f->predicate_type ? " (predicateType " : "",
                   f->predicate_type ? f->predicate_type : "", f->predicate_type ? ")" : "");
    }
}

/* ,"identity":{...} of one image under --to: what was needed, whether it was signed, and
 * the same for each platform manifest */
static void json_identity(const struct airlock_sig_image *im)
{
    if (!im->needed && !im->identity_failure)
        return;
    cli_printf(stdout, ",\"identity\":{\"needed\":");
    if (im->needed)
        cli_json_str(stdout, im->needed);
    else
        cli_printf(stdout, "null");
    cli_printf(stdout, ",\"ok\":%s,\"signedAs\":[", im->identity_failure ? "false" : "true");
    for (size_t k = 0, n = 0; k < im->n_sigs; k++)
        if (im->sigs[k].identity)
            cli_printf(stdout, "%s", n++ ? "," : ""), cli_json_str(stdout, im->sigs[k].identity);
    cli_printf(stdout, "]");
    if (im->identity_failure)
        cli_printf(stdout, ",\"error\":"), cli_json_str(stdout, im->identity_failure);
    cli_printf(stdout, ",\"platforms\":[");
    for (size_t p = 0; p < im->n_platforms; p++) {
        const struct airlock_sig_image *pl = &im->platforms[p];
        cli_printf(stdout, "%s{\"platform\":", p ? "," : "");
        cli_json_str(stdout, pl->platform ? pl->platform : "");
        cli_printf(stdout, ",\"digest\":\"%s\",\"ok\":%s,\"needed\":", pl->digest,
                   pl->ok ? "true" : "false");
        cli_json_str(stdout, pl->needed ? pl->needed : "");
        cli_printf(stdout, ",\"signedAs\":[");
        for (size_t k = 0, n = 0; k < pl->n_sigs; k++)
            if (pl->sigs[k].identity)
                cli_printf(stdout, "%s", n++ ? "," : ""), cli_json_str(stdout, pl->sigs[k].identity);
        cli_printf(stdout, "]");
        if (pl->identity_failure)
            cli_printf(stdout, ",\"error\":"), cli_json_str(stdout, pl->identity_failure);
        cli_printf(stdout, "}");
    }
    cli_printf(stdout, "]}");
}

/* the text report under --to: signed and needed, per image and platform (stderr) */
static void text_identity(const struct airlock_sig_image *im, const char *lead)
{
    const char *signed_as = NULL;
    for (size_t k = 0; k < im->n_sigs && !signed_as; k++)
        signed_as = im->sigs[k].identity;
    for (size_t k = 0; k < im->n_sigs; k++)
        if (im->sigs[k].identity && im->needed &&
            airlock_identity_match_pulled(im->sigs[k].identity, im->needed))
            signed_as = im->sigs[k].identity;
    if (im->needed)
        cli_printf(stderr, "%s%s%s: signed as '%s', needed '%s': %s\n", lead,
                   im->platform ? "platform " : "image", im->platform ? im->platform : "",
                   signed_as ? signed_as : "(no docker-reference)", im->needed,
                   im->identity_failure ? "REFUSED" : "ok");
    for (size_t p = 0; p < im->n_platforms; p++)
        text_identity(&im->platforms[p], lead);
}

/* -o json|text: what cosign verify prints for one verified image: its header on stderr, its
 * payloads on stdout (cmd/cosign/cli/verify: PrintVerificationHeader, PrintVerification) */
static int print_cosign(const struct airlock_sig_image *im, const char *ref,
                        const struct airlock_sig_check_opts *so)
{
    cli_printf(stderr, "\nVerification for %s --\n"
                       "The following checks were performed on each of these signatures:\n",
               ref);
    if (so->n_annotations)
        cli_printf(stderr, "  - The specified annotations were verified.\n");
    cli_printf(stderr, "  - The cosign claims were validated\n"
                       "  - The signatures were verified against the specified public key\n");
    struct airlock_buf b = AIRLOCK_BUF_INIT(64u << 20);
    struct airlock_error *err = NULL;
    int rc = airlock_buf_append(&b, "\n[", output == OUTPUT_JSON ? 2 : 0);
    for (size_t k = 0, n = 0; !rc && k < im->n_sigs; k++) {
        const struct airlock_sig_found *f = &im->sigs[k];
        if (!f->payload)
            continue; /* a sigstore bundle: cosign's output has no place for it */
        if (output == OUTPUT_TEXT) /* the payload as signed, one a line */
            rc = airlock_buf_append(&b, f->payload, f->payload_len) ||
                 airlock_buf_append(&b, "\n", 1);
        else
            rc = (n++ ? airlock_buf_append(&b, ",", 1) : 0) ||
                 airlock_sig_payload_cosign_json(&b, f->payload, f->payload_len, &err);
    }
    if (!rc && output == OUTPUT_JSON)
        rc = airlock_buf_append(&b, "]\n", 2);
    if (!rc && b.len)
        fwrite(b.data, 1, b.len, stdout); /* JSON already escaped as Go does; raw payloads */
    airlock_buf_release(&b);
    if (rc) {
        if (!err)
            airlock_error_set(&err, AIRLOCK_EOS, "out of memory");
        return cli_fail(err);
    }
    return EXIT_OK;
}

/* cosign's name for the image: the reference as given, ":latest" when it has no tag or
 * digest (go-containerregistry's name.ParseReference) */
static void cosign_name(char *out, size_t cap, const char *ref)
{
    const char *last = strrchr(ref, '/');
    last = last ? last + 1 : ref;
    snprintf(out, cap, "%s%s", ref, strchr(last, ':') || strchr(last, '@') ? "" : ":latest");
}

/* verify REF: the image in a registry, as cosign verify --key does */
static int verify_registry_report(const struct airlock_sig_report *sr, const char *ref,
                                  const struct airlock_sig_check_opts *so)
{
    const struct airlock_sig_image *im = &sr->images[0];
    if (output && im->ok) {
        char name[2048];
        cosign_name(name, sizeof(name), ref);
        int rc = print_cosign(im, name, so);
        return rc ? rc : EXIT_OK;
    }
    if (json) {
        cli_printf(stdout, "{\"ok\":%s,\"ref\":", im->ok ? "true" : "false");
        cli_json_str(stdout, ref);
        cli_printf(stdout, ",\"signatures\":{\"checked\":true,\"ok\":%s},\"images\":[{\"ref\":",
               im->ok ? "true" : "false");
        cli_json_str(stdout, ref);
        cli_printf(stdout, ",\"digest\":\"%s\",\"signed\":%s,\"signatures\":[", im->digest,
               im->ok ? "true" : "false");
        print_signatures(im);
        if (atts.n)
            cli_att_json(im, 0);
        cli_printf(stdout, "}]}\n");
    } else if (!quiet) {
        if (im->ok) {
            cli_printf(stderr,
                    "\nVerification for %s@%s --\n"
                    "The following checks were performed on each of these signatures:\n"
                    "  - The cosign claims were validated\n"
                    "  - The signatures were verified against the specified public key\n",
                    ref, im->digest);
            if (so->identity)
                cli_printf(stderr, "  - The signed docker-reference matched '%s'\n", so->identity);
            print_formats(im);
            cli_att_text(im, stderr);
            cli_printf(stdout, "ok       %s %s\n", im->digest, ref);
        } else if (im->att_failure) {
            cli_printf(stderr, "airlock: error: '%s': %s\n", ref, im->att_failure);
            cli_printf(stdout, "BADSIG   %s %s\n", im->digest, ref);
        } else {
            cli_printf(stderr, "airlock: error: '%s': no signature verified\n", ref);
            for (size_t k = 0; k < im->n_failures; k++)
                cli_printf(stderr, "airlock: error:   %s\n", im->failures[k]);
            if (!output) /* -o: cosign's stdout, which is empty when nothing verified */
                cli_printf(stdout, "BADSIG   %s %s\n", im->digest, ref);
        }
    }
    return im->ok ? EXIT_OK : EXIT_SIGNATURE;
}

static int verify_run(const struct cli_list *ins, struct cli_registry *cr)
{
    struct airlock_verify_opts vo = AIRLOCK_VERIFY_OPTS_INIT;
    struct cli_bar bar; /* the blobs hashed */
    int failed;
    cli_bar_start(&bar, json || output);
    vo.progress = cli_progress;
    vo.progress_ctx = &bar;
    struct airlock_sig_check_opts so = {NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL, 0, 0, 0};
    /* --policy FILE [--to DEST [--map SRC=DST]...] */
    struct airlock_policy_check_opts pco = AIRLOCK_POLICY_CHECK_OPTS_INIT;
    vo.threads = threads;
    so.identity = identity;
    so.dest = cli_registry_ref(to);
    if (!ins->n)
        return cli_usage_error("verify", "expected a BUNDLE (or the parts of one split set)");
    if (part_only && ins->n > 1)
        return cli_usage_error("verify", "--part-only checks one part: name only that part");
    if (so.dest) { /* the DEST push and sync take, checked as they check it */
        int drc = cli_dest_check("verify", so.dest);
        if (drc)
            return drc;
    }
    int in_registry = ins->n == 1 && !local_image && cli_is_registry_ref(ins->v[0]);
    if (!keyfile && (so.identity || anns.n || allow_unsigned || output ||
                     (so.dest && !policyfile) || in_registry))
        keyfile = cli_default_key("verify", "cosign.pub", ins->v, ins->n); /* a key is needed */
    if (output && (json || !keyfile))
        return cli_usage_error("verify", "-o prints cosign's output of a signature check: it "
                                         "needs --key, and not --json");
    if (!keyfile && (so.identity || anns.n || allow_unsigned || (so.dest && !policyfile)))
        return cli_usage_error("verify", "--identity, -a and --allow-unsigned need --key, --to "
                                         "needs --key or --policy");
    if (atts.n && !keyfile)
        return cli_usage_error("verify", "--attestation needs --key");
    so.attestations = atts.v;
    so.n_attestations = atts.n;
    if ((maps.n || identity_check) && !so.dest)
        return cli_usage_error("verify", "--map and --identity-check apply to --to DEST: give --to");
    so.map = maps.v;
    so.n_map = maps.n;
    pco.dest = so.dest; /* the policy is judged at DEST whatever the key's rule */
    pco.map = maps.v;
    pco.n_map = maps.n;
    if (so.dest && !keyfile)
        so.dest = NULL;
    else if (so.dest && so.identity) {
        if (!quiet)
            cli_printf(stderr, "airlock: warning: --identity '%s' is checked instead of each "
                               "image's reference at '%s'\n", so.identity, so.dest);
        so.dest = NULL;
    } else if (so.dest && identity_check == CLI_IDENTITY_ANY) {
        if (!quiet)
            cli_printf(stderr, "airlock: warning: --identity-check any: signatures are not "
                               "checked to name each image's reference at '%s'; consumers "
                               "with containers/image's default policy may refuse them\n",
                       so.dest);
        so.dest = NULL;
    }
    const char *path = ins->v[0];
    if (in_registry)
        path = cli_registry_ref(path); /* an image in a registry, as skopeo names it */
    struct airlock_error *err = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_verify_report *r = NULL;
    struct airlock_sig_report *sr = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_policy *pol = NULL;
    struct airlock_policy_report *pr = NULL;
    int rc = EXIT_OK, sig_ok = 1;
    if (policyfile && (rc = cli_policy_load(&pol, policyfile)))
        return rc;
    if (keyfile) {
        if ((rc = cli_load_pubkey(&pub, keyfile)))
            goto out;
        so.key = pub;
        so.annotations = anns.v;
        so.n_annotations = anns.n;
        so.allow_unsigned = allow_unsigned;
    }
    if (in_registry && !pub) {
        rc = cli_usage_error("verify", "'%s' is an image in a registry: checking its "
                                       "signatures needs --key", path);
        goto out;
    }
    if (in_registry) { /* not a file: an image in a registry */
        if (pol) {
            rc = cli_usage_error("verify", "--policy checks a bundle, not an image in a registry");
            goto out;
        }
        if ((rc = cli_registry_finish(cr, "verify")))
            goto out;
        if (airlock_registry_verify(&sr, path, &cr->o, &so, &err)) {
            rc = cli_fail(err);
            goto out;
        }
        rc = verify_registry_report(sr, path, &so);
        goto out;
    }
    failed = airlock_bundle_open_set(&b, ins->v, ins->n,
                                         AIRLOCK_OPEN_HASH | (part_only ? AIRLOCK_OPEN_PART : 0),
                                         &err) ||
                 airlock_bundle_verify(&r, b, &vo, &err);
    cli_bar_end(&bar);
    if (failed || (pub && airlock_bundle_verify_signatures(&sr, b, &so, &err)) ||
        (pol && airlock_bundle_check_policy(&pr, b, pol, &pco, &err))) {
        if (json && err) {
            cli_printf(stdout, "{\"ok\":false,\"bundle\":");
            cli_json_str(stdout, path); /* "error": {message, code} is added at the end */
            cli_printf(stdout, ",\"blobs\":{\"checked\":0,\"missing\":[],\"corrupt\":[]},\"images\":[]}\n");
        }
        if (quiet) {
            rc = cli_exit_for(err ? err->code : AIRLOCK_EOS);
            if (err && err->msg)
                cli_fail_note(err->code, "%s", err->msg);
            airlock_error_free(err);
        } else
            rc = cli_fail(err);
        if (failed && ins->n == 1)
            cli_short_name_hint(ins->v[0]);
        goto out;
    }
    /* signatures: every entry must be admitted (an image when one signature verifies, or,
     * with --allow-unsigned, when it carries none at all; an attachment when its content is
     * one and it belongs to such an image); one record per index.json entry */
    sig_ok = (!sr || sr->ok) && (!pr || pr->ok);
    if (json) {
        cli_printf(stdout, "{\"ok\":%s,\"bundle\":", r->ok && sig_ok ? "true" : "false");
        cli_json_str(stdout, path);
        cli_printf(stdout, ",\"format\":\"%s\",\"integrity\":{\"ok\":%s},\"signatures\":",
               airlock_bundle_format_label(b), r->ok ? "true" : "false");
        if (sr)
            cli_printf(stdout, "{\"checked\":true,\"ok\":%s}", sr->ok ? "true" : "false");
        else
            cli_printf(stdout, "{\"checked\":false}");
        cli_printf(stdout, ",\"blobs\":{\"checked\":%llu,\"bytes\":%llu", (unsigned long long)r->checked,
               (unsigned long long)r->bytes);
        json_list("missing", r->missing, r->n_missing);
        json_list("corrupt", r->corrupt, r->n_corrupt);
        json_list("unreferenced", r->unreferenced, r->n_unreferenced);
        if (r->delta) /* a delta bundle: left out, expected at the destination (not missing) */
            json_list("expected", r->expected, r->n_expected);
        cli_printf(stdout, "},\"images\":[");
        for (size_t i = 0; i < r->n_images; i++) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, r->images[i].ref);
            cli_printf(stdout, ",\"digest\":\"%s\",\"kind\":", r->images[i].digest);
            cli_json_str(stdout, r->images[i].kind);
            cli_printf(stdout, ",\"ok\":%s", r->images[i].ok ? "true" : "false");
            const struct airlock_sig_image *im = sr && i < sr->n_images ? &sr->images[i] : NULL;
            if (im) {
                cli_printf(stdout, ",\"role\":\"%s\"", role_name(im->role));
                if (im->subject[0])
                    cli_printf(stdout, ",\"attachedTo\":\"%s\"", im->subject);
                cli_printf(stdout, ",\"admitted\":%s,\"signed\":%s",
                           im->ok ? "true" : "false",
                           im->role == AIRLOCK_ROLE_IMAGE && im->ok && !im->unsigned_allowed
                               ? "true"
                               : "false");
                if (im->role == AIRLOCK_ROLE_IMAGE)
                    cli_printf(stdout, ",\"unsignedAllowed\":%s",
                               im->unsigned_allowed ? "true" : "false");
                cli_printf(stdout, ",\"signatures\":[");
                print_signatures(im);
                json_identity(im);
                if (im->role == AIRLOCK_ROLE_IMAGE && atts.n)
                    cli_att_json(im, 0);
            }
            cli_printf(stdout, "}");
        }
        cli_printf(stdout, "]");
        json_list("problems", r->problems, r->n_problems);
        if (r->delta)
            cli_printf(stdout, ",\"delta\":{\"basis\":\"%s\",\"digest\":\"%s\",\"expected\":%zu,"
                       "\"expectedBytes\":%llu}",
                       r->delta_basis, r->delta_basis_digest, r->n_expected,
                       (unsigned long long)r->expected_bytes);
        if (pr)
            cli_policy_json(policyfile, pr);
        struct airlock_split_info si;
        if (airlock_bundle_split_info(b, &si)) {
            cli_printf(stdout, ",\"split\":{\"part\":%u,\"parts\":%u,\"partOnly\":%s,\"elsewhere\":%llu",
                   si.part, si.parts, si.part_only ? "true" : "false",
                   (unsigned long long)r->elsewhere);
            json_list("missingParts", r->missing_parts, r->n_missing_parts);
            cli_printf(stdout, "}");
        }
        cli_printf(stdout, "}\n");
    } else if (!quiet) {
        for (size_t i = 0; i < r->n_problems; i++)
            cli_printf(stderr, "airlock: error: %s\n", r->problems[i]);
        for (size_t i = 0; i < r->n_unreferenced; i++)
            cli_printf(stderr, "airlock: warning: blob '%s' is not referenced by any image\n",
                    r->unreferenced[i]);
        for (size_t i = 0; i < airlock_bundle_warning_count(b); i++)
            cli_printf(stderr, "airlock: warning: %s\n", airlock_bundle_warning(b, i));
        for (size_t i = 0; sr && i < sr->n_images; i++) {
            const struct airlock_sig_image *im = &sr->images[i];
            const char *name = im->ref ? im->ref : im->digest;
            if (im->role != AIRLOCK_ROLE_IMAGE && im->ok)
                continue; /* an attachment of an admitted image */
            if (im->ok && !im->unsigned_allowed && output) {
                char cname[2048];
                cosign_name(cname, sizeof(cname), name);
                if ((rc = print_cosign(im, cname, &so)))
                    goto out;
            } else if (im->ok && !im->unsigned_allowed) {
                cli_printf(stderr,
                        "\nVerification for %s@%s --\n"
                        "The following checks were performed on each of these signatures:\n"
                        "  - The cosign claims were validated\n"
                        "  - The signatures were verified against the specified public key\n",
                        name, im->digest);
                if (so.identity)
                    cli_printf(stderr, "  - The signed docker-reference matched '%s'\n", so.identity);
                for (size_t a = 0; a < so.n_annotations; a++)
                    cli_printf(stderr, "  - The signed annotation %s=%s was present\n",
                            so.annotations[a].key, so.annotations[a].value);
                if (im->needed)
                    cli_printf(stderr, "  - The signed docker-reference matched '%s' (its "
                                       "reference at '%s') for the image and each platform\n",
                               im->needed, so.dest);
                print_formats(im);
                cli_att_text(im, stderr);
                text_identity(im, "  - ");
            } else if (im->ok) {
                cli_printf(stderr, "airlock: warning: image '%s' is not signed (allowed)\n", name);
            } else if (im->identity_failure) {
                cli_printf(stderr, "airlock: error: image '%s': no verified signature names its "
                                   "reference at '%s': %s\n",
                           name, so.dest, im->identity_failure);
                text_identity(im, "airlock: error:   ");
            } else if (im->att_failure) {
                cli_printf(stderr, "airlock: error: image '%s': %s\n", name, im->att_failure);
            } else {
                cli_printf(stderr, "airlock: error: image '%s': no signature verified\n", name);
                for (size_t k = 0; k < im->n_failures; k++)
                    cli_printf(stderr, "airlock: error:   %s\n", im->failures[k]);
            }
        }
        for (size_t i = 0; !output && i < r->n_images; i++) { /* -o: cosign's stdout only */
            int ok = r->images[i].ok;
            const char *tag = ok ? "ok" : "FAILED";
            const struct airlock_sig_image *im = sr && i < sr->n_images ? &sr->images[i] : NULL;
            if (ok && im && !im->ok) /* this entry's own status, not another's of its digest */
                tag = im->has_signatures ? "BADSIG" : "UNSIGNED";
            else if (ok && im && im->unsigned_allowed)
                tag = "unsigned";
            cli_printf(stdout, "%-8s %s %s\n", tag, r->images[i].digest,
                   r->images[i].ref ? r->images[i].ref : "(unnamed)");
        }
        if (pr && !output)
            cli_policy_text(pr);
        for (size_t i = 0; i < r->n_expected; i++)
            cli_printf(stdout, "%-8s %s (left out of this delta bundle)\n", "expected",
                       r->expected[i]);
        char sz[16], part[200] = "";
        airlock_format_size(sz, r->bytes);
        struct airlock_split_info si;
        if (airlock_bundle_split_info(b, &si)) {
            if (si.part_only)
                snprintf(part, sizeof(part), " in part %u of %u (%llu blobs or pieces live in "
                         "the other parts, not checked)", si.part, si.parts,
                         (unsigned long long)r->elsewhere);
            else
                snprintf(part, sizeof(part), " in a set of %u parts (%zu part%s missing)",
                         si.parts, r->n_missing_parts, r->n_missing_parts == 1 ? "" : "s");
        }
        cli_printf(stderr, "%s: %llu blobs checked (%s)%s, %zu missing, %zu corrupt%s\n",
                r->ok ? "verified" : "FAILED", (unsigned long long)r->checked, sz, part,
                r->n_missing, r->n_corrupt,
                !sr ? "" : sr->ok ? "; signatures verified" : "; SIGNATURE CHECK FAILED");
        if (r->delta) {
            airlock_format_size(sz, r->expected_bytes);
            cli_printf(stderr, "delta bundle (basis: %s %s): %zu blobs (%s) expected at the "
                               "destination; push checks they are there before anything moves\n",
                       r->delta_basis, r->delta_basis_digest, r->n_expected, sz);
        }
        if (pr)
            cli_printf(stderr, "policy '%s'%s%s: %s\n", policyfile, pco.dest ? " at " : "",
                       pco.dest ? pco.dest : "", pr->ok ? "every image and platform passes"
                                                        : "POLICY CHECK FAILED");
    }
    rc = !sig_ok ? EXIT_SIGNATURE : !r->ok ? EXIT_INTEGRITY : EXIT_OK;
    if (!r->ok)
        cli_fail_note(AIRLOCK_EINTEGRITY, "%zu blobs missing, %zu corrupt", r->n_missing,
                      r->n_corrupt);
    else if (sr && !sr->ok)
        cli_fail_note(AIRLOCK_ESIGNATURE, "signature check failed (see images[])");
    else if (pr && !pr->ok)
        cli_fail_note(AIRLOCK_ESIGNATURE, "policy check failed (see policy.targets[])");
out:
    airlock_sig_report_free(sr);
    airlock_verify_report_free(r);
    airlock_bundle_free(b);
    airlock_pubkey_free(pub);
    airlock_policy_report_free(pr);
    airlock_policy_free(pol);
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    struct cli_list ins = {0};
    struct cli_registry cr;
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {opts, cli_registry_table(&cr), NULL};
    int rc = cli_parse("verify", argc, argv, tables, &ins, help);
    if (!rc)
        rc = verify_run(&ins, &cr);
    cli_registry_release(&cr);
    cli_list_release(&ins);
    cli_list_release(&maps);
    cli_annotations_release(&anns);
    cli_list_release(&atts);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
