-- GET the URL given to wrk (discovery, JWKS). Optional BENCH_AUTH: an Authorization value.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "GET"
local auth = C.env("BENCH_AUTH", nil)
if auth then wrk.headers["Authorization"] = auth end
