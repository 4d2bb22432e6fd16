# Getting airlock onto the machine behind the gap: cmake --install (binary, libraries,
# headers, pkg-config, find_package(airlock), man pages, completions), the man pages and
# completions made from --help, EXAMPLES in --help, airlock version, the .deb and the portable
# tarball (run with the dependency packages' libraries out of reach), and the samples for
# running sync from systemd and Kubernetes.
. "$(dirname "$0")/lib.sh"
# many checks here are "producer | grep -q": grep quits at the first match and the producer
# may die of SIGPIPE, which pipefail would count as a failure
set +o pipefail
: "${AIRLOCK_BUILD:?}" "${AIRLOCK_PORTABLE:?}"
SRC=$(cd "$E2E_SRC/../.." && pwd)
export COSIGN_PASSWORD=test-password
CASE=$(basename "$T" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')

# the commands 'airlock --help' lists
commands() { "$AIRLOCK" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'; }
# "name letter" of each option line of CMD's --help (letter "-" when none)
options_of() {
    "$AIRLOCK" "$1" --help | sed -n '/^examples:/q;p' |
        sed -nE 's/^  (-([A-Za-z]), |    )--([a-z0-9-]+).*/\3 -\2/p'
}
install_to() { cmake --install "$AIRLOCK_BUILD" --prefix "$1" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log" >&2; fail "cmake --install failed"; }; }

case_install_tree_is_complete() {
    install_to "$T/p"
    local p=$T/p f
    for f in bin/airlock lib/libairlock_core.a lib/libairlock_layout.a lib/libairlock_transfer.a \
        lib/libairlock_serve.a lib/cmake/airlock/airlockConfig.cmake \
        lib/cmake/airlock/airlockConfigVersion.cmake lib/cmake/airlock/airlockTargets.cmake \
        lib/pkgconfig/airlock-core.pc lib/pkgconfig/airlock-layout.pc \
        lib/pkgconfig/airlock-transfer.pc lib/pkgconfig/airlock-serve.pc \
        share/bash-completion/completions/airlock share/zsh/vendor-completions/_airlock \
        share/man/man1/airlock.1 share/man/man1/airlock-generate-key-pair.1; do
        [ -s "$p/$f" ] || fail "cmake --install did not install $f"
    done
    # every public header, and nothing private
    for f in "$SRC"/*/include/airlock/*.h; do
        [ -s "$p/include/airlock/$(basename "$f")" ] || fail "header $(basename "$f") not installed"
    done
    ! ls "$p/include/airlock" | grep -q '_int\.h' || fail "an internal header was installed"
    # a man page per command
    for c in $(commands); do
        [ -s "$p/share/man/man1/airlock-$c.1" ] || fail "no man page for '$c'"
    done
    run "$p/bin/airlock" version
    expect_rc 0
    out_has "airlock "
}

# find_package(airlock) with imported targets, and pkg-config, each building a program that
# calls into core, layout and transfer against the installed prefix only.
case_installed_libraries_build_a_consumer() {
    install_to "$T/p"
    mkdir -p "$T/consumer"
    cat >"$T/consumer/main.c" <<'EOF'
#include <airlock/core.h>
#include <airlock/layout.h>
#include <airlock/transfer.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    struct airlock_error *err = NULL;
    struct airlock_bundle *b = NULL;
    struct airlock_registry *r = NULL;
    struct airlock_registry_opts o = AIRLOCK_REGISTRY_OPTS_INIT;
    if (argc < 2)
        return 2;
    if (airlock_bundle_open(&b, argv[1], 0, &err) ||
        airlock_registry_new(&r, "registry.invalid", &o, &err)) {
        fprintf(stderr, "%s\n", err->msg);
        airlock_error_free(err);
        return 1;
    }
    printf("opened %s\n", argv[1]);
    airlock_registry_free(r);
    airlock_bundle_free(b);
    return 0;
}
EOF
    cat >"$T/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(airlock 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE airlock::transfer airlock::serve)
EOF
    # a sanitizer build's libraries need the sanitizer runtime in the program too
    local san=""
    if nm "$T/p/lib/libairlock_core.a" 2>/dev/null | grep __asan_ >/dev/null; then
        san="-fsanitize=address,undefined"
    fi
    run cmake -S "$T/consumer" -B "$T/cb" -DCMAKE_PREFIX_PATH="$T/p" -DCMAKE_C_FLAGS="$san"
    [ "$rc" = 0 ] || fail "find_package(airlock) against the install prefix failed"
    run cmake --build "$T/cb"
    [ "$rc" = 0 ] || fail "the consumer does not build with airlock::transfer"
    make_bundle b.tar
    run "$T/cb/consumer" b.tar
    expect_rc 0
    out_has "opened b.tar"
    # the same with pkg-config (the .pc files find their prefix from where they are)
    cp -a "$T/p" "$T/moved"
    run sh -c "cc $san -o '$T/pc' '$T/consumer/main.c' \$(PKG_CONFIG_PATH='$T/moved/lib/pkgconfig' \
        pkg-config --cflags --libs airlock-transfer)"
    [ "$rc" = 0 ] || fail "the consumer does not build with pkg-config airlock-transfer"
    run "$T/pc" b.tar
    expect_rc 0
    out_has "opened b.tar"
}

# The man pages render without a warning, and each says what --help says: every option,
# the examples.
case_man_pages_render_without_warnings() {
    install_to "$T/p"
    local page c o
    for page in "$T"/p/share/man/man1/*.1; do
        MANWIDTH=80 man -l --warnings -E UTF-8 "$page" >"$T/page" 2>"$T/warn" ||
            fail "man -l $(basename "$page") failed"
        [ ! -s "$T/warn" ] || fail "man -l $(basename "$page") warns: $(cat "$T/warn")"
        grep -q '^NAME' "$T/page" && grep -q '^SYNOPSIS' "$T/page" ||
            fail "$(basename "$page"): no NAME or SYNOPSIS"
        # groff's own strict check as well
        groff -ww -z -man "$page" 2>"$T/warn" || fail "groff failed on $(basename "$page")"
        [ ! -s "$T/warn" ] || fail "groff -ww $(basename "$page"): $(cat "$T/warn")"
    done
    for c in $(commands); do
        MANWIDTH=200 man -l "$T/p/share/man/man1/airlock-$c.1" 2>/dev/null >"$T/page"
        grep -q '^OPTIONS' "$T/page" || fail "airlock-$c.1 has no OPTIONS"
        grep -q '^EXAMPLES' "$T/page" || fail "airlock-$c.1 has no EXAMPLES"
        while read -r o _; do
            grep -qE -- "(^|[ ,])--$o( |$)" "$T/page" || fail "airlock-$c.1 lacks --$o"
        done < <(options_of "$c")
        # the first example's command line, as --help has it
        local ex
        ex=$("$AIRLOCK" "$c" --help | sed -n '/^examples:/,$p' | grep -m1 '^  airlock' | sed 's/^  //')
        grep -qF -- "$ex" "$T/page" || fail "airlock-$c.1 lacks the example '$ex'"
        # the description's first line
        local d
        d=$("$AIRLOCK" "$c" --help | awk 'p && NF { print; exit } /^$/ { p = 1 }' | awk '{print $1, $2, $3}')
        tr -s ' \n' ' ' <"$T/page" | grep -qF -- "$d" || fail "airlock-$c.1 lacks '$d'"
    done
}

case_every_command_help_has_examples() {
    local c
    for c in $(commands); do
        airlock "$c" --help
        expect_rc 0
        grep -A1 '^examples:$' "$T/out" | grep -q '^  # ' || fail "$c --help has no examples"
        # each example line starting "airlock CMD" names this command
        grep '^  airlock ' "$T/out" | sed -n '/^examples:/,$p' >/dev/null
        sed -n '/^examples:/,$p' "$T/out" | grep '^  airlock ' | grep -qv "^  airlock $c " &&
            [ "$c" != serve ] && fail "$c's examples run another command"
        awk 'length($0) > 80 { exit 1 }' <(sed -n '/^examples:/,$p' "$T/out") ||
            fail "$c's examples are wider than 80 columns"
    done
}

# bash completion from the same --help: commands, every option of each, choices.
case_completions_offer_what_help_lists() {
    install_to "$T/p"
    local bc=$T/p/share/bash-completion/completions/airlock c o l
    bash -n "$bc" || fail "bash completion does not parse"
    complete_words() { # WORDS...: COMPREPLY for the last word
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _airlock;
                 printf "%s\n" "${COMPREPLY[@]}"' _ "$bc" "$@"
    }
    complete_words airlock pu | grep -qx push || fail "'airlock pu' does not complete to push"
    for c in $(commands); do
        complete_words airlock "" | grep -qx "$c" || fail "command $c not completed"
        complete_words airlock "$c" - >"$T/offered"
        while read -r o l; do
            grep -qx -- "--$o" "$T/offered" || fail "$c: --$o not completed"
            [ "$l" = - ] || grep -qx -- "$l" "$T/offered" || fail "$c: $l not completed"
        done < <(options_of "$c")
    done
    complete_words airlock push --identity-check "" | sort | tr '\n' ' ' | grep -qx 'any destination ' ||
        fail "--identity-check's choices not completed"
    local zc=$T/p/share/zsh/vendor-completions/_airlock
    head -1 "$zc" | grep -qx '#compdef airlock' || fail "zsh completion lacks #compdef"
    for c in $(commands); do
        grep -q "^    $c)" "$zc" || fail "zsh completion lacks $c"
        while read -r o _; do
            grep -qF -- "--$o" "$zc" || fail "zsh completion: $c lacks --$o"
        done < <(options_of "$c")
    done
    if command -v zsh >/dev/null; then zsh -n "$zc" || fail "zsh completion does not parse"; fi
}

case_version_names_commit_and_libraries() {
    airlock version
    expect_rc 0
    err_empty
    head -1 "$T/out" | grep -qE '^airlock [0-9]+\.[0-9]+\.[0-9]+$' || fail "first line is not 'airlock X.Y.Z'"
    local lib
    for lib in commit libcurl libarchive zstd mbedTLS libsodium OpenSSL cJSON libmicrohttpd libyaml; do
        grep -qE "^$lib +[^ ]" "$T/out" || fail "version lacks $lib"
    done
    airlock version --json
    expect_rc 0
    json '.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+$")'
    json '.commit | test("^([0-9a-f]{12}(-dirty)?|unknown)$")'
    # the versions it runs with are the installed ones
    local m k
    for m in libcurl:libcurl libarchive:libarchive libzstd:zstd libsodium:libsodium \
        libcjson:cJSON yaml-0.1:libyaml libmicrohttpd:libmicrohttpd libcrypto:OpenSSL; do
        k=${m#*:}
        v=$(pkg-config --modversion "${m%%:*}")
        jq -e --arg k "$k" --arg v "$v" '.libraries[$k] | startswith($v)' "$T/out" >/dev/null ||
            fail "$k: $(jq -r --arg k "$k" '.libraries[$k]' "$T/out"), pkg-config says $v"
    done
    json '.libraries.mbedTLS | test("^2\\.|^3\\.")'
    if git -C "$SRC" rev-parse --short=12 HEAD >"$T/head" 2>/dev/null; then
        json ".commit | startswith(\"$(cat "$T/head")\")"
    fi
    airlock --version
    expect_rc 0
    out_has "airlock "
    # a tarball build (no .git): "unknown"
    mkdir "$T/nogit"
    cmake -DSRC="$T/nogit" -DOUT="$T/b.h" -P "$SRC/cmake/gitcommit.cmake"
    grep -qx '#define AIRLOCK_GIT_COMMIT "unknown"' "$T/b.h" || fail "no 'unknown' outside git: $(cat "$T/b.h")"
}

# The .deb: Depends computed by dpkg-shlibdeps, every installed file in it; unpacked, it runs.
case_deb_depends_and_contents() {
    command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
        fail "dpkg-deb and dpkg-shlibdeps (dpkg-dev) are needed"
    run cpack -G DEB --config "$AIRLOCK_BUILD/CPackConfig.cmake" -B "$T/deb"
    [ "$rc" = 0 ] || fail "cpack -G DEB failed"
    local deb
    deb=$(ls "$T"/deb/airlock_*.deb) || fail "no .deb"
    dpkg-deb -I "$deb" >"$T/info"
    local d
    d=$(sed -n 's/^ Depends: //p' "$T/info")
    for p in libc6 libcurl4 libarchive13 libzstd1 libcjson1 libsodium23 libssl3 libmbedcrypto \
        libyaml-0-2 libmicrohttpd12; do
        echo "$d" | tr ',' '\n' | grep -q "^ *$p" || fail "Depends lacks $p: $d"
    done
    dpkg-deb -c "$deb" | awk '{ print $NF }' >"$T/files"
    for f in ./usr/bin/airlock ./usr/include/airlock/core.h ./usr/include/airlock/transfer.h \
        ./usr/lib/libairlock_core.a ./usr/lib/cmake/airlock/airlockConfig.cmake \
        ./usr/lib/pkgconfig/airlock-transfer.pc ./usr/share/bash-completion/completions/airlock \
        ./usr/share/zsh/vendor-completions/_airlock ./usr/share/man/man1/airlock.1 \
        ./usr/share/doc/airlock/copyright; do
        grep -qx -- "$f" "$T/files" || fail ".deb lacks $f"
    done
    for c in $(commands); do
        grep -qx -- "./usr/share/man/man1/airlock-$c.1" "$T/files" || fail ".deb lacks airlock-$c.1"
    done
    dpkg-deb -x "$deb" "$T/x"
    run "$T/x/usr/bin/airlock" version
    expect_rc 0
    out_has "libcurl"
}

# The portable tarball, unpacked, runs with every library but glibc's out of reach: in a
# mount namespace the system's library directory holds glibc's files only, and there
# version, verify --key and push to the test registry work.
case_tarball_runs_with_dependencies_hidden() {
    [ "$(id -u)" = 0 ] || { echo "skip: needs root for unshare -m"; return 0; }
    . "$REGROOT/env"
    cmake -DBIN="$AIRLOCK_PORTABLE" -DDOC="$AIRLOCK_BUILD/cli/doc" -DVERSION=0.0.0 -DARCH=test \
        -DOUT="$T" -DLICENSE="$SRC/LICENSE" -P "$SRC/packaging/portable.cmake" >"$T/pkg.log" ||
        fail "portable.cmake failed: $(cat "$T/pkg.log")"
    grep -qE 'needs glibc >= 2\.[0-9]+' "$T/pkg.log" || fail "the oldest glibc is not stated"
    echo "tarball: $(grep -oE 'needs glibc >= [0-9.]+' "$T/pkg.log")"
    mkdir "$T/u"
    tar xzf "$T/airlock-0.0.0-linux-test.tar.gz" -C "$T/u"
    local top=$T/u/airlock-0.0.0-linux-test
    objdump -p "$top/bin/airlock" | grep -qE 'RPATH +\$ORIGIN/../lib' || fail "no \$ORIGIN rpath"
    [ -f "$top/lib/libcurl.so.4" ] && [ -f "$top/lib/libarchive.so.13" ] || fail "libraries not copied"
    ! ls "$top/lib" | grep -qE '^(libc|libm|libpthread|libdl|librt|libresolv|ld-linux)[.-]' ||
        fail "glibc's libraries were copied"
    # every bundled library's licence travels with it
    local lib pkg
    for lib in $(ls "$top/lib"); do
        pkg=$(awk -F'\t' -v l="$lib" '$1 == l { print $2 }' "$top/share/doc/third-party/LIBRARIES")
        [ -n "$pkg" ] || fail "no package named for $lib"
        [ ! -e "/usr/share/doc/$pkg/copyright" ] || [ -s "$top/share/doc/third-party/$pkg.copyright" ] ||
            fail "no licence for $lib ($pkg)"
    done
    # glibc's own files, and nothing else, in a copy of the system library directory
    local libc libdir
    libc=$(ldd "$AIRLOCK" | awk '$1 == "libc.so.6" { print $3 }')
    libdir=$(dirname "$(readlink -f "$libc")")
    mkdir "$T/glibc"
    local f
    for f in $(dpkg -L libc6 | grep -E '/lib(64)?/x86_64-linux-gnu/[^/]+\.so[.0-9]*$' | xargs -n1 basename); do
        [ -e "$libdir/$f" ] && cp -a "$libdir/$f" "$T/glibc/"
    done
    [ -e "$T/glibc/libc.so.6" ] || fail "glibc's files not found in $libdir"
    make_bundle b.tar
    "$AIRLOCK" keygen --output-key-prefix k 2>/dev/null
    "$AIRLOCK" sign --key k.key --to "$PLAIN/$CASE" b.tar >/dev/null
    local bb
    bb=$(command -v busybox) || fail "busybox (static) is needed to run a shell there"
    cat >"$T/inside.sh" <<EOF
# the CA bundle where Alpine keeps it, none where Debian does: the tarball's libcurl knows
# only Debian's path, airlock finds the others
mount -t tmpfs tmpfs /etc/ssl || exit 88
"$bb" cp "$CA" /etc/ssl/cert.pem || exit 89
mount --bind "$T/glibc" "$libdir" || exit 90
unset LD_LIBRARY_PATH SSL_CERT_FILE
# the dependency packages are out of reach: the build's airlock cannot start
"$AIRLOCK" version >/dev/null 2>&1 && exit 91
"$top/bin/airlock" version >"$T/in.version" 2>&1 || exit 92
"$top/bin/airlock" verify --key k.pub b.tar >"$T/in.verify" 2>&1 || exit 93
"$top/bin/airlock" push --key k.pub --plain-http b.tar "$PLAIN/$CASE" >"$T/in.push" 2>&1 || exit 94
"$top/bin/airlock" push --key k.pub --identity-check any --creds tester:tester-pass b.tar \
    "$TLSREG/$CASE" >"$T/in.tlspush" 2>&1 || exit 95
LD_TRACE_LOADED_OBJECTS=1 "$top/bin/airlock" >"$T/in.ldd" 2>&1
exit 0
EOF
    run unshare -m "$bb" sh "$T/inside.sh"
    [ "$rc" = 0 ] || fail "in the namespace: step $rc failed: $(cat "$T"/in.* 2>/dev/null)"
    grep -q '^libcurl ' "$T/in.version" || fail "version there: $(cat "$T/in.version")"
    # every library it loaded there is glibc's or the tarball's
    if awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$T/in.ldd" | grep -vE "^$top/(bin/\.\./)?lib/" |
        grep -vE '/(libc|libm|libpthread|libdl|librt|libresolv|libmvec)\.so'; then
        fail "loaded a library from outside the tarball: $(cat "$T/in.ldd")"
    fi
    # what it pushed is there, signed
    airlock verify --key k.pub --plain-http "$PLAIN/$CASE/test/busybox:1.0"
    expect_rc 0
}

# samples/systemd and samples/k8s: units that systemd accepts, a CronJob with the fields a
# sync job needs, and sync.json files that airlock sync's config parser takes.
case_samples_parse() {
    local s=$SRC/samples
    if command -v systemd-analyze >/dev/null; then
        mkdir "$T/units"
        sed "s|/usr/bin/airlock|$AIRLOCK|" "$s/systemd/airlock-sync.service" >"$T/units/airlock-sync.service"
        cp "$s/systemd/airlock-sync.timer" "$T/units/"
        run systemd-analyze verify --man=no "$T/units/airlock-sync.service" "$T/units/airlock-sync.timer"
        [ "$rc" = 0 ] && [ ! -s "$T/err" ] || fail "systemd-analyze verify: $(cat "$T/err")"
    else
        echo "systemd-analyze not found: units not verified"
    fi
    grep -q '^ExecStart=/usr/bin/airlock sync --config /etc/airlock/sync.json' \
        "$s/systemd/airlock-sync.service" || fail "the service does not run sync --config"
    grep -q '^Type=oneshot' "$s/systemd/airlock-sync.service" || fail "the service is not oneshot"
    "$PY" - "$s/k8s/airlock-sync-cronjob.yaml" <<'EOF' || fail "the CronJob manifest is wrong"
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 1, "one document"
cj = docs[0]
assert cj["apiVersion"] == "batch/v1" and cj["kind"] == "CronJob", "a batch/v1 CronJob"
spec = cj["spec"]
fields = spec["schedule"].split()
assert len(fields) == 5, "a five-field schedule"
assert spec["concurrencyPolicy"] == "Forbid", "no overlapping runs"
pod = spec["jobTemplate"]["spec"]["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure"), "a Job's restartPolicy"
(c,) = pod["containers"]
argv = c["command"] + c["args"]
assert argv[0].endswith("/airlock") and argv[1] == "sync", argv
cfg = argv[argv.index("--config") + 1]
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
for m in c["volumeMounts"]:
    assert m["name"] in vols, "mount of an undefined volume " + m["name"]
assert cfg in mounts, "the config file is mounted"
assert vols[mounts[cfg]["name"]]["configMap"], "the config comes from a ConfigMap"
assert mounts[cfg].get("subPath") == "sync.json", "the ConfigMap's sync.json"
assert "/inbox" in mounts and "persistentVolumeClaim" in vols[mounts["/inbox"]["name"]]
assert c["securityContext"]["readOnlyRootFilesystem"] is True
# the image the sample builds has airlock where the CronJob runs it
cf = open(sys.argv[1].replace("airlock-sync-cronjob.yaml", "Containerfile")).read()
assert 'ENTRYPOINT ["%s"]' % c["command"][0] in cf, "Containerfile and CronJob disagree"
EOF
    # sync.json: accepted by sync's parser and run once over an empty inbox, with the paths
    # moved under $T; a misspelt member is refused (the parser checks)
    mkdir -p r/srv/airlock/inbox r/var/log/airlock r/etc/airlock/keys r/etc/airlock/tls \
        r/etc/airlock/auth r/inbox
    "$AIRLOCK" keygen --output-key-prefix r/etc/airlock/cosign 2>/dev/null
    cp r/etc/airlock/cosign.pub r/etc/airlock/keys/
    echo '{"auths":{}}' >r/etc/airlock/auth.json
    cp r/etc/airlock/auth.json r/etc/airlock/auth/
    cp "$REGROOT/ca.crt" r/etc/airlock/tls/ca.crt 2>/dev/null ||
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
            -out r/etc/airlock/tls/ca.crt -subj /CN=ca -days 1 2>/dev/null
    local R=$T/r
    sed "s|\"/srv/|\"$R/srv/|g; s|\"/var/|\"$R/var/|g; s|\"/etc/|\"$R/etc/|g" \
        "$s/systemd/sync.json" >systemd.json
    sed "s|\"/inbox|\"$R/inbox|g; s|\"/etc/|\"$R/etc/|g" "$s/k8s/sync.json" >k8s.json
    for j in systemd.json k8s.json; do
        airlock sync --config "$j" --json
        [ "$rc" = 0 ] || fail "sync does not take samples/${j%.json}/sync.json: $(cat "$T/err")"
        json '.pushed == 0 and .failed == 0'
        sed 's/"keepDays"/"keepdays"/' "$j" >bad.json
        airlock sync --config bad.json
        expect_rc 2
        err_has "keepdays"
    done
    [ -s "$R/var/log/airlock/last-run.json" ] || fail "the systemd sample's report path is not written"
}

main "$@"
