# The command line itself: help, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"

case_help_lists_commands_and_exit_codes() {
    airlock --help
    expect_rc 0
    for w in import inspect verify "exit codes:" "4  integrity failure"; do out_has "$w"; done
    err_empty
    for c in import inspect verify; do
        airlock $c --help
        expect_rc 0
        out_has "usage: airlock $c"
    done
}

case_usage_errors_exit_2() {
    airlock
    expect_rc 2
    airlock frobnicate
    expect_rc 2
    err_has "unknown command 'frobnicate'"
    airlock verify
    expect_rc 2
    err_has "expected a BUNDLE (or the parts of one split set)"
    airlock import x.tar
    expect_rc 2
    err_has "missing -o BUNDLE"
    airlock verify --threads 0 x
    expect_rc 2
}

# The one table-driven option parser: the same forms and errors for every command it serves.
case_options_parsed_alike() {
    make_bundle b.tar
    airlock split --size=64k -o p b.tar --json
    expect_rc 0
    out_has '"parts":['
    airlock import -q -o c.tar -- b.tar
    expect_rc 0
    [ -f c.tar ] || fail "import with -- wrote nothing"
    for c in split import; do
        airlock $c --no-such-option b.tar
        expect_rc 2
        err_has "unknown option '--no-such-option'"
        airlock $c -Z b.tar
        expect_rc 2
        err_has "unknown option '-Z'"
        airlock $c --help
        expect_rc 0
        out_has "  -q, --quiet"
        out_has "  -h, --help            show this help"
    done
    airlock split --size
    expect_rc 2
    err_has "option '--size' needs an argument"
    airlock split --size 1k b.tar
    expect_rc 2
    err_has "bad --size '1k' (at least 64k)"
    airlock import --format zip -o x b.tar
    expect_rc 2
}

case_inspect_table() {
    make_bundle b.tar
    airlock inspect b.tar
    expect_rc 0
    out_has "REFERENCE"
    out_has "example.com/test/busybox:1.0"
    out_has "linux/amd64"
    err_empty
}

case_version() {
    airlock version
    expect_rc 0
    out_has "airlock "
}

main "$@"
