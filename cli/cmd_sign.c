#include "args.h"
#include "cli.h"
#include "airlock/sign.h"

#include <stdlib.h>
#include <string.h>

static const char *keyfile, *pwfile, *identity, *to;
static int json, format, recursive = 1, yes;
static struct cli_list maps;
static struct cli_annotations anns;

/* --recursive, --no-recursive: the last one given wins */
static int recursive_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)arg;
    (void)cmd;
    *(int *)ctx = strcmp(name, "no-recursive") != 0;
    return 0;
}

static const struct cli_opt opts[] = {
    {CLI_STR, "key", 'k', &keyfile, "FILE",
     "cosign private key (password: COSIGN_PASSWORD, --password-file, a prompt, or stdin), or a "
     "key on a PKCS#11 token: 'pkcs11:token=T;object=L?module-path=M' (PIN: pin-value/pin-source "
     "in the URI, AIRLOCK_PKCS11_PIN, or a prompt; 'airlock pkcs11 --help')",
     0, 0, NULL},
    {CLI_STR, "to", 0, &to, "DEST",
     "sign each image as it will be named at DEST (\"host[/prefix]\", as for push)", 0, 0, NULL},
    CLI_OPT_MAP(&maps, "rename repository SRC to DST in DEST's registry, as push --map "
                       "(repeatable)"),
    {CLI_STR, "identity", 0, &identity, "REF",
     "docker-reference to sign, for one image only (a bundle of several images is refused: use "
     "--to)",
     0, 0, NULL},
    CLI_OPT_ALIAS("sign-container-identity", "identity", "cosign's name"),
    CLI_OPT_ANNOTATION(&anns, "add to the payload's \"optional\" and the statement subject's "
                              "annotations (repeatable)"),
    {CLI_CHOICE, "signature-format", 0, &format, "simplesigning|bundle|both",
     "which formats to write (default both)", 0, 0, NULL},
    {CLI_CALL, "no-recursive", 0, &recursive, NULL,
     "sign an index only, not its platform manifests", 0, 0, recursive_opt},
    {CLI_CALL, "recursive", 0, &recursive, NULL,
     "sign the platform manifests too (the default)", 0, 0, recursive_opt},
    {CLI_STR, "password-file", 0, &pwfile, "F", "read the key's password from F", 0, 0, NULL},
    CLI_OPTS_COSIGN_WRITE(&format, &yes),
    CLI_OPT_JSON(&json, "print what was signed as JSON"),
    CLI_OPT_END};
static const struct cli_opt *const own[] = {opts, NULL};

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
            "an entry without a tag gets DEST/repo@digest. That is what podman, CRI-O and\n"
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
            "options:\n");
    cli_opts_help(f, own);
    fprintf(f,
            "\n"
            "exit codes: 0 signed, 1 operational error, 2 usage (also --identity for several\n"
            "images), 4 the bundle is missing, corrupt or malformed\n");
}

static int sign_run(const struct cli_list *ins)
{
    struct airlock_sign_opts so = AIRLOCK_SIGN_OPTS_INIT;
    int rc = EXIT_OK;
    struct airlock_error *err = NULL;
    struct airlock_key *k = NULL;
    struct airlock_sign_result *res = NULL;
    static const unsigned formats[] = { /* by --signature-format's choice */
        0, AIRLOCK_SIGN_WRITE_SIMPLESIGNING, AIRLOCK_SIGN_WRITE_BUNDLE,
        AIRLOCK_SIGN_WRITE_SIMPLESIGNING | AIRLOCK_SIGN_WRITE_BUNDLE};
    so.recursive = recursive;
    so.identity = identity;
    so.to = cli_registry_ref(to);
    if (format)
        so.formats = formats[format];
    if (ins->n && cli_is_registry_ref(ins->v[0])) {
        cli_printf(stderr,
                   "airlock sign: '%s' is a registry reference, not a bundle here: airlock signs "
                   "bundles, offline, and push carries the signatures:\n"
                   "  airlock export %s -o b.tar\n"
                   "  airlock sign --key cosign.key --to DEST b.tar\n"
                   "  airlock push --key cosign.pub b.tar DEST\n",
                   ins->v[0], cli_registry_ref(ins->v[0]));
        rc = EXIT_USAGE;
        goto out;
    }
    if (!keyfile && !(keyfile = cli_default_key("sign", "cosign.key", NULL, 0))) {
        rc = cli_usage_error("sign", "missing --key (and no cosign.key here)");
        goto out;
    }
    if (!ins->n) {
        rc = cli_usage_error("sign", "missing BUNDLE");
        goto out;
    }
    if (so.identity && so.to) {
        rc = cli_usage_error("sign", "--identity and --to both name what to sign: give one");
        goto out;
    }
    if (maps.n && !so.to) {
        rc = cli_usage_error("sign", "--map renames repositories at --to DEST: give --to");
        goto out;
    }
    so.map = maps.v;
    so.n_map = maps.n;
    if (so.identity) {
        struct airlock_ref r;
        if (airlock_ref_parse(&r, so.identity, &err)) {
            rc = cli_fail(err);
            goto out;
        }
        airlock_ref_release(&r);
    }
    so.annotations = anns.v;
    so.n_annotations = anns.n;
    so.refs = ins->v + 1;
    so.n_refs = ins->n - 1;
    if (airlock_bundle_sign_check(ins->v[0], &err)) { /* before asking for a password */
        rc = cli_fail(err);
        cli_short_name_hint(ins->v[0]);
        goto out;
    }
    if (so.to) { /* the DEST push takes, or sign names what no push can match */
        struct airlock_bundle *b = NULL;
        if ((rc = cli_dest_check("sign", so.to)))
            goto out;
        if (!airlock_bundle_open_set(&b, ins->v, 1, 0, &err))
            rc = cli_dest_repeats("sign", b, so.to, maps.n);
        airlock_error_free(err); /* airlock_bundle_sign reports what is wrong with it */
        err = NULL;
        airlock_bundle_free(b);
        if (rc)
            goto out;
    }
    if ((rc = cli_load_key(&k, keyfile, pwfile)))
        goto out;
    if (airlock_bundle_sign(&res, ins->v[0], k, &so, &err))
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
        cli_printf(stdout, "{\"bundle\":"), cli_json_str(stdout, ins->v[0]), cli_printf(stdout, ",\"signed\":[");
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
    return rc;
}

int cmd_sign(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("sign", argc, argv, own, &ins, help);
    if (!rc)
        rc = sign_run(&ins);
    cli_list_release(&ins);
    cli_list_release(&maps);
    cli_annotations_release(&anns);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
