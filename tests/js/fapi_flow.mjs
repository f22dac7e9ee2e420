// FAPI 2.0 Security Profile against a live essc-idp with panva's openid-client and jose.
//
// The client is a bank registered with `essc clients add --fapi2`: private_key_jwt (its key
// in CLIENT_JWK, a private JWK with kid), PAR required, DPoP-bound tokens. Prints ONE JSON line:
// {"ok": true, ...summary} and exit 0, or {"ok": false, "step", "error"} and exit 1.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_JWK, REDIRECT_URI, CREDENTIAL, PIN, SCOPE.
import * as client from 'openid-client'
import { SignJWT, generateKeyPair, importJWK } from 'jose'
import { UserAgent, pageText, parseForms } from './user_agent.mjs'

const env = process.env
const summary = { ok: false }
let currentStep = 'start'

function check(condition, message) {
  if (!condition) throw new Error(message)
}

function describe(err) {
  return [err?.message ?? String(err), err?.error && `error=${err.error}`,
    err?.error_description && `error_description=${err.error_description}`]
    .filter(Boolean).join('; ')
}

function fail(err) {
  process.stderr.write(`fapi_flow: FAILED at step "${currentStep}": ${describe(err)}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, step: currentStep, error: describe(err) })}\n`)
  process.exit(1)
}

async function step(name, fn) {
  currentStep = name
  return fn()
}

/** The OAuth error code the server refused `promise` with (RFC 6749 5.2), or a failure. */
async function refusal(promise, what) {
  try {
    await promise
  } catch (err) {
    if (typeof err?.error === 'string') return err.error
    // A 401 with a challenge (RFC 6749 5.2 invalid_client after Basic): the body says which.
    if (err?.response instanceof Response) {
      const body = await err.response.json().catch(() => ({}))
      if (typeof body.error === 'string') return body.error
    }
    throw new Error(`${what}: expected an OAuth error, got ${describe(err)}`)
  }
  throw new Error(`${what}: the server accepted it`)
}

/** The browser: sign in and consent as the pages ask, until the redirect back to the client. */
async function browse(ua, url) {
  let page = await ua.navigate(url.href, {}, env.REDIRECT_URI)
  const pages = []
  while (!page.redirect) {
    check(page.status === 200 && pages.length < 3, `page ${page.url} answered ${page.status}: ${pageText(page.html)}`)
    const forms = parseForms(page.html, page.url)
    const signin = forms.find((f) => f.fields.some((x) => x.name === 'pin'))
    const consent = forms.find((f) => f.buttons.some((b) => b.value === 'approve'))
    if (signin) {
      pages.push('signin')
      page = await ua.submit(signin, { credential: env.CREDENTIAL, pin: env.PIN }, signin.buttons[0] ?? null, env.REDIRECT_URI)
    } else if (consent) {
      pages.push('consent')
      page = await ua.submit(consent, {}, { name: 'decision', value: 'approve' }, env.REDIRECT_URI)
    } else {
      throw new Error(`no sign-in or consent form at ${page.url}: ${pageText(page.html)}`)
    }
  }
  return { callback: page.redirect, pages }
}

async function pkce(extra = {}) {
  const verifier = client.randomPKCECodeVerifier()
  return {
    verifier,
    params: {
      redirect_uri: env.REDIRECT_URI,
      scope: env.SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: client.randomState(),
      nonce: client.randomNonce(),
      ...extra,
    },
  }
}

async function configure(auth) {
  const config = await client.discovery(new URL(env.ISSUER), env.CLIENT_ID,
    { token_endpoint_auth_method: 'private_key_jwt', id_token_signed_response_alg: 'ES256' },
    auth, { execute: [client.allowInsecureRequests], timeout: 15 })
  return config
}

/** One whole FAPI 2.0 authorization: PAR (optionally a JAR inside), browser, DPoP token. */
async function authorizeAndRedeem(config, ua, dpop, signingKey) {
  const { verifier, params } = await pkce()
  let pushed = params
  if (signingKey) {
    pushed = (await client.buildAuthorizationUrlWithJAR(config, params, signingKey)).searchParams
    check(pushed.has('request'), 'no request object was built')
  }
  const url = await client.buildAuthorizationUrlWithPAR(config, pushed, { DPoP: dpop })
  check([...url.searchParams.keys()].sort().join() === 'client_id,request_uri',
    `the front channel carries ${[...url.searchParams.keys()]}`)
  const { callback, pages } = await browse(ua, url)
  check(callback.searchParams.get('iss') === env.ISSUER, 'no RFC 9207 iss in the response')
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: params.state, expectedNonce: params.nonce,
    idTokenExpected: true,
  }, undefined, { DPoP: dpop })
  return { tokens, pages, url }
}

async function main() {
  const jwk = JSON.parse(env.CLIENT_JWK)
  const key = { key: await importJWK(jwk, 'ES256'), kid: jwk.kid }
  const config = await step('discovery', () => configure(client.PrivateKeyJwt(key)))
  const md = config.serverMetadata()
  summary.discovery = {
    par: md.pushed_authorization_request_endpoint === `${env.ISSUER}/par`,
    request_parameter_supported: md.request_parameter_supported,
    request_object_signing_alg_values_supported: md.request_object_signing_alg_values_supported,
    dpop_signing_alg_values_supported: md.dpop_signing_alg_values_supported,
  }
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const ua = new UserAgent()

  const first = await step('PAR + DPoP + private_key_jwt', () => authorizeAndRedeem(config, ua, dpop))
  summary.flow = {
    pages: first.pages,
    token_type: first.tokens.token_type,
    sub: first.tokens.claims().sub,
    refresh_token: Boolean(first.tokens.refresh_token),
  }
  summary.userinfo = await step('userinfo with DPoP', async () => {
    const info = await client.fetchUserInfo(config, first.tokens.access_token, summary.flow.sub, { DPoP: dpop })
    return { sub: info.sub }
  })
  summary.bearer_userinfo_status = await step('the token as a Bearer token', async () => {
    const res = await fetch(md.userinfo_endpoint, { headers: { authorization: `Bearer ${first.tokens.access_token}` } })
    await res.body?.cancel()
    return res.status
  })
  summary.request_uri_replay_status = await step('the request_uri again', async () => {
    const page = await ua.navigate(first.url.href, {}, env.REDIRECT_URI)
    return page.redirect ? 'redirected' : page.status
  })

  const jar = await step('JAR through PAR', () => authorizeAndRedeem(config, ua, dpop, key))
  summary.jar = { pages: jar.pages, token_type: jar.tokens.token_type }

  // -- what the profile refuses ---------------------------------------------------------
  const refused = {}
  refused.front_channel = await step('front channel without PAR', async () => {
    const { params } = await pkce()
    const page = await ua.navigate(client.buildAuthorizationUrl(config, params).href, {}, env.REDIRECT_URI)
    check(page.redirect, `the front channel answered ${page.status}, not a redirect`)
    return page.redirect.searchParams.get('error')
  })
  refused.symmetric_secret = await step('a shared secret', async () => {
    const secretConfig = await configure(client.ClientSecretBasic('a-guessed-or-leaked-secret'))
    return refusal(client.buildAuthorizationUrlWithPAR(secretConfig, (await pkce()).params), 'secret')
  })
  refused.pkce_plain = await step('PKCE plain', async () => {
    const { params } = await pkce({ code_challenge_method: 'plain' })
    return refusal(client.buildAuthorizationUrlWithPAR(config, params), 'plain')
  })
  refused.pkce_missing = await step('PKCE missing', async () => {
    const { params } = await pkce()
    delete params.code_challenge
    delete params.code_challenge_method
    return refusal(client.buildAuthorizationUrlWithPAR(config, params), 'no PKCE')
  })
  refused.long_assertion = await step('an assertion living 3 minutes', async () => {
    const longLived = client.PrivateKeyJwt(key, { [client.modifyAssertion]: (_h, p) => { p.exp = p.iat + 180 } })
    return refusal(client.buildAuthorizationUrlWithPAR(await configure(longLived), (await pkce()).params), 'long')
  })
  refused.bearer_token_request = await step('a token request without DPoP', async () => {
    const { verifier, params } = await pkce()
    const { callback } = await browse(ua, await client.buildAuthorizationUrlWithPAR(config, params))
    return refusal(client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier, expectedState: params.state, expectedNonce: params.nonce,
    }), 'bearer')
  })
  const object = async (modify, signingKey = key) => {
    const { params } = await pkce()
    const options = modify ? { [client.modifyAssertion]: modify } : undefined
    return (await client.buildAuthorizationUrlWithJAR(config, params, signingKey, options)).searchParams
  }
  const pushObject = (search) => refusal(client.buildAuthorizationUrlWithPAR(config, search), 'object')
  refused.object_wrong_aud = await step('request object: wrong aud',
    async () => pushObject(await object((_h, p) => { p.aud = 'https://another-issuer.example' })))
  refused.object_expired = await step('request object: expired',
    async () => pushObject(await object((_h, p) => { p.nbf = p.iat - 600; p.exp = p.iat - 300 })))
  refused.object_other_key = await step('request object: another key', async () => {
    const other = await generateKeyPair('ES256', { extractable: true })
    return pushObject(await object(null, { key: other.privateKey, kid: jwk.kid }))
  })
  refused.object_unsigned = await step('request object: alg none', async () => {
    const signed = await object(null)
    const [, payload] = signed.get('request').split('.')
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')
    signed.set('request', `${header}.${payload}.`)
    return pushObject(signed)
  })
  refused.object_hs256 = await step('request object: a MAC', async () => {
    const signed = await object(null)
    const claims = JSON.parse(Buffer.from(signed.get('request').split('.')[1], 'base64url'))
    const mac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'))
    signed.set('request', mac)
    return pushObject(signed)
  })
  summary.refused = refused
  summary.ok = true
}

main().then(
  () => process.stdout.write(`${JSON.stringify(summary)}\n`),
  (err) => fail(err),
)
