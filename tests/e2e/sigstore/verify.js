#!/usr/bin/env node
// Verifies a sigstore bundle with the official @sigstore/verify library against a public key
// (SPKI PEM, cosign.pub) given directly as trust material: no TUF, no network, no tlog or
// timestamp thresholds, as `cosign verify --key --insecure-ignore-tlog` does. With --digest,
// an in-toto statement subject must also name that sha256. Prints "verified" or the reason.
//   node verify.js BUNDLE.json KEY.pub [--digest sha256:HEX]
'use strict';
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');
const req = (m) => require(require.resolve(m, { paths: [path.join(__dirname, '..', '..')] }));
const { Verifier, toSignedEntity } = req('@sigstore/verify');
const { bundleFromJSON } = req('@sigstore/bundle');

function main() {
  const [bundlePath, keyPath, flag, digest] = process.argv.slice(2);
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath));
  const trust = {
    certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [],
    publicKey: () => ({ publicKey, validFor: () => true }),
  };
  const v = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  v.verify(toSignedEntity(bundle));
  if (flag === '--digest') {
    const env = bundle.content.dsseEnvelope;
    if (!env) throw new Error('not a DSSE bundle');
    const st = JSON.parse(Buffer.from(env.payload).toString('utf8'));
    const want = digest.replace(/^sha256:/, '');
    if (!(st.subject || []).some((s) => s.digest && s.digest.sha256 === want))
      throw new Error(`no statement subject is ${digest}`);
  }
  console.log('verified');
}
try { main(); } catch (e) { console.error(`verify.js: ${e.message}`); process.exit(1); }
