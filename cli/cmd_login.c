/* login, logout: credentials in the containers auth.json that skopeo and podman read, checked
 * against the registry first, so nobody needs docker behind the gap. */
#include "args.h"
#include "cli.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cli_registry cr;
static const char *logout_file;
static int logout_all;

/* -p, --password: podman's and docker's, with their warning */
static int login_password(void *ctx, const char *arg, const char *name, const char *cmd)
{
    (void)name;
    struct cli_registry *r = ctx;
    cli_printf(stderr, "airlock %s: warning: a password given with -p is visible to other users "
                       "of this machine (ps, /proc, shell history): --password-stdin keeps it "
                       "out of sight\n", cmd);
    if (r->password) {
        airlock_wipe(r->password, strlen(r->password));
        free(r->password);
    }
    if (!(r->password = strdup(arg)))
        return cli_fail(NULL);
    r->o.password = r->password;
    return EXIT_OK;
}

static const struct cli_opt login_opts[] = {
    {CLI_CALL, "password", 'p', &cr, "PASS",
     "the password in the arguments, as podman and docker take it (visible to other users: "
     "prefer --password-stdin)",
     0, 0, login_password},
    CLI_OPT_END};

static void login_help(FILE *f)
{
    fprintf(f,
            "usage: airlock login [-u USER] [--password-stdin] [options] REGISTRY[/NAMESPACE]\n"
            "\n"
            "Checks credentials against REGISTRY (GET /v2/ with its auth flow: Basic, or a\n"
            "token from its token server) and, when they are accepted, writes them into the\n"
            "containers auth.json that skopeo, podman and airlock read: --authfile FILE, else\n"
            "$REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else\n"
            "/run/containers/$UID/auth.json (containers-auth.json(5)). The file is replaced\n"
            "atomically with mode 0600 and keeps its other entries. The user comes from\n"
            "-u/--username or --creds, or is asked on the terminal; the password from\n"
            "--password-stdin, --creds USER:PASS, -p, or a prompt without echo. Neither is\n"
            "printed. REGISTRY is a host[:port] (a docker:// prefix is accepted; a URL,\n"
            "https://HOST/..., names the registry HOST, as podman reads one). With\n"
            "/NAMESPACE (host/ns or host/ns/repo, as podman login takes it) the credentials\n"
            "are kept for the repositories under it only: every command picks the most\n"
            "specific entry for a repository (host/ns/repo, then host/ns, then host).\n"
            "\n"
            "options:\n");
    const struct cli_opt *const t[] = {login_opts, NULL};
    cli_opts_help(f, t); /* -h; the rest are the registry options */
    cli_registry_help_print(f);
    fprintf(f, "\nexit codes: 0 logged in, 1 operational error (network, file), 2 usage, 5\n"
               "the registry refused the credentials\n");
}

/* The auth file key REGISTRY[/NAMESPACE] names (*key, malloc'd) and the registry's host
 * (*host, malloc'd): scheme and docker:// taken off, no tag or digest. */
static int login_key(char **key, char **host, const char *arg, const char *cmd)
{
    const char *a = cli_registry_ref(arg);
    int url = !strncmp(a, "https://", 8) || !strncmp(a, "http://", 7);
    if (url)
        a = strstr(a, "://") + 3;
    size_t len = strlen(a);
    while (len && a[len - 1] == '/')
        len--;
    size_t hl = strcspn(a, "/");
    if (hl > len)
        hl = len;
    if (url) /* a URL names a registry (https://index.docker.io/v1/), as podman reads it */
        len = hl;
    const char *path = a + hl + (hl < len);
    size_t pl = len - (size_t)(path - a);
    char *k = strndup(a, len);
    struct airlock_ref ref = {0};
    int bad = !hl || !k || memchr(a, '@', len) || memchr(path, ':', pl) ||
              (pl && airlock_ref_parse(&ref, k, NULL));
    airlock_ref_release(&ref);
    free(k);
    if (bad)
        return cli_usage_error(cmd, "REGISTRY is host[:port] or host[:port]/namespace (no tag or "
                                    "digest), not '%s'",
                               arg);
    *key = strndup(a, len);
    *host = strndup(a, hl);
    if (!*key || !*host) {
        free(*key);
        free(*host);
        return cli_fail(NULL);
    }
    return EXIT_OK;
}

/* A line typed on the terminal, with echo (the user name). */
static int ask_line(char *out, size_t cap, const char *text)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return -1;
    (void)!write(tty, text, strlen(text));
    size_t n = 0;
    char c;
    while (read(tty, &c, 1) == 1 && c != '\n')
        if (n + 1 < cap)
            out[n++] = c;
    out[n] = '\0';
    close(tty);
    return n ? 0 : -1;
}

/* Asks for what is missing, checks the credentials with the registry at host, and keeps
 * them under key in the auth file. */
static int login_store(const char *host, const char *key)
{
    char user[256];
    int rc;
    if (!cr.o.username) {
        if (!isatty(0) || ask_line(user, sizeof(user), "Username: "))
            return cli_usage_error("login", "no user: give -u USER (no terminal to ask on)");
        cr.o.username = user;
    }
    if (!cr.password_stdin && !cr.password) { /* the prompt, as --creds USER asks */
        if (!cr.creds && !(cr.creds_user = strdup(cr.o.username)))
            return cli_fail(NULL);
        cr.o.username = cr.creds_user;
        cr.creds = 1;
        if (!isatty(0))
            return cli_usage_error("login", "no password: give it with --password-stdin (no "
                                            "terminal to ask on)");
    }
    if ((rc = cli_registry_finish(&cr, "login")))
        return rc;
    struct airlock_error *err = NULL;
    struct airlock_registry *r = NULL;
    char *path = NULL;
    if (airlock_registry_new(&r, host, &cr.o, &err) || airlock_registry_ping(r, &err) ||
        airlock_auth_file_path(&path, cr.o.auth_file, &err) ||
        airlock_auth_file_store(path, key, cr.o.username, cr.o.password ? cr.o.password : "",
                                &err))
        rc = cli_fail(err);
    else {
        cli_printf(stderr, "airlock: credentials for '%s' written to '%s'\n", key, path);
        cli_printf(stdout, "Login Succeeded!\n");
    }
    airlock_registry_free(r);
    free(path);
    return rc;
}

static int login_run(const struct cli_list *ops)
{
    if (ops->n != 1)
        return cli_usage_error("login", "expected one REGISTRY");
    if (cr.password && cr.password_stdin)
        return cli_usage_error("login", "-p and --password-stdin exclude each other");
    char *key = NULL, *host = NULL;
    int rc = login_key(&key, &host, ops->v[0], "login");
    if (!rc)
        rc = login_store(host, key);
    free(key);
    free(host);
    return rc;
}

int cmd_login(int argc, char **argv)
{
    struct cli_list ops = {0};
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {login_opts, cli_registry_table(&cr), NULL};
    int rc = cli_parse("login", argc, argv, tables, &ops, login_help);
    if (!rc)
        rc = login_run(&ops);
    cli_registry_release(&cr);
    cli_list_release(&ops);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}

static const struct cli_opt logout_opts[] = {
    {CLI_STR, "auth-file", 0, &logout_file, "FILE",
     "the auth file (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, "
     "else /run/containers/$UID/auth.json)",
     0, 0, NULL},
    CLI_OPT_ALIAS("authfile", "auth-file", "skopeo's and podman's name"),
    {CLI_FLAG, "all", 'a', &logout_all, NULL,
     "remove every registry's credentials from the file (podman logout --all)", 0, 0, NULL},
    CLI_OPT_END};
static const struct cli_opt *const logout_tables[] = {logout_opts, NULL};

static void logout_help(FILE *f)
{
    fprintf(f, "usage: airlock logout [--authfile FILE] REGISTRY[/NAMESPACE] | --all\n"
               "\n"
               "Removes the credentials login wrote for REGISTRY (or for REGISTRY/NAMESPACE,\n"
               "exactly that entry) from the containers auth.json (the same file, kept atomic,\n"
               "mode 0600, its other entries untouched); --all empties its \"auths\".\n"
               "\n"
               "options:\n");
    cli_opts_help(f, logout_tables);
    fprintf(f, "\nexit codes: 0 removed, 1 not logged in there or a file error, 2 usage\n");
}

int cmd_logout(int argc, char **argv)
{
    struct cli_list ops = {0};
    int rc = cli_parse("logout", argc, argv, logout_tables, &ops, logout_help);
    char *key = NULL, *host = NULL, *path = NULL;
    struct airlock_error *err = NULL;
    if (!rc && ops.n != !logout_all)
        rc = cli_usage_error("logout", logout_all ? "--all takes no REGISTRY"
                                                  : "expected one REGISTRY (or --all)");
    if (!rc && !logout_all)
        rc = login_key(&key, &host, ops.v[0], "logout");
    if (!rc) {
        if (airlock_auth_file_path(&path, logout_file, &err) ||
            airlock_auth_file_erase(path, key, &err)) {
            if (err && err->code == AIRLOCK_ENOTFOUND) { /* an answer, not a fault */
                cli_printf(stderr, "airlock: %s\n", err->msg);
                airlock_error_free(err);
                rc = EXIT_FAILURE_OP;
            } else
                rc = cli_fail(err);
        } else if (key)
            cli_printf(stdout, "Removed login credentials for %s\n", key);
        else
            cli_printf(stdout, "Removed login credentials for all registries\n");
    }
    free(key);
    free(host);
    free(path);
    cli_list_release(&ops);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
