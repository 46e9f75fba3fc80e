-- One fresh pool line per request, substituted for every "{}" in BENCH_TEMPLATE (after
-- url-encoding when BENCH_URLENCODE=1). Headers as in fixed.lua. Used for refresh tokens,
-- authorization codes (single use: each request needs its own) and introspected tokens.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local template = os.getenv("BENCH_TEMPLATE") or "{}"
local encode = os.getenv("BENCH_URLENCODE") == "1"
local headers = {}
headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  headers["Authorization"] = auth
end
local accept = os.getenv("BENCH_ACCEPT")
if accept ~= nil and accept ~= "" then
  headers["Accept"] = accept
end

function init(args)
  load_pool()
end

function request()
  local item = next_item()
  if encode then
    item = urlencode(item)
  end
  local body = string.gsub(template, "{}", function() return item end)
  return wrk.format("POST", nil, headers, body)
end
