-- Shared by the scenario scripts (each loads it with dofile). Gives every wrk thread an id,
-- hands out one fresh line of a pool file per request, and prints one machine-readable
-- result line (BENCH_JSON {...}) from done().
--
-- Environment: BENCH_THREADS (wrk -t), BENCH_POOL (pool file, one token or code a line).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- Lines i of the pool file with i % threads == id: every request of every thread gets a
-- different line. Past the end the pool wraps (and `wrapped` counts it, so reuse shows).
pool = nil
pool_next = 1
used = 0
wrapped = 0

function load_pool()
  local path = os.getenv("BENCH_POOL")
  if path == nil or path == "" then
    error("BENCH_POOL is not set")
  end
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  local me = tonumber(id) or 0
  pool = {}
  local i = 0
  for line in io.lines(path) do
    if i % n == me and line ~= "" then
      pool[#pool + 1] = line
    end
    i = i + 1
  end
  if #pool == 0 then
    error("pool " .. path .. " has no line for thread " .. me)
  end
end

function next_item()
  if pool_next > #pool then
    pool_next = 1
    wrapped = wrapped + 1
  end
  local item = pool[pool_next]
  pool_next = pool_next + 1
  used = used + 1
  return item
end

function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function done(summary, latency, requests)
  local used_total, wrapped_total = 0, 0
  for _, t in ipairs(threads) do
    used_total = used_total + (tonumber(t:get("used")) or 0)
    wrapped_total = wrapped_total + (tonumber(t:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"used":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    used_total, wrapped_total))
end
