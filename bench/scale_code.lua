-- Authorization code + PKCE round trips (RFC 6749 4.1, RFC 7636) of many signed-in, consented
-- cardholders, taken round-robin: as bench/authorization_code.lua, but each GET /authorize
-- carries the next browser's cookie, so the session, card-status and consent reads touch
-- people spread over the whole table rather than one person's cached rows.
--
-- Environment: BENCH_COOKIE_FILE (one Cookie header a line), BENCH_AUTHORIZE_QUERY,
-- BENCH_AUTHORIZATION ("Basic ..."), BENCH_REDIRECT_URI_ENC, BENCH_CODE_VERIFIER.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

summary.counters = { "round_trips", "codes", "unexpected" }
summary.notes = { "first_unexpected" }

round_trips = 0
codes = 0
unexpected = 0
first_unexpected = ""

local authorize_requests = {}
local next_browser = 1
local token_headers
local token_prefix
local token_suffix
local queue = {}
local head, tail = 1, 0

function init(args)
  local path = "/authorize?" .. os.getenv("BENCH_AUTHORIZE_QUERY")
  for cookie in io.lines(os.getenv("BENCH_COOKIE_FILE")) do
    if cookie ~= "" then
      table.insert(authorize_requests, wrk.format("GET", path, {
        ["Cookie"] = cookie,
        ["Accept"] = "text/html",
      }))
    end
  end
  next_browser = math.random(1, #authorize_requests)
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
  local r = authorize_requests[next_browser]
  next_browser = next_browser % #authorize_requests + 1
  return r
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
