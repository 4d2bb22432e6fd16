/* Options every registry command shares: one setting, every code path. */
#include "args.h"
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cli_registry_help[] =
    "registry connection:\n"
    "      --ca-file FILE       trust the CAs in FILE (for the registry and its token server)\n"
    "      --client-cert FILE   client certificate for mutual TLS\n"
    "      --client-key FILE    its key\n"
    "      --plain-http         talk HTTP, not HTTPS\n"
    "      --insecure           do not verify TLS certificates\n"
    "      --username USER      with --password-stdin: credentials (otherwise: $REGISTRY_AUTH_FILE,\n"
    "                           containers auth.json, ~/.docker/config.json and their helpers)\n"
    "      --password-stdin     read the password from stdin\n"
    "      --auth-file FILE     read credentials from FILE only\n"
    "      --trust-realm ORIGIN also send the credentials to the token server (Bearer realm)\n"
    "                           at ORIGIN (scheme://host[:port]); otherwise they go to the\n"
    "                           registry's own scheme, host and port only (docker.io: also\n"
    "                           https://auth.docker.io), and realms other than http(s) are refused\n"
    "      --parallel N         concurrent blob transfers (default 4)\n"
    "      --retries N          attempts per request on dropped connections, 408, 429 and 5xx,\n"
    "                           with backoff and Retry-After (default 5)\n"
    "      --stall-timeout SECS a transfer that moves no byte for SECS fails and is retried;\n"
    "                           a slow one that moves goes on (default 60); a request must be\n"
    "                           complete within twice SECS (a blob: plus its size at 16 KiB/s)\n"
    "      --chunk-size SIZE    larger blobs go up in chunks of SIZE that resume after a drop\n"
    "                           (default 32M)\n";

static double now(void);

/* ---- the same options as a cli_parse table (args.h), help from the same lines ---- */

static int reg_call(void *ctx, const char *arg, const char *name, const char *cmd);
#define REG(n, a, h) {CLI_CALL, n, 0, NULL, a, h, 0, 0, reg_call}
static const struct cli_opt reg_table[] = {
    REG("ca-file", "FILE", "trust the CAs in FILE (for the registry and its token server)"),
    REG("client-cert", "FILE", "client certificate for mutual TLS"),
    REG("client-key", "FILE", "its key"),
    REG("plain-http", NULL, "talk HTTP, not HTTPS"),
    REG("insecure", NULL, "do not verify TLS certificates"),
    REG("username", "USER",
        "with --password-stdin: credentials (otherwise: $REGISTRY_AUTH_FILE, containers "
        "auth.json, ~/.docker/config.json and their helpers)"),
    REG("password-stdin", NULL, "read the password from stdin"),
    REG("auth-file", "FILE", "read credentials from FILE only"),
    REG("trust-realm", "ORIGIN",
        "also send the credentials to the token server (Bearer realm) at ORIGIN "
        "(scheme://host[:port]); otherwise they go to the registry's own scheme, host and port "
        "only (docker.io: also https://auth.docker.io), and realms other than http(s) are "
        "refused"),
    REG("parallel", "N", "concurrent blob transfers (default 4)"),
    REG("retries", "N",
        "attempts per request on dropped connections, 408, 429 and 5xx, with backoff and "
        "Retry-After (default 5)"),
    REG("stall-timeout", "SECS",
        "a transfer that moves no byte for SECS fails and is retried; a slow one that moves "
        "goes on (default 60); a request must be complete within twice SECS (a blob: plus its "
        "size at 16 KiB/s)"),
    REG("chunk-size", "SIZE",
        "larger blobs go up in chunks of SIZE that resume after a drop (default 32M)"),
    CLI_OPT_END};

/* an option of the table: the same check and message as cli_registry_opt's users */
static int reg_call(void *ctx, const char *arg, const char *name, const char *cmd)
{
    static const struct option opts[] = {CLI_REGISTRY_OPTIONS};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strcmp(opts[i].name, name)) {
            if (cli_registry_opt(opts[i].val, arg, ctx) >= 0)
                return 0;
            return cli_usage_error(cmd, "bad value '%s' for --%s", arg, name);
        }
    return cli_usage_error(cmd, "unknown option '--%s'", name);
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

const char *cli_registry_optname(int c)
{
    static const struct option opts[] = {CLI_REGISTRY_OPTIONS};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].val == c)
            return opts[i].name;
    return "?";
}

int cli_registry_opt(int c, const char *arg, struct cli_registry *cr)
{
    struct airlock_registry_opts *o = &cr->o;
    switch (c) {
    case CLI_OPT_CA:
        o->ca_file = arg;
        return 1;
    case CLI_OPT_CERT:
        o->client_cert = arg;
        return 1;
    case CLI_OPT_KEY:
        o->client_key = arg;
        return 1;
    case CLI_OPT_PLAIN:
        o->plain_http = 1;
        return 1;
    case CLI_OPT_INSECURE:
        o->insecure = 1;
        return 1;
    case CLI_OPT_USER:
        o->username = arg;
        return 1;
    case CLI_OPT_PWSTDIN:
        cr->password_stdin = 1;
        return 1;
    case CLI_OPT_AUTHFILE:
        o->auth_file = arg;
        return 1;
    case CLI_OPT_TRUST_REALM:
        o->trust_realm = arg;
        return 1;
    case CLI_OPT_PARALLEL:
        o->parallel = atoi(arg);
        if (o->parallel < 1 || o->parallel > 64)
            return -1;
        return 1;
    case CLI_OPT_RETRIES:
        o->retries = atoi(arg);
        return o->retries >= 1 && o->retries <= 100 ? 1 : -1;
    case CLI_OPT_STALL:
        o->stall_seconds = atoi(arg);
        return o->stall_seconds >= 1 && o->stall_seconds <= 86400 ? 1 : -1;
    case CLI_OPT_CHUNK:
        return !airlock_parse_size(arg, &o->chunk_size) && o->chunk_size >= 4096 ? 1 : -1;
    default:
        return 0;
    }
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
    if (cr->password_stdin) {
        if (!cr->o.username)
            return cli_usage_error(cmd, "--password-stdin needs --username");
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
    } else if (cr->o.username)
        return cli_usage_error(cmd, "--username needs --password-stdin");
    if (isatty(2) && !cr->quiet) {
        cr->o.progress = cli_progress;
        cr->o.progress_ctx = cr;
    }
    cr->start = now();
    return EXIT_OK;
}

void cli_registry_release(struct cli_registry *cr)
{
    if (cr->password) {
        airlock_wipe(cr->password, strlen(cr->password));
        free(cr->password);
    }
    cr->password = NULL;
    if (cr->o.progress && cr->shown)
        fputc('\n', stderr);
    cr->shown = 0; /* (safe to call again) */
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress on a terminal only: one line, rewritten at most ten times a second: blobs and bytes
 * done of the total, the rate of what actually moved, and the time left at that rate. */
void cli_progress(void *ctx, const struct airlock_progress *p)
{
    struct cli_registry *cr = ctx;
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
                cr->bytes_done += p->total;
                cr->active[i] = cr->active[--cr->n_active];
                finished = 1;
            }
        }
    }
    double t = now();
    if (!finished && t - cr->drawn < 0.1)
        return;
    cr->drawn = t;
    uint64_t bytes = cr->bytes_done;
    for (size_t i = 0; i < cr->n_active; i++)
        bytes += cr->active[i].done;
    double secs = t - cr->start;
    double rate = secs > 0.2 ? (double)(bytes - cr->bytes_skipped) / secs : 0;
    char done[16], total[16], speed[16], eta[32] = "";
    airlock_format_size(done, bytes);
    airlock_format_size(total, cr->bytes_total);
    airlock_format_size(speed, (uint64_t)rate);
    if (rate > 0 && cr->bytes_total > bytes) {
        unsigned long left = (unsigned long)((double)(cr->bytes_total - bytes) / rate + 0.5);
        snprintf(eta, sizeof(eta), ", ETA %lu:%02lu:%02lu", left / 3600, left / 60 % 60, left % 60);
    }
    char blob[64] = ""; /* the blob this event is about, and how far it is */
    if (p->digest && !strncmp(p->digest, "sha256:", 7) && p->total && strcmp(p->what, "plan"))
        snprintf(blob, sizeof(blob), " [%.19s %3u%%]", p->digest,
                 (unsigned)(p->done * 100 / p->total));
    cli_printf(stderr, "\r\033[K%-8s %zu/%zu blobs, %s of %s, %s/s%s, %zu manifests%s", p->what,
            cr->blobs_done, cr->blobs_total, done, total, speed, eta, cr->manifests, blob);
    cr->shown = 1;
}
