/* A small tar writer: ustar headers (base-256 sizes past 8 GiB), output buffered in 1 MiB
 * and optionally compressed with zstd's streaming API (the only file that touches zstd's
 * compressor). Entry names in a bundle are short and fixed, so ustar is enough. */
#include "layout_int.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <zstd.h>

#define TARW_BUF (1u << 20)

struct tarw {
    int fd;
    const char *what;
    ZSTD_CCtx *cctx;
    unsigned char *buf; /* pending plain bytes */
    size_t len;
    unsigned char *zbuf; /* compressed output */
    size_t zcap;
    uint64_t file_left;
    uint64_t file_size;
};

static void octal(char *dst, size_t width, uint64_t v)
{
    /* width includes the terminating NUL */
    dst[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        dst[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

int tarw_header(unsigned char hdr[512], const char *name, uint64_t size, char type)
{
    memset(hdr, 0, 512);
    size_t nl = strlen(name);
    if (nl == 0 || nl > 100)
        return -1;
    memcpy(hdr, name, nl);
    octal((char *)hdr + 100, 8, type == '5' ? 0755 : 0644);
    octal((char *)hdr + 108, 8, 0);
    octal((char *)hdr + 116, 8, 0);
    if (size > 077777777777ull) {
        hdr[124] = 0x80;
        for (int i = 11; i >= 1; i--) {
            hdr[124 + i] = (unsigned char)(size & 0xff);
            size >>= 8;
        }
    } else
        octal((char *)hdr + 124, 12, size);
    octal((char *)hdr + 136, 12, 0);
    hdr[156] = (unsigned char)type;
    memcpy(hdr + 257, "ustar", 6);
    memcpy(hdr + 263, "00", 2);
    memcpy(hdr + 265, "root", 4);
    memcpy(hdr + 297, "root", 4);
    memset(hdr + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += hdr[i];
    snprintf((char *)hdr + 148, 8, "%06o", sum);
    hdr[155] = ' ';
    return 0;
}

static int flush_plain(struct tarw *t, int end, struct airlock_error **err)
{
    if (!t->cctx) {
        int r = core_write_all(t->fd, t->buf, t->len);
        t->len = 0;
        return r ? airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s'", t->what) : 0;
    }
    ZSTD_inBuffer in = {t->buf, t->len, 0};
    for (;;) {
        ZSTD_outBuffer out = {t->zbuf, t->zcap, 0};
        size_t rem = ZSTD_compressStream2(t->cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem))
            return airlock_error_set(err, AIRLOCK_EOS, "compress '%s': %s", t->what,
                                     ZSTD_getErrorName(rem));
        int r = core_write_all(t->fd, t->zbuf, out.pos);
        if (r)
            return airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s'", t->what);
        if (end ? rem == 0 : in.pos == in.size)
            break;
    }
    t->len = 0;
    return 0;
}

static int put(struct tarw *t, const void *p, size_t n, struct airlock_error **err)
{
    const unsigned char *c = p;
    while (n) {
        size_t room = TARW_BUF - t->len;
        size_t k = n < room ? n : room;
        memcpy(t->buf + t->len, c, k);
        t->len += k;
        c += k;
        n -= k;
        if (t->len == TARW_BUF) {
            int rc = flush_plain(t, 0, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int tarw_new(struct tarw **out, int fd, int zstd, const char *what, struct airlock_error **err)
{
    struct tarw *t = calloc(1, sizeof(*t));
    if (!t || !(t->buf = malloc(TARW_BUF))) {
        free(t);
        return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
    }
    t->fd = fd;
    t->what = what;
    if (zstd) {
        t->cctx = ZSTD_createCCtx();
        t->zcap = ZSTD_CStreamOutSize();
        t->zbuf = malloc(t->zcap);
        if (!t->cctx || !t->zbuf) {
            tarw_free(t);
            return airlock_error_set(err, AIRLOCK_EOS, "out of memory");
        }
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, 3);
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_checksumFlag, 1);
        /* Uses a second core where libzstd was built with threads; ignored otherwise. */
        ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_nbWorkers, 2);
    }
    *out = t;
    return 0;
}

int tarw_dir(struct tarw *t, const char *name, struct airlock_error **err)
{
    unsigned char hdr[512];
    if (tarw_header(hdr, name, 0, '5'))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "tar entry name '%s' too long", name);
    return put(t, hdr, 512, err);
}

int tarw_file_begin(struct tarw *t, const char *name, uint64_t size, struct airlock_error **err)
{
    unsigned char hdr[512];
    if (tarw_header(hdr, name, size, '0'))
        return airlock_error_set(err, AIRLOCK_EUSAGE, "tar entry name '%s' too long", name);
    t->file_left = size;
    t->file_size = size;
    return put(t, hdr, 512, err);
}

int tarw_file_data(struct tarw *t, const void *p, size_t n, struct airlock_error **err)
{
    if (n > t->file_left)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': more data than announced",
                                 t->what);
    t->file_left -= n;
    if (!t->cctx && t->len == 0 && n >= TARW_BUF) {
        /* Large aligned chunks bypass the buffer. */
        int r = core_write_all(t->fd, p, n);
        return r ? airlock_error_set_errno(err, AIRLOCK_EOS, -r, "write '%s'", t->what) : 0;
    }
    return put(t, p, n, err);
}

int tarw_file_end(struct tarw *t, struct airlock_error **err)
{
    static const unsigned char zero[512];
    if (t->file_left)
        return airlock_error_set(err, AIRLOCK_EINTEGRITY, "'%s': entry shorter than announced",
                                 t->what);
    size_t pad = (size_t)((512 - (t->file_size % 512)) % 512);
    return put(t, zero, pad, err);
}

int tarw_reserve(struct tarw *t, const char *name, uint64_t size, uint64_t *offset,
                 struct airlock_error **err)
{
    if (t->cctx)
        return airlock_error_set(err, AIRLOCK_EUSAGE, "'%s': a compressed tar is written in order",
                                 t->what);
    int rc = tarw_file_begin(t, name, size, err);
    if (!rc)
        rc = flush_plain(t, 0, err);
    if (rc)
        return rc;
    off_t at = lseek(t->fd, 0, SEEK_CUR);
    if (at < 0 || lseek(t->fd, (off_t)size, SEEK_CUR) < 0)
        return airlock_error_set_errno(err, AIRLOCK_EOS, errno, "seek '%s'", t->what);
    *offset = (uint64_t)at;
    t->file_left = 0;
    return tarw_file_end(t, err);
}

int tarw_finish(struct tarw *t, struct airlock_error **err)
{
    static const unsigned char zero[1024];
    int rc = put(t, zero, sizeof(zero), err);
    if (rc)
        return rc;
    return flush_plain(t, 1, err);
}

void tarw_free(struct tarw *t)
{
    if (!t)
        return;
    ZSTD_freeCCtx(t->cctx);
    free(t->zbuf);
    free(t->buf);
    free(t);
}
