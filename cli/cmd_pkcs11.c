/* pkcs11 tokens|keys, and loading token keys for every command that takes --key. */
#include "args.h"
#include "cli.h"
#include "airlock/pkcs11.h"
#include "airlock/sign.h"

#include <stdlib.h>
#include <string.h>

int cli_load_token_key(struct airlock_key **out, const char *s, int generate)
{
    struct airlock_pkcs11_uri u;
    struct airlock_error *err = NULL;
    struct airlock_buf pin = AIRLOCK_BUF_INIT(0);
    int rc = EXIT_OK;
    if (airlock_pkcs11_uri_parse(&u, s, &err)) {
        rc = cli_fail(err);
        goto out;
    }
    char what[200];
    if (u.token)
        snprintf(what, sizeof(what), "token '%.100s'", u.token);
    else
        snprintf(what, sizeof(what), "the token");
    if ((rc = cli_pin(&pin, &u, what)))
        goto out;
    if ((generate ? airlock_pkcs11_key_generate : airlock_pkcs11_key_open)(out, &u, pin.data,
                                                                           pin.len, &err))
        rc = cli_fail(err);
out:
    cli_password_release(&pin);
    airlock_pkcs11_uri_release(&u);
    return rc;
}

static const char *o_module, *o_token, *o_slot;
static int o_json;

static const struct cli_opt opts[] = {
    {CLI_STR, "module", 0, &o_module, "MODULE", "the PKCS#11 module (.so) to load", 0, 0, NULL},
    {CLI_STR, "token", 0, &o_token, "LABEL", "the token (keys)", 0, 0, NULL},
    {CLI_STR, "slot-id", 0, &o_slot, "N", "the slot (keys)", 0, 0, NULL},
    CLI_OPT_JSON(&o_json, "print JSON"),
    CLI_OPT_END};
static const struct cli_opt *const tables[] = {opts, NULL};

static void help(FILE *f)
{
    fprintf(f,
            "usage: airlock pkcs11 tokens [--module MODULE] [--json]\n"
            "       airlock pkcs11 keys [--module MODULE] [--token LABEL] [--slot-id N] [--json]\n"
            "       airlock pkcs11 keys 'pkcs11:token=LABEL?module-path=MODULE'\n"
            "\n"
            "Lists the slots and tokens of a PKCS#11 module (an HSM's, a smart card's or\n"
            "YubiKey's, SoftHSM's, or p11-kit's proxy), and the objects on a token, each with\n"
            "the key URI that --key takes. Keys are used where any command takes a key:\n"
            "  airlock sign --key 'pkcs11:token=release;object=airlock?module-path=M' BUNDLE\n"
            "  airlock public-key --key 'pkcs11:...' > release.pub\n"
            "  airlock keygen --key 'pkcs11:token=release;object=airlock?module-path=M'\n"
            "Key URIs are RFC 7512 as cosign writes them: path attributes token,\n"
            "manufacturer, model, serial, slot-id, object, id, type; query attributes\n"
            "module-path, pin-value, pin-source (a file). Values are percent-encoded.\n"
            "Only ECDSA P-256 keys sign; the private key never leaves the token.\n"
            "\n"
            "The module: the URI's module-path, else --module, else AIRLOCK_PKCS11_MODULE,\n"
            "else " AIRLOCK_PKCS11_DEFAULT_MODULE ". The PIN: the URI's pin-value or\n"
            "pin-source, else AIRLOCK_PKCS11_PIN, else a prompt on a terminal; it is never\n"
            "printed. 'keys' logs in when it has a PIN (private keys are listed only then).\n"
            "\n"
            "options:\n");
    cli_opts_help(f, tables);
    fprintf(f,
            "\n"
            "exit codes: 0 listed; 1 the module cannot be loaded, no such token, a token\n"
            "error; 2 bad usage or URI, a wrong or locked PIN (CKR_PIN_INCORRECT,\n"
            "CKR_PIN_LOCKED), a key that is not ECDSA P-256.\n");
}

static int tokens(const char *module, int json)
{
    struct airlock_pkcs11_token *t = NULL;
    size_t n = 0;
    struct airlock_error *err = NULL;
    if (airlock_pkcs11_tokens_list(&t, &n, module, &err))
        return cli_fail(err);
    if (json)
        cli_printf(stdout, "{\"module\":"), cli_json_str(stdout, module),
            cli_printf(stdout, ",\"slots\":[");
    else
        cli_printf(stdout, "%-10s %-32s %-20s %-16s %s\n", "SLOT", "TOKEN", "MANUFACTURER",
                   "SERIAL", "FLAGS");
    for (size_t i = 0; i < n; i++) {
        if (json) {
            cli_printf(stdout, "%s{\"slot-id\":%lu,\"description\":", i ? "," : "", t[i].slot_id);
            cli_json_str(stdout, t[i].slot);
            cli_printf(stdout, ",\"present\":%s", t[i].present ? "true" : "false");
            if (t[i].present) {
                cli_printf(stdout, ",\"token\":");
                cli_json_str(stdout, t[i].label);
                cli_printf(stdout, ",\"manufacturer\":");
                cli_json_str(stdout, t[i].manufacturer);
                cli_printf(stdout, ",\"model\":");
                cli_json_str(stdout, t[i].model);
                cli_printf(stdout, ",\"serial\":");
                cli_json_str(stdout, t[i].serial);
                cli_printf(stdout, ",\"initialized\":%s,\"loginRequired\":%s",
                           t[i].initialized ? "true" : "false",
                           t[i].login_required ? "true" : "false");
            }
            cli_printf(stdout, "}");
        } else if (!t[i].present)
            cli_printf(stdout, "%-10lu %-32s %-20s %-16s %s\n", t[i].slot_id, "-", "-", "-",
                       "no token");
        else
            cli_printf(stdout, "%-10lu %-32s %-20s %-16s %s%s\n", t[i].slot_id, t[i].label,
                       t[i].manufacturer, t[i].serial,
                       t[i].initialized ? "initialized" : "not-initialized",
                       t[i].login_required ? ",login" : "");
    }
    if (json)
        cli_printf(stdout, "]}\n");
    free(t);
    return EXIT_OK;
}

static int keys(struct airlock_pkcs11_uri *u, int json)
{
    struct airlock_buf pin = AIRLOCK_BUF_INIT(0);
    struct airlock_pkcs11_object *o = NULL;
    size_t n = 0;
    struct airlock_error *err = NULL;
    char what[200];
    snprintf(what, sizeof(what), "token '%.100s'", u->token ? u->token : "");
    int rc = cli_pin(&pin, u, what);
    if (rc)
        return rc;
    int have_pin = pin.data != NULL;
    rc = airlock_pkcs11_keys_list(&o, &n, u, pin.data, pin.len, &err);
    cli_password_release(&pin);
    if (rc)
        return cli_fail(err);
    if (json)
        cli_printf(stdout, "{\"objects\":[");
    else
        cli_printf(stdout, "%-12s %-30s %-20s %-34s %s\n", "CLASS", "TYPE", "LABEL", "ID", "URI");
    for (size_t i = 0; i < n; i++) {
        if (json) {
            cli_printf(stdout, "%s{\"class\":\"%s\",\"type\":\"%s\",\"label\":", i ? "," : "",
                       o[i].kind, o[i].key_type);
            cli_json_str(stdout, o[i].label);
            cli_printf(stdout, ",\"id\":\"%s\",\"uri\":", o[i].id_hex);
            cli_json_str(stdout, o[i].uri);
            if (!strcmp(o[i].kind, "private key"))
                cli_printf(stdout, ",\"sensitive\":%s,\"extractable\":%s,\"usable\":%s",
                           o[i].sensitive ? "true" : "false", o[i].extractable ? "true" : "false",
                           o[i].usable ? "true" : "false");
            cli_printf(stdout, "}");
        } else
            cli_printf(stdout, "%-12s %-30s %-20s %-34s %s\n", o[i].kind,
                       *o[i].key_type ? o[i].key_type : "-", *o[i].label ? o[i].label : "-",
                       *o[i].id_hex ? o[i].id_hex : "-", o[i].uri);
    }
    if (json)
        cli_printf(stdout, "]}\n");
    else if (!have_pin)
        cli_printf(stderr, "airlock: no PIN given: private keys are not listed (set "
                           "AIRLOCK_PKCS11_PIN or pin-value/pin-source in the URI)\n");
    airlock_pkcs11_objects_free(o, n);
    return EXIT_OK;
}

static int pkcs11_run(const struct cli_list *ins)
{
    if (!ins->n)
        return cli_usage_error("pkcs11", "missing 'tokens' or 'keys'");
    const char *sub = ins->v[0];
    if (!strcmp(sub, "tokens")) {
        if (ins->n > 1)
            return cli_usage_error("pkcs11", "unexpected argument '%s'", ins->v[1]);
        if (o_token || o_slot)
            return cli_usage_error("pkcs11", "--token and --slot-id are for 'keys'");
        return tokens(o_module ? o_module : airlock_pkcs11_module_of(NULL), o_json);
    }
    if (strcmp(sub, "keys"))
        return cli_usage_error("pkcs11", "unknown subcommand '%s' (tokens or keys)", sub);
    if (ins->n > 2)
        return cli_usage_error("pkcs11", "unexpected argument '%s'", ins->v[2]);
    struct airlock_pkcs11_uri u;
    struct airlock_error *err = NULL;
    int rc = EXIT_OK;
    if (airlock_pkcs11_uri_parse(&u, ins->n > 1 ? ins->v[1] : "pkcs11:", &err)) {
        rc = cli_fail(err);
        goto out;
    }
    /* options fill in what the URI leaves open; the URI wins otherwise */
    if (o_module && !u.module_path && !(u.module_path = strdup(o_module)))
        goto oom;
    if (o_token && !u.token && !(u.token = strdup(o_token)))
        goto oom;
    if (o_slot && !u.has_slot_id) {
        char *end;
        u.slot_id = strtoul(o_slot, &end, 10);
        if (!*o_slot || *end || *o_slot < '0' || *o_slot > '9') {
            rc = cli_usage_error("pkcs11", "--slot-id '%s' is not a slot number", o_slot);
            goto out;
        }
        u.has_slot_id = 1;
    }
    rc = keys(&u, o_json);
    goto out;
oom:
    rc = EXIT_FAILURE_OP;
out:
    airlock_pkcs11_uri_release(&u);
    return rc;
}

int cmd_pkcs11(int argc, char **argv)
{
    struct cli_list ins = {0};
    int rc = cli_parse("pkcs11", argc, argv, tables, &ins, help);
    if (!rc)
        rc = pkcs11_run(&ins);
    cli_list_release(&ins);
    return rc == CLI_PARSE_HELP ? EXIT_OK : rc;
}
