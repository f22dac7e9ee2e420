// The peer of `make bench`: node-oidc-provider in PEER_WORKERS processes (node:cluster, the
// connections shared by the primary) with its state in Redis, the production-style setup.
// Same paths, scenarios and token formats as essc-idp's benchmark: ES256 JWT access tokens
// for client_credentials, the authorization code grant and refresh (rotated), PKCE S256
// required, a signed-in cardholder who consented once. The interaction (sign-in, consent) is answered at once: it
// runs only when the harness signs in before measuring.
//
// Environment: PEER_PORT, PEER_WORKERS (2), PEER_CLIENTS (JSON array of client metadata),
// PEER_REDIS_URL, PEER_REDIS_PREFIX. Listens on 127.0.0.1 only.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import http from 'node:http';

import * as jose from 'jose';

const port = Number(process.env.PEER_PORT);
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:essc:bench';

async function primary() {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
  const env = {
    PEER_JWKS: JSON.stringify({ keys: [jwk] }),
    PEER_COOKIE_KEY: crypto.randomBytes(32).toString('base64url'),
  };
  const workers = Number(process.env.PEER_WORKERS || 2);
  for (let i = 0; i < workers; i += 1) cluster.fork(env);
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`peer worker ${worker.process.pid} exited ${code}`);
      process.exit(1);
    }
  });
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill();
    await forgetKeys();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Deletes this run's keys (PEER_REDIS_PREFIX) and nothing else.
async function forgetKeys() {
  const { client } = await import('./redis_adapter.js');
  const prefix = process.env.PEER_REDIS_PREFIX || 'essc-bench-peer:';
  let cursor = '0';
  do {
    // SCAN matches raw names: keyPrefix is not applied to the pattern.
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
  client.disconnect();
}

async function worker() {
  const { default: Provider } = await import('oidc-provider');
  const { RedisAdapter } = await import('./redis_adapter.js');
  const provider = new Provider(issuer, {
    adapter: RedisAdapter,
    clients: JSON.parse(process.env.PEER_CLIENTS),
    jwks: JSON.parse(process.env.PEER_JWKS),
    cookies: { keys: [process.env.PEER_COOKIE_KEY] },
    routes: { authorization: '/authorize', token: '/token', jwks: '/jwks.json' },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: '张三' }) }),
    claims: { openid: ['sub'], profile: ['name'] },
    scopes: ['openid', 'profile', 'essc.qr.verify'],
    pkce: { required: () => true },
    // As essc-idp: a client allowed the refresh grant gets a refresh token with every code,
    // and each refresh token works once (RFC 9700 4.14.2).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'essc.qr.verify',
          audience: RESOURCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AuthorizationCode: 60,
      IdToken: 300,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
      RefreshToken: 86400,
    },
  });
  const app = provider.callback();
  http
    .createServer((req, res) => {
      if (!req.url.startsWith('/interaction/')) return app(req, res);
      return finishInteraction(provider, req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    })
    .listen(port, '127.0.0.1');
}

// Signs the cardholder in and records consent to what was asked, at once.
async function finishInteraction(provider, req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: 'bench-cardholder' } });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const result = { consent: { grantId: await grant.save() } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

if (cluster.isPrimary) await primary();
else await worker();
