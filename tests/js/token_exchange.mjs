// Live test of the family proxy's token exchange (RFC 8693) with panva's openid-client, a
// relying-party library written by someone else: the daughter's channel signs her in by the
// code flow, asks to act for her father, exchanges her access token with
// client.genericGrantRequest (grant_type urn:ietf:params:oauth:grant-type:token-exchange) once
// he consented, and uses the delegated token on the product APIs with
// client.fetchProtectedResource. Run by tests/family/test_openid_client.py.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET (client_secret_basic), REDIRECT_URI, CREDENTIAL,
// PIN (the daughter's), FATHER_ID_NUMBER, FATHER_NAME.
// Protocol on stdio: prints {"relationship_id": ...} and waits for a line "consented" on stdin;
// later prints {"delegated": true} and waits for "ended"; the last stdout line is the summary
// {"ok": true, ...} (or {"ok": false, "step", "error"} with exit status 1).
import { createInterface } from 'node:readline'
import * as client from 'openid-client'
import { UserAgent, pageText, parseForms } from './user_agent.mjs'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const env = process.env
const summary = { ok: false }
let currentStep = 'start'
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

function check(condition, message) {
  if (!condition) throw new Error(message)
}

async function step(name, fn) {
  currentStep = name
  return fn()
}

async function waitFor(word) {
  const { value, done } = await lines.next()
  check(!done && value.trim() === word, `expected "${word}" on stdin, got ${value}`)
}

function say(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

async function refusedWith(promise, code) {
  try {
    await promise
  } catch (err) {
    if (err?.error === code) return err.error
    throw new Error(`expected error=${code}, got ${err?.error ?? err?.message}`)
  }
  throw new Error(`expected error=${code}, but the server issued a token`)
}

async function signIn(ua, config) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.REDIRECT_URI,
    scope: 'openid essc.ecard',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  })
  let page = await ua.navigate(url.href, {}, env.REDIRECT_URI)
  for (let hops = 0; !page.redirect; hops++) {
    check(hops < 3 && page.status === 200, `page ${page.url}: ${pageText(page.html)}`)
    const forms = parseForms(page.html, page.url)
    const signin = forms.find((f) => f.fields.some((x) => x.name === 'pin'))
    if (signin) {
      page = await ua.submit(signin, { credential: env.CREDENTIAL, pin: env.PIN }, signin.buttons[0] ?? null, env.REDIRECT_URI)
    } else {
      const consent = forms.find((f) => f.buttons.some((b) => b.value === 'approve'))
      check(consent, `no sign-in or consent form at ${page.url}`)
      page = await ua.submit(consent, {}, { name: 'decision', value: 'approve' }, env.REDIRECT_URI)
    }
  }
  const tokens = await client.authorizationCodeGrant(config, page.redirect, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  })
  return tokens.access_token
}

async function api(config, token, path, method = 'GET', body = undefined) {
  const headers = new Headers(body === undefined ? {} : { 'content-type': 'application/json' })
  let res
  try {
    res = await client.fetchProtectedResource(
      config, token, new URL(path, env.ISSUER), method, body === undefined ? undefined : JSON.stringify(body), headers,
    )
  } catch (err) {
    // RFC 6750 3: openid-client turns a Bearer challenge into an error; keep its status and code.
    if (err?.code !== 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') throw err
    return { status: err.status, type: null, body: null, challenge: err.cause?.[0]?.parameters?.error ?? null }
  }
  const text = await res.text()
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null }
}

async function main() {
  const config = await step('discovery', () =>
    client.discovery(new URL(env.ISSUER), env.CLIENT_ID, { client_secret: env.CLIENT_SECRET },
      client.ClientSecretBasic(env.CLIENT_SECRET), { execute: [client.allowInsecureRequests], timeout: 15 }))
  summary.grant_type_advertised = (config.serverMetadata().grant_types_supported ?? []).includes(TOKEN_EXCHANGE)
  const own = await step('sign in (code flow)', () => signIn(new UserAgent(), config))

  const asked = await step('ask', () => api(config, own, '/api/v1/family/relationships', 'POST', {
    principal: { id_number: env.FATHER_ID_NUMBER, name: env.FATHER_NAME },
    relationship: 'parent',
    powers: ['view_card', 'show_medical_code', 'query_benefits'],
  }))
  check(asked.status === 201, `asking answered ${asked.status}: ${JSON.stringify(asked.body)}`)
  say({ relationship_id: asked.body.id })
  await step('wait for consent', () => waitFor('consented'))
  const principal = asked.body.principal_ref

  const exchange = (subjectToken, more = {}) =>
    client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      principal,
      ...more,
    })
  const exchanged = await step('token exchange', () =>
    exchange(own, { scope: 'essc.family.view_card essc.family.query_benefits' }))
  summary.exchange = {
    issued_token_type: exchanged.issued_token_type,
    token_type: exchanged.token_type,
    scope: exchanged.scope,
    expires_in: exchanged.expires_in,
    refresh_token: exchanged.refresh_token ?? null,
  }
  const delegated = exchanged.access_token
  const seen = await step('introspection', () => client.tokenIntrospection(config, delegated))
  summary.introspection = { active: seen.active, sub: seen.sub, act: seen.act ?? null, principal }

  const card = await step('acting card', () => api(config, delegated, '/api/v1/family/acting/card'))
  const benefits = await step('acting benefits', () => api(config, delegated, '/api/v1/family/acting/benefits'))
  const code = await step('medical code without the power', () =>
    api(config, delegated, '/api/v1/family/acting/qr-codes', 'POST', { purpose: 'medical' }))
  summary.card = { status: card.status, body: card.body }
  summary.benefits = { status: benefits.status, body: benefits.body }
  summary.code_without_scope = { status: code.status, challenge: code.challenge }
  summary.refused = {
    chained: await step('chain', () => refusedWith(exchange(delegated), 'invalid_request')),
    pay: await step('pay', () => refusedWith(exchange(own, { scope: 'essc.family.pay' }), 'invalid_scope')),
    actor_token: await step('actor_token', () =>
      refusedWith(exchange(own, { actor_token: own, actor_token_type: ACCESS_TOKEN }), 'invalid_request')),
  }

  say({ delegated: true })
  await step('wait for the end', () => waitFor('ended'))
  const after = await step('introspection after', () => client.tokenIntrospection(config, delegated))
  const benefitsAfter = await step('benefits after', () => api(config, delegated, '/api/v1/family/acting/benefits'))
  summary.after_end = {
    active: after.active,
    benefits: { status: benefitsAfter.status, type: benefitsAfter.type, body: benefitsAfter.body },
    exchange: await step('exchange after', () => refusedWith(exchange(own), 'invalid_request')),
  }
  summary.ok = true
  say(summary)
  process.exit(0)
}

main().catch((err) => {
  const error = `${err?.message ?? err}${err?.error ? ` error=${err.error}` : ''}`
  process.stderr.write(`token_exchange: FAILED at "${currentStep}": ${error}\n`)
  say({ ok: false, step: currentStep, error })
  process.exit(1)
})
