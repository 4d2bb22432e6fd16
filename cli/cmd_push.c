#include "args.h"
#include "cli.h"
#include "airlock/sign.h"

#include <stdlib.h>
#include <string.h>

static int no_verify, allow_unsigned, json, identity_check;
static const char *keyfile, *identity, *policyfile;
static struct cli_list maps;
static struct cli_annotations anns;
static struct cli_registry cr;
static struct cli_list atts; /* --attestation TYPE */

static const struct cli_opt opts[] = {
    {CLI_STR, "key", 'k', &keyfile, "FILE", "cosign public key the images must be signed with",
     0, 0, NULL},
    {CLI_FLAG, "allow-unsigned", 0, &allow_unsigned, NULL,
     "images with no signature at all go up too, each named UNSIGNED on stderr and "
     "\"verified\": false in --json; a bad signature still stops the push",
     0, 0, NULL},
    {CLI_FLAG, "no-verify", 0, &no_verify, NULL, "push without checking signatures (says so "
     "loudly)", 0, 0, NULL},
    {CLI_STR, "identity", 0, &identity, "REF",
     "required signed docker-reference (as verify --identity), instead of each image's "
     "reference at DEST",
     0, 0, NULL},
    CLI_OPT_IDENTITY_CHECK(&identity_check,
                           "destination (default): signatures must name each image's reference "
                           "at DEST; any: cosign's rule, a signature may name anything (said on "
                           "stderr)"),
    CLI_OPT_ANNOTATION(&anns, "required signed annotation (repeatable)"),
    CLI_OPT_ATTESTATION(&atts,
     "every image also needs an attestation of TYPE that verifies with --key (as verify "
     "--attestation; repeatable), checked before anything goes up"),
    {CLI_STR, "policy", 0, &policyfile, "FILE",
     "check a containers/image policy.json first instead of --key's check (as verify --policy "
     "--to DEST does): every image and platform manifest at its reference in DEST, by tag and "
     "by digest; any failing requirement stops the push before any manifest (exit 3, naming "
     "image, platform, requirement and reason)",
     0, 0, NULL},
    CLI_OPT_MAP(&maps, "push repository SRC (docker.io/library/nginx) to DST (a path on DEST's "
                       "registry, e.g. mirror/nginx)"),
    CLI_OPT_JSON(&json, "print pushed references and digests as JSON"),
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock push --key cosign.pub [options] BUNDLE DEST\n"
            "       airlock push --key cosign.pub [options] PART... DEST  (a split set's parts)\n"
            "\n"
            "Streams a bundle into a registry, images and signatures together, then verifies\n"
            "them there as cosign verify --key would. DEST is a registry host with an optional\n"
            "path prefix (registry.internal/devops): docker.io/library/nginx:1.27 goes to\n"
            "DEST/library/nginx:1.27. Before any manifest is pushed the bundle's signatures\n"
            "are verified with --key and every blob is checked as it streams. What goes up\n"
            "is what verification admitted, judged from content, never from index.json\n"
            "labels: the graph of each image whose signature verified, and attachments of\n"
            "such an image whose content is one (.sig layers are simple-signing payloads,\n"
            ".att DSSE envelopes, referrers have it as subject); anything else is an image\n"
            "and needs a signature, or the push stops before any manifest is PUT. Blobs already\n"
            "there are skipped, blobs in another repository are mounted; manifests go\n"
            "child-first, the index last, then the signatures, merged with those already at\n"
            "sha256-<hex>.sig (theirs are kept), and the referrers: PUT by digest where the\n"
            "repository serves the referrers API (asked once; checked to be indexed there),\n"
            "else merged into the sha256-<hex> fallback index (theirs are kept, ours listed\n"
            "with artifactType and annotations). Nothing half-pushed is ever tagged.\n"
            "A .tar or directory bundle is read in place, in parallel; a .tar.zst is read\n"
            "once, in order. Dropped connections and 5xx are retried; large blobs go up in\n"
            "chunks that continue where the registry stands. The parts of a split set may\n"
            "be named in any order, from different media (parts not named are found beside\n"
            "each named one); an incomplete set is refused before anything goes up.\n"
            "With --key, every image and each platform manifest of it in the bundle must\n"
            "also carry a verified .sig whose docker-reference is what the consumers at DEST\n"
            "(podman, CRI-O, containerd with containers/image's default identity rule,\n"
            "matchRepoDigestOrExact) accept for it: its reference at DEST with its tag, as\n"
            "'airlock sign --to DEST' writes it (an entry without a tag: DEST/repo@digest).\n"
            "An image that fails is refused with exit 3 before any manifest goes up, naming\n"
            "the identities signed and the one needed; the same is checked again in the\n"
            "registry. --identity-check any accepts any identity on purpose (upstream vendor\n"
            "signatures), and --identity REF requires REF instead.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, own);
    cli_registry_help_print(f);
    fprintf(f,
            "\n"
            "exit codes: 0 pushed and verified, 1 operational error (I/O, network, registry),\n"
            "2 usage, 3 a signature did not verify or names another identity than the\n"
            "destination's (nothing pushed), 4 missing, corrupt or unsafe content,\n"
            "5 the registry refused the credentials, 130 interrupted (what went up is kept)\n");
}

/* after "airlock: interrupted; " (cli_interrupt_hint) */
static void interrupted(FILE *f, void *ctx)
{
    cli_printf(f, "%zu blobs and %zu manifests already in '%s' are kept (nothing is tagged "
                  "half-pushed); run the same command again to continue",
               cr.bar.blobs_done, cr.bar.manifests, (const char *)ctx);
}

static int push_run(const struct cli_list *ins)
{
    struct airlock_push_opts po;
    memset(&po, 0, sizeof(po));
    struct airlock_policy *pol = NULL;
    int rc = EXIT_OK;
    struct airlock_error *err = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_push_result *res = NULL;
    po.identity = identity;
    po.identity_any = identity_check == CLI_IDENTITY_ANY;
    if (ins->n < 2)
        return cli_usage_error("push", "expected BUNDLE and DEST");
    const char *dest = cli_registry_ref(ins->v[ins->n - 1]);
    if ((rc = cli_dest_check("push", dest)))
        return rc;
    cli_interrupt_hint(interrupted, (void *)dest);
    if (!keyfile && !no_verify && !policyfile &&
        !(keyfile = cli_default_key("push", "cosign.pub", ins->v, ins->n - 1)))
        return cli_usage_error("push", "--key is required (or --policy FILE, or --no-verify to "
                                       "push unverified)");
    if (atts.n && !keyfile)
        return cli_usage_error("push", "--attestation needs --key");
    po.attestations = atts.v;
    po.n_attestations = atts.n;
    cr.quiet = cli_quiet() || json;
    if ((rc = cli_registry_finish(&cr, "push")))
        goto out;
    if (keyfile) {
        if ((rc = cli_load_pubkey(&pub, keyfile)))
            goto out;
    } else if (!policyfile)
        cli_printf(stderr, "airlock: WARNING: --no-verify: signatures are NOT checked, before or "
                        "after the push\n");
    if (policyfile && (rc = cli_policy_load(&pol, policyfile)))
        goto out;
    po.policy = pol;
    if (pub && po.identity_any && !po.identity)
        cli_printf(stderr, "airlock: warning: --identity-check any: signatures are not checked "
                           "to name each image's reference at '%s'; consumers with "
                           "containers/image's default policy may refuse them\n",
                   dest);
    po.key = pub;
    po.annotations = anns.v;
    po.n_annotations = anns.n;
    po.map = maps.v;
    po.n_map = maps.n;
    po.allow_unsigned = allow_unsigned;
    /* several bundles: the parts of one split set, named one by one */
    if (!airlock_bundle_open_set(&b, ins->v, ins->n - 1, 0, &err) &&
        (rc = cli_dest_repeats("push", b, dest, maps.n))) {
        cli_registry_release(&cr);
        goto out;
    }
    if (!b || airlock_push(&res, b, dest, &cr.o, &po, &err)) {
        cli_registry_release(&cr);
        rc = cli_fail(err);
        if (!b && ins->n == 2)
            cli_short_name_hint(ins->v[0]);
        goto out;
    }
    cli_registry_release(&cr);
    if (json) {
        cli_printf(stdout, "{\"bundle\":");
        cli_json_str(stdout, ins->v[0]);
        cli_printf(stdout, ",\"uploaded\":%llu,\"skipped\":%llu,\"mounted\":%llu,\"bytes\":%llu,"
               "\"signatures_verified\":%zu,\"images\":[",
               (unsigned long long)res->blobs_uploaded, (unsigned long long)res->blobs_skipped,
               (unsigned long long)res->blobs_mounted, (unsigned long long)res->bytes_uploaded,
               res->signatures_verified);
        for (size_t i = 0; i < res->n; i++) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\",\"verified\":%s}", res->digests[i],
                       res->verified[i] ? "true" : "false");
        }
        cli_printf(stdout, "]}\n");
    } else {
        for (size_t i = 0; i < res->n; i++)
            cli_printf(stdout, "%s\t%s\n", res->digests[i], res->refs[i]);
        for (size_t i = 0; i < res->n; i++) /* said even with -q: it is a decision, not progress */
            if (!res->verified[i] && !pol) /* with --policy, the policy checked it */
                cli_printf(stderr, "airlock: WARNING: pushed UNSIGNED: %s (%s)%s\n", res->refs[i],
                           res->digests[i], pub ? " (--allow-unsigned)" : " (--no-verify)");
        if (!cr.quiet) {
            char sz[16];
            airlock_format_size(sz, res->bytes_uploaded);
            cli_printf(stderr,
                    "pushed %zu images: %llu blobs uploaded (%s), %llu already there, %llu "
                    "mounted; %zu signatures verified in the registry\n",
                    res->n, (unsigned long long)res->blobs_uploaded, sz,
                    (unsigned long long)res->blobs_skipped,
                    (unsigned long long)res->blobs_mounted, res->signatures_verified);
        }
    }
out:
    airlock_push_result_free(res);
    airlock_bundle_free(b);
    airlock_pubkey_free(pub);
    airlock_policy_free(pol);
    return rc;
}

int cmd_push(int argc, char **argv)
{
    struct cli_list ins = {0};
    cli_registry_init(&cr, 0);
    const struct cli_opt *const tables[] = {opts, cli_registry_table(&cr), NULL};
    int rc = cli_parse("push", argc, argv, tables, &ins, help);
    if (!rc)
        rc = push_run(&ins);
    cli_registry_release(&cr);
    cli_list_release(&ins);
    cli_list_release(&maps);
    cli_annotations_release(&anns);
    cli_list_release(&atts);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
