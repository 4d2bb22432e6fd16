/* What removable media can hold: FAT32's 4 GiB file limit and the names FAT, exFAT and NTFS
 * refuse. */
#include "layout_int.h"

#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#define MSDOS_MAGIC 0x4d44ul /* vfat, FAT32 */
#define EXFAT_MAGIC 0x2011bab0ul
#define NTFS_MAGIC 0x5346544eul

static char *check(const char *path, const char *dir, const char *name, uint64_t size)
{
    struct statfs st;
    char *out = NULL;
    if (statfs(dir, &st) < 0)
        return NULL;
    unsigned long type = (unsigned long)st.f_type;
    const char *fake = getenv("AIRLOCK_TEST_FS_MAGIC"); /* the tests have no FAT32 stick */
    if (fake)
        type = strtoul(fake, NULL, 0);
    int fat = type == MSDOS_MAGIC, dos_names = fat || type == EXFAT_MAGIC || type == NTFS_MAGIC;
    if (fat && size > 0xffffffffull) {
        char sz[16];
        airlock_format_size(sz, size);
        if (asprintf(&out, "'%s' would be %s on a FAT32 file system, which holds files of at most "
                           "4 GiB - 1 byte: split it (--split 4095M, or airlock split --size "
                           "4095M) or use exFAT or ext4",
                     path, sz) < 0)
            out = NULL;
    } else if (dos_names && strpbrk(name, "\"*:<>?\\|")) {
        if (asprintf(&out, "'%s': the file system there (%s) cannot hold a name with any of "
                           "\" * : < > ? \\ |",
                     path, fat ? "FAT" : type == EXFAT_MAGIC ? "exFAT" : "NTFS") < 0)
            out = NULL;
    }
    return out;
}

char *airlock_media_warning(const char *path, uint64_t size)
{
    char *a = strdup(path), *b = strdup(path), *out = NULL;
    if (a && b)
        out = check(path, dirname(a), basename(b), size);
    free(a);
    free(b);
    return out;
}
