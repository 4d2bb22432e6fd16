# Split sets for size-limited media: every part verifies alone, a missing or damaged part is
# named exactly, a set is split again for other media, and a part is a bundle of its own.
. "$(dirname "$0")/lib.sh"
F=$FIXTURES
export COSIGN_PASSWORD=test-password

# a signed bundle: the busybox image (a 1 MB layer) and the multi-arch index
signed() {
    "$AIRLOCK" keygen --output-key-prefix cosign 2>/dev/null
    make_bundle "$1"
    "$AIRLOCK" import -q "$F/multi" -o "$1"
    "$AIRLOCK" sign --key cosign.key --no-recursive ${SIGN_FORMAT:+--signature-format "$SIGN_FORMAT"} "$1" >/dev/null
}
nparts() { ls "$1".[0-9][0-9][0-9] 2>/dev/null | wc -l; }

case_split_parts_verify_alone() {
    signed b.tar
    # 400 KiB parts: the 1 MB layer is cut in pieces, every other layer lands whole
    airlock split --size 400K --json b.tar
    expect_rc 0
    n=$(jq '.parts | length' out)
    [ "$n" -ge 3 ] || fail "only $n parts"
    jq -e '[.parts[].size] | max <= 409600' out >/dev/null || fail "a part is too large"
    for p in b.tar.0*; do
        airlock verify --part-only --key cosign.pub "$p"
        expect_rc 0
        err_has "in part"
    done
    # any part opens the whole set: content and signatures
    airlock verify --key cosign.pub b.tar.002
    expect_rc 0
    err_has "in a set of $n parts (0 parts missing)"
    airlock inspect --json b.tar.003
    expect_rc 0
    json '(.images | length) >= 2'
    # an import from the set makes one whole bundle again, identical in content
    airlock import -q b.tar.001 -o whole.tar
    expect_rc 0
    airlock verify --key cosign.pub whole.tar
    expect_rc 0
}

case_split_missing_and_damaged_part_named() {
    signed b.tar
    "$AIRLOCK" split -q --size 400K b.tar
    mv b.tar.002 elsewhere
    airlock verify b.tar.001
    expect_rc 4
    err_has "part 2 of"
    err_has "'b.tar.002' is missing"
    ! grep -E "part (1|3) of [0-9]+ 'b.tar.00(1|3)' is missing" err >/dev/null || fail "named another part"
    airlock verify --json b.tar.003
    expect_rc 4
    json '.split.missingParts == ["b.tar.002"]'
    # push refuses an incomplete set before anything goes up (no registry needed to say so)
    airlock push --no-verify --plain-http b.tar.001 127.0.0.1:9/x
    expect_rc 4
    err_has "part 2 'b.tar.002' is missing"
    mv elsewhere b.tar.002
    # a flipped byte in the middle of part 2's data: that part, and only it, is named
    off=$("$PY" - <<'PY'
import tarfile
with tarfile.open("b.tar.002") as t:
    m = max((m for m in t.getmembers() if m.isfile()), key=lambda m: m.size)
    print(m.offset_data + m.size // 2)
PY
)
    printf 'X' | dd of=b.tar.002 bs=1 seek="$off" conv=notrunc 2>/dev/null
    airlock verify b.tar.001
    expect_rc 4
    err_has "'b.tar.002' (damaged: copy that part again)"
    grep -F "damaged" err | grep -vF "b.tar.002' (damaged" | grep -F "(damaged" >/dev/null &&
        fail "another part called damaged"
    airlock verify --part-only b.tar.002
    expect_rc 4
    airlock verify --part-only b.tar.001
    expect_rc 0
}

case_split_parts_on_different_media() {
    signed b.tar
    "$AIRLOCK" split -q --size 400K b.tar
    mkdir usb1 usb2 usb3
    mv b.tar.001 usb1/; mv b.tar.002 usb2/; mv b.tar.0* usb3/
    # named one by one, wherever they are mounted
    airlock verify --key cosign.pub usb2/b.tar.002 usb1/b.tar.001 usb3/b.tar.0*
    expect_rc 0
    # a part of another set is refused by name
    "$AIRLOCK" split -q --size 500K b.tar -o other.tar
    airlock verify usb1/b.tar.001 other.tar.002
    expect_rc 2
    err_has "'other.tar.002' is not another part of the set"
    airlock verify usb1/b.tar.001 usb2/b.tar.002
    expect_rc 4
    err_has "is missing"
}

case_split_again_for_other_media() {
    # the .sig alone: with the bundle referrers too, what every part carries passes 64K
    SIGN_FORMAT=simplesigning signed b.tar
    "$AIRLOCK" split -q --size 300K b.tar
    many=$(nparts b.tar)
    # from any part of the set, for larger media: fewer parts, the extra old ones removed
    airlock split --size 4M b.tar.002
    expect_rc 0
    [ "$(nparts b.tar)" -lt "$many" ] || fail "not fewer parts"
    [ ! -e "b.tar.$(printf %03d "$many")" ] || fail "an old part stayed"
    airlock verify --key cosign.pub b.tar.001
    expect_rc 0
    # the smallest parts allowed: the layer is cut over many of them, each within the size
    airlock split --size 64K --json b.tar.001 -o tiny.tar
    expect_rc 0
    jq -e '(.parts | length) > 10 and ([.parts[].size] | max <= 65536)' out >/dev/null ||
        fail "parts of 64K: $(cat out)"
    airlock verify --key cosign.pub tiny.tar.007
    expect_rc 0
    no_leftovers .
}

case_fat32_limits_said_before_writing() {
    signed b.tar
    # (the file system type is faked: the tests have no FAT32 stick to mount)
    AIRLOCK_TEST_FS_MAGIC=0x4d44 airlock split --size 5G b.tar
    expect_rc 2
    err_has "FAT32 file system, which holds files of at most 4 GiB - 1 byte"
    AIRLOCK_TEST_FS_MAGIC=0x4d44 airlock split --size 400K b.tar -o 'a:b.tar'
    expect_rc 2
    err_has "cannot hold a name"
    [ -z "$(ls | grep -F 'a:b')" ] || fail "written anyway"
    AIRLOCK_TEST_FS_MAGIC=0x4d44 airlock split --size 4095M b.tar
    expect_rc 0
}

case_split_usage() {
    airlock split b.tar
    expect_rc 2
    err_has "missing --size"
    airlock split --size 1x b.tar
    expect_rc 2
    airlock split --size 1M nothere.tar
    expect_rc 1
    err_has "nothere.tar"
}

main "$@"
