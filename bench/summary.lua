-- Shared by the wrk scripts: collects per-thread counters and prints one machine-readable line,
-- "BENCH_JSON {...}", that bench/wrk.py parses. Latencies are in microseconds, as wrk keeps them.
local M = {}

local threads = {}

-- Names of global counters each script keeps in its threads (read with thread:get in done()).
M.counters = {}
-- Names of global strings to report from the first thread that set them (diagnostics).
M.notes = {}

function M.setup(thread)
  table.insert(threads, thread)
end

local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    return string.format("%.17g", value)
  elseif kind == "string" then
    local escaped = value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
    end)
    return '"' .. escaped .. '"'
  elseif kind == "table" then
    local parts = {}
    for k, v in pairs(value) do
      table.insert(parts, encode(tostring(k)) .. ":" .. encode(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

function M.done(summary, latency, requests)
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
    percentiles[tostring(p)] = latency:percentile(p)
  end
  local counters = {}
  for _, name in ipairs(M.counters) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + (tonumber(thread:get(name)) or 0)
    end
    counters[name] = total
  end
  local notes = {}
  for _, name in ipairs(M.notes) do
    for _, thread in ipairs(threads) do
      local note = thread:get(name)
      if note ~= nil and note ~= "" then
        notes[name] = tostring(note)
        break
      end
    end
  end
  local result = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = {
      connect = summary.errors.connect,
      read = summary.errors.read,
      write = summary.errors.write,
      status = summary.errors.status,
      timeout = summary.errors.timeout,
    },
    latency_us = {
      min = latency.min,
      max = latency.max,
      mean = latency.mean,
      stdev = latency.stdev,
      percentiles = percentiles,
    },
    counters = counters,
    notes = notes,
  }
  io.write("BENCH_JSON " .. encode(result) .. "\n")
end

return M
