/* airlock serve: a bundle as a read-only registry, for the first registry inside an air gap. */
#include "args.h"
#include "cli.h"
#include "airlock/serve.h"
#include "airlock/sign.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct airlock_serve_opts so = AIRLOCK_SERVE_OPTS_INIT;
static struct airlock_sig_check_opts sc;
static struct cli_list maps;
static struct cli_annotations anns;
static const char *keyfile, *policyfile;
static int read_timeout, max_clients, allow_unsigned, json, quiet;

static const struct cli_opt opts[] = {
    {CLI_STR, "listen", 'l', &so.listen, "HOST:PORT",
     "address to listen on (default 127.0.0.1:5000; PORT 0-65535, 0 picks a free one; the "
     "address is printed on stderr)",
     0, 0, NULL},
    {CLI_STR, "tls-cert", 0, &so.tls_cert, "FILE",
     "serve HTTPS with this PEM certificate (chain)", 0, 0, NULL},
    {CLI_STR, "tls-key", 0, &so.tls_key, "FILE", "and this PEM private key", 0, 0, NULL},
    {CLI_STR, "prefix", 0, &so.prefix, "P", "serve every repository under P/ (as push DEST/P)",
     0, 0, NULL},
    CLI_OPT_MAP(&maps, "serve repository SRC (docker.io/library/nginx) as DST"),
    {CLI_STR, "key", 'k', &keyfile, "FILE",
     "cosign public key: serve only images whose signature verifies (as verify --key)", 0, 0,
     NULL},
    {CLI_STR, "policy", 0, &policyfile, "FILE",
     "a containers/image policy.json: serve only images that pass it, each platform, by tag "
     "and by digest, at --registry-name/PREFIX/path (as verify --policy)",
     0, 0, NULL},
    {CLI_STR, "registry-name", 0, &so.policy_host, "HOST[:PORT]",
     "the name clients pull from (with --policy)", 0, 0, NULL},
    {CLI_STR, "identity", 0, &sc.identity, "REF",
     "required signed docker-reference (as verify --identity)", 0, 0, NULL},
    CLI_OPT_ANNOTATION(&anns, "required signed annotation (repeatable)"),
    {CLI_FLAG, "allow-unsigned", 0, &allow_unsigned, NULL,
     "with --key: serve images with no signature at all too", 0, 0, NULL},
    {CLI_INT, "read-timeout", 0, &read_timeout, "SEC",
     "close a connection idle this long (default 60)", 1, 86400, NULL},
    {CLI_INT, "max-clients", 0, &max_clients, "N",
     "connections served at once, more wait (default 64)", 1, 86400, NULL},
    CLI_OPT_THREADS(&so.verify_threads, "hashing threads for the start check"),
    CLI_OPT_JSON(&json, "access log and start report as JSON lines"),
    CLI_OPT_QUIET(&quiet, "no access log (errors and cut-off responses still)"),
    CLI_OPT_END};
static const struct cli_opt *const tables[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock serve [options] BUNDLE\n"
            "       airlock serve [options] PART...  (the parts of one split set, any media)\n"
            "\n"
            "Serves a bundle as a read-only OCI registry (distribution-spec 1.1, pull side),\n"
            "straight from where it is: a directory, a .tar or a split set, read by offset,\n"
            "never extracted, nothing written. podman, skopeo, containerd and airlock export\n"
            "pull from it; names are the bundle's references as push maps them\n"
            "(docker.io/library/nginx:1.27 is library/nginx:1.27, with --prefix P it is\n"
            "P/library/nginx:1.27). Signatures (.sig tags), the sha256-<hex> referrers index\n"
            "and the referrers API (GET /v2/NAME/referrers/DIGEST, ?artifactType=) are served\n"
            "as the bundle carries them; every write answers 405.\n"
            "Before listening the bundle is verified as 'airlock verify' does (every blob,\n"
            "and with --key every image's signatures); a missing or corrupt blob refuses the\n"
            "start, and an image whose signatures fail is not served at all (named on stderr).\n"
            "While serving, every blob is hashed as it streams and its last bytes are sent\n"
            "only once the digest matched: a blob damaged after the start is cut off, never\n"
            "delivered whole, and the access log names it. A .tar.zst cannot be read by\n"
            "offset: make a .tar of it first (airlock import drop.tar.zst -o drop.tar).\n"
            "A delta bundle (export --have, --since) is refused: the layers it leaves out\n"
            "are only at the destination, push it there instead.\n"
            "One access log line per request on stderr (JSON with --json). SIGTERM or SIGINT\n"
            "stops it: no new connections, requests in flight get 10 seconds to finish.\n"
            "\n"
            "options:\n");
    cli_opts_help(f, tables);
    fprintf(f,
            "\n"
            "exit codes: 0 stopped by a signal, 1 operational error (cannot listen, a TLS\n"
            "file), 2 usage error (a .tar.zst, a delta bundle), 3 no image has a verifying\n"
            "signature (or passes the policy), 4 the bundle is missing, corrupt, malformed\n"
            "or unsafe content.\n");
}

struct logctx {
    int json, quiet;
};

static void iso_now(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void on_log(void *ctx, const struct airlock_serve_event *ev)
{
    const struct logctx *l = ctx;
    if (l->quiet && !ev->error)
        return;
    char t[64];
    iso_now(t);
    if (l->json) {
        cli_printf(stderr, "{\"time\":\"%s\",\"remote\":", t);
        cli_json_str(stderr, ev->remote);
        cli_printf(stderr, ",\"method\":");
        cli_json_str(stderr, ev->method);
        cli_printf(stderr, ",\"path\":");
        cli_json_str(stderr, ev->path);
        cli_printf(stderr, ",\"status\":%d,\"bytes\":%llu,\"seconds\":%.3f", ev->status,
                   (unsigned long long)ev->bytes, ev->seconds);
        if (ev->digest) {
            cli_printf(stderr, ",\"digest\":");
            cli_json_str(stderr, ev->digest);
        }
        if (ev->error) {
            cli_printf(stderr, ",\"error\":");
            cli_json_str(stderr, ev->error);
        }
        cli_printf(stderr, "}\n");
    } else
        cli_printf(stderr, "%s %s %s %s %d %llu %.3fs%s%s%s%s\n", t, ev->remote, ev->method,
                   ev->path, ev->status, (unsigned long long)ev->bytes, ev->seconds,
                   ev->digest ? " " : "", ev->digest ? ev->digest : "",
                   ev->error ? " error: " : "", ev->error ? ev->error : "");
    fflush(stderr);
}

static int serve_run(const struct cli_list *ins)
{
    struct logctx lc = {json, quiet};
    struct airlock_policy *pol = NULL;
    const char **map = maps.v;
    size_t n_map = maps.n, n_ann = anns.n;
    int rc = EXIT_OK;
    sc.allow_unsigned = allow_unsigned;
    if (read_timeout)
        so.read_timeout = (unsigned)read_timeout;
    if (max_clients)
        so.max_clients = (unsigned)max_clients;
    struct airlock_error *err = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_server *s = NULL;
    size_t n_im = 0;
    const struct airlock_serve_image *im = NULL;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    if (!ins->n) {
        rc = cli_usage_error("serve", "expected a BUNDLE (or the parts of one split set)");
        goto out;
    }
    if (!keyfile && (sc.identity || n_ann || sc.allow_unsigned)) {
        rc = cli_usage_error("serve", "--identity, -a and --allow-unsigned need --key");
        goto out;
    }
    if (policyfile && !so.policy_host) {
        rc = cli_usage_error("serve", "--policy needs --registry-name HOST[:PORT], the name "
                                      "clients pull from (the policy judges references with it)");
        goto out;
    }
    if (policyfile && (rc = cli_policy_load(&pol, policyfile)))
        goto out;
    so.policy = pol;
    if (!so.tls_cert != !so.tls_key) {
        rc = cli_usage_error("serve", "--tls-cert and --tls-key go together");
        goto out;
    }
    if (airlock_server_listen_check(so.listen, &err)) { /* before the bundle is read */
        rc = cli_fail(err);
        goto out;
    }
    for (size_t i = 0; i < ins->n; i++)
        if (airlock_format_for_path(ins->v[i]) == AIRLOCK_FORMAT_TAR_ZST) {
            cli_printf(stderr,
                       "airlock: error: '%s' is a compressed bundle, read only as a stream and "
                       "never by offset as a registry serves blobs; make a .tar of it first: "
                       "airlock import '%s' -o drop.tar\n",
                       ins->v[i], ins->v[i]);
            rc = EXIT_USAGE;
            goto out;
        }
    if (keyfile) {
        if ((rc = cli_load_pubkey(&pub, keyfile)))
            goto out;
        sc.key = pub;
        sc.annotations = anns.v;
        sc.n_annotations = n_ann;
        so.sig = &sc;
    }
    /* each log line leaves in one write (cli_printf writes piecewise): a reader of the log, a
     * journal or a test waiting for "listening on", never sees half a line */
    setvbuf(stderr, NULL, _IOLBF, 0);
    so.map = map;
    so.n_map = n_map;
    so.log = on_log;
    so.log_ctx = &lc;
    if (airlock_bundle_open_set(&b, ins->v, ins->n, 0, &err) ||
        airlock_server_new(&s, b, &so, &err)) {
        rc = cli_fail(err);
        if (ins->n == 1)
            cli_short_name_hint(ins->v[0]);
        goto out;
    }
    im = airlock_server_images(s, &n_im);
    for (size_t i = 0; i < n_im; i++) {
        if (lc.json) {
            cli_printf(stderr, "{\"event\":\"%s\",\"name\":", im[i].served ? "serve" : "skip");
            cli_json_str(stderr, im[i].name);
            cli_printf(stderr, ",\"digest\":\"%s\"", im[i].digest);
            if (im[i].why) {
                cli_printf(stderr, ",\"why\":");
                cli_json_str(stderr, im[i].why);
            }
            cli_printf(stderr, "}\n");
        } else if (im[i].served)
            cli_printf(stderr, "serving  %s %s\n", im[i].digest, im[i].name);
        else
            cli_printf(stderr, "airlock: warning: not serving '%s' (%s): %s\n", im[i].name,
                       im[i].digest, im[i].why ? im[i].why : "rejected");
    }
    /* the signals are taken here, by sigwait, not by handlers: every server thread inherits
     * the blocked mask */
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (airlock_server_start(s, &err)) {
        rc = cli_fail(err);
        goto out;
    }
    if (lc.json) {
        cli_printf(stderr, "{\"event\":\"listening\",\"address\":");
        cli_json_str(stderr, airlock_server_address(s));
        cli_printf(stderr, ",\"tls\":%s,\"bundle\":", airlock_server_tls(s) ? "true" : "false");
        cli_json_str(stderr, airlock_bundle_path(b));
        cli_printf(stderr, "}\n");
    } else
        cli_printf(stderr, "listening on %s://%s (bundle '%s', read-only)\n",
                   airlock_server_tls(s) ? "https" : "http", airlock_server_address(s),
                   airlock_bundle_path(b));
    fflush(stderr);
    sigwait(&set, &sig);
    if (lc.json)
        cli_printf(stderr, "{\"event\":\"stopping\",\"signal\":%d}\n", sig);
    else
        cli_printf(stderr, "stopping (signal %d): finishing requests in flight\n", sig);
    fflush(stderr);
    airlock_server_stop(s, 10);
    if (!lc.json)
        cli_printf(stderr, "stopped\n");
out:
    airlock_server_free(s);
    airlock_bundle_free(b);
    airlock_pubkey_free(pub);
    airlock_policy_free(pol);
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("serve", argc, argv, tables, &ins, help);
    if (!rc)
        rc = serve_run(&ins);
    cli_list_release(&ins);
    cli_list_release(&maps);
    cli_annotations_release(&anns);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
