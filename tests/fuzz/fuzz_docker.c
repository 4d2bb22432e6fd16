/* Fuzzes docker-save / docker-archive import (docker_src_open): manifest.json's entries
 * (Config, Layers, RepoTags) resolved in a tar of configs, layers, symbolic and hard links,
 * and the config's rootfs.diff_ids. Input: manifest.json, optionally followed by
 * "\n--config--\n" and the text of "config.json" (otherwise a valid two-layer config). The
 * tar is written to a scratch file for each input. */
#include "layout_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
static const char default_config[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"]},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" H1 "\",\"sha256:" H2 "\"]}}";

static void octal(char *f, size_t w, uint64_t v)
{
    snprintf(f, w, "%0*llo", (int)w - 1, (unsigned long long)v);
}

/* One ustar entry; type '0' file, '2' symlink, '1' hard link, '5' directory. */
static int entry(FILE *f, const char *name, char type, const char *link, const void *p, size_t n)
{
    unsigned char h[512];
    memset(h, 0, sizeof(h));
    snprintf((char *)h, 100, "%s", name);
    octal((char *)h + 100, 8, type == '5' ? 0755 : 0644);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, type == '0' ? n : 0);
    octal((char *)h + 136, 12, 1700000000);
    h[156] = (unsigned char)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    if (fwrite(h, 1, 512, f) != 512)
        return -1;
    if (type != '0' || !n)
        return 0;
    static const char zero[512];
    if (fwrite(p, 1, n, f) != n || fwrite(zero, 1, (512 - n % 512) % 512, f) != (512 - n % 512) % 512)
        return -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n--config--\n";
    if (size > 1 << 20)
        return 0;
    const char *in = (const char *)data;
    const char *s = memmem(in, size, sep, sizeof(sep) - 1);
    size_t mlen = s ? (size_t)(s - in) : size;
    const char *cfg = s ? s + sizeof(sep) - 1 : default_config;
    size_t clen = s ? size - mlen - (sizeof(sep) - 1) : sizeof(default_config) - 1;
    char path[] = "/tmp/airlock-fuzz-docker-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(path);
        return 0;
    }
    static const char layer[] = "not really a tar, docker_src_open does not read layers";
    static const char zero[1024];
    int bad = entry(f, "manifest.json", '0', NULL, in, mlen) ||
              entry(f, "config.json", '0', NULL, cfg, clen) ||
              entry(f, "blobs/", '5', NULL, NULL, 0) ||
              entry(f, "blobs/sha256/", '5', NULL, NULL, 0) ||
              entry(f, "blobs/sha256/" H1, '0', NULL, layer, sizeof(layer) - 1) ||
              entry(f, "blobs/sha256/" H2, '0', NULL, layer, 10) ||
              entry(f, "blobs/sha256/cfg", '2', "../../config.json", NULL, 0) ||
              entry(f, "l1/layer.tar", '2', "../blobs/sha256/" H1, NULL, 0) ||
              entry(f, "l2/layer.tar", '1', "blobs/sha256/" H2, NULL, 0) ||
              entry(f, "loop", '2', "loop", NULL, 0) ||
              entry(f, "out", '2', "../../etc/passwd", NULL, 0) ||
              entry(f, "abs", '2', "/etc/passwd", NULL, 0) ||
              entry(f, "dir", '5', NULL, NULL, 0) ||
              entry(f, "repositories", '0', NULL, "{}", 2) ||
              fwrite(zero, 1, sizeof(zero), f) != sizeof(zero);
    if (fclose(f) || bad) {
        unlink(path);
        return 0;
    }
    struct docker_src *d = NULL;
    struct airlock_error *err = NULL;
    if (docker_src_open(&d, path, &err) == 0) {
        for (size_t i = 0; i < docker_src_image_count(d); i++) {
            const char *const *tags;
            size_t n_tags;
            const struct airlock_descriptor *desc = docker_src_image(d, i, &tags, &n_tags);
            struct airlock_buf b = AIRLOCK_BUF_INIT(AIRLOCK_MAX_MANIFEST);
            struct airlock_error *e2 = NULL;
            if (docker_src_blob_read(d, desc->digest, &b, &e2) == 0) {
                struct airlock_oci *m = NULL; /* the generated manifest parses as ours */
                if (airlock_oci_parse(&m, b.data, b.len, "generated", NULL))
                    abort();
                airlock_oci_free(m);
            }
            airlock_error_free(e2);
            airlock_buf_release(&b);
        }
        docker_src_free(d);
    }
    airlock_error_free(err);
    unlink(path);
    return 0;
}
