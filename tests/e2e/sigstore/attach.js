#!/usr/bin/env node
// Attaches a sigstore bundle to an image in a registry with the official @sigstore/oci library
// (attachArtifactToImage, what GitHub's attest action calls): a referrer manifest with the
// bundle as its one layer, and on a registry without the referrers API the sha256-<hex>
// fallback index, which it maintains itself. Plain HTTP only to localhost and 127.0.0.1;
// anonymous (no credentials object). Prints the referrer manifest's digest.
//   node attach.js HOST:PORT/REPO sha256:HEX BUNDLE.json
'use strict';
const path = require('path');
const fs = require('fs');
const req = (m) => require(require.resolve(m, { paths: [path.join(__dirname, '..', '..')] }));
const { attachArtifactToImage } = req('@sigstore/oci');

async function main() {
  const [imageName, imageDigest, bundlePath] = process.argv.slice(2);
  const artifact = fs.readFileSync(bundlePath);
  const b = JSON.parse(artifact.toString('utf8'));
  const st = b.dsseEnvelope
    ? JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'))
    : {};
  const d = await attachArtifactToImage({
    imageName,
    imageDigest,
    artifact,
    mediaType: b.mediaType,
    annotations: {
      'dev.sigstore.bundle.content': b.dsseEnvelope ? 'dsse-envelope' : 'message-signature',
      'dev.sigstore.bundle.predicateType': st.predicateType || '',
    },
    credentials: undefined,
  });
  console.log(d.digest);
}
main().catch((e) => {
  console.error(`attach.js: ${e.message}${e.cause ? `: ${e.cause.message}` : ''}`);
  process.exit(1);
});
