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

static void login_help(FILE *f)
{
    fprintf(f,
            "usage: airlock login [--username USER] [--password-stdin] [options] REGISTRY\n"
            "\n"
            "Checks credentials against REGISTRY (GET /v2/ with its auth flow: Basic, or a\n"
            "token from its token server) and, when they are accepted, writes them into the\n"
            "containers auth.json that skopeo, podman and airlock read: --authfile FILE, else\n"
            "$REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else\n"
            "/run/containers/$UID/auth.json (containers-auth.json(5)). The file is replaced\n"
            "atomically with mode 0600 and keeps its other entries. The user comes from\n"
            "--username or --creds, or is asked on the terminal; the password from\n"
            "--password-stdin, --creds USER:PASS, or a prompt without echo. Neither is\n"
            "printed. REGISTRY is a host[:port] (a docker:// prefix is accepted).\n"
            "\n"
            "options:\n");
    static const struct cli_opt none[] = {CLI_OPT_END};
    const struct cli_opt *const t[] = {none, NULL};
    cli_opts_help(f, t); /* -h; the rest are the registry options */
    cli_registry_help_print(f);
    fprintf(f, "\nexit codes: 0 logged in, 1 operational error (network, file), 2 usage, 5 the "
               "registry\nrefused the credentials\n");
}

/* The registry host of REGISTRY: no repository path (credentials are per host here). */
static int login_host(const char **host, const char *arg, const char *cmd)
{
    *host = cli_registry_ref(arg);
    if (!**host || strchr(*host, '/') || strchr(*host, '@'))
        return cli_usage_error(cmd, "REGISTRY is a host[:port], not '%s'", arg);
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

static int login_run(const struct cli_list *ops)
{
    const char *host = NULL;
    char user[256];
    int rc;
    if (ops->n != 1)
        return cli_usage_error("login", "expected one REGISTRY");
    if ((rc = login_host(&host, ops->v[0], "login")))
        return rc;
    if (!cr.o.username) {
        if (!isatty(0) || ask_line(user, sizeof(user), "Username: "))
            return cli_usage_error("login", "no user: give --username USER (no terminal to ask on)");
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
        airlock_auth_file_store(path, host, cr.o.username, cr.o.password ? cr.o.password : "",
                                &err))
        rc = cli_fail(err);
    else {
        cli_printf(stderr, "airlock: credentials for '%s' written to '%s'\n", host, path);
        cli_printf(stdout, "Login Succeeded!\n");
    }
    airlock_registry_free(r);
    free(path);
    return rc;
}

int cmd_login(int argc, char **argv)
{
    struct cli_list ops = {0};
    cli_registry_init(&cr, 1);
    const struct cli_opt *const tables[] = {cli_registry_table(&cr), NULL};
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
    CLI_OPT_END};
static const struct cli_opt *const logout_tables[] = {logout_opts, NULL};

static void logout_help(FILE *f)
{
    fprintf(f, "usage: airlock logout [--authfile FILE] REGISTRY\n"
               "\n"
               "Removes REGISTRY's credentials from the containers auth.json that login writes\n"
               "(the same file, kept atomic, mode 0600, its other entries untouched).\n"
               "\n"
               "options:\n");
    cli_opts_help(f, logout_tables);
    fprintf(f, "\nexit codes: 0 removed, 1 not logged in there or a file error, 2 usage\n");
}

int cmd_logout(int argc, char **argv)
{
    struct cli_list ops = {0};
    int rc = cli_parse("logout", argc, argv, logout_tables, &ops, logout_help);
    const char *host = NULL;
    char *path = NULL;
    struct airlock_error *err = NULL;
    if (!rc && ops.n != 1)
        rc = cli_usage_error("logout", "expected one REGISTRY");
    if (!rc && !(rc = login_host(&host, ops.v[0], "logout"))) {
        if (airlock_auth_file_path(&path, logout_file, &err) ||
            airlock_auth_file_erase(path, host, &err)) {
            if (err && err->code == AIRLOCK_ENOTFOUND) { /* an answer, not a fault */
                cli_printf(stderr, "airlock: %s\n", err->msg);
                airlock_error_free(err);
                rc = EXIT_FAILURE_OP;
            } else
                rc = cli_fail(err);
        } else
            cli_printf(stdout, "Removed login credentials for %s\n", host);
    }
    free(path);
    cli_list_release(&ops);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
