#include "cli.h"
#include "airlock/sign.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

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
            "'airlock sign --to DEST' writes it (an entry without a tag: its repository).\n"
            "An image that fails is refused with exit 3 before any manifest goes up, naming\n"
            "the identities signed and the one needed; the same is checked again in the\n"
            "registry. --identity-check any accepts any identity on purpose (upstream vendor\n"
            "signatures), and --identity REF requires REF instead.\n"
            "\n"
            "options:\n"
            "  -k, --key FILE          cosign public key the images must be signed with\n"
            "      --allow-unsigned    images with no signature at all go up too, each named\n"
            "                          UNSIGNED on stderr and \"verified\": false in --json; a\n"
            "                          bad signature still stops the push\n"
            "      --no-verify         push without checking signatures (says so loudly)\n"
            "      --identity REF      required signed docker-reference (as verify --identity),\n"
            "                          instead of each image's reference at DEST\n"
            "      --identity-check destination|any\n"
            "                          destination (default): signatures must name each\n"
            "                          image's reference at DEST; any: cosign's rule, a\n"
            "                          signature may name anything (said on stderr)\n"
            "  -a, --annotation K=V    required signed annotation (repeatable)\n"
            "      --policy FILE       check a containers/image policy.json first instead of\n"
            "                          --key's check (as verify --policy --to DEST does):\n"
            "                          every image and platform manifest at its reference in\n"
            "                          DEST, by tag and by digest; any failing requirement\n"
            "                          stops the push before any manifest (exit 3, naming\n"
            "                          image, platform, requirement and reason)\n"
            "      --map SRC=DST       push repository SRC (docker.io/library/nginx) to DST\n"
            "                          (a path on DEST's registry, e.g. mirror/nginx)\n"
            "      --json              print pushed references and digests as JSON\n"
            "  -q, --quiet             no progress\n"
            "%s"
            "\n"
            "exit codes: 0 pushed and verified, 1 operational error (I/O, network, registry),\n"
            "2 usage, 3 a signature did not verify or names another identity than the\n"
            "destination's (nothing pushed), 4 missing, corrupt or unsafe content\n",
            cli_registry_help);
}

int cmd_push(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"no-verify", no_argument, NULL, 'N'},
                                         {"allow-unsigned", no_argument, NULL, 'U'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"annotation", required_argument, NULL, 'a'},
                                         {"map", required_argument, NULL, 'm'},
                                         {"policy", required_argument, NULL, 'Y'},
                                         {"identity-check", required_argument, NULL, 'I'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry cr;
    cli_registry_init(&cr, 0);
    struct airlock_push_opts po;
    memset(&po, 0, sizeof(po));
    struct airlock_annotation *ann = NULL;
    size_t n_ann = 0, n_map = 0;
    const char **map = NULL;
    const char *keyfile = NULL;
    const char *policyfile = NULL; /* --policy */
    struct airlock_policy *pol = NULL;
    int no_verify = 0, allow_unsigned = 0, json = 0, c, rc = EXIT_OK;
    struct airlock_error *err = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_push_result *res = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:a:qh", opts, NULL)) != -1) {
        int r = cli_registry_opt(c, optarg, &cr);
        if (r < 0) {
            rc = cli_usage_error("push", "bad value '%s' for --%s", optarg, cli_registry_optname(c));
            goto out;
        }
        if (r)
            continue;
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'N':
            no_verify = 1;
            break;
        case 'U':
            allow_unsigned = 1;
            break;
        case 'i':
            po.identity = optarg;
            break;
        case 'a':
            if ((rc = cli_annotation_add(&ann, &n_ann, optarg, "push")))
                goto out;
            break;
        case 'm': {
            const char **m = realloc(map, (n_map + 1) * sizeof(*m));
            if (!m || !strchr(optarg, '=')) {
                free(m ? m : map);
                map = NULL;
                rc = cli_usage_error("push", "--map wants SRC=DST");
                goto out;
            }
            map = m;
            map[n_map++] = optarg;
            break;
        }
        case 'Y':
            policyfile = optarg;
            break;
        case 'I':
            if (strcmp(optarg, "any") && strcmp(optarg, "destination")) {
                rc = cli_usage_error("push", "bad value '%s' for --identity-check "
                                             "(destination or any)", optarg);
                goto out;
            }
            po.identity_any = !strcmp(optarg, "any");
            break;
        case 'J':
            json = 1;
            break;
        case 'q':
            cr.quiet = 1;
            break;
        case 'h':
            help(stdout);
            goto out;
        default:
            rc = cli_usage_error("push", "invalid option");
            goto out;
        }
    }
    if (optind > argc - 2) {
        rc = cli_usage_error("push", "expected BUNDLE and DEST");
        goto out;
    }
    if (!keyfile && !no_verify && !policyfile) {
        rc = cli_usage_error("push", "--key is required (or --policy FILE, or --no-verify to "
                                     "push unverified)");
        goto out;
    }
    if (json)
        cr.quiet = 1;
    if ((rc = cli_registry_finish(&cr, "push")))
        goto out;
    if (keyfile) {
        char *pem = NULL;
        size_t len;
        if ((rc = cli_read_file(&pem, &len, keyfile, 65536)))
            goto out;
        int r = airlock_pubkey_parse(&pub, pem, len, keyfile, &err);
        free(pem);
        if (r) {
            rc = cli_fail(err);
            goto out;
        }
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
                   argv[argc - 1]);
    po.key = pub;
    po.annotations = ann;
    po.n_annotations = n_ann;
    po.map = map;
    po.n_map = n_map;
    po.allow_unsigned = allow_unsigned;
    /* several bundles: the parts of one split set, named one by one */
    if (airlock_bundle_open_set(&b, (const char *const *)argv + optind,
                                (size_t)(argc - 1 - optind), 0, &err) ||
        airlock_push(&res, b, argv[argc - 1], &cr.o, &po, &err)) {
        cli_registry_release(&cr);
        rc = cli_fail(err);
        goto out;
    }
    cli_registry_release(&cr);
    if (json) {
        cli_printf(stdout, "{\"bundle\":");
        cli_json_str(stdout, argv[optind]);
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
    cli_annotations_free(ann, n_ann);
    free(map);
    cli_registry_release(&cr);
    return rc;
}
