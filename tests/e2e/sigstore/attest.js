#!/usr/bin/env node
// Makes an attestation bundle with the official @sigstore/sign library and a key-based signer
// (no Fulcio, Rekor or TSA): a DSSE envelope around an in-toto v1 statement about an image
// whose predicate is a document (an SBOM, provenance), as cosign 3 / GitHub attest make it.
// Prints the bundle JSON.
//   node attest.js --key KEY.pem --digest sha256:HEX --predicate FILE --predicate-type URI
//                  [--statement-type URI]   (_type; cosign's attest writes in-toto v0.1)
'use strict';
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');
const req = (m) => require(require.resolve(m, { paths: [path.join(__dirname, '..', '..')] }));
const { DSSEBundleBuilder } = req('@sigstore/sign');
const { bundleToJSON } = req('@sigstore/bundle');

async function main() {
  const o = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!o.key || !o.digest || !o.predicate || !o['predicate-type'])
    throw new Error('need --key --digest --predicate --predicate-type');
  const priv = crypto.createPrivateKey(fs.readFileSync(o.key));
  const pubPem = crypto.createPublicKey(priv).export({ type: 'spki', format: 'pem' });
  const spki = crypto.createPublicKey(priv).export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(spki).digest('base64');
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign('sha256', data, priv),
      key: { $case: 'publicKey', publicKey: pubPem, hint },
    }),
  };
  const statement = {
    _type: o['statement-type'] || 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'example.com/test/busybox', digest: { sha256: o.digest.slice(7) } }],
    predicateType: o['predicate-type'],
    predicate: JSON.parse(fs.readFileSync(o.predicate, 'utf8')),
  };
  const b = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(statement)),
    type: 'application/vnd.in-toto+json',
  });
  process.stdout.write(JSON.stringify(bundleToJSON(b)));
}
main().catch((e) => { console.error(`attest.js: ${e.message}`); process.exit(1); });
