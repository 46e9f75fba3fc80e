-- Mints pool lines: sends the fixed request of fixed.lua and appends to
-- BENCH_MINT_OUT.<thread id> the first capture of BENCH_MINT_PATTERN (a Lua pattern) in each
-- 2xx response body. Run against a server with a cheap hash cost (see bench/run.py).
-- With BENCH_POOL (a file of user names), every "{}" of BENCH_BODY is replaced by the next
-- line of the pool, so the items are spread over many users (authorization codes: at most
-- 16 live codes per user).
dofile(os.getenv("BENCH_DIR") .. "/fixed.lua")

local spread = os.getenv("BENCH_POOL") ~= nil and os.getenv("BENCH_POOL") ~= ""

if spread then
  function request()
    local user = next_item()
    local body = string.gsub(wrk.body, "{}", function() return user end)
    return wrk.format(nil, nil, nil, body)
  end
end

local pattern = os.getenv("BENCH_MINT_PATTERN")
local out = nil

function init(args)
  out = assert(io.open(os.getenv("BENCH_MINT_OUT") .. "." .. (tonumber(id) or 0), "a"))
  out:setvbuf("line")
  if spread then
    load_pool()
  end
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    local v = string.match(body, pattern)
    if v ~= nil then
      out:write(v, "\n")
      used = used + 1
    end
  end
end
