-- POST /token, grant_type=client_credentials, client_secret_basic (RFC 6749 4.4).
-- Environment: BENCH_AUTHORIZATION (the whole "Basic ..." value), BENCH_TOKEN_PATH, BENCH_SCOPE.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

local body = "grant_type=client_credentials"
local scope = os.getenv("BENCH_SCOPE") or ""
if scope ~= "" then
  body = body .. "&scope=" .. scope:gsub(" ", "+")
end

wrk.method = "POST"
wrk.path = os.getenv("BENCH_TOKEN_PATH") or "/token"
wrk.body = body
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

setup = summary.setup
done = summary.done
