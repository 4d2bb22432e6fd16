/* airlock serve: a bundle as a read-only registry, for the first registry inside an air gap. */
#include "cli.h"
#include "airlock/serve.h"
#include "airlock/sign.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
            "One access log line per request on stderr (JSON with --json). SIGTERM or SIGINT\n"
            "stops it: no new connections, requests in flight get 10 seconds to finish.\n"
            "\n"
            "options:\n"
            "  -l, --listen HOST:PORT  address to listen on (default 127.0.0.1:5000; port 0\n"
            "                          picks a free one; the address is printed on stderr)\n"
            "      --tls-cert FILE     serve HTTPS with this PEM certificate (chain)\n"
            "      --tls-key FILE      and this PEM private key\n"
            "      --prefix P          serve every repository under P/ (as push DEST/P)\n"
            "      --map SRC=DST       serve repository SRC (docker.io/library/nginx) as DST\n"
            "  -k, --key FILE          cosign public key: serve only images whose signature\n"
            "                          verifies (as verify --key)\n"
            "      --policy FILE       a containers/image policy.json: serve only images that\n"
            "                          pass it, each platform, by tag and by digest, at\n"
            "                          --registry-name/PREFIX/path (as verify --policy)\n"
            "      --registry-name HOST[:PORT]  the name clients pull from (with --policy)\n"
            "      --identity REF      required signed docker-reference (as verify --identity)\n"
            "  -a, --annotation K=V    required signed annotation (repeatable)\n"
            "      --allow-unsigned    with --key: serve images with no signature at all too\n"
            "      --read-timeout SEC  close a connection idle this long (default 60)\n"
            "      --max-clients N     connections served at once, more wait (default 64)\n"
            "  -j, --threads N         hashing threads for the start check\n"
            "      --json              access log and start report as JSON lines\n"
            "  -q, --quiet             no access log (errors and cut-off responses still)\n"
            "  -h, --help              show this help\n"
            "\n"
            "exit codes: 0 stopped by a signal, 1 operational error (cannot listen, a TLS\n"
            "file), 2 usage error (a .tar.zst), 3 no image has a verifying signature (or\n"
            "passes the policy),\n"
            "4 the bundle is missing, corrupt, malformed or unsafe content.\n");
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

int cmd_serve(int argc, char **argv)
{
    enum { O_TLSCERT = 1, O_TLSKEY, O_PREFIX, O_MAP, O_IDENT, O_UNSIGNED, O_TIMEOUT, O_MAXCL,
           O_JSON, O_POLICY, O_PHOST };
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"tls-cert", required_argument, NULL, O_TLSCERT},
                                         {"tls-key", required_argument, NULL, O_TLSKEY},
                                         {"prefix", required_argument, NULL, O_PREFIX},
                                         {"map", required_argument, NULL, O_MAP},
                                         {"key", required_argument, NULL, 'k'},
                                         {"policy", required_argument, NULL, O_POLICY},
                                         {"registry-name", required_argument, NULL, O_PHOST},
                                         {"identity", required_argument, NULL, O_IDENT},
                                         {"annotation", required_argument, NULL, 'a'},
                                         {"allow-unsigned", no_argument, NULL, O_UNSIGNED},
                                         {"read-timeout", required_argument, NULL, O_TIMEOUT},
                                         {"max-clients", required_argument, NULL, O_MAXCL},
                                         {"threads", required_argument, NULL, 'j'},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct airlock_serve_opts so = AIRLOCK_SERVE_OPTS_INIT;
    struct airlock_sig_check_opts sc;
    memset(&sc, 0, sizeof(sc));
    struct airlock_annotation *ann = NULL;
    size_t n_ann = 0, n_map = 0;
    const char **map = NULL;
    const char *keyfile = NULL, *policyfile = NULL;
    struct airlock_policy *pol = NULL;
    struct logctx lc = {0, 0};
    int c, rc = EXIT_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:a:j:qh", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'l':
            so.listen = optarg;
            break;
        case O_TLSCERT:
            so.tls_cert = optarg;
            break;
        case O_TLSKEY:
            so.tls_key = optarg;
            break;
        case O_PREFIX:
            so.prefix = optarg;
            break;
        case O_MAP: {
            if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1]) {
                free(map);
                cli_annotations_free(ann, n_ann);
                return cli_usage_error("serve", "--map wants SRC=DST, not '%s'", optarg);
            }
            const char **m = realloc(map, (n_map + 1) * sizeof(*m));
            if (!m) {
                free(map);
                cli_annotations_free(ann, n_ann);
                return EXIT_FAILURE_OP;
            }
            map = m;
            map[n_map++] = optarg;
            break;
        }
        case 'k':
            keyfile = optarg;
            break;
        case O_POLICY:
            policyfile = optarg;
            break;
        case O_PHOST:
            so.policy_host = optarg;
            break;
        case O_IDENT:
            sc.identity = optarg;
            break;
        case 'a': {
            int ar = cli_annotation_add(&ann, &n_ann, optarg, "serve");
            if (ar) {
                free(map);
                return ar;
            }
            break;
        }
        case O_UNSIGNED:
            sc.allow_unsigned = 1;
            break;
        case O_TIMEOUT:
        case O_MAXCL:
        case 'j':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > (c == 'j' ? 64 : 86400)) {
                free(map);
                cli_annotations_free(ann, n_ann);
                return cli_usage_error("serve", "bad value '%s' for --%s", optarg,
                                       c == 'j' ? "threads" : c == O_MAXCL ? "max-clients"
                                                                           : "read-timeout");
            }
            if (c == O_TIMEOUT)
                so.read_timeout = (unsigned)v;
            else if (c == O_MAXCL)
                so.max_clients = (unsigned)v;
            else
                so.verify_threads = (int)v;
            break;
        case O_JSON:
            lc.json = 1;
            break;
        case 'q':
            lc.quiet = 1;
            break;
        case 'h':
            free(map);
            cli_annotations_free(ann, n_ann);
            help(stdout);
            return EXIT_OK;
        default:
            free(map);
            cli_annotations_free(ann, n_ann);
            return cli_usage_error("serve", "invalid option");
        }
    }
    struct airlock_error *err = NULL;
    struct airlock_pubkey *pub = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_server *s = NULL;
    size_t n_im = 0;
    const struct airlock_serve_image *im = NULL;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    if (optind >= argc) {
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
    for (int i = optind; i < argc; i++)
        if (airlock_format_for_path(argv[i]) == AIRLOCK_FORMAT_TAR_ZST) {
            cli_printf(stderr,
                       "airlock: error: '%s' is a compressed bundle, read only as a stream and "
                       "never by offset as a registry serves blobs; make a .tar of it first: "
                       "airlock import '%s' -o drop.tar\n",
                       argv[i], argv[i]);
            rc = EXIT_USAGE;
            goto out;
        }
    if (keyfile) {
        char *pem = NULL;
        size_t len;
        if ((rc = cli_read_file(&pem, &len, keyfile, 65536)))
            goto out;
        int pr = airlock_pubkey_parse(&pub, pem, len, keyfile, &err);
        free(pem);
        if (pr) {
            rc = cli_fail(err);
            goto out;
        }
        sc.key = pub;
        sc.annotations = ann;
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
    if (airlock_bundle_open_set(&b, (const char *const *)argv + optind, (size_t)(argc - optind),
                                0, &err) ||
        airlock_server_new(&s, b, &so, &err)) {
        rc = cli_fail(err);
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
    cli_annotations_free(ann, n_ann);
    free(map);
    return rc;
}
