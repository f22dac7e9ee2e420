-- A plain GET of BENCH_PATH (GET /jwks.json, and GET / of the hello-world ceiling).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"

setup = summary.setup
done = summary.done
