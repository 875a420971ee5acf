-- wrk script for the Kefu benchmarks (see bench/README.md).
--
--   wrk ... -s bench/kefu.lua http://127.0.0.1:PORT -- create RUN_ID    POST /api/v1/tickets, a new requester each time
--   wrk ... -s bench/kefu.lua http://127.0.0.1:PORT -- create-mixed     POST /api/v1/tickets as kefu-bench-rules makes
--                                                                       them: subjects its triggers look for, every
--                                                                       3rd on WeChat, every 7th urgent, 500 requesters
--   wrk ... -s bench/kefu.lua http://127.0.0.1:PORT -- read MAX_ID      GET /api/v1/tickets/{random 1..MAX_ID}
--   wrk ... -s bench/kefu.lua http://127.0.0.1:PORT/api/v1/tickets?status=open&limit=25 -- list
--   wrk ... -s bench/kefu.lua http://127.0.0.1:PORT -- search QUERIES  GET /api/v1/search?q=..., the queries of
--                                                                       the file QUERIES in turn (one per line, # skips)
--
-- The bearer token comes in with `-H "Authorization: Bearer ..."`. Every mode prints one machine-readable
-- line at the end:  RESULT requests=.. seconds=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. errors=.. non2xx=..

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local mode = "list"
local counter = 0
local max_id = 1
local run_id = "run"

local function create_request()
  counter = counter + 1
  local n = run_id .. "-" .. id .. "-" .. counter
  local body = '{"subject":"Load test ticket ' .. n .. ': parcel not arrived",'
    .. '"requester":{"email":"load-' .. n .. '@bench.example.com","name":"Load Tester ' .. counter .. '"},'
    .. '"priority":"normal","tags":["bench"],'
    .. '"message":{"body":"Hello, my order ' .. n .. ' has not arrived yet. Could you check? Thanks."}}'
  return wrk.format("POST", "/api/v1/tickets", nil, body)
end

-- The tickets of `kefu-bench-rules` (bench/rules), so that its 50 triggers and 10 SLA policies see over HTTP
-- what they see in-process.
local function create_mixed_request()
  counter = counter + 1
  local subjects = { "我要退款 refund please", "Order " .. counter .. " has not arrived", "发票 invoice copy",
    "Cannot log in", "Question " .. id .. "-" .. counter }
  local subject = subjects[counter % 5 + 1]
  local channel = (counter % 3 == 0) and "wechat" or "email"
  local priority = (counter % 7 == 0) and "urgent" or "normal"
  local customer = (id * 7919 + counter) % 500
  local body = '{"subject":"' .. subject .. '","channel":"' .. channel .. '","priority":"' .. priority .. '",'
    .. '"requester":{"email":"customer' .. customer .. '@example.com"},'
    .. '"message":{"body":"Hello, I need help with my order."}}'
  return wrk.format("POST", "/api/v1/tickets", nil, body)
end

local search_paths = {}
local search_next = 1

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function search_request()
  local path = search_paths[search_next]
  search_next = search_next % #search_paths + 1
  return wrk.format("GET", path)
end

local function read_request()
  return wrk.format("GET", "/api/v1/tickets/" .. math.random(1, max_id))
end

function init(args)
  mode = args[1] or "list"
  if mode == "create" then
    run_id = args[2] or tostring(os.time())
    -- Passing our own headers to wrk.format would drop the -H ones (the token); add to them instead.
    wrk.headers["Content-Type"] = "application/json"
    request = create_request
  elseif mode == "create-mixed" then
    wrk.headers["Content-Type"] = "application/json"
    request = create_mixed_request
  elseif mode == "read" then
    max_id = tonumber(args[2] or "1")
    math.randomseed(os.time() * 1000 + id)
    request = read_request
  elseif mode == "search" then
    local file = assert(io.open(args[2] or "bench/search/queries.txt", "r"))
    for line in file:lines() do
      line = line:gsub("^%s+", ""):gsub("%s+$", "")
      if line ~= "" and line:sub(1, 1) ~= "#" then
        table.insert(search_paths, "/api/v1/search?q=" .. urlencode(line))
      end
    end
    file:close()
    assert(#search_paths > 0, "no queries")
    request = search_request
  end
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
