/* keygen (generate-key-pair), public-key, import-key-pair. */
#include "cli.h"
#include "airlock/sign.h"
#include "airlock/pkcs11.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

int cli_read_file(char **out, size_t *len, const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_printf(stderr, "airlock: error: open '%s': %s\n", path, strerror(errno));
        return EXIT_FAILURE_OP;
    }
    struct airlock_buf b = AIRLOCK_BUF_INIT(max);
    char chunk[4096];
    ssize_t n;
    int rc = EXIT_OK;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (airlock_buf_append(&b, chunk, (size_t)n)) {
            cli_printf(stderr, "airlock: error: '%s' is larger than %zu bytes\n", path, max);
            rc = EXIT_USAGE;
            break;
        }
    if (n < 0) {
        cli_printf(stderr, "airlock: error: read '%s': %s\n", path, strerror(errno));
        rc = EXIT_FAILURE_OP;
    }
    close(fd);
    airlock_wipe(chunk, sizeof(chunk));
    if (rc) {
        if (b.data)
            airlock_wipe(b.data, b.len);
        airlock_buf_release(&b);
        return rc;
    }
    *out = airlock_buf_detach(&b, len);
    return EXIT_OK;
}

int cli_load_key(struct airlock_key **out, const char *path, const char *password_file)
{
    if (airlock_pkcs11_uri_is(path)) {
        if (password_file) {
            cli_printf(stderr, "airlock: error: --password-file is for key files; a token's "
                               "PIN comes from pin-value or pin-source in the URI, "
                               "AIRLOCK_PKCS11_PIN, or a prompt\n");
            return EXIT_USAGE;
        }
        return cli_load_token_key(out, path, 0);
    }
    char *pem = NULL;
    size_t len = 0;
    int rc = cli_read_file(&pem, &len, path, 65536);
    if (rc)
        return rc;
    struct airlock_buf pw;
    if ((rc = cli_password(&pw, password_file, 0, path))) {
        free(pem);
        return rc;
    }
    struct airlock_error *err = NULL;
    if (airlock_key_decrypt(out, pem, len, pw.data, pw.len, path, &err))
        rc = cli_fail(err);
    cli_password_release(&pw);
    airlock_wipe(pem, len);
    free(pem);
    return rc;
}

int cli_annotation_add(struct airlock_annotation **list, size_t *n, const char *kv, const char *cmd)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return cli_usage_error(cmd, "annotation '%s' is not KEY=VALUE", kv);
    for (size_t i = 0; i < *n; i++) /* a key given again replaces its value, as cosign's map */
        if (strlen((*list)[i].key) == (size_t)(eq - kv) && !strncmp((*list)[i].key, kv, (size_t)(eq - kv))) {
            char *v = strdup(eq + 1);
            if (!v)
                return EXIT_FAILURE_OP;
            free((*list)[i].value);
            (*list)[i].value = v;
            return EXIT_OK;
        }
    struct airlock_annotation *l = realloc(*list, (*n + 1) * sizeof(*l));
    if (!l)
        return EXIT_FAILURE_OP;
    *list = l;
    l[*n].key = strndup(kv, (size_t)(eq - kv));
    l[*n].value = strdup(eq + 1);
    (*n)++;
    return EXIT_OK;
}

void cli_annotations_free(struct airlock_annotation *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].key);
        free(list[i].value);
    }
    free(list);
}

/* Writes data to path atomically (temp + rename), refusing to replace unless force. */
static int write_new(const char *path, const char *data, mode_t mode, int force, char **tmp_out)
{
    struct stat st;
    if (!force && lstat(path, &st) == 0) {
        cli_printf(stderr, "airlock: error: '%s' already exists; use --force to replace it\n", path);
        return EXIT_FAILURE_OP;
    }
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.airlock-XXXXXX", path) < 0)
        return EXIT_FAILURE_OP;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        cli_printf(stderr, "airlock: error: create '%s': %s\n", tmp, strerror(errno));
        free(tmp);
        return EXIT_FAILURE_OP;
    }
    size_t len = strlen(data);
    int ok = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        cli_printf(stderr, "airlock: error: write '%s': %s\n", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return EXIT_FAILURE_OP;
    }
    *tmp_out = tmp;
    return EXIT_OK;
}

/* Writes PREFIX.key and PREFIX.pub for k: both appear, or neither. */
static int write_pair(const struct airlock_key *k, const char *prefix, int force, unsigned scrypt_n,
                      const char *password_file)
{
    struct airlock_error *err = NULL;
    char *keyfile = NULL, *pubpem = NULL, *kpath = NULL, *ppath = NULL, *ktmp = NULL, *ptmp = NULL;
    struct airlock_buf pw = AIRLOCK_BUF_INIT(0);
    int rc = EXIT_OK;
    unsigned flags = force ? 0 : RENAME_NOREPLACE;
    if (asprintf(&kpath, "%s.key", prefix) < 0 || asprintf(&ppath, "%s.pub", prefix) < 0)
        return EXIT_FAILURE_OP;
    struct stat st;
    if (!force && (lstat(kpath, &st) == 0 || lstat(ppath, &st) == 0)) {
        cli_printf(stderr, "airlock: error: '%s' already exists; use --force to replace it\n",
                lstat(kpath, &st) == 0 ? kpath : ppath);
        rc = EXIT_FAILURE_OP;
        goto out;
    }
    if ((rc = cli_password(&pw, password_file, 1, kpath)))
        goto out;
    if (airlock_key_encrypt(&keyfile, k, pw.data, pw.len, scrypt_n,
                            scrypt_n == 32768 ? AIRLOCK_KEY_LABEL_COSIGN
                                              : AIRLOCK_KEY_LABEL_SIGSTORE,
                            &err) ||
        airlock_key_public_pem(&pubpem, k, &err)) {
        rc = cli_fail(err);
        goto out;
    }
    if ((rc = write_new(kpath, keyfile, 0600, force, &ktmp)) ||
        (rc = write_new(ppath, pubpem, 0644, force, &ptmp)))
        goto out;
    /* the public key first: a failure then never leaves a private key without its public
     * half, and never removes a key; without --force an existing file is never replaced */
    if (renameat2(AT_FDCWD, ptmp, AT_FDCWD, ppath, flags) < 0) {
        cli_printf(stderr, "airlock: error: rename into '%s': %s\n", ppath, strerror(errno));
        rc = EXIT_FAILURE_OP;
        goto out;
    }
    if (renameat2(AT_FDCWD, ktmp, AT_FDCWD, kpath, flags) < 0) {
        cli_printf(stderr, "airlock: error: rename into '%s': %s\n", kpath, strerror(errno));
        rc = EXIT_FAILURE_OP;
        goto out;
    }
    free(ktmp);
    free(ptmp);
    ktmp = ptmp = NULL;
    cli_printf(stderr, "Private key written to %s\nPublic key written to %s\n", kpath, ppath);
out:
    if (ktmp)
        unlink(ktmp);
    if (ptmp)
        unlink(ptmp);
    free(ktmp);
    free(ptmp);
    if (keyfile) {
        airlock_wipe(keyfile, strlen(keyfile));
        free(keyfile);
    }
    cli_password_release(&pw);
    free(pubpem);
    free(kpath);
    free(ppath);
    return rc;
}

/* A key pair generated on a token: only PREFIX.pub is written (the private half stays). The
 * .pub is checked first, so an existing file fails before the token is touched. */
static int keygen_token(const char *uri, const char *prefix, int force)
{
    char *ppath = NULL, *ptmp = NULL, *pubpem = NULL;
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    struct stat st;
    int rc = EXIT_OK;
    if (asprintf(&ppath, "%s.pub", prefix) < 0)
        return EXIT_FAILURE_OP;
    if (!force && lstat(ppath, &st) == 0) {
        cli_printf(stderr, "airlock: error: '%s' already exists; use --force to replace it\n",
                   ppath);
        rc = EXIT_FAILURE_OP;
        goto out;
    }
    if ((rc = cli_load_token_key(&k, uri, 1)))
        goto out;
    if (airlock_key_public_pem(&pubpem, k, &err)) {
        rc = cli_fail(err);
        goto out;
    }
    if ((rc = write_new(ppath, pubpem, 0644, force, &ptmp)))
        goto out;
    if (renameat2(AT_FDCWD, ptmp, AT_FDCWD, ppath, force ? 0 : RENAME_NOREPLACE) < 0) {
        cli_printf(stderr, "airlock: error: rename into '%s': %s\n", ppath, strerror(errno));
        unlink(ptmp);
        rc = EXIT_FAILURE_OP;
        goto out;
    }
    cli_printf(stderr, "Private key generated on the token (it never leaves it)\n"
                       "Public key written to %s\n", ppath);
out:
    free(ptmp);
    free(pubpem);
    free(ppath);
    airlock_key_free(k);
    return rc;
}

static int parse_scrypt_n(const char *s, unsigned *out, const char *cmd)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || (v != 32768 && v != 65536 && v != 131072))
        return cli_usage_error(cmd, "--scrypt-n must be 32768, 65536 or 131072");
    *out = (unsigned)v;
    return EXIT_OK;
}

static void keygen_help(FILE *f, const char *name)
{
    fprintf(f,
            "usage: airlock %s [--output-key-prefix PREFIX] [--force] [--scrypt-n N]\n"
            "       airlock %s --key 'pkcs11:token=T;object=LABEL?module-path=M' [--output-key-prefix P]\n"
            "\n"
            "Generates an ECDSA P-256 key pair as cosign generate-key-pair does:\n"
            "PREFIX.key (encrypted, mode 0600) and PREFIX.pub. The password comes from\n"
            "COSIGN_PASSWORD, --password-file, a prompt on a terminal (asked twice), or stdin.\n"
            "With --key pkcs11:..., the key pair is generated on the token instead\n"
            "(CKM_EC_KEY_PAIR_GEN, the private key sensitive and never extractable, labelled\n"
            "object=, with id= or a random id) and only PREFIX.pub is written; an object\n"
            "with the same label or id is never replaced. The PIN: see 'airlock pkcs11 --help'.\n"
            "\n"
            "options:\n"
            "  -k, --key pkcs11:URI            generate on this token (RFC 7512 URI)\n"
            "      --output-key-prefix PREFIX  file names (default: cosign)\n"
            "  -f, --force                     replace existing files\n"
            "      --scrypt-n N                65536 (default, cosign >= 2.2), 131072, or 32768:\n"
            "                                  the form every cosign and containers/image reads\n"
            "      --password-file FILE        read the password from FILE\n"
            "  -h, --help                      show this help\n",
            name, name);
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"output-key-prefix", required_argument, NULL, 'p'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"scrypt-n", required_argument, NULL, 'N'},
                                         {"password-file", required_argument, NULL, 'P'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prefix = "cosign", *pwfile = NULL, *uri = NULL;
    int force = 0, c, rc;
    unsigned n = 65536;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            uri = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'N':
            if ((rc = parse_scrypt_n(optarg, &n, argv[0])))
                return rc;
            break;
        case 'P':
            pwfile = optarg;
            break;
        case 'h':
            keygen_help(stdout, argv[0]);
            return EXIT_OK;
        default:
            return cli_usage_error(argv[0], "invalid option");
        }
    }
    if (optind != argc)
        return cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    if (uri) {
        if (!airlock_pkcs11_uri_is(uri))
            return cli_usage_error(argv[0], "--key takes a pkcs11: URI (a key on a token)");
        if (pwfile)
            return cli_usage_error(argv[0], "--password-file is for key files, not tokens");
        return keygen_token(uri, prefix, force);
    }
    if (airlock_key_generate(&k, &err))
        return cli_fail(err);
    rc = write_pair(k, prefix, force, n, pwfile);
    airlock_key_free(k);
    return rc;
}

int cmd_import_key_pair(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"output-key-prefix", required_argument, NULL, 'p'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"scrypt-n", required_argument, NULL, 'N'},
                                         {"password-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prefix = "import-cosign", *pwfile = NULL, *in = NULL;
    int force = 0, c, rc;
    unsigned n = 65536;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            in = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'N':
            if ((rc = parse_scrypt_n(optarg, &n, "import-key-pair")))
                return rc;
            break;
        case 'P':
            pwfile = optarg;
            break;
        case 'h':
            cli_printf(stdout, "usage: airlock import-key-pair --key KEY.pem [--output-key-prefix PREFIX]\n"
                   "                               [--force] [--scrypt-n N] [--password-file F]\n"
                   "\n"
                   "Encrypts an unencrypted PEM EC P-256 private key (PKCS#8 or SEC1) into a\n"
                   "cosign key pair: PREFIX.key and PREFIX.pub (default prefix: import-cosign).\n"
                   "RSA and Ed25519 keys are refused: airlock signs with ECDSA P-256.\n");
            return EXIT_OK;
        default:
            return cli_usage_error("import-key-pair", "invalid option");
        }
    }
    if (!in)
        return cli_usage_error("import-key-pair", "missing --key KEY.pem");
    char *pem = NULL;
    size_t len;
    if ((rc = cli_read_file(&pem, &len, in, 65536)))
        return rc;
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    rc = airlock_key_import_pem(&k, pem, len, in, &err);
    airlock_wipe(pem, len);
    free(pem);
    if (rc)
        return cli_fail(err);
    rc = write_pair(k, prefix, force, n, pwfile);
    airlock_key_free(k);
    return rc;
}

int cmd_public_key(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"password-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *keyfile = NULL, *pwfile = NULL;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'P':
            pwfile = optarg;
            break;
        case 'h':
            cli_printf(stdout, "usage: airlock public-key --key cosign.key [--password-file F]\n"
                   "       airlock public-key --key 'pkcs11:token=T;object=LABEL?module-path=M'\n"
                   "\n"
                   "Prints the PEM public key of a cosign private key file, or of an ECDSA\n"
                   "P-256 key on a PKCS#11 token (the PIN: see 'airlock pkcs11 --help').\n");
            return EXIT_OK;
        default:
            return cli_usage_error("public-key", "invalid option");
        }
    }
    if (!keyfile)
        return cli_usage_error("public-key", "missing --key");
    struct airlock_key *k = NULL;
    if ((rc = cli_load_key(&k, keyfile, pwfile)))
        return rc;
    char *pem = NULL;
    struct airlock_error *err = NULL;
    if (airlock_key_public_pem(&pem, k, &err))
        rc = cli_fail(err);
    else
        fputs(pem, stdout);
    free(pem);
    airlock_key_free(k);
    return rc;
}
