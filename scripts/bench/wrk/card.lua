-- Kiosk card logins (scripts/bench/run, section card): one pre-made form body per request
-- (client_id, scope and a card assertion over its own single-use nonce), POSTed once each
-- with the kiosk's certificate in the trusted proxy's header.
--   BENCH_FILE   form bodies, one a line; thread k takes lines k, k+n, ...
--   BENCH_CERT   the header value (URL-encoded PEM of the kiosk certificate)
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local bodies, i = nil, 0
local cert = C.env("BENCH_CERT", "")

function init(args)
    bodies = C.share(C.env("BENCH_FILE", ""), tid, C.nthreads)
end

function request()
    i = i + 1
    if i > #bodies then
        wrk.thread:stop() -- a body sent twice is a replayed nonce
        return wrk.format("GET", "/", {})
    end
    return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",
                                    ["X-SSL-Client-Cert"] = cert}, bodies[i])
end
