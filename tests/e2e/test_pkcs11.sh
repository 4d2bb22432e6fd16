# Keys on PKCS#11 tokens: SoftHSM2 (softhsm2-util) with tokens and keys made by the test
# (opensc's pkcs11-tool), SOFTHSM2_CONF in the case's temp dir. Signatures made by the token
# are checked with the key's public half by airlock, by the independent cosign_check.py and
# by the official @sigstore/verify.
. "$(dirname "$0")/lib.sh"
M=/usr/lib/softhsm/libsofthsm2.so
[ -r "$M" ] || fail "SoftHSM2 is not installed ($M): run .ci/install-deps"
command -v pkcs11-tool >/dev/null || fail "pkcs11-tool (opensc) is not installed: run .ci/install-deps"
SG=$E2E_SRC/sigstore
PIN=735190246 # distinctive, so that a leak in any output is found by grep
SOPIN=11223344

export SOFTHSM2_CONF=$T/softhsm2.conf
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$SOFTHSM2_CONF"
unset AIRLOCK_PKCS11_PIN AIRLOCK_PKCS11_MODULE

p11() { pkcs11-tool --module "$M" "$@"; }
# a token LABEL with an EC P-256 key pair "airlock" (id 01) and an RSA pair "rsa" (id 02)
token() {
    softhsm2-util --init-token --free --label "$1" --pin "$PIN" --so-pin "$SOPIN" >/dev/null ||
        fail "softhsm2-util --init-token"
    p11 --token-label "$1" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
        --label airlock --id 01 >/dev/null 2>&1 || fail "pkcs11-tool EC keypairgen"
    p11 --token-label "$1" --login --pin "$PIN" --keypairgen --key-type rsa:2048 \
        --label rsa --id 02 >/dev/null 2>&1 || fail "pkcs11-tool RSA keypairgen"
}
# the token's own export of a public key (pkcs11-tool, not airlock) as PEM
token_pub() { # TOKEN ID OUT
    p11 --token-label "$1" --read-object --type pubkey --id "$2" -o "$T/pub.der" >/dev/null 2>&1 ||
        fail "pkcs11-tool --read-object"
    openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$3"
}
uri() { echo "pkcs11:token=${1:-release};object=${2:-airlock}?module-path=$M${3:+&$3}"; }
# stdout and stderr of every run so far, for the PIN check
keep() { cat "$T/out" "$T/err" >>"$T/all.log"; }
no_pin_anywhere() {
    keep
    ! grep -qF "$PIN" "$T/all.log" || fail "the PIN appears in airlock's output"
    ! grep -rqF "$PIN" --exclude=all.log --exclude=pin --exclude-dir=tokens --exclude=softhsm2.conf "$T" ||
        fail "the PIN was written into a file: $(grep -rlF "$PIN" --exclude=all.log --exclude=pin --exclude-dir=tokens "$T")"
}
tagged() {
    jq -r --arg t "sha256-${2#sha256:}${3:-}" \
        '.manifests[] | select((.annotations."org.opencontainers.image.ref.name" // "") | endswith(":" + $t)) | .digest' \
        "$1/index.json"
}
blob() { cat "$1/blobs/sha256/${2#sha256:}"; }
# the sigstore bundles of the referrers of $2 in DIR, one file each: rb.N.json; prints N
referrer_bundles() {
    local idx n=0 m
    idx=$(tagged "$1" "$2")
    [ -n "$idx" ] || { echo 0; return; }
    for m in $(blob "$1" "$idx" | jq -r '.manifests[].digest'); do
        n=$((n + 1))
        blob "$1" "$(blob "$1" "$m" | jq -r '.layers[0].digest')" >"rb.$n.json"
    done
    echo "$n"
}
jverify() {
    [ -d "$E2E_SRC/../node_modules/@sigstore/verify" ] ||
        fail "the sigstore JavaScript libraries are not installed: run .ci/install-deps (npm ci --prefix tests)"
    node "$SG/verify.js" "$@"
}
img_bundle() {
    make_bundle "$1/"
    IMG=$(jq -r '.manifests[0].digest' "$1/index.json")
}

case_tokens_and_keys_are_listed() {
    token release
    airlock pkcs11 tokens --module "$M"
    expect_rc 0
    out_has "release"
    out_has "SoftHSM project"
    out_has "initialized,login"
    airlock pkcs11 tokens --module "$M" --json
    expect_rc 0
    json '[.slots[] | select(.present and .token == "release")] | length == 1'
    json '.slots[] | select(.token == "release") | .loginRequired == true and (."slot-id" | type == "number")'
    # without a PIN: the public objects, and a note that private keys need one
    airlock pkcs11 keys --module "$M" --token release
    expect_rc 0
    out_has "public key   EC P-256"
    out_lacks "private key"
    err_has "no PIN given: private keys are not listed"
    AIRLOCK_PKCS11_PIN=$PIN airlock pkcs11 keys --module "$M" --token release --json
    expect_rc 0
    json '[.objects[] | select(.class == "private key" and .label == "airlock" and .type == "EC P-256" and .id == "01" and .usable)] | length == 1'
    json '[.objects[] | select(.class == "private key" and .label == "rsa" and .type == "RSA" and (.usable | not))] | length == 1'
    json '[.objects[] | select(.class == "private key")] | all(.sensitive)'
    # the URI printed for a key is one --key takes
    u=$(jq -r '.objects[] | select(.class == "private key" and .label == "airlock") | .uri' "$T/out")
    [ "$u" = "pkcs11:token=release;object=airlock;id=%01?module-path=$M" ] || fail "listed URI: $u"
    AIRLOCK_PKCS11_PIN=$PIN airlock public-key --key "$u"
    expect_rc 0
    token_pub release 01 tok.pub
    cmp -s "$T/out" tok.pub || fail "public-key of the listed URI is not the token's public key"
    # the URI form of keys, and a token that is not there
    airlock pkcs11 keys "pkcs11:token=release?module-path=$M&pin-value=$PIN"
    expect_rc 0
    out_has "private key  EC P-256"
    keep
    airlock pkcs11 keys --module "$M" --token nosuch
    expect_rc 1
    err_has "token 'nosuch': CKR_TOKEN_NOT_PRESENT"
    airlock pkcs11 tokens --module /nonexistent/module.so
    expect_rc 1
    err_has "load PKCS#11 module '/nonexistent/module.so'"
    airlock pkcs11 frobnicate
    expect_rc 2
    airlock pkcs11 --help
    expect_rc 0
    out_has "exit codes:"
    out_has "CKR_PIN_INCORRECT"
    no_pin_anywhere
}

# sign a bundle in both formats with the token's key; airlock, cosign_check.py and
# @sigstore/verify accept it with the key's public half as the token itself exports it
case_token_signature_verifies_with_airlock_cosign_check_and_sigstore_js() {
    token release
    token_pub release 01 tok.pub
    airlock public-key --key "$(uri release airlock "pin-value=$PIN")"
    expect_rc 0
    cmp -s "$T/out" tok.pub || fail "airlock public-key differs from the token's public key"
    cp "$T/out" rel.pub
    keep
    img_bundle b
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri)" -a env=prod b
    expect_rc 0
    out_has "$IMG	example.com/test/busybox:1.0"
    keep
    airlock verify --key rel.pub -a env=prod --json b
    expect_rc 0
    json '.signatures.ok == true'
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    "$PY" "$E2E_SRC/cosign_check.py" b rel.pub >check.out || fail "cosign_check.py: $(cat check.out)"
    grep -q "^ok $IMG " check.out || fail "cosign_check.py output: $(cat check.out)"
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "one sigstore bundle referrer"
    hint=$(openssl pkey -pubin -in tok.pub -outform DER | openssl dgst -sha256 -binary | base64)
    jq -e --arg h "$hint" '.verificationMaterial == {"publicKey":{"hint":$h}}' rb.1.json >/dev/null ||
        fail "bundle hint is not the token key's"
    jverify rb.1.json tok.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify refuses the token's bundle"
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -pubout -out other.pub
    ! jverify rb.1.json other.pub >/dev/null 2>&1 || fail "@sigstore/verify accepts another key"
    airlock verify --key other.pub b
    expect_rc 3
    # the same key again adds nothing (checked with the token key's public half)
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri)" -a env=prod b
    expect_rc 0
    err_has "was already signed with this key"
    # a .tar bundle too
    make_bundle b.tar
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri)" b.tar
    expect_rc 0
    airlock verify --key tok.pub b.tar
    expect_rc 0
    "$PY" "$E2E_SRC/cosign_check.py" b.tar tok.pub >/dev/null || fail "cosign_check.py on the tar"
    no_pin_anywhere
}

case_signature_formats_each_alone() {
    token release
    token_pub release 01 tok.pub
    img_bundle s
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --signature-format simplesigning --key "$(uri)" s
    expect_rc 0
    airlock verify --key tok.pub --json s
    expect_rc 0
    json '[.images[0].signatures[].format] == ["simplesigning"]'
    [ "$(referrer_bundles s "$IMG")" = 0 ] || fail "simplesigning alone wrote a bundle referrer"
    "$PY" "$E2E_SRC/cosign_check.py" s tok.pub | grep -q "^ok $IMG " || fail "cosign_check.py"
    img_bundle d
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --signature-format bundle --key "$(uri)" d
    expect_rc 0
    airlock verify --key tok.pub --json d
    expect_rc 0
    json '[.images[0].signatures[].format] == ["sigstore-bundle"]'
    [ "$(referrer_bundles d "$IMG")" = 1 ] || fail "bundle alone: one referrer"
    jverify rb.1.json tok.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify"
    no_pin_anywhere
}

case_wrong_pin_is_refused_and_nothing_is_written() {
    token release
    make_bundle b.tar
    sum=$(sha256sum <b.tar)
    airlock sign --key "$(uri release airlock pin-value=999999)" b.tar
    expect_rc 2
    err_has "token 'release': C_Login: CKR_PIN_INCORRECT (wrong PIN)"
    out_empty
    [ "$(sha256sum <b.tar)" = "$sum" ] || fail "a refused sign changed the bundle"
    no_leftovers .
    AIRLOCK_PKCS11_PIN=000000 airlock sign --key "$(uri)" b.tar
    expect_rc 2
    err_has "CKR_PIN_INCORRECT"
    img_bundle d
    dsum=$(find d -type f | sort | xargs sha256sum | sha256sum)
    AIRLOCK_PKCS11_PIN=000000 airlock sign --key "$(uri)" d
    expect_rc 2
    [ "$(find d -type f | sort | xargs sha256sum | sha256sum)" = "$dsum" ] || fail "a refused sign changed the directory bundle"
    # no PIN at all, stdin not a terminal: refused, saying how to give one
    airlock sign --key "$(uri)" b.tar </dev/null
    expect_rc 2
    err_has "token 'release' needs a PIN and none was given"
    [ "$(sha256sum <b.tar)" = "$sum" ] || fail "bundle changed"
    # --password-file is for key files
    echo "$PIN" >pin
    airlock sign --key "$(uri)" --password-file pin b.tar
    expect_rc 2
    err_has "--password-file is for key files"
    no_pin_anywhere
}

case_missing_token_missing_key_and_bad_uri() {
    token release
    make_bundle b.tar
    sum=$(sha256sum <b.tar)
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri nosuch)" b.tar
    expect_rc 1
    err_has "token 'nosuch': CKR_TOKEN_NOT_PRESENT"
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "pkcs11:slot-id=4242;object=airlock?module-path=$M" b.tar
    expect_rc 1
    err_has "slot 4242"
    err_has "CKR_SLOT_ID_INVALID"
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri release nokey)" b.tar
    expect_rc 1
    err_has "key 'nokey' on token 'release': no such private key"
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "pkcs11:token=release;object=airlock;colour=red?module-path=$M" b.tar
    expect_rc 2
    err_has "unknown path attribute 'colour'"
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "pkcs11:token=release;token=release?module-path=$M" b.tar
    expect_rc 2
    err_has "'token' given twice"
    airlock sign --key "pkcs11:token=release;object=airlock?module-path=/nonexistent/p11.so" b.tar
    expect_rc 1
    err_has "load PKCS#11 module '/nonexistent/p11.so'"
    [ "$(sha256sum <b.tar)" = "$sum" ] || fail "a refused sign changed the bundle"
    no_pin_anywhere
}

case_rsa_key_on_the_token_is_refused() {
    token release
    make_bundle b.tar
    sum=$(sha256sum <b.tar)
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri release rsa)" b.tar
    expect_rc 2
    err_has "key 'rsa' on token 'release' is an RSA key; airlock signs with ECDSA P-256 keys only"
    AIRLOCK_PKCS11_PIN=$PIN airlock public-key --key "pkcs11:token=release;id=%02?module-path=$M"
    expect_rc 2
    err_has "is an RSA key"
    [ "$(sha256sum <b.tar)" = "$sum" ] || fail "bundle changed"
    no_pin_anywhere
}

# a key pair whose public object is another key's: the token's signature is checked with the
# public half before it is written, so nothing unverifiable enters the bundle
case_mismatched_public_key_object_is_caught_before_writing() {
    token release
    P=(--token-label release --login --pin "$PIN")
    p11 "${P[@]}" --keypairgen --key-type EC:prime256v1 --label mis --id 03 >/dev/null 2>&1 || fail keypairgen
    p11 "${P[@]}" --delete-object --type pubkey --id 03 >/dev/null 2>&1 || fail delete
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -pubout -outform DER -out o.der
    p11 "${P[@]}" --write-object o.der --type pubkey --id 03 --label mis >/dev/null 2>&1 || fail write-object
    make_bundle b.tar
    sum=$(sha256sum <b.tar)
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri release mis)" b.tar
    expect_rc 1
    err_has "key 'mis' on token 'release': the token's signature does not verify with the public key found for it"
    [ "$(sha256sum <b.tar)" = "$sum" ] || fail "bundle changed"
    no_pin_anywhere
}

# a key that wants the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE, as a YubiKey's
# PIV signature slot): each signature is preceded by a context-specific login
case_always_authenticate_key_signs_every_format() {
    token release
    p11 --token-label release --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
        --label aa --id 09 --always-auth >/dev/null 2>&1 || fail "pkcs11-tool --always-auth"
    token_pub release 09 aa.pub
    img_bundle b
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --recursive --key "$(uri release aa)" b
    expect_rc 0
    airlock verify --key aa.pub --json b
    expect_rc 0
    json '[.images[0].signatures[].format] | sort == ["sigstore-bundle", "simplesigning"]'
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "one referrer"
    jverify rb.1.json aa.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify"
    no_pin_anywhere
}

case_keygen_on_the_token_then_sign_and_verify() {
    token release
    airlock keygen --key "$(uri release gen "pin-value=$PIN")" --output-key-prefix gen
    expect_rc 0
    err_has "Public key written to gen.pub"
    [ -s gen.pub ] && [ ! -e gen.key ] || fail "keygen on a token writes gen.pub only"
    keep
    # the token holds it: sensitive, not extractable, and its public object is gen.pub
    AIRLOCK_PKCS11_PIN=$PIN airlock pkcs11 keys --module "$M" --token release --json
    expect_rc 0
    json '[.objects[] | select(.class == "private key" and .label == "gen")] | length == 1'
    json '.objects[] | select(.class == "private key" and .label == "gen") | .sensitive and (.extractable | not) and .usable and .type == "EC P-256" and (.id | length == 32)'
    id=$(jq -r '.objects[] | select(.class == "private key" and .label == "gen") | .id' "$T/out")
    token_pub release "$id" tok.pub
    cmp -s gen.pub tok.pub || fail "gen.pub is not the token's public key"
    p11 --token-label release --login --pin "$PIN" --read-object --type privkey --id "$id" -o priv.der >/dev/null 2>&1 &&
        [ -s priv.der ] && fail "the generated private key could be read off the token"
    # sign with it and verify with gen.pub everywhere
    img_bundle b
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "$(uri release gen)" b
    expect_rc 0
    airlock verify --key gen.pub b
    expect_rc 0
    "$PY" "$E2E_SRC/cosign_check.py" b gen.pub | grep -q "^ok $IMG " || fail "cosign_check.py"
    [ "$(referrer_bundles b "$IMG")" = 1 ] || fail "one referrer"
    jverify rb.1.json gen.pub --digest "$IMG" >/dev/null || fail "@sigstore/verify"
    # the same label again: refused, the .pub kept, no second key on the token
    cp gen.pub gen.pub.orig
    airlock keygen --key "$(uri release gen "pin-value=$PIN")" --output-key-prefix gen2
    expect_rc 1
    err_has "an object with this label (object=) exists already"
    [ ! -e gen2.pub ] || fail "a refused keygen wrote gen2.pub"
    airlock keygen --key "$(uri release gen3 "pin-value=$PIN")" --output-key-prefix gen
    expect_rc 1
    err_has "'gen.pub' already exists"
    cmp -s gen.pub gen.pub.orig || fail "gen.pub replaced"
    AIRLOCK_PKCS11_PIN=$PIN airlock pkcs11 keys --module "$M" --token release --json
    json '[.objects[] | select(.label == "gen3")] | length == 0'
    json '[.objects[] | select(.class == "private key" and .label == "gen")] | length == 1'
    # a key file's keygen does not take a token URI's siblings
    airlock keygen --key cosign.key
    expect_rc 2
    no_pin_anywhere
}

case_pin_source_file_and_environment() {
    token release
    token_pub release 01 tok.pub
    printf '%s\n' "$PIN" >pin
    chmod 600 pin
    img_bundle b
    airlock sign --key "$(uri release airlock "pin-source=file:$T/pin")" b </dev/null
    expect_rc 0
    airlock verify --key tok.pub b
    expect_rc 0
    airlock public-key --key "$(uri release airlock "pin-source=$T/pin")" </dev/null
    expect_rc 0
    cmp -s "$T/out" tok.pub || fail "public-key through pin-source"
    airlock public-key --key "$(uri release airlock "pin-source=$T/nopin")"
    expect_rc 1
    err_has "open PIN file '$T/nopin' (pin-source)"
    # the URI's PIN wins over the environment
    AIRLOCK_PKCS11_PIN=000000 airlock public-key --key "$(uri release airlock "pin-value=$PIN")"
    expect_rc 0
    AIRLOCK_PKCS11_PIN=$PIN airlock public-key --key "$(uri release airlock "pin-value=1")"
    expect_rc 2
    err_has "CKR_PIN_INCORRECT"
    no_pin_anywhere
}

# on a terminal the PIN is asked for without echo (cli/password.c's prompt); script(1) gives
# airlock a pty and records everything written to it
case_pin_prompt_on_a_terminal_is_not_echoed() {
    command -v script >/dev/null || fail "script (util-linux) is not installed"
    token release
    token_pub release 01 tok.pub
    img_bundle b
    (sleep 1; printf '%s\n' "$PIN") | timeout 60 script -qec "'$AIRLOCK' sign --key '$(uri)' b" /dev/null >tty.out 2>&1 ||
        fail "sign with a prompted PIN: $(cat tty.out)"
    grep -q "Enter PIN for token 'release': " tty.out || fail "no PIN prompt: $(cat tty.out)"
    ! grep -qF "$PIN" tty.out || fail "the PIN was echoed to the terminal"
    airlock verify --key tok.pub b
    expect_rc 0
    (sleep 1; printf '1111\n') | timeout 60 script -qec "'$AIRLOCK' sign --key '$(uri)' b" /dev/null >tty.out 2>&1 &&
        fail "a wrong prompted PIN signed"
    grep -q "CKR_PIN_INCORRECT" tty.out || fail "wrong prompted PIN: $(cat tty.out)"
    # a token that is not there is reported before any PIN is asked for
    (sleep 1; printf '%s\n' "$PIN") | timeout 60 script -qec "'$AIRLOCK' sign --key '$(uri nosuch)' b" /dev/null >tty.out 2>&1 &&
        fail "signed with a missing token"
    grep -q "token 'nosuch': CKR_TOKEN_NOT_PRESENT" tty.out || fail "missing token on a terminal: $(cat tty.out)"
    ! grep -q "Enter PIN" tty.out || fail "asked for a PIN for a token that is not there"
    cat tty.out >>"$T/all.log"
    no_pin_anywhere
}

# the default module is p11-kit's proxy, which finds SoftHSM through its configuration
case_p11_kit_proxy_is_the_default_module() {
    [ -e /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so ] || [ -n "$(ldconfig -p | grep p11-kit-proxy.so)" ] ||
        fail "p11-kit-proxy.so is not installed (p11-kit-modules): run .ci/install-deps"
    token release
    token_pub release 01 tok.pub
    mkdir -p home/.config/pkcs11/modules
    printf 'module: %s\n' "$M" >home/.config/pkcs11/modules/softhsm2.module
    export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config
    airlock pkcs11 tokens
    expect_rc 0
    out_has "release"
    img_bundle b
    AIRLOCK_PKCS11_PIN=$PIN airlock sign --key "pkcs11:token=release;object=airlock" b
    expect_rc 0
    airlock verify --key tok.pub b
    expect_rc 0
    AIRLOCK_PKCS11_MODULE=$M AIRLOCK_PKCS11_PIN=$PIN airlock public-key --key "pkcs11:token=release;object=airlock"
    expect_rc 0
    cmp -s "$T/out" tok.pub || fail "AIRLOCK_PKCS11_MODULE"
    no_pin_anywhere
}

main "$@"
