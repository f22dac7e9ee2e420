// Single sign-on into a second portal and RP-initiated logout, driven by openid-client.
//
// Portal A signs the citizen in (sign-in and consent pages); portal B, in the same browser, gets
// there with no sign-in page (OIDC Core 3.1.2.3: the session is reused, one `sid` for both);
// then A sends the browser to the end_session_endpoint built by openid-client
// (`buildEndSessionUrl`, OIDC RP-Initiated Logout 1.0 2) and must come back to its registered
// post_logout_redirect_uri with its state. After that, B's `prompt=none` answers login_required
// and A's refresh token is refused: the session and what it granted ended.
// Prints ONE JSON line: {"ok": true, ...} and exit 0, or {"ok": false, "step", "error"}, exit 1.
//
// Environment: ISSUER, CREDENTIAL, PIN, SCOPE, and for each portal X in A, B: X_CLIENT_ID,
// X_CLIENT_SECRET (client_secret_basic), X_REDIRECT_URI; A_POST_LOGOUT_URI.
import * as client from 'openid-client'
import { UserAgent, pageText, parseForms } from './user_agent.mjs'

const env = process.env
const summary = { ok: false }
let currentStep = 'start'

function check(condition, message) {
  if (!condition) throw new Error(message)
}

function fail(step, err) {
  const error = `${err?.message ?? String(err)}${err?.error ? ` error=${err.error}` : ''}`
  process.stderr.write(`sso_logout: FAILED at step "${step}": ${error}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, step, error })}\n`)
  process.exit(1)
}

async function step(name, fn) {
  currentStep = name
  return fn()
}

async function portal(prefix) {
  const secret = env[`${prefix}_CLIENT_SECRET`]
  const config = await client.discovery(
    new URL(env.ISSUER),
    env[`${prefix}_CLIENT_ID`],
    { client_secret: secret },
    client.ClientSecretBasic(secret),
    { execute: [client.allowInsecureRequests], timeout: 15 },
  )
  client.enableNonRepudiationChecks(config) // the ID token's signature against jwks_uri
  return { config, redirectUri: env[`${prefix}_REDIRECT_URI`] }
}

/** The browser at /authorize until the redirect back; fills sign-in and consent if shown. */
async function authorize(ua, rp, extra = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const params = {
    redirect_uri: rp.redirectUri,
    scope: env.SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  }
  const url = client.buildAuthorizationUrl(rp.config, params)
  let page = await ua.navigate(url.href, {}, rp.redirectUri)
  const pages = []
  while (!page.redirect) {
    check(pages.length < 3 && page.status === 200, `page ${page.url}: ${pageText(page.html)}`)
    const forms = parseForms(page.html, page.url)
    const signin = forms.find((f) => f.fields.some((x) => x.name === 'pin'))
    const consent = forms.find((f) => f.buttons.some((b) => b.value === 'approve'))
    if (signin) {
      pages.push('signin')
      page = await ua.submit(signin, { credential: env.CREDENTIAL, pin: env.PIN }, signin.buttons[0] ?? null, rp.redirectUri)
    } else if (consent) {
      pages.push('consent')
      page = await ua.submit(consent, {}, { name: 'decision', value: 'approve' }, rp.redirectUri)
    } else {
      throw new Error(`no sign-in or consent form at ${page.url}: ${pageText(page.html)}`)
    }
  }
  return { callback: page.redirect, pages, verifier, params }
}

async function signIn(ua, rp) {
  const { callback, pages, verifier, params } = await authorize(ua, rp)
  const tokens = await client.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: params.state,
    expectedNonce: params.nonce,
    idTokenExpected: true,
  })
  return { tokens, claims: tokens.claims(), pages }
}

async function main() {
  const a = await step('discovery A', () => portal('A'))
  const b = await step('discovery B', () => portal('B'))
  const md = a.config.serverMetadata()
  check(md.end_session_endpoint === `${env.ISSUER}/logout`, 'no end_session_endpoint')
  summary.discovery = {
    backchannel_logout_supported: md.backchannel_logout_supported ?? null,
    backchannel_logout_session_supported: md.backchannel_logout_session_supported ?? null,
  }
  const ua = new UserAgent()
  const first = await step('sign in at A', () => signIn(ua, a))
  const second = await step('SSO into B', () => signIn(ua, b))
  summary.sso = {
    a_pages: first.pages,
    b_pages: second.pages,
    same_sid: Boolean(first.claims.sid) && first.claims.sid === second.claims.sid,
    subs: { A: first.claims.sub, B: second.claims.sub },
    sid: first.claims.sid,
  }

  await step('RP-initiated logout from A', async () => {
    const state = client.randomState()
    const url = client.buildEndSessionUrl(a.config, {
      id_token_hint: first.tokens.id_token,
      post_logout_redirect_uri: env.A_POST_LOGOUT_URI,
      state,
    })
    const back = await ua.navigate(url.href, {}, env.A_POST_LOGOUT_URI)
    check(back.redirect, `logout did not return: ${back.status} ${pageText(back.html ?? '')}`)
    summary.logout = {
      returned_to: `${back.redirect.origin}${back.redirect.pathname}`,
      state_kept: back.redirect.searchParams.get('state') === state,
    }
  })

  await step('B after logout (prompt=none)', async () => {
    const { callback } = await authorize(ua, b, { prompt: 'none' })
    summary.after_logout = { b_prompt_none_error: callback.searchParams.get('error') }
  })

  await step('A refresh after logout', async () => {
    try {
      await client.refreshTokenGrant(a.config, first.tokens.refresh_token)
      summary.after_logout.a_refresh_error = null
    } catch (err) {
      summary.after_logout.a_refresh_error = err?.error ?? String(err)
    }
  })

  summary.ok = true
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

main().catch((err) => fail(currentStep, err))
