/* The examples of every command, one table keyed by command name (examples.h). The lines
 * are shell commands a user can paste; "# " lines say what the next one does. */
#include "examples.h"

#include <string.h>

struct example {
    const char *cmd;
    const char *text;
};

static const struct example examples[] = {
    {"import", "# one bundle from a docker save archive and a skopeo oci-archive\n"
               "airlock import -o bundle.tar nginx.tar app.oci.tar\n"
               "# add an OCI layout to an existing bundle, naming its untagged image\n"
               "airlock import -o bundle.tar --name registry.example/tools/app:2.1 \\\n"
               "  app-layout/\n"},
    {"inspect", "# the images, platforms and sizes of a bundle\n"
                "airlock inspect bundle.tar.zst\n"
                "# the same as JSON, for jq\n"
                "airlock inspect --json bundle.tar.zst | jq '.images[].ref'\n"
                "# a lock file naming every image by digest, for export --set\n"
                "airlock inspect --lock bundle.tar > bundle.lock.json\n"},
    {"verify", "# every blob, and every image signed with the key\n"
               "airlock verify --key cosign.pub bundle.tar\n"
               "# the parts of a split set, from two sticks, in any order\n"
               "airlock verify --key cosign.pub /media/usb1/bundle.002 \\\n"
               "  /media/usb2/bundle.001\n"
               "# an image already pushed, as cosign verify --key would\n"
               "airlock verify --key cosign.pub registry.internal/library/nginx:1.27\n"
               "# also require a verified SPDX SBOM attestation for every image\n"
               "airlock verify --key cosign.pub --attestation spdxjson bundle.tar\n"
               "# what cosign verify -o json prints, for the same jq pipelines\n"
               "airlock verify --key cosign.pub -o json \\\n"
               "  registry.internal/library/nginx:1.27 | jq -r '.[].critical.image'\n"},
    {"keygen", "# cosign.key (encrypted) and cosign.pub\n"
               "COSIGN_PASSWORD=... airlock keygen\n"
               "# release.key and release.pub, the password from a file\n"
               "airlock keygen --output-key-prefix release --password-file pw.txt\n"},
    {"generate-key-pair", "# cosign.key (encrypted) and cosign.pub, as cosign names them\n"
                          "airlock generate-key-pair\n"},
    {"public-key", "# the public key of a cosign private key\n"
                   "airlock public-key --key cosign.key > cosign.pub\n"},
    {"import-key-pair", "# a cosign key pair (import-cosign.key, .pub) from a PEM EC key\n"
                        "airlock import-key-pair --key ec.pem --output-key-prefix import-cosign\n"},
    {"sign", "# sign every image for the registry it will be pushed to\n"
             "airlock sign --key cosign.key --to registry.internal bundle.tar\n"
             "# with a key on a token\n"
             "airlock sign --key 'pkcs11:token=release;object=airlock' \\\n"
             "  --to registry.internal bundle.tar\n"},
    {"pkcs11", "# the tokens of p11-kit's proxy module\n"
               "airlock pkcs11 tokens\n"
               "# the keys on a SoftHSM token, with their URIs\n"
               "airlock pkcs11 keys --module /usr/lib/softhsm/libsofthsm2.so \\\n"
               "  --token release\n"},
    {"split", "# parts of at most 4095M for FAT32 sticks\n"
              "airlock split --size 4095M -o /media/usb/bundle bundle.tar\n"},
    {"sync", "# one run over an inbox (for a timer)\n"
             "airlock sync --key cosign.pub --to registry.internal /srv/airlock/inbox\n"
             "# rules from a file, the report as JSON\n"
             "airlock sync --config /etc/airlock/sync.json --json\n"},
    {"export", "# two images with their signatures into a bundle\n"
               "airlock export -o bundle.tar docker.io/library/nginx:1.27 \\\n"
               "  quay.io/prometheus/prometheus:v2.53.0\n"
               "# the images a set file names, only linux/amd64, cut for FAT32\n"
               "airlock export --set site.yaml --platform linux/amd64 --split 4095M \\\n"
               "  -o site.tar\n"
               "# only what the registry inside does not hold yet (airlock inventory)\n"
               "airlock export --set site.yaml --have have.json -o delta.tar\n"},
    {"push", "# push, verify the signatures in the registry\n"
             "airlock push --key cosign.pub bundle.tar registry.internal\n"
             "# under a path prefix, one repository renamed\n"
             "airlock push --key cosign.pub --map docker.io/library/nginx=mirror/nginx \\\n"
             "  bundle.tar registry.internal/devops\n"},
    {"serve", "# serve a bundle read-only on the loopback address\n"
              "airlock serve --listen 127.0.0.1:5000 bundle.tar\n"
              "# then pull from it\n"
              "podman pull --tls-verify=false 127.0.0.1:5000/library/nginx:1.27\n"},
    {"tags", "# the newest three 1.x tags\n"
             "airlock tags --semver '^1' --latest 3 docker.io/library/nginx\n"},
    {"digest", "# the digest a tag names now\n"
               "airlock digest docker.io/library/nginx:1.27\n"},
    {"login", "# ask for the password, check it with the registry, keep it in auth.json\n"
              "airlock login --username ci registry.internal\n"
              "# the password from a file, for a script\n"
              "airlock login --username ci --password-stdin registry.internal < pw.txt\n"
              "# credentials for the repositories under one namespace only (podman's habit)\n"
              "airlock login -u team-a --password-stdin registry.internal/team-a < pw.txt\n"},
    {"logout", "# forget the credentials of a registry\n"
               "airlock logout registry.internal\n"
               "# forget every credential in the file\n"
               "airlock logout --all\n"},
    {"attest", "# an SPDX SBOM, signed offline, for every image of the bundle\n"
               "airlock attest --key cosign.key --predicate nginx.spdx.json --type spdxjson \\\n"
               "  bundle.tar\n"
               "# SLSA provenance for one image and its platforms, replacing older ones\n"
               "airlock attest --key cosign.key --predicate prov.json --type slsaprovenance1 \\\n"
               "  --recursive --replace bundle.tar docker.io/library/nginx:1.27\n"},
    {"attestations", "# what each image carries, and whether it verifies with the key\n"
                     "airlock attestations --key cosign.pub bundle.tar\n"
                     "# the verified SLSA provenance of one image, as JSON\n"
                     "airlock attestations --key cosign.pub --type slsaprovenance1 --json \\\n"
                     "  bundle.tar docker.io/library/nginx:1.27\n"},
    {"sbom", "# the verified SPDX SBOM of an image, byte for byte as attested\n"
             "airlock sbom --key cosign.pub bundle.tar docker.io/library/nginx:1.27 \\\n"
             "  > nginx.spdx.json\n"},
    {"inventory", "# what the registry inside holds below devops/, for export --have\n"
                  "airlock inventory registry.internal/devops -o have.json\n"
                  "# two repositories only\n"
                  "airlock inventory --repo devops/nginx --repo devops/app \\\n"
                  "  registry.internal -o have.json\n"
                  "# only the repositories the set's images are pushed to\n"
                  "airlock inventory --set site.yaml registry.internal/devops -o have.json\n"},
    {"version", "# the version, commit and library versions, as JSON\n"
                "airlock version --json\n"},
};

void cli_examples_print(FILE *f, const char *cmd)
{
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        if (strcmp(examples[i].cmd, cmd))
            continue;
        fputs("\nexamples:\n", f);
        for (const char *p = examples[i].text; *p;) {
            size_t l = strcspn(p, "\n");
            fprintf(f, "  %.*s\n", (int)l, p);
            p += l + (p[l] == '\n');
        }
    }
}
