-- Status polling of many waiting PC pages at once (docs/scan-signin.md "PC page"): each request
-- is GET /interaction/<id>/scan/status of one page, with that browser's cookies (the flow
-- cookie and essc_scan), the pages taken round-robin. A poll counts when it answers 200 with
-- "waiting"; anything else (404 unknown, an expired code) is unexpected and spoils the run.
--
-- Environment: BENCH_POLL_FILE, one page a line: "<path>\t<Cookie header>".
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

summary.counters = { "waiting", "unexpected" }
summary.notes = { "first_unexpected" }

waiting = 0
unexpected = 0
first_unexpected = ""

local requests = {}
local next_page = 1

function init(args)
  for line in io.lines(os.getenv("BENCH_POLL_FILE")) do
    local path, cookie = line:match("^([^\t]+)\t(.+)$")
    if path then
      table.insert(requests, wrk.format("GET", path, {
        ["Cookie"] = cookie,
        ["Accept"] = "application/json",
      }))
    end
  end
  -- Threads start at different pages so that they do not poll the same one in step.
  next_page = (math.random(1, #requests))
end

function request()
  local r = requests[next_page]
  next_page = next_page % #requests + 1
  return r
end

function response(status, headers, body)
  if status == 200 and body and body:find('"state":"waiting"', 1, true) then
    waiting = waiting + 1
  else
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = tostring(status) .. " " .. (body or ""):sub(1, 300)
    end
  end
end

setup = summary.setup
done = summary.done
