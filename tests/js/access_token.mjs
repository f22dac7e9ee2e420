// RFC 9068 (JWT Profile for OAuth 2.0 Access Tokens) validation as a resource server does it
// (section 4), with jose against the issuer's published JWKS.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'

const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] // RFC 9068 2.2

export class AccessTokenVerifier {
  /**
   * @param {object} metadata discovered authorization server metadata
   * @param {string[]} audiences accepted `aud` values (any one must be present)
   */
  constructor(metadata, audiences) {
    this.issuer = metadata.issuer
    this.audiences = audiences
    this.jwks = createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: 10_000 })
    this.seenJti = new Set()
  }

  /**
   * Verify one access token and return a summary of it.
   * @param {string} token
   * @param {{clientId: string, sub?: string, scope?: string}} expected
   */
  async verify(token, expected) {
    let header
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw new Error('access token is not a JWS (RFC 9068 requires a signed JWT)')
    }
    // RFC 9068 4: reject "none"; jose rejects it regardless, and HMAC would need a shared key.
    const { payload, protectedHeader } = await jwtVerify(token, this.jwks, {
      issuer: this.issuer,
      audience: this.audiences,
      typ: 'at+jwt', // jose also accepts "application/at+jwt"
      requiredClaims: REQUIRED_CLAIMS,
      algorithms: ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'PS384', 'PS512', 'RS256'],
    })
    if (payload.client_id !== expected.clientId) {
      throw new Error(`access token client_id ${payload.client_id} != ${expected.clientId}`)
    }
    if (expected.sub !== undefined && payload.sub !== expected.sub) {
      throw new Error(`access token sub ${payload.sub} != ID token sub ${expected.sub}`)
    }
    // RFC 9068 2.2.3: scope SHOULD be present; when it is, it must be what was granted.
    const scopeGiven = payload.scope !== undefined && expected.scope !== undefined
    if (scopeGiven && !sameScope(payload.scope, expected.scope)) {
      throw new Error(`access token scope "${payload.scope}" != granted "${expected.scope}"`)
    }
    if (this.seenJti.has(payload.jti)) throw new Error(`access token jti ${payload.jti} reused`)
    this.seenJti.add(payload.jti)
    if (!(payload.exp > payload.iat)) throw new Error('access token exp is not after iat')
    return {
      alg: protectedHeader.alg,
      kid: protectedHeader.kid ?? null,
      typ: protectedHeader.typ ?? header.typ,
      aud: payload.aud,
      sub: payload.sub,
      client_id: payload.client_id,
      scope: payload.scope ?? null,
      lifetime: payload.exp - payload.iat,
    }
  }
}

export function sameScope(a, b) {
  const set = (s) => [...new Set(String(s ?? '').split(' ').filter(Boolean))].sort().join(' ')
  return set(a) === set(b)
}
