#include "cli.h"
#include "airlock/sign.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock sign --key cosign.key --to DEST [--map SRC=DST] [options] BUNDLE\n"
            "                    [REF...]\n"
            "\n"
            "Signs images inside a bundle, offline, with a cosign key: every image, or the\n"
            "REFs named (references or digests). With --to, each image is signed with the\n"
            "reference it will have after 'airlock push BUNDLE DEST' with the same --map\n"
            "(one mapping computes both), with its tag: registry.internal/devops/library/\n"
            "nginx:1.27 for docker.io/library/nginx:1.27 and DEST registry.internal/devops;\n"
            "an entry without a tag gets its repository. That is what podman, CRI-O and\n"
            "containerd with containers/image's default identity rule (matchRepoDigestOrExact)\n"
            "accept, pulled by tag or by digest. Without --to and --identity, cosign's\n"
            "default (the bundle's repository, e.g. index.docker.io/library/nginx) is\n"
            "signed, which those consumers refuse at DEST (a warning says so).\n"
            "For a multi-arch image the index and each platform manifest in the bundle are\n"
            "signed, with the image's identity (a pull checks the platform manifest's\n"
            "signature); --no-recursive signs the index only, as cosign does. Two formats\n"
            "are written by default, as cosign would push them:\n"
            "  simplesigning  a cosign .sig manifest (REPO:sha256-<hex>.sig), read by cosign 1\n"
            "                 to 3, containers/image (podman, skopeo, CRI-O), Kyverno, Harbor;\n"
            "                 a second key adds a layer, two tags of one image a layer each\n"
            "  bundle         a sigstore bundle (v0.3, DSSE around an in-toto statement) as an\n"
            "                 OCI 1.1 referrer of the image, listed in the referrers index\n"
            "                 REPO:sha256-<hex> (what cosign 3 signs and reads first; it names\n"
            "                 no reference); a second key adds a referrer, the index's other\n"
            "                 entries are kept\n"
            "The same key signing the same statement again adds nothing (a signature is\n"
            "checked with the key, not compared by bytes). A .tar bundle is appended to in\n"
            "place (never copied); an interrupted sign leaves the bundle as it was. A part\n"
            "of a split set is refused (every part carries the signatures): sign before\n"
            "splitting, or import the parts into one bundle, sign it and split it again.\n"
            "\n"
            "options:\n"
            "  -k, --key FILE          cosign private key (password: COSIGN_PASSWORD,\n"
            "                          --password-file, a prompt, or stdin), or a key on a\n"
            "                          PKCS#11 token: 'pkcs11:token=T;object=L?module-path=M'\n"
            "                          (PIN: pin-value/pin-source in the URI,\n"
            "                          AIRLOCK_PKCS11_PIN, or a prompt; 'airlock pkcs11 --help')\n"
            "      --to DEST           sign each image as it will be named at DEST\n"
            "                          (\"host[/prefix]\", as for push)\n"
            "      --map SRC=DST       rename repository SRC to DST in DEST's registry, as\n"
            "                          push --map (repeatable)\n"
            "      --identity REF      docker-reference to sign, for one image only (a\n"
            "                          bundle of several images is refused: use --to)\n"
            "  -a, --annotation K=V    add to the payload's \"optional\" and the statement\n"
            "                          subject's annotations (repeatable)\n"
            "      --signature-format F\n"
            "                          simplesigning, bundle or both (default both)\n"
            "      --no-recursive      sign an index only, not its platform manifests\n"
            "      --recursive         sign the platform manifests too (the default)\n"
            "      --password-file F   read the key's password from F\n"
            "      --json              print what was signed as JSON\n"
            "  -h, --help              show this help\n"
            "\n"
            "exit codes: 0 signed, 1 operational error, 2 usage (also --identity for several\n"
            "images), 4 the bundle is missing, corrupt or malformed\n");
}

int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"identity", required_argument, NULL, 'i'},
                                         {"annotation", required_argument, NULL, 'a'},
                                         {"recursive", no_argument, NULL, 'r'},
                                         {"no-recursive", no_argument, NULL, 'R'},
                                         {"to", required_argument, NULL, 't'},
                                         {"map", required_argument, NULL, 'm'},
                                         {"signature-format", required_argument, NULL, 'F'},
                                         {"password-file", required_argument, NULL, 'P'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct airlock_sign_opts so = AIRLOCK_SIGN_OPTS_INIT;
    struct airlock_annotation *ann = NULL;
    size_t n_ann = 0;
    const char *keyfile = NULL, *pwfile = NULL;
    int json = 0, c, rc = EXIT_OK;
    struct airlock_error *err = NULL;
    struct airlock_key *k = NULL;
    struct airlock_sign_result *res = NULL;
    const char *maps[64];
    size_t n_maps = 0;
    so.recursive = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'i':
            so.identity = optarg;
            break;
        case 'a':
            if ((rc = cli_annotation_add(&ann, &n_ann, optarg, "sign")))
                goto out;
            break;
        case 'r':
            so.recursive = 1;
            break;
        case 'R':
            so.recursive = 0;
            break;
        case 't':
            so.to = optarg;
            break;
        case 'm':
            if (n_maps == 64 || !strchr(optarg, '=')) {
                rc = cli_usage_error("sign", n_maps == 64 ? "at most 64 --map" : "--map wants SRC=DST");
                goto out;
            }
            maps[n_maps++] = optarg;
            break;
        case 'F':
            if (!strcmp(optarg, "simplesigning"))
                so.formats = AIRLOCK_SIGN_WRITE_SIMPLESIGNING;
            else if (!strcmp(optarg, "bundle"))
                so.formats = AIRLOCK_SIGN_WRITE_BUNDLE;
            else if (!strcmp(optarg, "both"))
                so.formats = AIRLOCK_SIGN_WRITE_SIMPLESIGNING | AIRLOCK_SIGN_WRITE_BUNDLE;
            else {
                rc = cli_usage_error("sign", "bad value '%s' for --signature-format "
                                             "(simplesigning, bundle or both)",
                                     optarg);
                goto out;
            }
            break;
        case 'P':
            pwfile = optarg;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            help(stdout);
            goto out;
        default:
            rc = cli_usage_error("sign", "invalid option");
            goto out;
        }
    }
    if (!keyfile) {
        rc = cli_usage_error("sign", "missing --key");
        goto out;
    }
    if (optind >= argc) {
        rc = cli_usage_error("sign", "missing BUNDLE");
        goto out;
    }
    if (so.identity && so.to) {
        rc = cli_usage_error("sign", "--identity and --to both name what to sign: give one");
        goto out;
    }
    if (n_maps && !so.to) {
        rc = cli_usage_error("sign", "--map renames repositories at --to DEST: give --to");
        goto out;
    }
    so.map = maps;
    so.n_map = n_maps;
    if (so.identity) {
        struct airlock_ref r;
        if (airlock_ref_parse(&r, so.identity, &err)) {
            rc = cli_fail(err);
            goto out;
        }
        airlock_ref_release(&r);
    }
    so.annotations = ann;
    so.n_annotations = n_ann;
    so.refs = (const char *const *)argv + optind + 1;
    so.n_refs = (size_t)(argc - optind - 1);
    if (airlock_bundle_sign_check(argv[optind], &err)) { /* before asking for a password */
        rc = cli_fail(err);
        goto out;
    }
    if ((rc = cli_load_key(&k, keyfile, pwfile)))
        goto out;
    if (airlock_bundle_sign(&res, argv[optind], k, &so, &err))
        rc = cli_fail(err);
    airlock_key_free(k);
    if (rc)
        goto out;
    if (!so.to && !so.identity)
        cli_printf(stderr, "airlock: warning: signed with cosign's default identity (the "
                           "bundle's repository names): consumers with containers/image's "
                           "default policy (podman, CRI-O) will refuse these images at the "
                           "registry they are pushed to; sign with --to DEST [--map SRC=DST]\n");
    if (json)
        cli_printf(stdout, "{\"bundle\":"), cli_json_str(stdout, argv[optind]), cli_printf(stdout, ",\"signed\":[");
    for (size_t i = 0; i < res->n; i++) {
        if (json) {
            cli_printf(stdout, "%s{\"ref\":", i ? "," : "");
            cli_json_str(stdout, res->refs[i]);
            cli_printf(stdout, ",\"digest\":\"%s\",\"added\":%s}", res->digests[i],
                   res->added[i] ? "true" : "false");
        } else {
            cli_printf(stdout, "%s\t%s\n", res->digests[i], res->refs[i]);
            if (!res->added[i])
                cli_printf(stderr, "airlock: '%s' was already signed with this key\n", res->refs[i]);
        }
    }
    if (json)
        cli_printf(stdout, "]}\n");
    airlock_sign_result_free(res);
out:
    cli_annotations_free(ann, n_ann);
    return rc;
}
