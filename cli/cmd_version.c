/* airlock version: the version, the commit it was built from and the versions of the
 * libraries it runs with (asked at run time, so a replaced .so shows). The one CLI file
 * that calls the dependencies directly, and only their version functions. */
#include "args.h"
#include "cli.h"

#include "airlock_build.h" /* AIRLOCK_GIT_COMMIT, written at build time (cmake/gitcommit.cmake) */

#include <archive.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mbedtls/version.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <zstd.h>

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "0.1.0"
#endif

static int json;

static const struct cli_opt opts[] = {
    CLI_OPT_JSON(&json, "print the versions as one JSON object"),
    CLI_OPT_END};
static const struct cli_opt *const tables[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f, "usage: airlock version [--json]\n"
               "\n"
               "Prints airlock's version, the git commit it was built from (\"unknown\" when\n"
               "built outside a git checkout) and the version of each library it runs with,\n"
               "as loaded now: libcurl (and its TLS backend), libarchive, zstd, mbedTLS,\n"
               "libsodium, OpenSSL, cJSON, libmicrohttpd and libyaml.\n"
               "\n"
               "options:\n");
    cli_opts_help(f, tables);
}

struct dep {
    const char *name;
    char version[96];
};

static size_t deps_get(struct dep *d)
{
    size_t n = 0;
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    d[n] = (struct dep){"libcurl", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s%s%s%s", cv->version,
             cv->ssl_version ? " (" : "", cv->ssl_version ? cv->ssl_version : "",
             cv->ssl_version ? ")" : "");
    /* "libarchive 3.7.2": the number only */
    const char *av = archive_version_string();
    d[n] = (struct dep){"libarchive", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s",
             strncmp(av, "libarchive ", 11) ? av : av + 11);
    d[n] = (struct dep){"zstd", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", ZSTD_versionString());
    char mb[18] = ""; /* mbedtls_version_get_string writes at most 9 bytes */
    mbedtls_version_get_string(mb);
    d[n] = (struct dep){"mbedTLS", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", mb);
    d[n] = (struct dep){"libsodium", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", sodium_version_string());
    /* "OpenSSL 3.0.17 1 Jul 2025": the number only */
    const char *ov = OpenSSL_version(OPENSSL_VERSION);
    if (!strncmp(ov, "OpenSSL ", 8))
        ov += 8;
    d[n] = (struct dep){"OpenSSL", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%.*s", (int)strcspn(ov, " "), ov);
    d[n] = (struct dep){"cJSON", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", cJSON_Version());
    d[n] = (struct dep){"libmicrohttpd", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", MHD_get_version());
    d[n] = (struct dep){"libyaml", ""};
    snprintf(d[n++].version, sizeof(d[0].version), "%s", yaml_get_version_string());
    return n;
}

int cmd_version(int argc, char **argv)
{
    int rc = cli_parse("version", argc, argv, tables, NULL, help);
    if (rc)
        return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
    struct dep d[16];
    size_t n = deps_get(d);
    if (json) {
        fputs("{\"version\":", stdout);
        cli_json_str(stdout, AIRLOCK_VERSION);
        fputs(",\"commit\":", stdout);
        cli_json_str(stdout, AIRLOCK_GIT_COMMIT);
        fputs(",\"libraries\":{", stdout);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? "," : "", stdout);
            cli_json_str(stdout, d[i].name);
            fputc(':', stdout);
            cli_json_str(stdout, d[i].version);
        }
        fputs("}}\n", stdout);
        return EXIT_OK;
    }
    cli_printf(stdout, "airlock %s\n", AIRLOCK_VERSION);
    cli_printf(stdout, "%-14s %s\n", "commit", AIRLOCK_GIT_COMMIT);
    for (size_t i = 0; i < n; i++)
        cli_printf(stdout, "%-14s %s\n", d[i].name, d[i].version);
    return EXIT_OK;
}
