// Live relying-party test of essc-idp with panva's OpenID-certified openid-client and jose.
//
// Runs one full RP life cycle against a running server and prints ONE JSON line on stdout:
// {"ok": true, ...summary} and exit 0, or {"ok": false, "step": ..., "error": ...} and exit 1
// (the human-readable reason also goes to stderr).
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET (client_secret_basic), REDIRECT_URI, CREDENTIAL,
// PIN; optional SCOPE (default "openid profile essc.card"), CC_CLIENT_ID + CC_CLIENT_SECRET (+
// CC_AUTH_METHOD client_secret_basic|client_secret_post, CC_SCOPE) for the client credentials
// grant, AT_AUDIENCE (comma-separated accepted access-token `aud` values).
import { readFileSync } from 'node:fs'
import * as client from 'openid-client'
import { decodeProtectedHeader } from 'jose'
import { AccessTokenVerifier, sameScope } from './access_token.mjs'
import { UserAgent, pageText, parseForms } from './user_agent.mjs'

const env = readEnv()
const summary = { ok: false, issuer: env.ISSUER, versions: versions() }
let currentStep = 'start'

async function step(name, fn) {
  currentStep = name
  return fn()
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

function readEnv() {
  const required = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URI', 'CREDENTIAL', 'PIN']
  const missing = required.filter((k) => !process.env[k])
  if (missing.length) fail('environment', new Error(`missing environment: ${missing.join(', ')}`))
  return {
    SCOPE: 'openid profile essc.card',
    CC_AUTH_METHOD: 'client_secret_basic',
    ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')),
  }
}

function versions() {
  const read = (pkg) =>
    JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version
  return { node: process.versions.node, 'openid-client': read('openid-client'), jose: read('jose') }
}

function describe(err) {
  const parts = [err?.message ?? String(err)]
  if (err?.code) parts.push(`code=${err.code}`)
  if (err?.status) parts.push(`status=${err.status}`)
  if (err?.error) parts.push(`error=${err.error}`)
  if (err?.error_description) parts.push(`error_description=${err.error_description}`)
  let cause = err?.cause
  if (cause instanceof URLSearchParams) cause = Object.fromEntries(cause)
  if (cause instanceof Error) cause = cause.message
  if (cause !== undefined) {
    try {
      parts.push(`cause=${JSON.stringify(cause).slice(0, 600)}`)
    } catch {
      parts.push(`cause=${String(cause).slice(0, 600)}`)
    }
  }
  return parts.join('; ')
}

function fail(stepName, err) {
  const error = describe(err)
  process.stderr.write(`rp_flow: FAILED at step "${stepName}": ${error}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, step: stepName, error })}\n`)
  process.exit(1)
}

/** Await an operation the server must refuse with OAuth error `code` (RFC 6749 5.2 et al.). */
async function expectOAuthError(promise, code, what) {
  try {
    await promise
  } catch (err) {
    if (err?.error === code) return true
    throw new Error(`${what}: expected error=${code}, got ${describe(err)}`)
  }
  throw new Error(`${what}: expected error=${code}, but the server accepted it`)
}

/**
 * Drive the authorization endpoint like a browser until the redirect back to REDIRECT_URI:
 * sign in with credential + PIN and approve consent when those pages are shown.
 */
async function authorize(ua, config, params) {
  const url = client.buildAuthorizationUrl(config, params)
  let page = await ua.navigate(url.href, {}, env.REDIRECT_URI)
  const pages = []
  while (!page.redirect) {
    check(pages.length < 4, `too many interaction pages: ${pages.join(', ')}`)
    check(page.status === 200, `page ${page.url} answered ${page.status}: ${pageText(page.html)}`)
    const forms = parseForms(page.html, page.url)
    const signin = forms.find((f) => f.fields.some((x) => x.name === 'pin'))
    const consent = forms.find((f) =>
      f.buttons.some((b) => b.name === 'decision' && b.value === 'approve'),
    )
    const path = new URL(page.url).pathname
    if (signin) {
      check(!pages.includes('signin'), `sign-in was refused: ${pageText(page.html)}`)
      check(/^\/interaction\/[^/]+\/signin$/.test(path), `sign-in form served at ${path}`)
      check(signin.fields.some((f) => f.name === 'credential'), 'sign-in form has no "credential"')
      check(signin.fields.some((f) => f.name === 'csrf_token' && f.value), 'sign-in form has no csrf_token')
      pages.push('signin')
      const button = signin.buttons[0] ?? null
      page = await ua.submit(signin, { credential: env.CREDENTIAL, pin: env.PIN }, button, env.REDIRECT_URI)
    } else if (consent) {
      check(!pages.includes('consent'), `consent was not accepted: ${pageText(page.html)}`)
      check(/^\/interaction\/[^/]+\/consent$/.test(path), `consent form served at ${path}`)
      check(consent.fields.some((f) => f.name === 'csrf_token' && f.value), 'consent form has no csrf_token')
      check(
        consent.buttons.some((b) => b.name === 'decision' && b.value === 'deny'),
        'consent form has no deny button',
      )
      pages.push('consent')
      page = await ua.submit(consent, {}, { name: 'decision', value: 'approve' }, env.REDIRECT_URI)
    } else {
      throw new Error(`no sign-in or consent form at ${page.url}: ${pageText(page.html)}`)
    }
  }
  const callback = page.redirect
  const error = callback.searchParams.get('error')
  check(!error, `authorization error ${error}: ${callback.searchParams.get('error_description')}`)
  // RFC 9207 2: the iss parameter must be present and be the issuer identifier.
  check(callback.searchParams.get('iss') === config.serverMetadata().issuer,
    `authorization response iss=${callback.searchParams.get('iss')}, expected the issuer`)
  return { callback, pages }
}

async function pkceParams(config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const params = {
    redirect_uri: env.REDIRECT_URI,
    scope: env.SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  }
  return { verifier, params }
}

function checkMetadata(md) {
  check(md.issuer === env.ISSUER, `metadata issuer ${md.issuer} != ${env.ISSUER}`)
  for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
    'introspection_endpoint', 'revocation_endpoint']) {
    check(typeof md[key] === 'string' && md[key].startsWith(env.ISSUER), `metadata ${key} missing`)
  }
  check(md.code_challenge_methods_supported?.includes('S256'), 'S256 not in code_challenge_methods_supported')
  check(md.authorization_response_iss_parameter_supported === true,
    'authorization_response_iss_parameter_supported is not true (RFC 9207 3)')
  check(md.response_types_supported?.includes('code'), '"code" not in response_types_supported')
  for (const g of ['authorization_code', 'refresh_token', 'client_credentials']) {
    check(!md.grant_types_supported || md.grant_types_supported.includes(g), `${g} not in grant_types_supported`)
  }
  check(md.token_endpoint_auth_methods_supported?.includes('client_secret_basic'),
    'client_secret_basic not in token_endpoint_auth_methods_supported')
}

async function checkJwks(md) {
  const res = await fetch(md.jwks_uri, { signal: AbortSignal.timeout(10_000) })
  check(res.ok, `GET jwks_uri answered ${res.status}`)
  const { keys } = await res.json()
  check(Array.isArray(keys) && keys.length > 0, 'JWKS has no keys')
  for (const k of keys) {
    const secret = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].filter((m) => m in k)
    check(secret.length === 0, `JWKS key ${k.kid} publishes private members ${secret}`)
    check(k.kid, 'a JWKS key has no kid')
  }
  // RFC 8414 3: the OAuth metadata document names the same issuer.
  const oauthMd = await fetch(`${env.ISSUER}/.well-known/oauth-authorization-server`)
  check(oauthMd.ok, `GET /.well-known/oauth-authorization-server answered ${oauthMd.status}`)
  check((await oauthMd.json()).issuer === md.issuer, 'RFC 8414 metadata names another issuer')
  return keys.map((k) => ({ kid: k.kid, kty: k.kty, alg: k.alg ?? null, use: k.use ?? null }))
}

async function bearerRejected(md, accessToken) {
  const res = await fetch(md.userinfo_endpoint, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(10_000),
  })
  await res.body?.cancel()
  const challenge = res.headers.get('www-authenticate') ?? ''
  // RFC 6750 3.1: 401 with a Bearer challenge carrying error="invalid_token".
  check(res.status === 401, `userinfo with a revoked access token answered ${res.status}`)
  check(/^Bearer\b/i.test(challenge) && /error="invalid_token"/.test(challenge),
    `userinfo 401 challenge is ${JSON.stringify(challenge)}, expected Bearer error="invalid_token"`)
  return true
}

function clientAuth(method, secret) {
  if (method === 'client_secret_basic') return client.ClientSecretBasic(secret)
  if (method === 'client_secret_post') return client.ClientSecretPost(secret)
  throw new Error(`CC_AUTH_METHOD ${method} is not supported by this script`)
}

async function main() {
  const config = await step('discovery', async () => {
    const cfg = await client.discovery(
      new URL(env.ISSUER),
      env.CLIENT_ID,
      { client_secret: env.CLIENT_SECRET },
      client.ClientSecretBasic(env.CLIENT_SECRET),
      { execute: [client.allowInsecureRequests], timeout: 15 },
    )
    // Verify the ID token's signature against jwks_uri too (OIDC Core 3.1.3.7 step 6).
    client.enableNonRepudiationChecks(cfg)
    checkMetadata(cfg.serverMetadata())
    return cfg
  })
  const md = config.serverMetadata()
  summary.discovery = {
    id_token_signing_alg_values_supported: md.id_token_signing_alg_values_supported ?? null,
    scopes_supported: md.scopes_supported ?? null,
    token_endpoint_auth_methods_supported: md.token_endpoint_auth_methods_supported,
  }
  summary.jwks = await step('jwks', () => checkJwks(md))

  // RFC 9068 3: with no resource indicator the server names its default resource; for essc-idp
  // that is the issuer itself (its userinfo, introspection and product APIs).
  const audiences = env.AT_AUDIENCE
    ? env.AT_AUDIENCE.split(',').map((s) => s.trim()).filter(Boolean)
    : [md.issuer]
  const atVerifier = new AccessTokenVerifier(md, audiences)
  const introspect = (token, hint, cfg = config) =>
    client.tokenIntrospection(cfg, token, { token_type_hint: hint })
  summary.access_tokens = []
  const verifyAt = async (grant, token, expected) => {
    summary.access_tokens.push({ grant, ...(await atVerifier.verify(token, expected)) })
  }

  const ua = new UserAgent()
  const { verifier, params } = await pkceParams(config)
  const { callback, pages } = await step('authorize', () => authorize(ua, config, params))
  summary.authorization = { pages, iss_in_response: true, cookies: ua.jar.names() }

  const tokens = await step('token (authorization_code)', async () => {
    const t = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: params.state,
      expectedNonce: params.nonce,
      idTokenExpected: true,
    })
    check(t.refresh_token, 'no refresh_token issued for grant type refresh_token')
    check(t.expires_in > 0, 'token response has no positive expires_in')
    return t
  })
  const idClaims = tokens.claims()
  const sub = idClaims.sub
  const idHeader = decodeProtectedHeader(tokens.id_token)
  summary.id_token = {
    alg: idHeader.alg,
    kid: idHeader.kid ?? null,
    sub,
    claims: Object.keys(idClaims).sort(),
    acr: idClaims.acr ?? null,
    nonce_checked: idClaims.nonce === params.nonce,
    signature_verified: true,
  }
  const grantedScope = tokens.scope ?? env.SCOPE
  summary.token = {
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    scope: tokens.scope ?? null,
  }
  const userToken = { clientId: env.CLIENT_ID, sub, scope: grantedScope }

  await step('verify access token (authorization_code)', () =>
    verifyAt('authorization_code', tokens.access_token, userToken),
  )

  summary.userinfo = await step('userinfo', () =>
    client.fetchUserInfo(config, tokens.access_token, sub),
  )

  const refreshed = await step('refresh', async () => {
    const t = await client.refreshTokenGrant(config, tokens.refresh_token)
    check(t.refresh_token, 'refresh response carries no new refresh_token')
    check(t.refresh_token !== tokens.refresh_token, 'refresh token was not rotated')
    check(t.access_token !== tokens.access_token, 'refresh returned the same access token')
    if (t.scope) check(sameScope(t.scope, grantedScope), `refresh changed the scope to ${t.scope}`)
    if (t.id_token) {
      check(t.claims().sub === sub, 'refreshed ID token has another sub (OIDC Core 12.2)')
    }
    return t
  })
  await step('verify access token (refresh_token)', () =>
    verifyAt('refresh_token', refreshed.access_token, userToken),
  )
  summary.refresh = { rotated: true, id_token_reissued: Boolean(refreshed.id_token) }

  const introspection = {}
  summary.introspection = introspection
  await step('introspect (active)', async () => {
    const at = await introspect(refreshed.access_token, 'access_token')
    check(at.active === true, `access token introspects as ${JSON.stringify(at)}`)
    // RFC 7662 2.2: these members are optional; when present they must describe this token.
    if (at.client_id !== undefined) {
      check(at.client_id === env.CLIENT_ID, `introspection client_id ${at.client_id}`)
    }
    if (at.sub !== undefined) check(at.sub === sub, `introspection sub ${at.sub} != ${sub}`)
    if (at.scope !== undefined) {
      check(sameScope(at.scope, grantedScope), `introspection scope ${at.scope}`)
    }
    const rt = await introspect(refreshed.refresh_token, 'refresh_token')
    check(rt.active === true, `fresh refresh token introspects as ${JSON.stringify(rt)}`)
    introspection.access_token_before = at
    introspection.refresh_token_active_before = true
  })

  await step('revoke access token', async () => {
    await client.tokenRevocation(config, refreshed.access_token, { token_type_hint: 'access_token' })
    const at = await introspect(refreshed.access_token, 'access_token')
    check(at.active === false, `revoked access token introspects as ${JSON.stringify(at)}`)
    introspection.access_token_active_after_revocation = at.active
    summary.revoked_access_token_rejected_by_userinfo = await bearerRejected(md, refreshed.access_token)
  })

  await step('replay rotated refresh token', async () => {
    summary.refresh.old_refresh_token_rejected = await expectOAuthError(
      client.refreshTokenGrant(config, tokens.refresh_token),
      'invalid_grant',
      'reusing a rotated refresh token',
    )
    // OAuth 2.0 Security BCP (RFC 9700 4.14.2): reuse may revoke the whole family; report it.
    const rt = await introspect(refreshed.refresh_token, 'refresh_token')
    summary.refresh.family_revoked_on_reuse = rt.active === false
  })

  await step('revoke refresh token', async () => {
    await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' })
    const rt = await introspect(refreshed.refresh_token, 'refresh_token')
    check(rt.active === false, `revoked refresh token introspects as ${JSON.stringify(rt)}`)
    introspection.refresh_token_active_after_revocation = rt.active
    summary.revoked_refresh_token_rejected = await expectOAuthError(
      client.refreshTokenGrant(config, refreshed.refresh_token),
      'invalid_grant',
      'using a revoked refresh token',
    )
  })

  summary.code_replay_rejected = await step('replay authorization code', () =>
    expectOAuthError(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: params.state,
        expectedNonce: params.nonce,
      }),
      'invalid_grant',
      'redeeming an authorization code twice (RFC 6749 4.1.2)',
    ),
  )

  await step('second authorization (session reuse, wrong PKCE verifier)', async () => {
    const second = await pkceParams(config)
    const { callback: cb2, pages: pages2 } = await authorize(ua, config, second.params)
    summary.second_authorization = { pages: pages2 }
    summary.pkce_wrong_verifier_rejected = await expectOAuthError(
      client.authorizationCodeGrant(config, cb2, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: second.params.state,
        expectedNonce: second.params.nonce,
      }),
      'invalid_grant',
      'token request with a wrong code_verifier (RFC 7636 4.6)',
    )
  })

  if (env.CC_CLIENT_ID) {
    summary.client_credentials = await step('client_credentials', async () => {
      check(env.CC_CLIENT_SECRET, 'CC_CLIENT_ID without CC_CLIENT_SECRET')
      const cc = new client.Configuration(
        md,
        env.CC_CLIENT_ID,
        { client_secret: env.CC_CLIENT_SECRET },
        clientAuth(env.CC_AUTH_METHOD, env.CC_CLIENT_SECRET),
      )
      client.allowInsecureRequests(cc)
      const t = await client.clientCredentialsGrant(cc, env.CC_SCOPE ? { scope: env.CC_SCOPE } : {})
      check(!t.id_token, 'client_credentials response carries an id_token')
      const at = await atVerifier.verify(t.access_token, {
        clientId: env.CC_CLIENT_ID,
        scope: env.CC_SCOPE,
      })
      summary.access_tokens.push({ grant: 'client_credentials', ...at })
      const intro = await introspect(t.access_token, 'access_token', cc)
      check(intro.active === true, `client_credentials token introspects as ${JSON.stringify(intro)}`)
      return {
        auth_method: env.CC_AUTH_METHOD,
        expires_in: t.expires_in,
        scope: t.scope ?? null,
        refresh_token_issued: Boolean(t.refresh_token), // RFC 6749 4.4.3: SHOULD NOT
        sub_is_client_id: at.sub === env.CC_CLIENT_ID, // RFC 9068 2.2: SHOULD
        introspection_active: true,
      }
    })
  }

  summary.ok = true
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

main().catch((err) => fail(currentStep, err))
