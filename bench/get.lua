-- A fixed GET request (the JWKS, discovery documents).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "GET"
