-- wrk script for bench/search.sh: GET /api/v1/search?q=... cycling through a query mix.
--
--   wrk -t1 -c4 -d10s --latency -H "Authorization: Bearer TOKEN" -s bench/search/search.lua \
--       http://127.0.0.1:PORT -- bench/search/queries.txt
--
-- The queries file has one query per line (lines starting with # are skipped); requests take them in turn
-- (with -t1, all connections share the one cycle). Prints one machine-readable line at the end, as bench/kefu.lua does:
--   RESULT requests=.. seconds=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. errors=.. non2xx=..

local paths = {}
local next_index = 1

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local file = assert(io.open(args[1] or "bench/search/queries.txt", "r"))
  for line in file:lines() do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      table.insert(paths, "/api/v1/search?q=" .. urlencode(line))
    end
  end
  file:close()
  assert(#paths > 0, "no queries")
  next_index = 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
