-- E-card status (docs/ecards.md, GET /api/v1/ecards/{sign_no}) of many e-cards, spread over the
-- whole table, taken round-robin: a channel asks with its bearer token. A request counts when
-- it answers 200 with the e-card's status; anything else spoils the run.
--
-- Environment: BENCH_STATUS_FILE, one e-card a line: "<path>\t<Authorization header>".
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local summary = require("summary")

summary.counters = { "answered", "unexpected" }
summary.notes = { "first_unexpected" }

answered = 0
unexpected = 0
first_unexpected = ""

local requests = {}
local next_card = 1

function init(args)
  for line in io.lines(os.getenv("BENCH_STATUS_FILE")) do
    local path, authorization = line:match("^([^\t]+)\t(.+)$")
    if path then
      table.insert(requests, wrk.format("GET", path, {
        ["Authorization"] = authorization,
        ["Accept"] = "application/json",
      }))
    end
  end
  next_card = math.random(1, #requests)
end

function request()
  local r = requests[next_card]
  next_card = next_card % #requests + 1
  return r
end

function response(status, headers, body)
  if status == 200 and body and body:find('"status"', 1, true) then
    answered = answered + 1
  else
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = tostring(status) .. " " .. (body or ""):sub(1, 300)
    end
  end
end

setup = summary.setup
done = summary.done
