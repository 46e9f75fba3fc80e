-- A fixed request: method POST, body and headers from the environment
-- (BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_AUTH, BENCH_ACCEPT).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local accept = os.getenv("BENCH_ACCEPT")
if accept ~= nil and accept ~= "" then
  wrk.headers["Accept"] = accept
end
