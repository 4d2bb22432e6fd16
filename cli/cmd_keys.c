/* keygen (generate-key-pair), public-key, import-key-pair. */
#include "args.h"
#include "cli.h"
#include "airlock/sign.h"
#include "airlock/pkcs11.h"

#include <errno.h>
#include <fcntl.h>
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

/* Where path is relative to dir (both real paths): 0 not below it, 1 in it, 2 deeper. */
static int below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1) /* "/" */
        n = 0;
    if (strncmp(path, dir, n) || path[n] != '/')
        return 0;
    return strchr(path + n + 1, '/') ? 2 : 1;
}

/* Why the key file in the current directory cwd must not be trusted for the bundles inputs,
 * or NULL: a bundle at or below cwd (as named or as its symlinks resolve) may have come with
 * the key, and so may a directory cwd is inside of. */
static const char *key_with_inputs(const char *cwd, const char *const *inputs, size_t n,
                                   const char **which)
{
    for (size_t i = 0; i < n; i++) {
        char *real = realpath(inputs[i], NULL), *copy = strdup(inputs[i]), *named = NULL;
        const char *why = NULL;
        if (copy) { /* the name's own directory, its last part not resolved */
            char *slash = strrchr(copy, '/'), *dir = NULL;
            const char *base = slash ? slash + 1 : copy;
            if (slash)
                *slash = '\0';
            if ((dir = realpath(slash ? (*copy ? copy : "/") : ".", NULL)) && *base &&
                asprintf(&named, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
                named = NULL;
            free(dir);
        }
        int r = real ? below(real, cwd) : 0, m = named ? below(named, cwd) : 0;
        if (real && (!strcmp(real, cwd) || below(cwd, real)))
            why = "the current directory is inside the bundle";
        else if (r == 1 || m == 1)
            why = "it is beside the bundle";
        else if (r || m)
            why = "the current directory holds the bundle";
        free(real);
        free(copy);
        free(named);
        if (why) {
            *which = inputs[i];
            return why;
        }
    }
    return NULL;
}

const char *cli_default_key(const char *cmd, const char *file, const char *const *inputs,
                            size_t n)
{
    struct stat st, dst;
    if (access(file, R_OK) != 0 || stat(file, &st) != 0 || stat(".", &dst) != 0)
        return NULL;
    char *cwd = realpath(".", NULL);
    const char *which = NULL, *why = NULL;
    if (!cwd)
        why = "the current directory has no path";
    else if ((dst.st_mode & S_IWOTH) || (st.st_mode & S_IWOTH))
        why = "others can write there";
    else if (st.st_uid != geteuid() && st.st_uid != 0)
        why = "another user owns it";
    else
        why = key_with_inputs(cwd, inputs, n, &which);
    free(cwd);
    if (why) {
        cli_printf(stderr,
                   "airlock %s: not using '%s' of the current directory as the key: %s%s%s%s "
                   "(a key that may have come with what it vouches for proves nothing); give "
                   "--key FILE to use it anyway\n",
                   cmd, file, why, which ? " '" : "", which ? which : "", which ? "'" : "");
        return NULL;
    }
    cli_printf(stderr, "airlock %s: no --key given: using '%s' (in the current directory, as "
                       "cosign names it)\n", cmd, file);
    return file;
}

int cli_load_pubkey(struct airlock_pubkey **out, const char *path)
{
    char *pem = NULL;
    size_t len;
    int rc = cli_read_file(&pem, &len, path, 65536);
    if (rc)
        return rc;
    struct airlock_error *err = NULL;
    if (airlock_pubkey_parse(out, pem, len, path, &err))
        rc = cli_fail(err);
    free(pem);
    return rc;
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

/* the options of keygen, import-key-pair and public-key (one command runs at a time) */
static const char *key, *prefix, *pwfile, *cmd_name;
static int force;
static unsigned scrypt_n = 65536;

static int scrypt_n_opt(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)name;
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || (v != 32768 && v != 65536 && v != 131072))
        return cli_usage_error(cmd, "--scrypt-n must be 32768, 65536 or 131072");
    *(unsigned *)ctx = (unsigned)v;
    return EXIT_OK;
}

#define KEY_PASSWORD_FILE                                                                         \
    {CLI_STR, "password-file", 0, &pwfile, "FILE", "read the password from FILE", 0, 0, NULL}
/* letter: cosign's import-key-pair has -o for --output-key-prefix, its generate-key-pair none */
#define KEY_PAIR_OPTS(dflt, letter)                                                               \
    {CLI_STR, "output-key-prefix", letter, &prefix, "PREFIX", "file names (default: " dflt ")",  \
     0, 0, NULL},                                                                                \
        {CLI_FLAG, "force", 'f', &force, NULL, "replace existing files", 0, 0, NULL},           \
        {CLI_CALL, "scrypt-n", 0, &scrypt_n, "N",                                               \
         "65536 (default, cosign >= 2.2), 131072, or 32768: the form every cosign and "          \
         "containers/image reads",                                                               \
         0, 0, scrypt_n_opt},                                                                    \
        KEY_PASSWORD_FILE

static const struct cli_opt keygen_opts[] = {
    {CLI_STR, "key", 'k', &key, "pkcs11:URI", "generate on this token (RFC 7512 URI)", 0, 0, NULL},
    KEY_PAIR_OPTS("cosign", 0), CLI_OPT_END};
static const struct cli_opt *const keygen_tables[] = {keygen_opts, NULL};
static const struct cli_opt import_opts[] = {
    {CLI_STR, "key", 'k', &key, "KEY.pem",
     "the unencrypted PEM EC P-256 private key (required)", 0, 0, NULL},
    KEY_PAIR_OPTS("import-cosign", 'o'), CLI_OPT_END};
static const struct cli_opt *const import_tables[] = {import_opts, NULL};
static const struct cli_opt pub_opts[] = {
    {CLI_STR, "key", 'k', &key, "FILE",
     "the cosign private key file, or a pkcs11: URI of a key on a token", 0, 0, NULL},
    KEY_PASSWORD_FILE, CLI_OPT_END};
static const struct cli_opt *const pub_tables[] = {pub_opts, NULL};

static void keygen_help(FILE *f)
{
    const char *name = cmd_name;
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
            "options:\n",
            name, name);
    cli_opts_help(f, keygen_tables);
}

static int keygen_run(void)
{
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    if (!prefix)
        prefix = "cosign";
    if (key) {
        if (!airlock_pkcs11_uri_is(key))
            return cli_usage_error(cmd_name, "--key takes a pkcs11: URI (a key on a token)");
        if (pwfile)
            return cli_usage_error(cmd_name, "--password-file is for key files, not tokens");
        return keygen_token(key, prefix, force);
    }
    if (airlock_key_generate(&k, &err))
        return cli_fail(err);
    int rc = write_pair(k, prefix, force, scrypt_n, pwfile);
    airlock_key_free(k);
    return rc;
}

int cmd_keygen(int argc, char **argv)
{
    cmd_name = argv[0]; /* keygen or generate-key-pair */
    int rc = cli_parse(cmd_name, argc, argv, keygen_tables, NULL, keygen_help);
    if (!rc)
        rc = keygen_run();
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

static void import_help(FILE *f)
{
    cli_printf(f, "usage: airlock import-key-pair --key KEY.pem [-o|--output-key-prefix PREFIX]\n"
                  "                               [--force] [--scrypt-n N] [--password-file F]\n"
                  "\n"
                  "Encrypts an unencrypted PEM EC P-256 private key (PKCS#8 or SEC1) into a\n"
                  "cosign key pair: PREFIX.key and PREFIX.pub (default prefix: import-cosign).\n"
                  "RSA and Ed25519 keys are refused: airlock signs with ECDSA P-256.\n"
                  "\n"
                  "options:\n");
    cli_opts_help(f, import_tables);
}

static int import_key_pair_run(void)
{
    if (!key)
        return cli_usage_error("import-key-pair", "missing --key KEY.pem");
    if (!prefix)
        prefix = "import-cosign";
    char *pem = NULL;
    size_t len;
    int rc;
    if ((rc = cli_read_file(&pem, &len, key, 65536)))
        return rc;
    struct airlock_key *k = NULL;
    struct airlock_error *err = NULL;
    rc = airlock_key_import_pem(&k, pem, len, key, &err);
    airlock_wipe(pem, len);
    free(pem);
    if (rc)
        return cli_fail(err);
    rc = write_pair(k, prefix, force, scrypt_n, pwfile);
    airlock_key_free(k);
    return rc;
}

int cmd_import_key_pair(int argc, char **argv)
{
    int rc = cli_parse("import-key-pair", argc, argv, import_tables, NULL, import_help);
    if (!rc)
        rc = import_key_pair_run();
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

static void pub_help(FILE *f)
{
    cli_printf(f, "usage: airlock public-key --key cosign.key [--password-file F]\n"
                  "       airlock public-key --key 'pkcs11:token=T;object=LABEL?module-path=M'\n"
                  "\n"
                  "Prints the PEM public key of a cosign private key file, or of an ECDSA\n"
                  "P-256 key on a PKCS#11 token (the PIN: see 'airlock pkcs11 --help').\n"
                  "\n"
                  "options:\n");
    cli_opts_help(f, pub_tables);
}

static int public_key_run(void)
{
    if (!key)
        return cli_usage_error("public-key", "missing --key");
    struct airlock_key *k = NULL;
    int rc;
    if ((rc = cli_load_key(&k, key, pwfile)))
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

int cmd_public_key(int argc, char **argv)
{
    int rc = cli_parse("public-key", argc, argv, pub_tables, NULL, pub_help);
    if (!rc)
        rc = public_key_run();
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
