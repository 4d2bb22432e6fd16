/* The airlock command: shared pieces of the subcommands. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include "args.h"
#include "airlock/layout.h"
#include "airlock/transfer.h"

#include <stdio.h>

/* Exit codes: the one table (cli_exit_for maps the library's codes to them; cli_exit_help
 * prints it for --help; README.md has the same). */
enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAILURE_OP = 1,  /* operational error: I/O, permissions, memory, network, a registry's
                           * refusal other than 401/403, a destination that exists and is not a
                           * bundle, not enough free space */
    EXIT_USAGE = 2,       /* bad command line or reference, wrong key password or PIN */
    EXIT_SIGNATURE = 3,   /* a signature did not verify */
    EXIT_INTEGRITY = 4,   /* missing, corrupt, malformed or unsafe content */
    EXIT_AUTH = 5,        /* a registry or its token server refused the credentials (401/403) */
    EXIT_INTERRUPTED = 130, /* SIGINT or SIGTERM: stopped, nothing half-written left */
};

/* cmd_attest.c: an image's attestations in verify's reports: ,"attestations":[...] (with
 * predicates: each verified one's predicate) for --json, and a checklist line per verified
 * one (text). */
void cli_att_json(const struct airlock_sig_image *im, int predicates);
void cli_att_text(const struct airlock_sig_image *im, FILE *f);

/* Prints "airlock: error: <msg>" to stderr (for AIRLOCK_ECANCELLED: "airlock: interrupted;
 * <what was kept>", see cli_interrupt_hint) and returns the exit code for err; the message
 * and code are kept for the --json failure object. Frees err. */
int cli_fail(struct airlock_error *err);
/* The library code's exit code (the one mapping). */
int cli_exit_for(int code);
/* The "exit codes:" block of the main --help, from the same table. */
void cli_exit_help(FILE *f);
/* What an interrupted run leaves: fn writes the rest of the line after "airlock: interrupted; "
 * (default: "nothing half-written was left; run the same command again"). */
void cli_interrupt_hint(void (*fn)(FILE *f, void *ctx), void *ctx);

/* -q and --json, the same for every command (args.c sets them as it parses):
 * -q: stderr carries only errors and warnings (no progress, plans, summaries or notices);
 *     stdout carries the results as without -q.
 * --json: stdout is one JSON document on success and on failure (cli_json_begin/end). */
int cli_quiet(void);
int cli_json(void);
void cli_set_quiet(void);
void cli_set_json(void);
/* main.c: stdout goes into a buffer until cli_json_end, which writes one JSON document to
 * the real stdout: the command's own object (with "ok" and, on failure, "exit" and "error"
 * added), or {"ok": false, "exit": N, "error": {"message", "code"}} when it left none or an
 * unfinished one. Returns rc. */
void cli_json_begin(void);
int cli_json_end(int rc);

/* For a failure a command explains on stderr in its own words: the message (and library
 * code) --json's failure object gives, unless an earlier failure already set one. */
void cli_fail_note(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a usage error for cmd and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when stdout is a terminal. */
int cli_stdout_tty(void);
/* n bytes of UTF-8 text that a terminal shows as they are: no controls (but newline, tab and
 * carriage return), no bidi or zero-width format characters, nothing that is not UTF-8 */
int cli_text_inert(const void *p, size_t n);
/* printf for every text line airlock writes: each %s argument is escaped (control
 * characters, escape sequences and bytes that are not UTF-8 become \n, \xHH, ...), so names
 * and messages from a bundle, a registry or an inbox cannot forge or repaint output lines.
 * Conversions: %s %c %d %u %x %ld %lu %lld %llu %zu %f and their flags and widths. */
int cli_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a JSON string literal (with quotes) to f. */
void cli_json_str(FILE *f, const char *s);

/* Reads a key password (see password.c); returns an exit code. Release with
 * cli_password_release, which wipes it. */
int cli_password(struct airlock_buf *out, const char *file, int confirm, const char *what);
void cli_password_release(struct airlock_buf *b);
/* Asks for a secret on the terminal without echo (text: the prompt); 0 and *out (release with
 * cli_password_release), or an exit code after printing why. */
int cli_secret_prompt(struct airlock_buf *out, const char *text);
/* Reads a whole small file (keys); returns an exit code, printing the error. */
int cli_read_file(char **out, size_t *len, const char *path, size_t max);
/* cosign's default key file (cosign.key, cosign.pub) when --key is not given: file if it
 * exists in the current directory (said on stderr), else NULL. Not from a directory others
 * can write or a file another user owns, and (inputs: the n bundle operands a public key is
 * to vouch for; NULL for a private key) not when a bundle lies at or below the current
 * directory or the current directory inside one: the key may have come with the bundle.
 * Refusals are said on stderr, and NULL returned. */
const char *cli_default_key(const char *cmd, const char *file, const char *const *inputs,
                            size_t n);
/* Reads a cosign public key file (cosign.pub); returns an exit code, printing the error. */
struct airlock_pubkey;
int cli_load_pubkey(struct airlock_pubkey **out, const char *path);
/* Loads a cosign private key file, asking for its password; returns an exit code. */
struct airlock_key;
int cli_load_key(struct airlock_key **out, const char *path, const char *password_file);
/* PKCS#11 token keys (cmd_pkcs11.c, password.c). cli_load_key takes a "pkcs11:" URI too.
 * cli_pin: the PIN from the URI's pin-value, its pin-source file, AIRLOCK_PKCS11_PIN or a
 * prompt on a terminal; out->data stays NULL when there is none. Wiped by
 * cli_password_release. generate: make the key pair on the token. */
struct airlock_pkcs11_uri;
int cli_pin(struct airlock_buf *out, const struct airlock_pkcs11_uri *u, const char *what);
int cli_load_token_key(struct airlock_key **out, const char *uri, int generate);
/* Parses "k=v" into a growing annotation list; returns an exit code. */
int cli_annotation_add(struct airlock_annotation **list, size_t *n, const char *kv,
                       const char *cmd);
void cli_annotations_free(struct airlock_annotation *list, size_t n);

/* ---- registry options (regopts.c; their parser table: args.h cli_registry_table) ---- */
/* The progress line of a command that moves or checks blobs: it counts every event (what an
 * interrupted run kept) and draws a bar on a terminal only (not with -q or --json). */
struct cli_bar {
    int draw, shown, final;
    double start, drawn;
    uint64_t bytes_total, bytes_done, bytes_skipped;
    size_t blobs_total, blobs_done, manifests, moved; /* moved: uploaded, downloaded, written */
    struct {
        char digest[AIRLOCK_DIGEST_SIZE];
        uint64_t done, total;
    } active[64];
    size_t n_active;
};
/* Starts counting (quiet: count, never draw). */
void cli_bar_start(struct cli_bar *b, int quiet);
/* An airlock_progress_fn; ctx is the struct cli_bar *. */
void cli_progress(void *ctx, const struct airlock_progress *p);
/* The bar's last state (the final counts) and a newline, if it was drawn; safe to call again. */
void cli_bar_end(struct cli_bar *b);

struct cli_registry {
    struct airlock_registry_opts o;
    struct cli_opt table[24]; /* the options bound to this struct (cli_registry_table) */
    int password_stdin, quiet, creds;
    char *password;
    char *creds_user; /* --creds USER[:PASS] */
    struct cli_bar bar; /* o.progress draws it */
};
/* Defaults for every registry setting; quiet: no progress line. */
void cli_registry_init(struct cli_registry *cr, int quiet);
int cli_registry_finish(struct cli_registry *cr, const char *cmd);
void cli_registry_release(struct cli_registry *cr);
/* A registry reference or DEST as given on the command line, without the "docker://" that
 * skopeo and podman write before one (the one place the CLI takes it off). */
const char *cli_registry_ref(const char *arg);
/* The one decision between a bundle path and an image in a registry, for every operand
 * that may be either (verify, sign): 1 when arg names an image in a registry. An existing
 * path is never one; "docker://X" always is; otherwise only a name whose first component
 * names a registry (has a '.' or a ':', or is "localhost") and that has a repository after
 * it with a tag or a digest, does not start with '.' or '/', and does not end like a bundle
 * file (.tar, .zst, .tar.zst, .tar.NNN of a split set): a missing directory bundle
 * "out.d/bundle" never becomes a request to host out.d. A short name (foo/bar, nginx:1.25) is never expanded
 * to Docker Hub: it is a bundle path, and a missing one is said as such. */
int cli_is_registry_ref(const char *arg);
/* After a bundle operand failed to open: when arg is missing and reads like a short image
 * name (foo/bar, nginx:1.25), one hint line on stderr that airlock does not expand short
 * names to Docker Hub (write docker.io/X or docker://X). */
void cli_short_name_hint(const char *arg);
/* A push/sync DEST is "host[:port][/prefix]": one with a tag or a digest names an image, and
 * would push every repository below a nonsense path; refused (exit 2, printed) explaining
 * --map. 0 when it is fine. */
int cli_dest_check(const char *cmd, const char *dest);
/* A DEST that already ends with the repository name of an image of bundle b
 * ("reg/library/nginx" for docker.io/library/nginx) would put it at DEST/library/nginx:
 * refused (exit 2, printed) explaining --map; 0 when fine, with --map (n_map > 0: the names
 * are the user's choice), or when b's catalog cannot be read (the command reports that).
 * push DEST and sign --to DEST both ask it, so that what sign names push can push. */
struct airlock_bundle;
int cli_dest_repeats(const char *cmd, struct airlock_bundle *b, const char *dest, size_t n_map);

/* ---- --policy (policy_out.c) ---- */
/* Reads a policy.json; returns an exit code, printing the error. */
int cli_policy_load(struct airlock_policy **out, const char *path);
/* ,"policy":{"file","ok","targets":[{image, digest, platform, manifest, ref, pulledBy, ok,
 * scope, error?, requirements:[{requirement, ok, reason}]}]} */
void cli_policy_json(const char *file, const struct airlock_policy_report *r);
/* "policy ok|FAILED <manifest> <ref> (platform)" per target on stdout, failures on stderr */
void cli_policy_text(const struct airlock_policy_report *r);

int cmd_push(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_public_key(int argc, char **argv);
int cmd_import_key_pair(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_attestations(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_pkcs11(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_inventory(int argc, char **argv);

#endif
