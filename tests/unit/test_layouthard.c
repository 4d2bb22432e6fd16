/* Hardening of bundles on disk (security review, issue 10): the internal pieces. */
#include "harness.h"
#include "layout_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *name, const char *text)
{
    FILE *f = fopen(harness_tmp_path(name), "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static int exists(const char *name)
{
    struct stat st;
    return lstat(harness_tmp_path(name), &st) == 0;
}

/* A FIFO is refused at once (no writer ever comes), and so is a link; a file opens and is
 * blocking again. */
TEST(open_regular_refuses_fifo_without_blocking)
{
    CHECK(mkfifo(harness_tmp_path("fifo"), 0600) == 0);
    int dfd = open(harness_tmp_dir(), O_RDONLY | O_DIRECTORY);
    int fd = -1;
    struct airlock_error *err = NULL;
    CHECK(layout_open_regular(dfd, "fifo", 0, "b/fifo", &fd, NULL, &err) == AIRLOCK_EINTEGRITY);
    CHECK(fd == -1);
    CHECK(err && strstr(err->msg, "'b/fifo': not a regular file"));
    airlock_error_free(err);
    err = NULL;
    put("file", "x");
    CHECK(symlink("file", harness_tmp_path("link")) == 0);
    CHECK(layout_open_regular(dfd, "link", 0, "b/link", &fd, NULL, &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "symbolic link refused"));
    airlock_error_free(err);
    err = NULL;
    /* a link is fine where the user named the path */
    CHECK(layout_open_regular(dfd, "link", LAYOUT_OPEN_FOLLOW, "link", &fd, NULL, NULL) == 0);
    CHECK(fd >= 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
    struct stat st;
    CHECK(layout_open_regular(dfd, "file", 0, "b/file", &fd, &st, NULL) == 0);
    CHECK(st.st_size == 1);
    close(fd);
    close(dfd);
}

/* A FIFO as the bundle path itself: refused, never opened. */
TEST(bundle_open_refuses_fifo_path)
{
    char *p = strdup(harness_tmp_path("b.tar"));
    CHECK(mkfifo(p, 0600) == 0);
    struct airlock_bundle *b = NULL;
    struct airlock_error *err = NULL;
    CHECK(airlock_bundle_open(&b, p, 0, &err) == AIRLOCK_EINTEGRITY);
    CHECK(err && strstr(err->msg, "not a regular file or directory"));
    airlock_error_free(err);
    CHECK(!arch_is_tar(p, NULL));
    free(p);
}

/* The lock is exclusive, within one process too (flock is per open file); once held, the
 * temporaries of killed runs on that destination go, and nothing else does. */
TEST(dest_lock_excludes_and_cleans_stale_temps)
{
    put(".b.tar.airlock-Ab12Cd", "stale");
    put(".b.tar.001.airlock-Zz99zz", "stale part");
    put(".b.tar.airlock-partial", "resumable");
    put(".b.tar.airlock-toolong1", "not ours");
    put(".c.tar.airlock-Ab12Cd", "another destination");
    CHECK(mkdir(harness_tmp_path(".b.tar.airlock-Dir123"), 0700) == 0);
    put(".b.tar.airlock-Dir123/x", "inside");
    int fd = -1, fd2 = -1;
    char *lp = NULL, *lp2 = NULL;
    struct airlock_error *err = NULL;
    CHECK(layout_dest_lock(&fd, &lp, harness_tmp_path("b.tar"), 0, NULL) == 0);
    CHECK(fd >= 0 && lp && exists(".b.tar.airlock-lock"));
    CHECK(!exists(".b.tar.airlock-Ab12Cd") && !exists(".b.tar.airlock-Dir123"));
    CHECK(exists(".b.tar.001.airlock-Zz99zz")); /* only a set's lock takes the parts */
    CHECK(exists(".b.tar.airlock-partial") && exists(".b.tar.airlock-toolong1") &&
          exists(".c.tar.airlock-Ab12Cd"));
    CHECK(layout_dest_lock(&fd2, &lp2, harness_tmp_path("b.tar"), LAYOUT_LOCK_PARTS, &err) ==
          AIRLOCK_EUSAGE);
    CHECK(err && strstr(err->msg, "another airlock is writing"));
    airlock_error_free(err);
    CHECK(fd2 == -1 && !lp2);
    layout_dest_unlock(fd, lp);
    CHECK(!exists(".b.tar.airlock-lock"));
    CHECK(layout_dest_lock(&fd2, &lp2, harness_tmp_path("b.tar"), LAYOUT_LOCK_PARTS, NULL) == 0);
    CHECK(!exists(".b.tar.001.airlock-Zz99zz"));
    layout_dest_unlock(fd2, lp2);
}

/* A writer takes the destination's lock itself; one made under a held lock does not. */
TEST(writer_takes_the_destination_lock)
{
    struct airlock_writer *w = NULL, *w2 = NULL;
    struct airlock_error *err = NULL;
    char *p = strdup(harness_tmp_path("w.tar")); /* tmp_path's buffer is reused */
    CHECK(airlock_writer_new(&w, p, AIRLOCK_FORMAT_TAR, NULL) == 0);
    CHECK(exists(".w.tar.airlock-lock"));
    CHECK(airlock_writer_new(&w2, p, AIRLOCK_FORMAT_TAR, &err) == AIRLOCK_EUSAGE);
    airlock_error_free(err);
    airlock_writer_free(w);
    CHECK(!exists(".w.tar.airlock-lock"));
    int fd = -1;
    char *lp = NULL;
    CHECK(layout_dest_lock(&fd, &lp, p, 0, NULL) == 0);
    CHECK(writer_new_locked(&w, p, AIRLOCK_FORMAT_TAR, NULL) == 0);
    const char *ix = "{\"schemaVersion\":2,\"manifests\":[]}";
    CHECK(airlock_writer_commit(w, ix, strlen(ix), NULL) == 0);
    airlock_writer_free(w);
    CHECK(exists("w.tar") && exists(".w.tar.airlock-lock"));
    layout_dest_unlock(fd, lp);
    free(p);
}

/* The twin of a part names the part, hidden, beside it. */
TEST(split_twin_path_is_beside_the_part)
{
    char *t = split_twin_path("/m/usb/r.tar.002");
    CHECK_STR(t, "/m/usb/.r.tar.002.airlock-prev");
    free(t);
    t = split_twin_path("r.tar.001");
    CHECK_STR(t, "./.r.tar.001.airlock-prev");
    free(t);
}

/* The public lock: an export that reads the existing bundle first holds it across the read
 * and writes with the _locked resumable writer; without it the writer is refused. */
TEST(public_dest_lock_and_resumable_locked_writer)
{
    char *p = strdup(harness_tmp_path("e.tar"));
    struct airlock_dest_lock *l = NULL;
    struct airlock_writer *w = NULL;
    struct airlock_error *err = NULL;
    CHECK(airlock_dest_lock(&l, p, NULL) == 0);
    CHECK(airlock_writer_new_resumable(&w, p, AIRLOCK_FORMAT_TAR, &err) == AIRLOCK_EUSAGE);
    CHECK(err && strstr(err->msg, "another airlock is writing"));
    airlock_error_free(err);
    w = NULL;
    CHECK(airlock_writer_new_resumable_locked(&w, p, AIRLOCK_FORMAT_TAR, NULL) == 0);
    const char *ix = "{\"schemaVersion\":2,\"manifests\":[]}";
    CHECK(w && airlock_writer_commit(w, ix, strlen(ix), NULL) == 0);
    airlock_writer_free(w);
    CHECK(exists("e.tar") && exists(".e.tar.airlock-lock"));
    airlock_dest_lock_free(l);
    CHECK(!exists(".e.tar.airlock-lock"));
    airlock_dest_lock_free(NULL);
    free(p);
}
