-- Refresh token rotation (RFC 6749 6, RFC 9700 4.14.2): POST /token with
-- grant_type=refresh_token; each answer carries the next refresh token, and the presented one
-- is retired.
--
-- The connections of one wrk thread share this Lua state and request() does not say which
-- connection asks, so the tokens go through a queue: it starts with BENCH_REFRESH_TOKENS (more
-- than the connections, each from its own grant), every answer pushes the token it carries, and
-- every request presents the oldest waiting one. One refresh = one 200 with a new refresh token.
--
-- Environment: BENCH_AUTHORIZATION ("Basic ..."), BENCH_REFRESH_TOKENS (comma-separated).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

summary.counters = { "refreshes", "unexpected", "starved" }
summary.notes = { "first_unexpected" }

refreshes = 0
unexpected = 0
starved = 0
first_unexpected = ""

local headers
local queue = {}
local head, tail = 1, 0

function init(args)
  headers = {
    ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  for token in (os.getenv("BENCH_REFRESH_TOKENS") or ""):gmatch("[^,]+") do
    tail = tail + 1
    queue[tail] = token
  end
end

function request()
  local token = "starved"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  else
    starved = starved + 1 -- answered 400 and counted unexpected: the run fails its check
  end
  return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, _, body)
  local token = status == 200 and body and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    refreshes = refreshes + 1
    tail = tail + 1
    queue[tail] = token
  else
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = tostring(status) .. " " .. (body or ""):sub(1, 300)
    end
  end
end

setup = summary.setup
done = summary.done
