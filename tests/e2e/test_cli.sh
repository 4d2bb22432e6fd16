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

# Every command parses with the one table-driven parser: --opt=value and "--" work, an
# unknown option is refused alike (exit 2, the same words), and --help lists exactly the
# options the command had (the lists below: its options before the parser came) and each
# listed one is parsed as listed (an argument or none, its short letter).
REGOPTS="ca-file client-cert client-key plain-http insecure username password-stdin auth-file
 parallel retries stall-timeout chunk-size trust-realm
 allow-insecure-registry allow-http-registry tls-verify creds authfile retry-times"
opts_of() {
    case $1 in
    verify) echo "key identity to map identity-check annotation attestation allow-unsigned
        part-only policy json threads quiet help $REGOPTS output insecure-ignore-tlog
        new-bundle-format offline local-image" ;;
    push) echo "key allow-unsigned no-verify identity identity-check annotation attestation policy
        map json quiet help $REGOPTS" ;;
    sync) echo "key to identity identity-check map settle config json quiet help $REGOPTS" ;;
    sign) echo "key to map identity annotation signature-format no-recursive recursive
        password-file json quiet help sign-container-identity new-bundle-format tlog-upload
        use-signing-config yes" ;;
    keygen | generate-key-pair) echo "key output-key-prefix force scrypt-n password-file quiet help" ;;
    import-key-pair) echo "key output-key-prefix force scrypt-n password-file quiet help" ;;
    public-key) echo "key password-file quiet help" ;;
    pkcs11) echo "module token slot-id json quiet help" ;;
    serve) echo "listen tls-cert tls-key prefix map key policy registry-name identity annotation
        allow-unsigned read-timeout max-clients threads json quiet help" ;;
    split) echo "size output json quiet help" ;;
    import) echo "output format name quiet json help" ;;
    export) echo "output images set dry-run format platform split have since json quiet help
        $REGOPTS" ;;
    inventory) echo "output repo set map page-size json quiet help $REGOPTS" ;;
    inspect) echo "json lock quiet help" ;;
    tags) echo "semver filter deny latest page-size json quiet help $REGOPTS" ;;
    digest) echo "json quiet help $REGOPTS" ;;
    login) echo "password quiet help $REGOPTS" ;;
    logout) echo "auth-file authfile all quiet help" ;;
    version) echo "json quiet help" ;;
    attest) echo "key predicate type replace recursive signature-format password-file json quiet help
        new-bundle-format tlog-upload use-signing-config yes" ;;
    attestations) echo "key type json quiet help" ;;
    sbom) echo "key quiet help" ;;
    esac
}
letters_of() {
    case $1 in
    verify) echo "k a j q o u h" ;; push) echo "k a q u h" ;; sync) echo "k q u h" ;; sign) echo "k a y q h" ;;
    keygen | generate-key-pair) echo "k f q h" ;; import-key-pair) echo "k o f q h" ;;
    public-key) echo "k q h" ;;
    pkcs11) echo "q h" ;; serve) echo "l k a j q h" ;; split) echo "o q h" ;; import) echo "o q h" ;;
    export | inventory) echo "o q u h" ;; tags | digest) echo "q u h" ;; login) echo "p q u h" ;;
    logout) echo "a q h" ;; inspect | version) echo "q h" ;;
    attest) echo "k y q h" ;; attestations | sbom) echo "k q h" ;;
    esac
}
ALL_CMDS="verify push sync sign keygen generate-key-pair import-key-pair public-key pkcs11 serve
 split import export inspect tags digest login logout version
 attest attestations sbom inventory"

case_every_command_refuses_unknown_options_alike() {
    for c in $ALL_CMDS; do
        airlock $c --no-such-option x
        expect_rc 2
        err_has "airlock $c: unknown option '--no-such-option'"
        err_has "Try 'airlock $c --help'."
        out_empty
        airlock $c -Z x
        expect_rc 2
        err_has "airlock $c: unknown option '-Z'"
        airlock $c --json=1 x
        expect_rc 2
        [ "$c" = keygen ] || [ "$c" = generate-key-pair ] || [ "$c" = import-key-pair ] ||
            [ "$c" = public-key ] || [ "$c" = login ] || [ "$c" = logout ] || [ "$c" = sbom ] ||
            err_has "option '--json' takes no argument"
    done
}

case_every_command_help_lists_what_it_parses() {
    for c in $ALL_CMDS; do
        airlock $c --help
        expect_rc 0
        err_empty
        # the option lines: "  -k, --key FILE   text" or "      --json   text"
        # (a boolean, "--x[=BOOL]": its arg column reads [=BOOL])
        sed -nE 's/^  (-([A-Za-z]), |    )--([a-z0-9-]+)(\[=BOOL\])?( ([^ ]+))?.*/\3 -\2 \6\4/p' \
            "$T/out" >"$T/listed"
        local want got
        want=$(opts_of $c | tr -s ' \n' '\n' | sed '/^$/d' | sort)
        got=$(cut -d' ' -f1 "$T/listed" | sort)
        [ "$want" = "$got" ] || fail "$c --help lists other options than it had:
$(diff <(echo "$want") <(echo "$got"))"
        [ "$(echo "$got" | uniq -d)" = "" ] || fail "$c --help lists an option twice"
        want=$(letters_of $c | tr ' ' '\n' | sort)
        got=$(awk '$2 != "-" { print substr($2, 2) }' "$T/listed" | sort)
        [ "$want" = "$got" ] || fail "$c --help short letters: '$got', expected '$want'"
        local name letter arg
        while read -r name letter arg; do
            [ "$name" = help ] && continue
            if [ "$arg" = "[=BOOL]" ]; then # --x, --x=true, --x=false; nothing else
                airlock $c --$name=maybe
                expect_rc 2
                err_has "bad value 'maybe' for --$name (true or false)"
            elif [ -n "$arg" ]; then # it takes an argument: without one, the parser says so
                airlock $c --$name
                expect_rc 2
                err_has "option '--$name' needs an argument"
                airlock $c --$name=1 --no-such-option
                expect_rc 2
                ! grep -qF "unknown option '--$name" "$T/err" || fail "$c does not parse --$name=1"
            else
                airlock $c --$name=1
                expect_rc 2
                err_has "option '--$name' takes no argument"
            fi
            if [ "$letter" != - ]; then
                airlock $c $letter 1 --no-such-option
                expect_rc 2
                ! grep -qF "unknown option '$letter'" "$T/err" || fail "$c does not parse $letter"
            fi
        done <"$T/listed"
    done
}

case_every_command_takes_opt_equals_value_and_dashdash() {
    make_bundle b.tar
    cp b.tar ./-b.tar
    export COSIGN_PASSWORD=pw
    airlock keygen --output-key-prefix=k --scrypt-n=32768
    expect_rc 0
    [ -f k.key ] && [ -f k.pub ] || fail "keygen --output-key-prefix=k wrote no k.key, k.pub"
    airlock keygen -- extra
    expect_rc 2
    err_has "airlock keygen: unexpected argument 'extra'"
    airlock public-key --key=k.key
    expect_rc 0
    cmp -s "$T/out" k.pub || fail "public-key --key=k.key printed another key"
    airlock public-key --key k.key -- extra
    expect_rc 2
    err_has "airlock public-key: unexpected argument 'extra'"
    airlock import-key-pair --key=nosuch.pem
    expect_rc 1
    err_has "open 'nosuch.pem'"
    airlock import-key-pair --key nosuch.pem -- extra
    expect_rc 2
    err_has "unexpected argument 'extra'"
    airlock sign --key=k.key --to=reg.example/m --map=example.com/test/busybox=x/bb -- -b.tar
    expect_rc 0
    out_has "example.com/test/busybox:1.0"
    ! grep -qF "cosign's default identity" "$T/err" || fail "sign did not take --to=reg.example/m"
    airlock sign --key=k.key --signature-format=cms b.tar
    expect_rc 2
    err_has "bad value 'cms' for --signature-format (simplesigning, bundle or both)"
    airlock verify --key=k.pub --to=reg.example/m --map=example.com/test/busybox=x/bb --threads=2 -- -b.tar
    expect_rc 0
    out_has "ok "
    airlock verify --threads=0 b.tar
    expect_rc 2
    err_has "bad --threads '0' (1 to 64)"
    airlock verify --key=k.pub --identity-check=sometimes --to=r.example b.tar
    expect_rc 2
    err_has "bad value 'sometimes' for --identity-check (destination or any)"
    airlock push --key=k.pub --retries=1 --plain-http --map=x -- -b.tar 127.0.0.1:1
    expect_rc 2
    err_has "--map wants SRC=DST, not 'x'"
    airlock push --key=k.pub --parallel=0 -- -b.tar 127.0.0.1:1
    expect_rc 2
    err_has "bad value '0' for --parallel"
    mkdir ./-inbox
    airlock sync --key=k.pub --to=127.0.0.1:1 --settle=0 --json -- ./-inbox
    expect_rc 0
    json '.pushed == 0'
    airlock sync --settle=-1 --key=k.pub --to=x ./-inbox
    expect_rc 2
    err_has "bad --settle '-1' (0 to 86400)"
    airlock pkcs11 --module=/nonexistent/module.so -- tokens
    expect_rc 1
    err_has "load PKCS#11 module '/nonexistent/module.so'"
    cp b.tar ./-b.tar.zst
    airlock serve --listen=127.0.0.1:0 --read-timeout=5 -- -b.tar.zst
    expect_rc 2
    err_has "'-b.tar.zst' is a compressed bundle"
    airlock serve --max-clients=0 b.tar
    expect_rc 2
    err_has "bad --max-clients '0' (1 to 86400)"
}

# serve --listen: a port out of 0-65535 is refused before the bundle is read (getaddrinfo takes
# 99999 and listened on 34463, a port nobody asked for)
case_serve_listen_port_checked() {
    make_bundle b.tar
    for l in 127.0.0.1:99999 127.0.0.1:65536 127.0.0.1:-1 127.0.0.1:5x '[::1]:123456' 127.0.0.1:; do
        run timeout 20 "$AIRLOCK" serve --listen "$l" b.tar
        expect_rc 2
        err_has "listen address '$l'"
        ! grep -q "serving\|listening" "$T/err" || fail "serve $l read the bundle first: $(cat "$T/err")"
    done
}

main "$@"
