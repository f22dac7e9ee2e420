// A minimal headless user agent for the sign-in and consent pages: it keeps cookies, follows
// redirects by hand (so the final redirect to the client is captured, never fetched), and fills
// and submits HTML forms the way a browser would (all named inputs of the form plus the clicked
// button). Just enough HTML for the server's own templates; no scripts.

const MAX_HOPS = 20
const TIMEOUT_MS = 15_000

/** RFC 6265 cookie store for one loopback origin (Secure is honoured as browsers do on loopback). */
export class CookieJar {
  #cookies = new Map() // name + path -> { name, value, path, expires }

  store(response, url) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq < 1) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = defaultPath(url)
      let expires = Infinity
      for (const attr of attrs) {
        const [k, ...v] = attr.split('=')
        const key = k.trim().toLowerCase()
        const val = v.join('=').trim()
        if (key === 'path' && val.startsWith('/')) path = val
        else if (key === 'max-age') expires = Date.now() + Number(val) * 1000
        else if (key === 'expires' && expires === Infinity) expires = Date.parse(val)
      }
      const id = `${name}\u0000${path}`
      if (expires <= Date.now()) this.#cookies.delete(id)
      else this.#cookies.set(id, { name, value, path, expires })
    }
  }

  header(url) {
    const { pathname } = new URL(url)
    const now = Date.now()
    const matching = [...this.#cookies.values()]
      .filter((c) => c.expires > now && pathMatches(pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
    return matching.map((c) => `${c.name}=${c.value}`).join('; ')
  }

  names() {
    return [...new Set([...this.#cookies.values()].map((c) => c.name))]
  }
}

function defaultPath(url) {
  const { pathname } = new URL(url)
  const slash = pathname.lastIndexOf('/')
  return slash <= 0 ? '/' : pathname.slice(0, slash)
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

/** Decode the character references a template engine emits in attribute values. */
export function decodeEntities(text) {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" }
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref) => {
    const lower = ref.toLowerCase()
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16))
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10))
    return named[lower] ?? whole
  })
}

function attributes(tag) {
  const attrs = {}
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g
  const body = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '')
  for (const m of body.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return attrs
}

/** Every <form> of a page: its method, absolute action, named fields and submit buttons. */
export function parseForms(html, pageUrl) {
  const forms = []
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[0].match(/^<form\b[^>]*>/i)[0])
    const inner = m[1]
    const fields = []
    const buttons = []
    for (const t of inner.matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(t[0])
      if (!a.name || 'disabled' in a) continue
      const type = (a.type ?? 'text').toLowerCase()
      if (type === 'submit' || type === 'image') buttons.push({ name: a.name, value: a.value ?? '' })
      else if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue
      else fields.push({ name: a.name, value: a.value ?? '', type })
    }
    for (const t of inner.matchAll(/<button\b[^>]*>/gi)) {
      const a = attributes(t[0])
      const type = (a.type ?? 'submit').toLowerCase()
      if (a.name && type === 'submit') buttons.push({ name: a.name, value: a.value ?? '' })
    }
    for (const t of inner.matchAll(/<textarea\b[^>]*>([\s\S]*?)<\/textarea>/gi)) {
      const a = attributes(t[0].match(/^<textarea\b[^>]*>/i)[0])
      if (a.name) fields.push({ name: a.name, value: decodeEntities(t[1]), type: 'textarea' })
    }
    forms.push({
      method: (attrs.method ?? 'get').toLowerCase(),
      action: new URL(attrs.action || pageUrl, pageUrl).href,
      fields,
      buttons,
    })
  }
  return forms
}

/** Visible text of a page, for failure messages (errors shown on a re-rendered form). */
export function pageText(html, limit = 400) {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, limit)
}

export class UserAgent {
  constructor() {
    this.jar = new CookieJar()
    this.hops = []
  }

  async #request(url, init = {}) {
    const headers = new Headers(init.headers)
    const cookie = this.jar.header(url)
    if (cookie) headers.set('cookie', cookie)
    headers.set('accept', 'text/html')
    headers.set('accept-language', 'zh-CN,zh;q=0.9')
    const response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    this.jar.store(response, url)
    this.hops.push(`${init.method ?? 'GET'} ${new URL(url).pathname} -> ${response.status}`)
    return response
  }

  /**
   * Navigate like a browser until either an HTML page is shown (returned as {url, status, html})
   * or a redirect leaves for `stopAt` (returned as {redirect: URL}, not fetched).
   */
  async navigate(url, init, stopAt) {
    let current = url
    let request = init
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const response = await this.#request(current, request)
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location')
        await response.body?.cancel()
        if (!location) throw new Error(`${response.status} from ${current} has no Location`)
        const next = new URL(location, current)
        if (isUnder(next, stopAt)) return { redirect: next }
        // 307/308 would replay the method and body; the contract promises 302/303 only.
        if (response.status === 307 || response.status === 308) {
          throw new Error(`unexpected ${response.status} redirect from ${current}`)
        }
        current = next.href
        request = {}
        continue
      }
      const html = await response.text()
      return { url: current, status: response.status, html }
    }
    throw new Error(`more than ${MAX_HOPS} redirects starting at ${url}`)
  }

  /** Submit `form` with `values` overriding its fields and `button` as the clicked submitter. */
  submit(form, values, button, stopAt) {
    const body = new URLSearchParams()
    const overridden = new Set(Object.keys(values))
    for (const f of form.fields) if (!overridden.has(f.name)) body.append(f.name, f.value)
    for (const [k, v] of Object.entries(values)) body.append(k, v)
    if (button) body.append(button.name, button.value)
    if (form.method !== 'post') throw new Error(`form at ${form.action} is not method=post`)
    return this.navigate(
      form.action,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      },
      stopAt,
    )
  }
}

/** Same origin and path as the redirect URI: the authorization response has arrived. */
function isUnder(url, stopAt) {
  const target = new URL(stopAt)
  return url.origin === target.origin && url.pathname === target.pathname
}
