/* The PKCS#11 adapter: every PKCS#11 call of airlock lives in this file (RFC 7512 URIs, the
 * module loaded with dlopen, tokens, logins, key lookup, signing, key generation on the
 * token). The API comes from p11-kit's pkcs11.h (headers only; p11-kit is not linked, its
 * proxy module is just another module). The module is code the user chose to run; its
 * answers are still capped before they are allocated. A PIN never enters a message. */
#include "airlock/pkcs11.h"
#include "airlock/sign.h"
#include "core_int.h"

#include <ctype.h>
#include <errno.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <p11-kit/pkcs11.h>

#define MAX_ATTR 4096     /* one attribute value read from the module */
#define MAX_OBJECTS 1024  /* objects listed on one token */
#define MAX_SLOTS 256

/* ---- return values in words ------------------------------------------------------------- */

static const struct {
    CK_RV rv;
    const char *name, *words;
} rv_names[] = {
#define R(n, w) {n, #n, w}
    R(CKR_OK, NULL),
    R(CKR_CANCEL, "cancelled"),
    R(CKR_HOST_MEMORY, "the module ran out of memory"),
    R(CKR_SLOT_ID_INVALID, "no such slot"),
    R(CKR_GENERAL_ERROR, "the module failed"),
    R(CKR_FUNCTION_FAILED, "the module failed"),
    R(CKR_ARGUMENTS_BAD, "bad arguments"),
    R(CKR_ATTRIBUTE_SENSITIVE, "the attribute is sensitive"),
    R(CKR_ATTRIBUTE_TYPE_INVALID, "the object has no such attribute"),
    R(CKR_ATTRIBUTE_VALUE_INVALID, "an attribute value is invalid"),
    R(CKR_ACTION_PROHIBITED, "the action is prohibited"),
    R(CKR_DATA_INVALID, "invalid data"),
    R(CKR_DATA_LEN_RANGE, "data of the wrong length"),
    R(CKR_DEVICE_ERROR, "the device failed"),
    R(CKR_DEVICE_MEMORY, "the token is out of memory"),
    R(CKR_DEVICE_REMOVED, "the token was removed"),
    R(CKR_FUNCTION_CANCELED, "cancelled"),
    R(CKR_FUNCTION_NOT_SUPPORTED, "the module does not support this"),
    R(CKR_KEY_HANDLE_INVALID, "invalid key handle"),
    R(CKR_KEY_SIZE_RANGE, "key size not supported"),
    R(CKR_KEY_TYPE_INCONSISTENT, "the key does not fit the mechanism"),
    R(CKR_KEY_FUNCTION_NOT_PERMITTED, "the key may not be used to sign"),
    R(CKR_MECHANISM_INVALID, "the token does not support the mechanism"),
    R(CKR_MECHANISM_PARAM_INVALID, "bad mechanism parameters"),
    R(CKR_OBJECT_HANDLE_INVALID, "invalid object handle"),
    R(CKR_OPERATION_ACTIVE, "another operation is active"),
    R(CKR_OPERATION_NOT_INITIALIZED, "operation not initialized"),
    R(CKR_PIN_INCORRECT, "wrong PIN"),
    R(CKR_PIN_INVALID, "the PIN has invalid characters"),
    R(CKR_PIN_LEN_RANGE, "the PIN is too long or too short"),
    R(CKR_PIN_EXPIRED, "the PIN has expired"),
    R(CKR_PIN_LOCKED, "the PIN is locked (too many wrong tries)"),
    R(CKR_SESSION_CLOSED, "the session was closed"),
    R(CKR_SESSION_COUNT, "too many sessions"),
    R(CKR_SESSION_HANDLE_INVALID, "invalid session"),
    R(CKR_SESSION_READ_ONLY, "read-only session"),
    R(CKR_SESSION_EXISTS, "a session exists"),
    R(CKR_SESSION_READ_ONLY_EXISTS, "a read-only session exists"),
    R(CKR_SIGNATURE_INVALID, "invalid signature"),
    R(CKR_SIGNATURE_LEN_RANGE, "signature of the wrong length"),
    R(CKR_TEMPLATE_INCOMPLETE, "incomplete template"),
    R(CKR_TEMPLATE_INCONSISTENT, "inconsistent template"),
    R(CKR_TOKEN_NOT_PRESENT, "no token in the slot"),
    R(CKR_TOKEN_NOT_RECOGNIZED, "the token is not recognized"),
    R(CKR_TOKEN_WRITE_PROTECTED, "the token is write-protected"),
    R(CKR_USER_ALREADY_LOGGED_IN, "already logged in"),
    R(CKR_USER_NOT_LOGGED_IN, "not logged in: a PIN is needed"),
    R(CKR_USER_PIN_NOT_INITIALIZED, "the token's user PIN is not set"),
    R(CKR_USER_TYPE_INVALID, "invalid user type"),
    R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "another user is logged in"),
    R(CKR_RANDOM_NO_RNG, "the token has no random generator"),
    R(CKR_DOMAIN_PARAMS_INVALID, "the token does not support the curve"),
    R(CKR_CURVE_NOT_SUPPORTED, "the token does not support the curve"),
    R(CKR_BUFFER_TOO_SMALL, "buffer too small"),
    R(CKR_CRYPTOKI_NOT_INITIALIZED, "the module is not initialized"),
    R(CKR_CRYPTOKI_ALREADY_INITIALIZED, "the module is already initialized"),
    R(CKR_FUNCTION_REJECTED, "rejected"),
#undef R
};

const char *airlock_pkcs11_rv_name(unsigned long rv, char buf[24])
{
    for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    snprintf(buf, 24, "CKR_0x%lx", rv);
    return buf;
}

static const char *rv_words(CK_RV rv)
{
    for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].words;
    return NULL;
}

static int rv_code(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_MECHANISM_INVALID:
    case CKR_TOKEN_WRITE_PROTECTED:
        return AIRLOCK_EUSAGE;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:
    case CKR_DEVICE_REMOVED:
        return AIRLOCK_ENOTFOUND;
    default:
        return AIRLOCK_EOS;
    }
}

/* "<what>: C_Login: CKR_PIN_INCORRECT (wrong PIN)" */
static int rv_fail(struct airlock_error **err, CK_RV rv, const char *what, const char *fn)
{
    char buf[24];
    const char *w = rv_words(rv);
    return airlock_error_set(err, rv_code(rv), "%s: %s: %s%s%s%s", what, fn,
                             airlock_pkcs11_rv_name(rv, buf), w ? " (" : "", w ? w : "",
                             w ? ")" : "");
}

/* ---- RFC 7512 URIs ---------------------------------------------------------------------- */

int airlock_pkcs11_uri_is(const char *s)
{
    return s && !strncasecmp(s, "pkcs11:", 7);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a malloc'd buffer (NUL-terminated, not counted). binary: NUL
 * bytes allowed (id); otherwise refused. */
static int pct_decode(char **out, size_t *out_len, const char *s, size_t n, int binary,
                      const char *name, struct airlock_error **err)
{
    char *o = malloc(n + 1);
    if (!o)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                airlock_wipe(o, n + 1);
                free(o);
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: attribute '%s': bad percent-encoding",
                                         name);
            }
            c = (unsigned char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f) {
            airlock_wipe(o, n + 1);
            free(o);
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "pkcs11 URI: attribute '%s': a space, control or non-ASCII "
                                     "character must be percent-encoded",
                                     name);
        }
        if (!c && !binary) {
            airlock_wipe(o, n + 1);
            free(o);
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "pkcs11 URI: attribute '%s': a NUL byte (%%00) in a text "
                                     "value",
                                     name);
        }
        o[j++] = (char)c;
    }
    o[j] = '\0';
    *out = o;
    *out_len = j;
    return 0;
}

static int set_once(char **slot, const char *v, size_t n, int binary, const char *name,
                    size_t *len, struct airlock_error **err)
{
    if (*slot)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: attribute '%s' given twice",
                                 name);
    size_t l = 0;
    int rc = pct_decode(slot, &l, v, n, binary, name, err);
    if (!rc && len)
        *len = l;
    return rc;
}

static int uri_attr(struct airlock_pkcs11_uri *u, int query, const char *a, size_t n,
                    struct airlock_error **err)
{
    const char *eq = memchr(a, '=', n);
    char name[32];
    size_t nl = eq ? (size_t)(eq - a) : n;
    snprintf(name, sizeof(name), "%.*s", (int)(nl < 24 ? nl : 24), a);
    if (!eq || !nl)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "pkcs11 URI: '%s' is not an attribute=value pair", name);
    const char *v = eq + 1;
    size_t vl = n - nl - 1;
#define IS(s) (nl == strlen(s) && !memcmp(a, s, nl))
    if (!query) {
        if (IS("token"))
            return set_once(&u->token, v, vl, 0, name, NULL, err);
        if (IS("manufacturer"))
            return set_once(&u->manufacturer, v, vl, 0, name, NULL, err);
        if (IS("model"))
            return set_once(&u->model, v, vl, 0, name, NULL, err);
        if (IS("serial"))
            return set_once(&u->serial, v, vl, 0, name, NULL, err);
        if (IS("object"))
            return set_once(&u->object, v, vl, 0, name, NULL, err);
        if (IS("id"))
            return set_once((char **)&u->id, v, vl, 1, name, &u->id_len, err);
        if (IS("slot-id")) {
            if (u->has_slot_id)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: attribute 'slot-id' given twice");
            unsigned long x = 0;
            if (!vl || vl > 19)
                goto bad_slot;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    goto bad_slot;
                x = x * 10 + (unsigned long)(v[i] - '0');
            }
            u->has_slot_id = 1;
            u->slot_id = x;
            return 0;
        bad_slot:
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "pkcs11 URI: slot-id '%.*s' is not a decimal slot number",
                                     (int)(vl < 24 ? vl : 24), v);
        }
        if (IS("type")) {
            if ((vl == 7 && !memcmp(v, "private", 7)) || (vl == 6 && !memcmp(v, "public", 6)))
                return 0; /* the key pair either way */
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "pkcs11 URI: type '%.*s': airlock uses key pairs "
                                     "(type=private or type=public)",
                                     (int)(vl < 24 ? vl : 24), v);
        }
    } else {
        if (IS("module-path"))
            return set_once(&u->module_path, v, vl, 0, name, NULL, err);
        if (IS("pin-value")) {
            if (u->pin_source)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: pin-value and pin-source both given");
            return set_once(&u->pin_value, v, vl, 0, name, &u->pin_value_len, err);
        }
        if (IS("pin-source")) {
            if (u->pin_value)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: pin-value and pin-source both given");
            int rc = set_once(&u->pin_source, v, vl, 0, name, NULL, err);
            if (rc)
                return rc;
            const char *p = u->pin_source;
            if (!strncmp(p, "file://", 7))
                p += 7;
            else if (!strncmp(p, "file:", 5))
                p += 5;
            if (*p == '|' || !*p)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: pin-source must name a file (a program "
                                         "'|...' is not run)");
            memmove(u->pin_source, p, strlen(p) + 1);
            return 0;
        }
        if (IS("module-name"))
            return airlock_error_set(err, AIRLOCK_EUSAGE,
                                     "pkcs11 URI: module-name is not supported; give "
                                     "module-path=/path/to/module.so");
    }
#undef IS
    return airlock_error_set(err, AIRLOCK_EUSAGE,
                             "pkcs11 URI: unknown %s attribute '%s' (airlock takes token, "
                             "manufacturer, model, serial, slot-id, object, id, type; query "
                             "module-path, pin-value, pin-source)",
                             query ? "query" : "path", name);
}

int airlock_pkcs11_uri_parse(struct airlock_pkcs11_uri *out, const char *s,
                             struct airlock_error **err)
{
    memset(out, 0, sizeof(*out));
    if (!airlock_pkcs11_uri_is(s))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "not a pkcs11: URI");
    size_t n = strnlen(s, AIRLOCK_PKCS11_MAX_URI + 1);
    if (n > AIRLOCK_PKCS11_MAX_URI)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI longer than %u bytes",
                                 AIRLOCK_PKCS11_MAX_URI);
    const char *p = s + 7, *end = s + n;
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;
    if (memchr(p, '#', (size_t)(end - p)))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: a fragment ('#') is not allowed");
    /* path: attributes separated by ';' */
    while (p < path_end) {
        const char *e = memchr(p, ';', (size_t)(path_end - p));
        if (!e)
            e = path_end;
        if (e == p)
            return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: empty path attribute");
        int rc = uri_attr(out, 0, p, (size_t)(e - p), err);
        if (rc)
            return rc;
        p = e < path_end ? e + 1 : e;
        if (e < path_end && p == path_end)
            return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: empty path attribute");
    }
    if (q) {
        p = q + 1;
        if (p == end)
            return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: empty query");
        while (p < end) {
            const char *e = memchr(p, '&', (size_t)(end - p));
            if (!e)
                e = end;
            if (e == p)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: empty query attribute");
            int rc = uri_attr(out, 1, p, (size_t)(e - p), err);
            if (rc)
                return rc;
            p = e < end ? e + 1 : e;
            if (e < end && p == end)
                return airlock_error_set(err, AIRLOCK_EUSAGE,
                                         "pkcs11 URI: empty query attribute");
        }
    }
    if (out->pin_value && out->pin_value_len > AIRLOCK_PKCS11_MAX_PIN)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "pkcs11 URI: pin-value longer than %u bytes",
                                 AIRLOCK_PKCS11_MAX_PIN);
    return 0;
}

void airlock_pkcs11_uri_release(struct airlock_pkcs11_uri *u)
{
    if (!u)
        return;
    if (u->pin_value)
        airlock_wipe(u->pin_value, u->pin_value_len);
    free(u->pin_value);
    free(u->token);
    free(u->manufacturer);
    free(u->model);
    free(u->serial);
    free(u->object);
    free(u->id);
    free(u->module_path);
    free(u->pin_source);
    memset(u, 0, sizeof(*u));
}

const char *airlock_pkcs11_module_of(const struct airlock_pkcs11_uri *u)
{
    if (u && u->module_path)
        return u->module_path;
    const char *e = getenv("AIRLOCK_PKCS11_MODULE");
    return e && *e ? e : AIRLOCK_PKCS11_DEFAULT_MODULE;
}

/* ---- the module ------------------------------------------------------------------------- */

/* One loaded module per library, shared by every open key and listing of this process and
 * counted: C_Finalize only when the last user lets go, so one key's free never pulls the
 * module out from under another's session (a second C_Initialize would only say
 * CKR_CRYPTOKI_ALREADY_INITIALIZED). */
struct mod {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    int finalize;
    unsigned refs;
    struct mod *next;
};
static pthread_mutex_t mods_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mod *mods;

struct p11 {
    struct mod *mod;
    CK_FUNCTION_LIST_PTR f;
    char what[300]; /* "module '<path>'" */
};

static int mod_load(struct mod **out, const char *path, const char *what,
                    struct airlock_error **err)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        return airlock_error_set(err, AIRLOCK_ENOTFOUND, "load PKCS#11 module '%s': %s", path,
                                 e ? e : "dlopen failed");
    }
    for (struct mod *m = mods; m; m = m->next)
        if (m->dl == dl) {
            dlclose(dl); /* the same library under another name: one reference is enough */
            m->refs++;
            *out = m;
            return 0;
        }
    CK_C_GetFunctionList gfl = NULL;
    *(void **)&gfl = dlsym(dl, "C_GetFunctionList");
    if (!gfl) {
        dlclose(dl);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "'%s' is not a PKCS#11 module (no C_GetFunctionList)", path);
    }
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_RV rv = gfl(&f);
    if (rv != CKR_OK || !f) {
        dlclose(dl);
        return rv_fail(err, rv, what, "C_GetFunctionList");
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = f->C_Initialize(&args);
    int finalize = rv == CKR_OK;
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
        rv = CKR_OK; /* someone else in this process owns it: leave it initialized */
    if (rv != CKR_OK) {
        dlclose(dl);
        return rv_fail(err, rv, what, "C_Initialize");
    }
    struct mod *m = calloc(1, sizeof(*m));
    if (!m) {
        if (finalize)
            f->C_Finalize(NULL);
        dlclose(dl);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    m->dl = dl;
    m->f = f;
    m->finalize = finalize;
    m->refs = 1;
    m->next = mods;
    mods = m;
    *out = m;
    return 0;
}

static int p11_open(struct p11 *p, const char *path, struct airlock_error **err)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->what, sizeof(p->what), "module '%s'", path);
    pthread_mutex_lock(&mods_lock);
    int rc = mod_load(&p->mod, path, p->what, err);
    pthread_mutex_unlock(&mods_lock);
    if (!rc)
        p->f = p->mod->f;
    return rc;
}

static void p11_close(struct p11 *p)
{
    struct mod *m = p->mod;
    if (!m)
        return;
    p->mod = NULL;
    pthread_mutex_lock(&mods_lock);
    if (--m->refs == 0) {
        for (struct mod **pp = &mods; *pp; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        free(m);
    }
    pthread_mutex_unlock(&mods_lock);
}

/* A blank-padded CK_UTF8CHAR field as a C string. */
static void field(char *o, const unsigned char *f, size_t n)
{
    while (n && (f[n - 1] == ' ' || f[n - 1] == '\0'))
        n--;
    memcpy(o, f, n);
    o[n] = '\0';
}

struct tok {
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    char label[33], manufacturer[33], model[17], serial[17];
    char what[120]; /* "token 'release'" */
};

static void tok_fill(struct tok *t)
{
    field(t->label, t->info.label, 32);
    field(t->manufacturer, t->info.manufacturerID, 32);
    field(t->model, t->info.model, 16);
    field(t->serial, t->info.serialNumber, 16);
    snprintf(t->what, sizeof(t->what), "token '%s'", t->label);
}

static int tok_matches(const struct tok *t, const struct airlock_pkcs11_uri *u)
{
    return (!u->token || !strcmp(u->token, t->label)) &&
           (!u->manufacturer || !strcmp(u->manufacturer, t->manufacturer)) &&
           (!u->model || !strcmp(u->model, t->model)) &&
           (!u->serial || !strcmp(u->serial, t->serial));
}

/* What the URI asks for, for messages: "token 'release'", "slot 3", "any token". */
static void want_what(char *o, size_t n, const struct airlock_pkcs11_uri *u)
{
    if (u->token)
        snprintf(o, n, "token '%s'", u->token);
    else if (u->serial)
        snprintf(o, n, "token with serial '%s'", u->serial);
    else if (u->has_slot_id)
        snprintf(o, n, "the token in slot %lu", u->slot_id);
    else
        snprintf(o, n, "a token");
}

static int slot_list(struct p11 *m, CK_SLOT_ID **out, CK_ULONG *n, CK_BBOOL present,
                     struct airlock_error **err)
{
    CK_ULONG c = 0;
    CK_RV rv = m->f->C_GetSlotList(present, NULL, &c);
    if (rv != CKR_OK)
        return rv_fail(err, rv, m->what, "C_GetSlotList");
    if (c > MAX_SLOTS)
        return airlock_error_set(err, AIRLOCK_EOS, "%s: %lu slots (at most %d)", m->what, c,
                                 MAX_SLOTS);
    CK_SLOT_ID *s = calloc(c ? c : 1, sizeof(*s));
    if (!s)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    rv = m->f->C_GetSlotList(present, s, &c);
    if (rv != CKR_OK) {
        free(s);
        return rv_fail(err, rv, m->what, "C_GetSlotList");
    }
    *out = s;
    *n = c;
    return 0;
}

/* The one token u matches. */
static int tok_find(struct tok *t, struct p11 *m, const struct airlock_pkcs11_uri *u,
                    struct airlock_error **err)
{
    char want[160];
    want_what(want, sizeof(want), u);
    memset(t, 0, sizeof(*t));
    if (u->has_slot_id) {
        t->slot = u->slot_id;
        CK_RV rv = m->f->C_GetTokenInfo(t->slot, &t->info);
        if (rv != CKR_OK) {
            char what[600];
            snprintf(what, sizeof(what), "%s (slot %lu of %s)", want, u->slot_id, m->what);
            return rv_fail(err, rv, what, "C_GetTokenInfo");
        }
        tok_fill(t);
        if (!tok_matches(t, u))
            return airlock_error_set(err, AIRLOCK_ENOTFOUND,
                                     "%s: slot %lu holds token '%s' instead (%s)", want,
                                     u->slot_id, t->label, m->what);
        return 0;
    }
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    int rc = slot_list(m, &slots, &n, CK_TRUE, err);
    if (rc)
        return rc;
    size_t found = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        struct tok c;
        memset(&c, 0, sizeof(c));
        c.slot = slots[i];
        if (m->f->C_GetTokenInfo(c.slot, &c.info) != CKR_OK)
            continue;
        tok_fill(&c);
        if (!tok_matches(&c, u))
            continue;
        if (found++ == 0)
            *t = c;
    }
    free(slots);
    if (!found)
        return airlock_error_set(err, AIRLOCK_ENOTFOUND,
                                 "%s: CKR_TOKEN_NOT_PRESENT (no such token in %s; 'airlock "
                                 "pkcs11 tokens' lists them)",
                                 want, m->what);
    if (found > 1)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "%s: %zu tokens match in %s; name one with slot-id= or serial=",
                                 want, found, m->what);
    return 0;
}

/* A session on t, logged in as the user when the token wants it (pin NULL: none given); what
 * names the key (or the token) in messages. */
static int tok_login(CK_SESSION_HANDLE *s, struct p11 *m, const struct tok *t, int rw,
                     const char *pin, size_t pin_len, int required, const char *what,
                     struct airlock_error **err)
{
    CK_RV rv = m->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL,
                                   NULL, s);
    if (rv != CKR_OK)
        return rv_fail(err, rv, what, "C_OpenSession");
    if (!(t->info.flags & CKF_LOGIN_REQUIRED) && !pin)
        return 0;
    if (!pin && !(t->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
        if (!required)
            return 0;
        m->f->C_CloseSession(*s);
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "%s needs a PIN and none was given (pin-value or pin-source "
                                 "in the URI, AIRLOCK_PKCS11_PIN, or a terminal prompt)",
                                 what);
    }
    if (pin_len > AIRLOCK_PKCS11_MAX_PIN) {
        m->f->C_CloseSession(*s);
        return airlock_error_set(err, AIRLOCK_EUSAGE, "%s: PIN longer than %u bytes", what,
                                 AIRLOCK_PKCS11_MAX_PIN);
    }
    rv = m->f->C_Login(*s, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin ? (CK_ULONG)pin_len : 0);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        m->f->C_CloseSession(*s);
        return rv_fail(err, rv, what, "C_Login");
    }
    return 0;
}

/* Reads one attribute into a malloc'd buffer (NUL-terminated, not counted); rc 1 when the
 * object has no such attribute or it is sensitive. */
static int attr_get(unsigned char **out, size_t *len, struct p11 *m, CK_SESSION_HANDLE s,
                    CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, const char *what,
                    struct airlock_error **err)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = m->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        (rv == CKR_OK && a.ulValueLen == (CK_ULONG)-1))
        return 1;
    if (rv != CKR_OK)
        return rv_fail(err, rv, what, "C_GetAttributeValue");
    if (a.ulValueLen > MAX_ATTR)
        return airlock_error_set(err, AIRLOCK_EOS,
                                 "%s: attribute 0x%lx of %lu bytes (at most %d)", what, type,
                                 a.ulValueLen, MAX_ATTR);
    CK_ULONG cap = a.ulValueLen;
    unsigned char *v = calloc(1, cap + 1);
    if (!v)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    a.pValue = v;
    rv = m->f->C_GetAttributeValue(s, o, &a, 1);
    /* a module must not report more than the buffer it was given: never trusted to */
    if (rv != CKR_OK || a.ulValueLen > cap) {
        free(v);
        return rv == CKR_OK ? airlock_error_set(err, AIRLOCK_EOS, "%s: attribute changed size", what)
                            : rv_fail(err, rv, what, "C_GetAttributeValue");
    }
    v[a.ulValueLen] = 0;
    *out = v;
    *len = a.ulValueLen;
    return 0;
}

static int attr_ulong(CK_ULONG *v, struct p11 *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                      CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};
    return m->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && a.ulValueLen == sizeof(*v) ? 0 : 1;
}

static int attr_bool(CK_BBOOL *v, struct p11 *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};
    return m->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && a.ulValueLen == sizeof(*v) ? 0 : 1;
}

/* Up to max objects matching the template. */
static int find(CK_OBJECT_HANDLE *h, CK_ULONG *n, CK_ULONG max, struct p11 *m,
                CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG nt, const char *what,
                struct airlock_error **err)
{
    CK_RV rv = m->f->C_FindObjectsInit(s, tmpl, nt);
    if (rv != CKR_OK)
        return rv_fail(err, rv, what, "C_FindObjectsInit");
    *n = 0;
    rv = m->f->C_FindObjects(s, h, max, n);
    m->f->C_FindObjectsFinal(s);
    if (rv != CKR_OK)
        return rv_fail(err, rv, what, "C_FindObjects");
    if (*n > max)
        *n = max;
    return 0;
}

/* DER of the P-256 OID, as CKA_EC_PARAMS holds it */
static const unsigned char p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static const char *key_type_name(CK_ULONG kt, const unsigned char *params, size_t pl)
{
    switch (kt) {
    case CKK_EC:
        return params && pl == sizeof(p256_oid) && !memcmp(params, p256_oid, pl)
                   ? "EC P-256"
                   : "EC (a curve other than P-256)";
    case CKK_RSA:
        return "RSA";
    case CKK_DSA:
        return "DSA";
    case CKK_DH:
        return "DH";
#ifdef CKK_EC_EDWARDS
    case CKK_EC_EDWARDS:
        return "EdDSA";
#endif
    case CKK_AES:
        return "AES";
    default:
        return "another type";
    }
}

/* CKA_EC_POINT: a DER OCTET STRING around 04||X||Y (some modules give it bare). */
static int ec_point(unsigned char out[65], const unsigned char *v, size_t n)
{
    if (n == 67 && v[0] == 0x04 && v[1] == 65 && v[2] == 0x04) {
        memcpy(out, v + 2, 65);
        return 0;
    }
    if (n == 65 && v[0] == 0x04) {
        memcpy(out, v, 65);
        return 0;
    }
    return -1;
}

/* ---- token keys -------------------------------------------------------------------------- */

struct pkcs11_key {
    struct p11 m;
    CK_SESSION_HANDLE s;
    int have_session;
    CK_OBJECT_HANDLE key;
    char *pin; /* kept only for CKA_ALWAYS_AUTHENTICATE keys, wiped on free */
    size_t pin_len;
    pthread_mutex_t lock;
    char what[300]; /* "key 'airlock' on token 'release'" */
};

void pkcs11_key_free(struct pkcs11_key *t)
{
    if (!t)
        return;
    if (t->have_session) /* closing the application's last session on a token logs out;
                            no C_Logout, which would log out another key's session too */
        t->m.f->C_CloseSession(t->s);
    p11_close(&t->m);
    if (t->pin) {
        airlock_wipe(t->pin, t->pin_len);
        free(t->pin);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int pkcs11_key_sign_raw(unsigned char raw[64], struct pkcs11_key *t, const unsigned char hash[32],
                        struct airlock_error **err)
{
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    unsigned char sig[256];
    CK_ULONG sl = sizeof(sig);
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    CK_RV rv = t->m.f->C_SignInit(t->s, &mech, t->key);
    if (rv != CKR_OK) {
        rc = rv_fail(err, rv, t->what, "C_SignInit");
        goto out;
    }
    if (t->pin) {
        rv = t->m.f->C_Login(t->s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)t->pin,
                             (CK_ULONG)t->pin_len);
        if (rv != CKR_OK) {
            rc = rv_fail(err, rv, t->what, "C_Login (for the signature)");
            goto out;
        }
    }
    rv = t->m.f->C_Sign(t->s, (CK_BYTE_PTR)hash, 32, sig, &sl);
    if (rv != CKR_OK) {
        rc = rv_fail(err, rv, t->what, "C_Sign");
        goto out;
    }
    if (sl != 64) {
        rc = airlock_error_set(err, AIRLOCK_EOS,
                               "%s: C_Sign gave %lu bytes, not a P-256 r||s (64)", t->what, sl);
        goto out;
    }
    memcpy(raw, sig, 64);
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

static struct pkcs11_key *key_new(void)
{
    struct pkcs11_key *t = calloc(1, sizeof(*t));
    if (t)
        pthread_mutex_init(&t->lock, NULL);
    return t;
}

/* The public point of the key pair: a public key object with the same CKA_ID (else label),
 * else CKA_EC_POINT on the private key itself. */
static int find_point(unsigned char point[65], struct pkcs11_key *t, const unsigned char *id,
                      size_t id_len, const char *label, struct airlock_error **err)
{
    CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[2] = {{CKA_CLASS, &pub, sizeof(pub)}, {0, NULL, 0}};
    if (id && id_len)
        tmpl[1] = (CK_ATTRIBUTE){CKA_ID, (void *)id, (CK_ULONG)id_len};
    else if (label)
        tmpl[1] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    int rc = 0;
    if (tmpl[1].type || tmpl[1].pValue)
        rc = find(h, &n, 2, &t->m, t->s, tmpl, 2, t->what, err);
    if (rc)
        return rc;
    CK_OBJECT_HANDLE from[2] = {n == 1 ? h[0] : CK_INVALID_HANDLE, t->key};
    for (int i = 0; i < 2; i++) {
        if (from[i] == CK_INVALID_HANDLE)
            continue;
        unsigned char *v = NULL;
        size_t vl = 0;
        rc = attr_get(&v, &vl, &t->m, t->s, from[i], CKA_EC_POINT, t->what, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            int bad = ec_point(point, v, vl);
            free(v);
            if (!bad)
                return 0;
        }
    }
    return airlock_error_set(err, AIRLOCK_ENOTFOUND,
                             "%s: no public key (CKA_EC_POINT) found for it: put the public key "
                             "object on the token with the same id",
                             t->what);
}

static int key_check_type(struct pkcs11_key *t, CK_OBJECT_HANDLE o, struct airlock_error **err)
{
    CK_ULONG kt = (CK_ULONG)-1;
    unsigned char *params = NULL;
    size_t pl = 0;
    if (attr_ulong(&kt, &t->m, t->s, o, CKA_KEY_TYPE))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "%s: the module gives no CKA_KEY_TYPE",
                                 t->what);
    if (kt == CKK_EC) {
        int rc = attr_get(&params, &pl, &t->m, t->s, o, CKA_EC_PARAMS, t->what, err);
        if (rc < 0)
            return rc;
    }
    const char *name = key_type_name(kt, params, pl);
    free(params);
    if (strcmp(name, "EC P-256"))
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "%s is an %s key; airlock signs with ECDSA P-256 keys only "
                                 "(pkcs11-tool --keypairgen --key-type EC:prime256v1, or "
                                 "airlock keygen --key pkcs11:...)",
                                 t->what, name);
    CK_BBOOL sign = CK_TRUE;
    if (!attr_bool(&sign, &t->m, t->s, o, CKA_SIGN) && !sign)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "%s may not sign (CKA_SIGN is false)",
                                 t->what);
    return 0;
}

static void key_what(struct pkcs11_key *t, const struct airlock_pkcs11_uri *u, const struct tok *tk)
{
    if (u->object)
        snprintf(t->what, sizeof(t->what), "key '%s' on %s", u->object, tk->what);
    else if (u->id) {
        char hex[2 * 32 + 1];
        size_t i;
        for (i = 0; i < u->id_len && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", u->id[i]);
        hex[2 * i] = '\0';
        snprintf(t->what, sizeof(t->what), "key id %s on %s", hex, tk->what);
    } else
        snprintf(t->what, sizeof(t->what), "the key on %s", tk->what);
}

static int key_start(struct pkcs11_key **out, struct tok *tk, const struct airlock_pkcs11_uri *u,
                     int rw, const char *pin, size_t pin_len, struct airlock_error **err)
{
    struct pkcs11_key *t = key_new();
    if (!t)
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    int rc = p11_open(&t->m, airlock_pkcs11_module_of(u), err);
    if (!rc)
        rc = tok_find(tk, &t->m, u, err);
    if (!rc) {
        key_what(t, u, tk);
        rc = tok_login(&t->s, &t->m, tk, rw, pin, pin_len, 1, t->what, err);
    }
    if (rc) {
        pkcs11_key_free(t);
        return rc;
    }
    t->have_session = 1;
    *out = t;
    return 0;
}

int airlock_pkcs11_key_open(struct airlock_key **out, const struct airlock_pkcs11_uri *u,
                            const char *pin, size_t pin_len, struct airlock_error **err)
{
    struct pkcs11_key *t = NULL;
    struct tok tk;
    int rc = key_start(&t, &tk, u, 0, pin, pin_len, err);
    if (rc)
        return rc;
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &priv, sizeof(priv)}};
    CK_ULONG nt = 1;
    if (u->object)
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, u->object, (CK_ULONG)strlen(u->object)};
    if (u->id)
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, u->id, (CK_ULONG)u->id_len};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    unsigned char point[65];
    unsigned char *id = NULL;
    size_t id_len = 0, ll = 0;
    char *label = NULL;
    CK_BBOOL always = CK_FALSE;
    if ((rc = find(h, &n, 2, &t->m, t->s, tmpl, nt, t->what, err)))
        goto out;
    if (n == 0) {
        rc = airlock_error_set(err, AIRLOCK_ENOTFOUND,
                               "%s: no such private key ('airlock pkcs11 keys' lists them)",
                               t->what);
        goto out;
    }
    if (n > 1) {
        rc = airlock_error_set(err, AIRLOCK_EUSAGE,
                               "%s: several private keys match; name one with object= and id=",
                               t->what);
        goto out;
    }
    t->key = h[0];
    if ((rc = key_check_type(t, t->key, err)))
        goto out;
    rc = attr_get(&id, &id_len, &t->m, t->s, t->key, CKA_ID, t->what, err);
    if (rc < 0)
        goto out;
    if (!id_len && attr_get((unsigned char **)&label, &ll, &t->m, t->s, t->key, CKA_LABEL,
                            t->what, NULL) != 0)
        label = NULL;
    rc = find_point(point, t, id, id_len, label, err);
    free(label);
    if (rc)
        goto out;
    if (!attr_bool(&always, &t->m, t->s, t->key, CKA_ALWAYS_AUTHENTICATE) && always && pin) {
        if (!(t->pin = malloc(pin_len + 1))) {
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
        memcpy(t->pin, pin, pin_len);
        t->pin_len = pin_len;
    }
    rc = ecdsa_key_from_token(out, point, t, t->what, err);
    if (!rc)
        t = NULL; /* owned by the key now */
out:
    free(id);
    pkcs11_key_free(t);
    return rc;
}

/* An EC P-256 key pair on the token: the private half sensitive and never extractable. */
static int gen_pair(struct pkcs11_key *t, const unsigned char *id, size_t id_len, char *label,
                    struct airlock_error **err)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE pubt[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid)},
        {CKA_LABEL, label, (CK_ULONG)strlen(label)},
        {CKA_ID, (void *)id, (CK_ULONG)id_len},
    };
    CK_ATTRIBUTE privt[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},      {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},  {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},       {CKA_LABEL, label, (CK_ULONG)strlen(label)},
        {CKA_ID, (void *)id, (CK_ULONG)id_len},
    };
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE pubh = CK_INVALID_HANDLE;
    CK_RV rv = t->m.f->C_GenerateKeyPair(t->s, &mech, pubt, sizeof(pubt) / sizeof(pubt[0]), privt,
                                         sizeof(privt) / sizeof(privt[0]), &pubh, &t->key);
    return rv == CKR_OK ? 0 : rv_fail(err, rv, t->what, "C_GenerateKeyPair");
}

int airlock_pkcs11_key_generate(struct airlock_key **out, const struct airlock_pkcs11_uri *u,
                                const char *pin, size_t pin_len, struct airlock_error **err)
{
    if (!u->object)
        return airlock_error_set(err, AIRLOCK_EUSAGE,
                                 "pkcs11 URI: name the new key with object=LABEL");
    struct pkcs11_key *t = NULL;
    struct tok tk;
    int rc = key_start(&t, &tk, u, 1, pin, pin_len, err);
    if (rc)
        return rc;
    unsigned char idbuf[16], point[65];
    const unsigned char *id = u->id;
    size_t id_len = u->id_len;
    if (!id) {
        if (getrandom(idbuf, sizeof(idbuf), 0) != (ssize_t)sizeof(idbuf)) {
            rc = airlock_error_set_errno(err, AIRLOCK_EOS, errno, "random key id");
            goto out;
        }
        id = idbuf;
        id_len = sizeof(idbuf);
    }
    /* refuse to add a second key under a label or id already used: a later lookup would be
     * ambiguous, and the old key would be shadowed */
    for (int pass = 0; pass < 2; pass++) {
        CK_ATTRIBUTE tm[1];
        if (pass == 0)
            tm[0] = (CK_ATTRIBUTE){CKA_LABEL, u->object, (CK_ULONG)strlen(u->object)};
        else
            tm[0] = (CK_ATTRIBUTE){CKA_ID, (void *)id, (CK_ULONG)id_len};
        CK_OBJECT_HANDLE h[1];
        CK_ULONG n = 0;
        if ((rc = find(h, &n, 1, &t->m, t->s, tm, 1, t->what, err)))
            goto out;
        if (n) {
            rc = airlock_error_set(err, AIRLOCK_EEXISTS,
                                   "%s: an object with this %s exists already; pick another",
                                   t->what, pass == 0 ? "label (object=)" : "id");
            goto out;
        }
    }
    if ((rc = gen_pair(t, id, id_len, u->object, err)))
        goto out;
    if ((rc = find_point(point, t, id, id_len, u->object, err)))
        goto out;
    rc = ecdsa_key_from_token(out, point, t, t->what, err);
    if (!rc)
        t = NULL;
out:
    pkcs11_key_free(t);
    return rc;
}

int airlock_pkcs11_token_needs_pin(int *needs, const struct airlock_pkcs11_uri *u,
                                   struct airlock_error **err)
{
    struct p11 m;
    struct tok tk;
    int rc = p11_open(&m, airlock_pkcs11_module_of(u), err);
    if (rc)
        return rc;
    if (!(rc = tok_find(&tk, &m, u, err)))
        *needs = (tk.info.flags & CKF_LOGIN_REQUIRED) &&
                 !(tk.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH);
    p11_close(&m);
    return rc;
}

/* ---- listing ----------------------------------------------------------------------------- */

int airlock_pkcs11_tokens_list(struct airlock_pkcs11_token **out, size_t *n,
                               const char *module_path, struct airlock_error **err)
{
    struct p11 m;
    int rc = p11_open(&m, module_path, err);
    if (rc)
        return rc;
    CK_SLOT_ID *slots = NULL;
    CK_ULONG ns = 0;
    struct airlock_pkcs11_token *o = NULL;
    if ((rc = slot_list(&m, &slots, &ns, CK_FALSE, err)))
        goto out;
    if (!(o = calloc(ns ? ns : 1, sizeof(*o)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (CK_ULONG i = 0; i < ns; i++) {
        CK_SLOT_INFO si;
        o[i].slot_id = slots[i];
        if (m.f->C_GetSlotInfo(slots[i], &si) == CKR_OK) {
            field(o[i].slot, si.slotDescription, 64);
            o[i].present = !!(si.flags & CKF_TOKEN_PRESENT);
        }
        struct tok t;
        memset(&t, 0, sizeof(t));
        if (o[i].present && m.f->C_GetTokenInfo(slots[i], &t.info) == CKR_OK) {
            tok_fill(&t);
            memcpy(o[i].label, t.label, sizeof(o[i].label));
            memcpy(o[i].manufacturer, t.manufacturer, sizeof(o[i].manufacturer));
            memcpy(o[i].model, t.model, sizeof(o[i].model));
            memcpy(o[i].serial, t.serial, sizeof(o[i].serial));
            o[i].initialized = !!(t.info.flags & CKF_TOKEN_INITIALIZED);
            o[i].login_required = !!(t.info.flags & CKF_LOGIN_REQUIRED);
        } else
            o[i].present = 0;
    }
    *out = steal_pointer(&o);
    *n = ns;
out:
    free(o);
    free(slots);
    p11_close(&m);
    return rc;
}

void airlock_pkcs11_objects_free(struct airlock_pkcs11_object *o, size_t n)
{
    for (size_t i = 0; o && i < n; i++) {
        free(o[i].label);
        free(o[i].id_hex);
        free(o[i].uri);
    }
    free(o);
}

/* Appends a percent-encoded value (RFC 7512 pchar: unreserved and a few sub-delims kept; in
 * the query '/' too). mode 2: every byte encoded (ids are bytes, as p11-kit writes them). */
static int pct_append(struct airlock_buf *b, const unsigned char *v, size_t n, int query)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = v[i];
        int keep = query != 2 && (isalnum(c) || strchr("-._~:[]@!$'()*+,", c) ||
                                  (query && c == '/'));
        if (c && keep ? airlock_buf_append(b, (const char *)&c, 1)
                      : airlock_buf_printf(b, "%%%02X", c))
            return -1;
    }
    return 0;
}

static const char *class_name(CK_ULONG c)
{
    switch (c) {
    case CKO_PRIVATE_KEY:
        return "private key";
    case CKO_PUBLIC_KEY:
        return "public key";
    case CKO_CERTIFICATE:
        return "certificate";
    case CKO_SECRET_KEY:
        return "secret key";
    case CKO_DATA:
        return "data";
    default:
        return "other";
    }
}

int airlock_pkcs11_keys_list(struct airlock_pkcs11_object **out, size_t *n,
                             const struct airlock_pkcs11_uri *u, const char *pin, size_t pin_len,
                             struct airlock_error **err)
{
    struct p11 m;
    struct tok tk;
    CK_SESSION_HANDLE s = 0;
    int have = 0;
    int rc = p11_open(&m, airlock_pkcs11_module_of(u), err);
    if (rc)
        return rc;
    CK_OBJECT_HANDLE *h = calloc(MAX_OBJECTS, sizeof(*h));
    struct airlock_pkcs11_object *o = NULL;
    CK_ULONG nh = 0, k = 0;
    if (!h) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    if ((rc = tok_find(&tk, &m, u, err)) ||
        (rc = tok_login(&s, &m, &tk, 0, pin, pin_len, 0, tk.what, err)))
        goto out;
    have = 1;
    if ((rc = find(h, &nh, MAX_OBJECTS, &m, s, NULL, 0, tk.what, err)))
        goto out;
    if (!(o = calloc(nh ? nh : 1, sizeof(*o)))) {
        rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        goto out;
    }
    for (k = 0; k < nh; k++) {
        CK_ULONG cls = (CK_ULONG)-1, kt = (CK_ULONG)-1;
        unsigned char *label = NULL, *id = NULL, *params = NULL;
        size_t ll = 0, il = 0, pl = 0;
        attr_ulong(&cls, &m, s, h[k], CKA_CLASS);
        o[k].kind = class_name(cls);
        o[k].key_type = "";
        if (attr_get(&label, &ll, &m, s, h[k], CKA_LABEL, tk.what, NULL) != 0)
            label = NULL, ll = 0;
        if (attr_get(&id, &il, &m, s, h[k], CKA_ID, tk.what, NULL) != 0)
            id = NULL, il = 0;
        if (cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY) {
            if (!attr_ulong(&kt, &m, s, h[k], CKA_KEY_TYPE)) {
                if (kt == CKK_EC &&
                    attr_get(&params, &pl, &m, s, h[k], CKA_EC_PARAMS, tk.what, NULL) != 0)
                    params = NULL, pl = 0;
                o[k].key_type = key_type_name(kt, params, pl);
            }
            free(params);
        }
        if (cls == CKO_PRIVATE_KEY) {
            CK_BBOOL b = CK_FALSE;
            o[k].sensitive = !attr_bool(&b, &m, s, h[k], CKA_SENSITIVE) && b;
            b = CK_FALSE;
            o[k].extractable = !attr_bool(&b, &m, s, h[k], CKA_EXTRACTABLE) && b;
            o[k].usable = !strcmp(o[k].key_type, "EC P-256");
        }
        struct airlock_buf ub = AIRLOCK_BUF_INIT(16384), hb = AIRLOCK_BUF_INIT(16384);
        int bad = airlock_buf_append(&ub, "pkcs11:token=", 13) ||
                  pct_append(&ub, (const unsigned char *)tk.label, strlen(tk.label), 0);
        if (!bad && ll)
            bad = airlock_buf_append(&ub, ";object=", 8) || pct_append(&ub, label, ll, 0);
        if (!bad && il)
            bad = airlock_buf_append(&ub, ";id=", 4) || pct_append(&ub, id, il, 2);
        if (!bad && u->module_path)
            bad = airlock_buf_append(&ub, "?module-path=", 13) ||
                  pct_append(&ub, (const unsigned char *)u->module_path, strlen(u->module_path), 1);
        for (size_t i = 0; !bad && i < il; i++)
            bad = airlock_buf_printf(&hb, "%02x", id[i]);
        if (!bad)
            bad = airlock_buf_append(&hb, "", 0) || airlock_buf_append(&ub, "", 0);
        /* a label with a NUL inside is shown up to it */
        o[k].label = label ? (char *)label : strdup("");
        o[k].id_hex = bad ? NULL : airlock_buf_detach(&hb, NULL);
        o[k].uri = bad ? NULL : airlock_buf_detach(&ub, NULL);
        airlock_buf_release(&hb);
        airlock_buf_release(&ub);
        free(id);
        if (bad || !o[k].label || !o[k].id_hex || !o[k].uri) {
            k++;
            rc = airlock_error_set(err, AIRLOCK_EOS, "out of memory");
            goto out;
        }
    }
    *out = steal_pointer(&o);
    *n = nh;
out:
    airlock_pkcs11_objects_free(o, k);
    free(h);
    if (have)
        m.f->C_CloseSession(s);
    p11_close(&m);
    return rc;
}
