// Encrypted ID token (OIDC Core 10.2) with panva's openid-client: the client registered
// id_token_encrypted_response_alg ECDH-ES+A256KW / _enc A256GCM and a use=enc key; openid-client
// decrypts the ID token with the private key (enableDecryptingResponses) and then validates the
// nested signed JWT as usual (signature against jwks_uri, iss, aud, nonce).
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, CREDENTIAL, PIN, ENC_JWK (the
// private JWK, JSON). Prints ONE JSON line: {"ok": true, ...} or {"ok": false, "error": ...}.
import * as client from 'openid-client'
import { importJWK, decodeProtectedHeader } from 'jose'
import { UserAgent, pageText, parseForms } from './user_agent.mjs'

const env = process.env

function fail(err) {
  const error = `${err?.message ?? err}${err?.code ? ` code=${err.code}` : ''}`
  process.stderr.write(`encrypted_id_token: FAILED: ${error}\n`)
  process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`)
  process.exit(1)
}

async function authorize(ua, config, params) {
  let page = await ua.navigate(client.buildAuthorizationUrl(config, params).href, {}, env.REDIRECT_URI)
  for (let i = 0; !page.redirect; i++) {
    if (i > 3 || page.status !== 200) throw new Error(`page ${page.url}: ${pageText(page.html)}`)
    const forms = parseForms(page.html, page.url)
    const signin = forms.find((f) => f.fields.some((x) => x.name === 'pin'))
    const consent = forms.find((f) => f.buttons.some((b) => b.value === 'approve'))
    if (signin) {
      page = await ua.submit(signin, { credential: env.CREDENTIAL, pin: env.PIN }, signin.buttons[0] ?? null, env.REDIRECT_URI)
    } else if (consent) {
      page = await ua.submit(consent, {}, { name: 'decision', value: 'approve' }, env.REDIRECT_URI)
    } else {
      throw new Error(`no sign-in or consent form at ${page.url}`)
    }
  }
  return page.redirect
}

async function main() {
  const jwk = JSON.parse(env.ENC_JWK)
  const config = await client.discovery(
    new URL(env.ISSUER),
    env.CLIENT_ID,
    {
      client_secret: env.CLIENT_SECRET,
      id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
      id_token_encrypted_response_enc: 'A256GCM',
    },
    client.ClientSecretBasic(env.CLIENT_SECRET),
    { execute: [client.allowInsecureRequests], timeout: 15 },
  )
  client.enableNonRepudiationChecks(config) // verify the nested JWT's signature against jwks_uri
  const key = await importJWK(jwk, 'ECDH-ES+A256KW')
  client.enableDecryptingResponses(config, ['A256GCM'], { key, alg: 'ECDH-ES+A256KW', kid: jwk.kid })
  const md = config.serverMetadata()
  const verifier = client.randomPKCECodeVerifier()
  const params = {
    redirect_uri: env.REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
  }
  const callback = await authorize(new UserAgent(), config, params)
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: params.state,
    expectedNonce: params.nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  const header = decodeProtectedHeader(tokens.id_token)
  process.stdout.write(`${JSON.stringify({
    ok: true,
    encryption_algs: md.id_token_encryption_alg_values_supported,
    encryption_encs: md.id_token_encryption_enc_values_supported,
    id_token_parts: tokens.id_token.split('.').length,
    jwe_header: header,
    claims: { iss: claims.iss, aud: claims.aud, nonce_checked: claims.nonce === params.nonce, sub: claims.sub },
  })}\n`)
}

main().catch(fail)
