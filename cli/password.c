/* Passwords for key files, read the way cosign reads them: COSIGN_PASSWORD if set (its exact
 * value, empty allowed); otherwise a prompt without echo when stdin is a terminal (twice when
 * creating a key); otherwise all of stdin, unmodified. --password-file reads a file (one
 * trailing newline dropped). Never printed, wiped after use. */
#include "cli.h"
#include "airlock/sign.h"
#include "airlock/pkcs11.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAX_PASSWORD 65536

static int read_all(int fd, struct airlock_buf *b)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (airlock_buf_append(b, chunk, (size_t)n)) {
            airlock_wipe(chunk, sizeof(chunk));
            return -1;
        }
    }
    airlock_wipe(chunk, sizeof(chunk));
    return 0;
}

static int prompt(struct airlock_buf *b, const char *text)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return -1;
    struct termios old, quiet;
    int have = tcgetattr(tty, &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)!write(tty, text, strlen(text));
    int rc = 0;
    char c;
    for (;;) {
        ssize_t n = read(tty, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == '\n')
            break;
        if (airlock_buf_append(b, &c, 1)) {
            rc = -1;
            break;
        }
    }
    c = 0;
    if (have)
        tcsetattr(tty, TCSAFLUSH, &old);
    close(tty);
    return rc;
}

/* A buffer allocated at its cap up front: appends never realloc, so no copy of a secret is
 * left behind unwiped. */
static int secret_buf(struct airlock_buf *b)
{
    b->data = malloc(MAX_PASSWORD + 1);
    b->cap = MAX_PASSWORD + 1;
    b->len = 0;
    b->max = MAX_PASSWORD;
    if (b->data)
        b->data[0] = '\0';
    return b->data ? 0 : -1;
}

/* Two empty entries at the prompt: is an unprotected key meant? y/yes on the terminal. */
static int confirm_empty(const char *what)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return 0;
    char text[300], ans[8] = "";
    snprintf(text, sizeof(text), "The password is empty: anyone who copies %s can sign with it. "
                                 "Create it anyway? [y/N] ", what);
    (void)!write(tty, text, strlen(text));
    size_t n = 0;
    char c;
    while (read(tty, &c, 1) == 1 && c != '\n')
        if (n < sizeof(ans) - 1)
            ans[n++] = c;
    close(tty);
    return !strcmp(ans, "y") || !strcmp(ans, "Y") || !strcmp(ans, "yes");
}

int cli_secret_prompt(struct airlock_buf *out, const char *text)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(MAX_PASSWORD);
    if (secret_buf(&b)) {
        cli_printf(stderr, "airlock: error: out of memory\n");
        return EXIT_FAILURE_OP;
    }
    if (prompt(&b, text) || airlock_buf_append(&b, "", 0)) {
        cli_printf(stderr, "airlock: error: cannot read a password from the terminal\n");
        cli_password_release(&b);
        return EXIT_FAILURE_OP;
    }
    *out = b;
    return EXIT_OK;
}

int cli_password(struct airlock_buf *out, const char *file, int confirm, const char *what)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(MAX_PASSWORD);
    if (secret_buf(&b)) {
        cli_printf(stderr, "airlock: error: out of memory\n");
        return EXIT_FAILURE_OP;
    }
    const char *env = getenv("COSIGN_PASSWORD");
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_printf(stderr, "airlock: error: open password file '%s': %s\n", file, strerror(errno));
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
        int r = read_all(fd, &b);
        close(fd);
        if (r) {
            cli_printf(stderr, "airlock: error: read password file '%s' failed\n", file);
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
        if (b.len && b.data[b.len - 1] == '\n')
            b.data[--b.len] = '\0';
    } else if (env) {
        airlock_buf_append(&b, env, strlen(env));
    } else if (isatty(STDIN_FILENO)) {
        char text[200];
        snprintf(text, sizeof(text), "Enter password for %s: ", what);
        if (prompt(&b, text)) {
            cli_printf(stderr, "airlock: error: cannot read a password from the terminal\n");
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
        if (confirm) {
            struct airlock_buf again = AIRLOCK_BUF_INIT(MAX_PASSWORD);
            if (secret_buf(&again)) {
                cli_password_release(&b);
                return EXIT_FAILURE_OP;
            }
            snprintf(text, sizeof(text), "Enter password for %s again: ", what);
            int bad = prompt(&again, text) || again.len != b.len ||
                      (b.len && memcmp(again.data, b.data, b.len));
            cli_password_release(&again);
            if (bad) {
                cli_password_release(&b);
                cli_printf(stderr, "airlock: error: the passwords do not match\n");
                return EXIT_USAGE;
            }
            if (!b.len && !confirm_empty(what)) {
                cli_password_release(&b);
                cli_printf(stderr, "airlock: error: no key written: an empty password was not "
                                   "confirmed\n");
                return EXIT_USAGE;
            }
        }
    } else if (read_all(STDIN_FILENO, &b)) {
        cli_printf(stderr, "airlock: error: cannot read the password from stdin (longer than %d "
                        "bytes?)\n",
                MAX_PASSWORD);
        cli_password_release(&b);
        return EXIT_FAILURE_OP;
    } else if (confirm && !b.len) { /* cosign's rule: an empty password only on purpose */
        cli_password_release(&b);
        cli_printf(stderr, "airlock: error: refusing to encrypt '%s' with an empty password read "
                           "from stdin (no terminal, no COSIGN_PASSWORD): set COSIGN_PASSWORD= "
                           "(empty) to mean it\n", what);
        return EXIT_USAGE;
    }
    if (airlock_buf_append(&b, "", 0)) /* make sure data is allocated */
        return EXIT_FAILURE_OP;
    *out = b;
    return EXIT_OK;
}

void cli_password_release(struct airlock_buf *b)
{
    if (b->data)
        airlock_wipe(b->data, b->cap);
    airlock_buf_release(b);
}

/* Ask only for a token that wants a PIN; a token that is not there is reported by the
 * operation itself, before any prompt. */
static int token_needs_pin(const struct airlock_pkcs11_uri *u)
{
    int needs = 0;
    struct airlock_error *err = NULL;
    if (airlock_pkcs11_token_needs_pin(&needs, u, &err))
        needs = 0;
    airlock_error_free(err);
    return needs;
}

int cli_pin(struct airlock_buf *out, const struct airlock_pkcs11_uri *u, const char *what)
{
    struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_PKCS11_MAX_PIN);
    *out = b;
    if (secret_buf(&b)) {
        cli_printf(stderr, "airlock: error: out of memory\n");
        return EXIT_FAILURE_OP;
    }
    b.max = AIRLOCK_PKCS11_MAX_PIN;
    const char *env = getenv("AIRLOCK_PKCS11_PIN");
    int have = 1;
    if (u->pin_value) {
        airlock_buf_append(&b, u->pin_value, u->pin_value_len);
    } else if (u->pin_source) {
        int fd = open(u->pin_source, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_printf(stderr, "airlock: error: open PIN file '%s' (pin-source): %s\n",
                       u->pin_source, strerror(errno));
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
        int r = read_all(fd, &b);
        close(fd);
        if (r) {
            cli_printf(stderr, "airlock: error: read PIN file '%s' (pin-source) failed (longer "
                               "than %d bytes?)\n",
                       u->pin_source, AIRLOCK_PKCS11_MAX_PIN);
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
        if (b.len && b.data[b.len - 1] == '\n')
            b.data[--b.len] = '\0';
    } else if (env) {
        if (airlock_buf_append(&b, env, strlen(env))) {
            cli_printf(stderr, "airlock: error: AIRLOCK_PKCS11_PIN is longer than %d bytes\n",
                       AIRLOCK_PKCS11_MAX_PIN);
            cli_password_release(&b);
            return EXIT_USAGE;
        }
    } else if (isatty(STDIN_FILENO) && token_needs_pin(u)) {
        char text[300];
        snprintf(text, sizeof(text), "Enter PIN for %s: ", what);
        if (prompt(&b, text)) {
            cli_printf(stderr, "airlock: error: cannot read a PIN from the terminal\n");
            cli_password_release(&b);
            return EXIT_FAILURE_OP;
        }
    } else
        have = 0; /* the token may need none; if it does, the error says how to give one */
    if (!have) {
        cli_password_release(&b);
        return EXIT_OK;
    }
    if (airlock_buf_append(&b, "", 0))
        return EXIT_FAILURE_OP;
    *out = b;
    return EXIT_OK;
}
