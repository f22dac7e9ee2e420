-- Authorization code + PKCE round trips of a returning, signed-in user who already consented:
-- GET /authorize answers 302 to the redirect URI with a code (RFC 6749 4.1.2), and
-- POST /token redeems it (RFC 6749 4.1.3, RFC 7636 4.5).
--
-- The connections of one wrk thread share this Lua state and request() does not say which
-- connection asks, so the codes go through a queue: every authorize response pushes its code,
-- and the next request any connection makes redeems the oldest code; with no code waiting it
-- asks for a new one. One round trip = one code redeemed for a 200 token response.
--
-- Environment: BENCH_AUTHORIZE_QUERY (the query string, PKCE challenge included),
-- BENCH_COOKIE, BENCH_AUTHORIZATION ("Basic ..."), BENCH_REDIRECT_URI_ENC (form-encoded),
-- BENCH_CODE_VERIFIER.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

summary.counters = { "round_trips", "codes", "unexpected" }
summary.notes = { "first_unexpected" }

round_trips = 0
codes = 0
unexpected = 0
first_unexpected = ""

local authorize_request
local token_headers
local token_prefix
local token_suffix
local queue = {}
local head, tail = 1, 0

function init(args)
  authorize_request = wrk.format("GET", "/authorize?" .. os.getenv("BENCH_AUTHORIZE_QUERY"), {
    ["Cookie"] = os.getenv("BENCH_COOKIE"),
    ["Accept"] = "text/html",
  })
  token_headers = {
    ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  token_prefix = "grant_type=authorization_code&code="
  token_suffix = "&redirect_uri=" .. os.getenv("BENCH_REDIRECT_URI_ENC")
    .. "&code_verifier=" .. os.getenv("BENCH_CODE_VERIFIER")
end

function request()
  if head <= tail then
    local code = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/token", token_headers, token_prefix .. code .. token_suffix)
  end
  return authorize_request
end

local function header(headers, name)
  for key, value in pairs(headers) do
    if key:lower() == name then
      return value
    end
  end
  return nil
end

local function note(status, body)
  unexpected = unexpected + 1
  if first_unexpected == "" then
    first_unexpected = tostring(status) .. " " .. (body or ""):sub(1, 300)
  end
end

function response(status, headers, body)
  if status == 302 or status == 303 then
    local location = header(headers, "location") or ""
    local code = location:match("[?&]code=([^&#]+)")
    if code then
      codes = codes + 1
      tail = tail + 1
      queue[tail] = code
    else
      note(status, "Location: " .. location)
    end
  elseif status == 200 and body and body:find('"access_token"', 1, true) then
    round_trips = round_trips + 1
  else
    note(status, body)
  end
end

setup = summary.setup
done = summary.done
