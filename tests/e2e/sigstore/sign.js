#!/usr/bin/env node
// Makes a sigstore bundle with the official @sigstore/sign library and a key-based signer (no
// Fulcio, Rekor or TSA): a DSSE envelope around an in-toto statement about an image, as cosign
// 3 signs it offline. Prints the bundle JSON (protobuf JSON form, via @sigstore/bundle).
//   node sign.js --key KEY.pem --digest sha256:HEX [-a k=v]... [--predicate-type T]
//                [--message]   (a messageSignature bundle over the statement instead)
//                [--media-type MT]  (then overwrite the bundle's mediaType: it is not signed)
//                [--cert CERT.pem]  (keyless form: the key's certificate as verification material)
'use strict';
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');
const req = (m) => require(require.resolve(m, { paths: [path.join(__dirname, '..', '..')] }));
const { DSSEBundleBuilder, MessageSignatureBundleBuilder } = req('@sigstore/sign');
const { bundleToJSON } = req('@sigstore/bundle');

function args(argv) {
  const o = { ann: {}, predicateType: 'https://sigstore.dev/cosign/sign/v1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--key') o.key = argv[++i];
    else if (a === '--digest') o.digest = argv[++i];
    else if (a === '--predicate-type') o.predicateType = argv[++i];
    else if (a === '--message') o.message = true;
    else if (a === '--media-type') o.mediaType = argv[++i];
    else if (a === '--cert') o.cert = argv[++i];
    else if (a === '-a') {
      const kv = argv[++i], eq = kv.indexOf('=');
      o.ann[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.key || !o.digest || !o.digest.startsWith('sha256:')) throw new Error('need --key and --digest sha256:HEX');
  return o;
}

async function main() {
  const o = args(process.argv.slice(2));
  const priv = crypto.createPrivateKey(fs.readFileSync(o.key));
  const pubPem = crypto.createPublicKey(priv).export({ type: 'spki', format: 'pem' });
  const spki = crypto.createPublicKey(priv).export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(spki).digest('base64');
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign('sha256', data, priv),
      key: o.cert
        ? { $case: 'x509Certificate', certificate: fs.readFileSync(o.cert, 'utf8') }
        : { $case: 'publicKey', publicKey: pubPem, hint },
    }),
  };
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { sha256: o.digest.slice(7) }, annotations: o.ann }],
    predicateType: o.predicateType,
    predicate: {},
  };
  const data = Buffer.from(JSON.stringify(statement));
  const Builder = o.message ? MessageSignatureBundleBuilder : DSSEBundleBuilder;
  const b = await new Builder({ signer, witnesses: [] }).create({
    data,
    type: 'application/vnd.in-toto+json',
  });
  const j = bundleToJSON(b);
  if (o.mediaType) j.mediaType = o.mediaType;
  process.stdout.write(JSON.stringify(j));
}
main().catch((e) => { console.error(`sign.js: ${e.message}`); process.exit(1); });
