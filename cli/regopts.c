/* Options every registry command shares: one setting, every code path. */
#include "args.h"
#include "cli.h"
#include "airlock/layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void);
static void draw(struct cli_bar *cr, const char *what, const char *digest, uint64_t done,
                 uint64_t total);

/* ---- the same options as a cli_parse table (args.h), help from the same lines ---- */

static int reg_call(void *ctx, const char *arg, const char *name, const char *cmd);
#define REG(n, a, h) {CLI_CALL, n, 0, NULL, a, h, 0, 0, reg_call}
static const struct cli_opt reg_table[] = {
    REG("ca-file", "FILE", "trust the CAs in FILE (for the registry and its token server)"),
    REG("client-cert", "FILE", "client certificate for mutual TLS"),
    REG("client-key", "FILE", "its key"),
    REG("plain-http", NULL, "talk HTTP, not HTTPS"),
    REG("insecure", NULL, "do not verify TLS certificates"),
    CLI_OPT_ALIAS("allow-insecure-registry", "insecure", "cosign's name"),
    CLI_OPT_ALIAS("allow-http-registry", "plain-http", "cosign's name"),
    {CLI_BOOL, "tls-verify", 0, NULL, NULL,
     "skopeo's and podman's: =false is --insecure (certificates not verified; a plain-HTTP "
     "registry still needs --plain-http)",
     0, 0, reg_call},
    {CLI_CALL, "username", 'u', NULL, "USER",
     "with --password-stdin: credentials, -u as podman's (otherwise: $REGISTRY_AUTH_FILE, "
     "containers auth.json, ~/.docker/config.json and their helpers)",
     0, 0, reg_call},
    REG("password-stdin", NULL, "read the password from stdin"),
    REG("creds", "USER[:PASS]",
        "credentials, as skopeo's --creds (without :PASS: from --password-stdin or a prompt); "
        "a password in the arguments is visible to other users of this machine"),
    REG("auth-file", "FILE", "read credentials from FILE only"),
    CLI_OPT_ALIAS("authfile", "auth-file", "skopeo's and podman's name"),
    REG("trust-realm", "ORIGIN",
        "also send the credentials to the token server (Bearer realm) at ORIGIN "
        "(scheme://host[:port]); otherwise they go to the registry's own scheme, host and port "
        "only (docker.io: also https://auth.docker.io), and realms other than http(s) are "
        "refused"),
    REG("parallel", "N", "concurrent blob transfers (default 4)"),
    REG("retries", "N",
        "attempts per request on dropped connections, 408, 429 and 5xx, with backoff and "
        "Retry-After (default 5)"),
    REG("retry-times", "N", "skopeo's: N retries after the first attempt (--retries N+1)"),
    REG("stall-timeout", "SECS",
        "a transfer that moves no byte for SECS fails and is retried; a slow one that moves "
        "goes on (default 60); a request must be complete within twice SECS (a blob: plus its "
        "size at 16 KiB/s)"),
    REG("chunk-size", "SIZE",
        "larger blobs go up in chunks of SIZE that resume after a drop (default 32M)"),
    CLI_OPT_END};

/* A whole decimal number in [lo, hi], or -1. */
static long number(const char *arg, long lo, long hi)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    return *arg && !*end && v >= lo && v <= hi ? v : -1;
}

/* Sets the registry option name (as in the table) to arg: 0, or -1 for a bad value. */
static int registry_set(struct cli_registry *cr, const char *name, const char *arg)
{
    struct airlock_registry_opts *o = &cr->o;
    long v;
    if (!strcmp(name, "ca-file"))
        o->ca_file = arg;
    else if (!strcmp(name, "client-cert"))
        o->client_cert = arg;
    else if (!strcmp(name, "client-key"))
        o->client_key = arg;
    else if (!strcmp(name, "plain-http"))
        o->plain_http = 1;
    else if (!strcmp(name, "insecure"))
        o->insecure = 1;
    else if (!strcmp(name, "username"))
        o->username = arg;
    else if (!strcmp(name, "password-stdin"))
        cr->password_stdin = 1;
    else if (!strcmp(name, "tls-verify"))
        o->insecure = !strcmp(arg, "false");
    else if (!strcmp(name, "creds")) {
        if (!*arg || *arg == ':')
            return -1;
        const char *colon = strchr(arg, ':');
        free(cr->creds_user);
        cr->creds_user = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);
        if (cr->password) {
            airlock_wipe(cr->password, strlen(cr->password));
            free(cr->password);
        }
        cr->password = colon ? strdup(colon + 1) : NULL;
        if (!cr->creds_user || (colon && !cr->password))
            return -1;
        o->username = cr->creds_user;
        o->password = cr->password;
        cr->creds = 1;
    } else if (!strcmp(name, "auth-file"))
        o->auth_file = arg;
    else if (!strcmp(name, "trust-realm"))
        o->trust_realm = arg;
    else if (!strcmp(name, "parallel"))
        return (v = number(arg, 1, 64)) < 0 ? -1 : (o->parallel = (int)v, 0);
    else if (!strcmp(name, "retries"))
        return (v = number(arg, 1, 100)) < 0 ? -1 : (o->retries = (int)v, 0);
    else if (!strcmp(name, "retry-times"))
        return (v = number(arg, 0, 99)) < 0 ? -1 : (o->retries = (int)v + 1, 0);
    else if (!strcmp(name, "stall-timeout"))
        return (v = number(arg, 1, 86400)) < 0 ? -1 : (o->stall_seconds = (int)v, 0);
    else if (!strcmp(name, "chunk-size"))
        return !airlock_parse_size(arg, &o->chunk_size) && o->chunk_size >= 4096 ? 0 : -1;
    else
        return -1;
    return 0;
}

/* an option of the table */
static int reg_call(void *ctx, const char *arg, const char *name, const char *cmd)
{
    if (!registry_set(ctx, name, arg))
        return 0;
    if (!strcmp(name, "creds")) /* never echo what may hold a password */
        return cli_usage_error(cmd, "--creds wants USER[:PASS]");
    return cli_usage_error(cmd, "bad value '%s' for --%s", arg, name);
}

const struct cli_opt *cli_registry_table(struct cli_registry *cr)
{
    _Static_assert(sizeof(reg_table) <= sizeof(cr->table), "cli_registry.table is too small");
    memcpy(cr->table, reg_table, sizeof(reg_table));
    for (struct cli_opt *o = cr->table; o->kind != CLI_END; o++)
        o->dest = cr;
    return cr->table;
}

void cli_registry_help_print(FILE *f)
{
    const struct cli_opt *const t[] = {reg_table, NULL};
    fputs("registry connection:\n", f);
    cli_opts_lines(f, t);
}

const char *cli_registry_ref(const char *arg)
{
    return arg && !strncmp(arg, "docker://", 9) ? arg + 9 : arg;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && !memcmp(s + n - l, suffix, l);
}

/* ends like a bundle file: .tar, .zst (.tar.zst), or a split set's part .tar.NNN */
static int bundle_file_name(const char *arg)
{
    size_t n = strlen(arg), d = n;
    if (ends_with(arg, n, ".tar") || ends_with(arg, n, ".zst"))
        return 1;
    while (d > 0 && arg[d - 1] >= '0' && arg[d - 1] <= '9')
        d--;
    return d < n && ends_with(arg, d, ".tar.");
}

/* the first component of arg (first bytes) names a registry: a '.' or ':', or localhost */
static int host_like(const char *arg, size_t first)
{
    return memchr(arg, '.', first) || memchr(arg, ':', first) ||
           (first == 9 && !strncmp(arg, "localhost", 9));
}

int cli_is_registry_ref(const char *arg)
{
    struct stat st;
    if (!arg || !*arg || stat(arg, &st) == 0)
        return 0;
    if (!strncmp(arg, "docker://", 9))
        return 1;
    size_t first = strcspn(arg, "/");
    if (arg[0] == '.' || arg[0] == '/' || !arg[first] || !arg[first + 1] ||
        bundle_file_name(arg))
        return 0;
    /* a tag or a digest: "out.d/bundle", a directory bundle not there, is no image */
    if (!strchr(strrchr(arg, '/'), ':') && !strchr(arg, '@'))
        return 0;
    return host_like(arg, first);
}

void cli_short_name_hint(const char *arg)
{
    struct stat st;
    if (!arg || !*arg || stat(arg, &st) == 0 || errno != ENOENT || arg[0] == '.' ||
        arg[0] == '/' || bundle_file_name(arg) || !strpbrk(arg, "/:@"))
        return;
    size_t first = strcspn(arg, "/");
    if (arg[first] && host_like(arg, first))
        cli_printf(stderr, "airlock: hint: a missing path is an image in a registry only with "
                           "its tag or digest (%s:TAG, %s@sha256:...) or as docker://%s\n",
                   arg, arg, arg);
    else
        cli_printf(stderr, "airlock: hint: airlock does not expand short names to Docker Hub: "
                           "write docker.io/%s or docker://%s for an image in a registry\n",
                   arg, arg);
}

int cli_dest_check(const char *cmd, const char *dest)
{
    const char *path = dest ? strchr(dest, '/') : NULL;
    if (!path || (!strchr(path, ':') && !strchr(path, '@')))
        return 0;
    size_t host = (size_t)(path - dest);
    cli_fail_note(AIRLOCK_EUSAGE, "DEST '%s' names an image (a tag or digest); DEST is a "
                  "registry host with an optional path prefix: use --map SRC=DST", dest);
    cli_printf(stderr,
               "airlock %s: DEST '%s' names an image (a tag or digest); DEST is a registry "
               "host with an optional path prefix ('%.*s' or '%.*s/team'), and each image of "
               "the bundle keeps its repository and tag below it. To give an image another "
               "name there, use --map SRC=DST (e.g. --map docker.io/library/nginx=team/nginx)\n",
               cmd, dest, (int)host, dest, (int)host, dest);
    return EXIT_USAGE;
}

int cli_dest_repeats(const char *cmd, struct airlock_bundle *b, const char *dest, size_t n_map)
{
    const char *path = strchr(dest, '/');
    if (!path || n_map)
        return EXIT_OK;
    const char *last = strrchr(dest, '/') + 1;
    struct airlock_catalog *c = NULL;
    struct airlock_error *err = NULL;
    int rc = EXIT_OK;
    if (airlock_catalog_load(&c, b, &err)) { /* push itself reports what is wrong */
        airlock_error_free(err);
        return EXIT_OK;
    }
    for (size_t i = 0; !rc && i < c->n; i++) {
        struct airlock_ref r;
        if (c->entries[i].role != AIRLOCK_ROLE_IMAGE || !c->entries[i].ref ||
            airlock_ref_parse(&r, c->entries[i].ref, NULL))
            continue;
        const char *rl = strrchr(r.path, '/');
        rl = rl ? rl + 1 : r.path;
        if (!strcmp(rl, last)) {
            cli_printf(stderr,
                       "airlock %s: DEST '%s' already ends with the repository of '%s': it "
                       "would be pushed to '%s/%s'. DEST is a registry host with an optional "
                       "path prefix, below which each image keeps its repository; to name it "
                       "'%s' there, %s '%.*s' with --map %s/%s=%s\n",
                       cmd, dest, c->entries[i].ref, dest, r.path, path + 1,
                       strcmp(cmd, "sign") ? "push to" : "sign --to",
                       (int)(path - dest), dest,
                       r.domain, r.path, path + 1);
            rc = EXIT_USAGE;
        }
        airlock_ref_release(&r);
    }
    airlock_catalog_free(c);
    return rc;
}

void cli_registry_init(struct cli_registry *cr, int quiet)
{
    struct airlock_registry_opts def = AIRLOCK_REGISTRY_OPTS_INIT;
    memset(cr, 0, sizeof(*cr));
    cr->o = def;
    cr->quiet = quiet;
}

int cli_registry_finish(struct cli_registry *cr, const char *cmd)
{
    if (cr->creds && cr->o.username != cr->creds_user)
        return cli_usage_error(cmd, "--creds and --username both give a user: give one");
    if (cr->password_stdin) {
        if (!cr->o.username)
            return cli_usage_error(cmd, "--password-stdin needs --username (or --creds USER)");
        if (cr->password)
            return cli_usage_error(cmd, "--creds USER:PASS and --password-stdin both give the "
                                        "password: give one");
        struct airlock_buf b = AIRLOCK_BUF_SECRET(65536);
        char chunk[1024];
        ssize_t n;
        while ((n = read(0, chunk, sizeof(chunk))) > 0)
            airlock_buf_append(&b, chunk, (size_t)n);
        airlock_wipe(chunk, sizeof(chunk));
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            b.data[--b.len] = '\0';
        airlock_buf_append(&b, "", 0);
        cr->password = b.data;
        cr->o.password = cr->password;
    } else if (cr->creds && !cr->password) {
        if (!isatty(0))
            return cli_usage_error(cmd, "--creds USER without :PASS: give the password with "
                                        "--password-stdin (no terminal to ask on)");
        struct airlock_buf b;
        char text[300];
        snprintf(text, sizeof(text), "Password for %s: ", cr->creds_user);
        if (cli_secret_prompt(&b, text))
            return EXIT_FAILURE_OP;
        cr->password = b.data;
        cr->o.password = cr->password;
    } else if (cr->o.username && !cr->creds && !cr->password)
        return cli_usage_error(cmd, "--username needs --password-stdin");
    cli_bar_start(&cr->bar, cr->quiet);
    cr->o.progress = cli_progress;
    cr->o.progress_ctx = &cr->bar;
    return EXIT_OK;
}

void cli_registry_release(struct cli_registry *cr)
{
    if (cr->password) {
        airlock_wipe(cr->password, strlen(cr->password));
        free(cr->password);
    }
    cr->password = NULL;
    free(cr->creds_user);
    cr->creds_user = NULL;
    cli_bar_end(&cr->bar);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The terminal's width (80 when it does not say). */
static int columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col > 200 ? 200 : ws.ws_col;
    return 80;
}

/* One line, redrawn in place: a bar of the bytes, blobs and bytes done of the total, the
 * rate of what actually moved, the time left at that rate, and the item being moved. The
 * last one (cr->final) shows the final counts and the time it took. */
static void draw(struct cli_bar *cr, const char *what, const char *digest, uint64_t done,
                 uint64_t total)
{
    double t = now();
    uint64_t bytes = cr->bytes_done;
    for (size_t i = 0; i < cr->n_active; i++)
        bytes += cr->active[i].done;
    double secs = t - cr->start;
    double rate = secs > 0.2 ? (double)(bytes - cr->bytes_skipped) / secs : 0;
    char sdone[16], stotal[16], speed[16], tail[128] = "";
    airlock_format_size(sdone, bytes);
    airlock_format_size(stotal, cr->bytes_total);
    airlock_format_size(speed, (uint64_t)rate);
    if (cr->final) {
        unsigned long s = (unsigned long)(secs + 0.5);
        char mans[40] = ""; /* registry moves write manifests; split, import, verify do not */
        if (cr->manifests)
            snprintf(mans, sizeof(mans), ", %zu manifests", cr->manifests);
        snprintf(tail, sizeof(tail), "%s, in %lu:%02lu:%02lu", mans, s / 3600, s / 60 % 60,
                 s % 60);
    } else if (rate > 0 && cr->bytes_total > bytes) {
        unsigned long left = (unsigned long)((double)(cr->bytes_total - bytes) / rate + 0.5);
        snprintf(tail, sizeof(tail), ", ETA %lu:%02lu:%02lu", left / 3600, left / 60 % 60,
                 left % 60);
    }
    char item[48] = ""; /* the blob this event is about, and how far it is */
    if (!cr->final && digest && !strncmp(digest, "sha256:", 7) && total)
        snprintf(item, sizeof(item), " %s %.15s %3u%%", what, digest + 7,
                 (unsigned)(done * 100 / total));
    char text[256];
    snprintf(text, sizeof(text), " %zu/%zu blobs, %s/%s, %s/s%s%s", cr->blobs_done,
             cr->blobs_total, sdone, stotal, speed, tail, item);
    int width = columns() - 1, barw = width >= 70 ? 20 : 0; /* one width: the bar stays put */
    char bar[40] = "";
    if (barw >= 5) {
        double frac = cr->bytes_total ? (double)bytes / (double)cr->bytes_total
                      : cr->blobs_total ? (double)cr->blobs_done / (double)cr->blobs_total
                                        : cr->final;
        int fill = (int)(frac * barw + (cr->final ? 0.5 : 0));
        fill = fill < 0 ? 0 : fill > barw ? barw : fill;
        bar[0] = '[';
        for (int i = 0; i < barw; i++)
            bar[1 + i] = i < fill ? '#' : '-';
        bar[1 + barw] = ']';
        bar[2 + barw] = '\0';
    }
    cli_printf(stderr, "\r\033[K%s%.*s", bar, width - (int)strlen(bar), text);
    cr->shown = 1;
    cr->drawn = t;
}

/* Counts every event (blobs, bytes, manifests: what an interrupted run kept) and draws the
 * bar on a terminal, at most ten times a second. */
void cli_progress(void *ctx, const struct airlock_progress *p)
{
    struct cli_bar *cr = ctx;
    int finished = 0;
    if (!strcmp(p->what, "plan")) {
        cr->blobs_total += (size_t)p->done;
        cr->bytes_total += p->total;
    } else if (!strcmp(p->what, "manifest")) {
        cr->manifests++;
    } else if (!strcmp(p->what, "skip") || !strcmp(p->what, "mount")) {
        cr->blobs_done++;
        cr->bytes_done += p->total;
        cr->bytes_skipped += p->total;
        finished = 1;
    } else if (p->digest) { /* upload, download */
        size_t i;
        for (i = 0; i < cr->n_active && strcmp(cr->active[i].digest, p->digest); i++)
            ;
        int known = i < cr->n_active;
        if (!known && cr->n_active < sizeof(cr->active) / sizeof(cr->active[0])) {
            snprintf(cr->active[i].digest, sizeof(cr->active[i].digest), "%s", p->digest);
            cr->n_active++;
        }
        if (i < cr->n_active) {
            cr->active[i].done = p->done;
            cr->active[i].total = p->total;
            if (known && p->done == p->total) { /* this blob is complete */
                cr->blobs_done++;
                cr->moved++;
                cr->bytes_done += p->total;
                cr->active[i] = cr->active[--cr->n_active];
                finished = 1;
            }
        }
    }
    if (!cr->draw || (!finished && now() - cr->drawn < 0.1))
        return;
    draw(cr, p->what, strcmp(p->what, "plan") ? p->digest : NULL, p->done, p->total);
}

void cli_bar_start(struct cli_bar *b, int quiet)
{
    memset(b, 0, sizeof(*b));
    b->draw = isatty(2) && !quiet && !cli_quiet() && !cli_json();
    b->start = now();
}

void cli_bar_end(struct cli_bar *b)
{
    if (b->shown) { /* the bar's last state: the final counts */
        b->final = 1;
        draw(b, "done", NULL, 0, 0);
        fputc('\n', stderr);
    }
    b->shown = 0;
}
