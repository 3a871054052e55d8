-- POST a fixed form body (client_credentials): BENCH_BODY, optional BENCH_AUTH.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.body = C.env("BENCH_BODY", "")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = C.env("BENCH_AUTH", nil)
if auth then wrk.headers["Authorization"] = auth end
