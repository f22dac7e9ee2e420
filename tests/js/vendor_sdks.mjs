// The channels' own Node SDKs against a live essc-idp, each with its default checks on:
// wechatpay-node-v3 (WeChat Pay API v3) and alipay-sdk (Alipay's official Node SDK).
// Run by tests/e2e/test_vendor_sdks_node.py: MODE and the inputs come from the environment,
// one JSON line goes to stdout; a refusal by an SDK check is reported, never swallowed.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { AlipaySdk } from 'alipay-sdk';

const require = createRequire(import.meta.url);
const WechatPay = require('wechatpay-node-v3');

const env = process.env;
const input = JSON.parse(env.INPUT);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

// WeChat Pay: the SDK signs (buildAuthorization over the path), verifySign checks each answer.
async function wechat() {
  const pay = new WechatPay({
    appid: 'wx8888888888888888', mchid: input.mchid, serial_no: input.mch_serial,
    publicKey: Buffer.from(input.mch_public_pem), privateKey: Buffer.from(input.mch_private_pem),
    key: input.api_v3_key,
  });
  WechatPay.certificates = { [input.platform_serial]: input.platform_pem }; // public-key mode
  const call = async (method, path, body) => {
    const headers = pay.getHeaders(pay.buildAuthorization(method, path, body),
      body ? { 'Content-Type': 'application/json' } : {});
    delete headers['Accept-Encoding'];
    const response = await fetch(input.base + path, {
      method, headers, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const verified = await pay.verifySign({
      timestamp: response.headers.get('wechatpay-timestamp'),
      nonce: response.headers.get('wechatpay-nonce'),
      serial: response.headers.get('wechatpay-serial'),
      signature: response.headers.get('wechatpay-signature'),
      body: text,
    });
    return { status: response.status, verified, body: JSON.parse(text) };
  };
  const issued = await call('POST', '/api/v1/ecards', input.issue);
  const status = await call('GET', `/api/v1/ecards/${issued.body.sign_no}`);
  const refused = await call('GET', '/api/v1/ecards/unknown-sign-no');
  const n = input.notification;
  const header = (name) => n.headers[Object.keys(n.headers).find((k) => k.toLowerCase() === name)];
  const notificationVerified = await pay.verifySign({
    timestamp: header('wechatpay-timestamp'), nonce: header('wechatpay-nonce'),
    serial: header('wechatpay-serial'), signature: header('wechatpay-signature'), body: n.body,
  });
  const resource = JSON.parse(n.body).resource;
  const decrypted = pay.decipher_gcm(resource.ciphertext, resource.associated_data, resource.nonce);
  print({ issued, status, refused, notificationVerified, decrypted });
}

function alipay(extra) {
  return new AlipaySdk({
    appId: input.app_id, privateKey: input.app_private_pem, keyType: 'PKCS8',
    endpoint: input.base, gateway: input.gateway, timeout: 20000, ...extra,
  });
}

function certificateMode() {
  const sdk = alipay({
    appCertContent: input.app_cert, alipayPublicCertContent: input.platform_cert,
    alipayRootCertContent: input.root_cert,
  });
  // essc-idp has no X.509 certificate of its own: the SDK must expect its key serial as alipay-sn.
  sdk.config.alipayCertSn = input.platform_serial;
  return sdk;
}

async function failure(promise) {
  try {
    return { ok: await promise };
  } catch (err) {
    return { error: err.message, code: err.code, raw: err.responseDataRaw, status: err.responseHttpStatus };
  }
}

// Alipay Open API v3: curl signs the Authorization header and verifies alipay-signature itself.
async function alipayV3(sdk) {
  const issued = await failure(sdk.curl('POST', '/api/v1/ecards', { body: input.issue }));
  const signNo = issued.ok?.data?.sign_no;
  const status = signNo ? await failure(sdk.curl('GET', `/api/v1/ecards/${signNo}`)) : null;
  print({ appCertSn: sdk.config.appCertSn ?? null, issued, status });
}

// A relay in front of essc-idp that changes one byte of each answer, as a forger on the path would.
async function tamperingRelay(base) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const upstream = await fetch(base + req.url, {
      method: req.method, body: chunks.length ? Buffer.concat(chunks) : undefined,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
    });
    const text = (await upstream.text()).replace('"active"', '"revokd"');
    res.writeHead(upstream.status, { 'content-type': 'application/json;charset=utf-8' });
    res.end(text);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

// The gateway form: exec puts the common parameters in the URL and the business ones in the body,
// reads "<method>_response" out of the HTTP 200 envelope and, with validateSign, checks its sign.
async function alipayExec() {
  const sdk = certificateMode();
  const exec = (params, options) => failure(sdk.exec('essc.ecard.issue',
    { bizContent: params, essc_path: input.path }, options));
  // The same issuance again is an idempotent retry; its fields in another order make it a new
  // signature (a byte-identical form would be a replay) for the same request.
  const rotated = (k) => {
    const entries = Object.entries(input.issue);
    return Object.fromEntries([...entries.slice(k), ...entries.slice(0, k)]);
  };
  const issued = await exec(rotated(0), { validateSign: true });
  const unchecked = await exec(rotated(1)); // alipay-sdk 4.14.0's default: validateSign off
  const badId = await exec(input.bad_id, { validateSign: true });
  const relay = await tamperingRelay(input.base);
  sdk.config.gateway = relay.base + input.path;
  const tampered = await exec(rotated(2), { validateSign: true });
  relay.server.close();
  const notified = sdk.checkNotifySign(input.notification);
  const forged = sdk.checkNotifySign({ ...input.notification, notify_type: 'card.resumed' });
  print({ appCertSn: sdk.config.appCertSn, issued, unchecked, badId, tampered, notified, forged });
}

const modes = {
  wechat,
  'alipay-cert': () => alipayV3(certificateMode()),
  'alipay-key': () => alipayV3(alipay({ alipayPublicKey: input.platform_pem })),
  'alipay-exec': alipayExec,
};
await modes[env.MODE]();
