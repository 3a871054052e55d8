-- A loader: sends BENCH_COUNT requests in all (split between threads), each a POST of
-- BENCH_BODY (or a GET when empty) with optional BENCH_AUTH and BENCH_COOKIE, and appends
-- from each answer to BENCH_COLLECT_OUT.<field>.<thread>:
--   BENCH_COLLECT  JSON fields of the body ("access_token"), or "location:code" for the
--                  code parameter of a redirect's Location header
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local left, fields, outs = 0, {}, {}
local body = C.env("BENCH_BODY", nil)

wrk.method = body and "POST" or "GET"
if body then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if C.env("BENCH_AUTH", nil) then wrk.headers["Authorization"] = C.env("BENCH_AUTH", nil) end
if C.env("BENCH_COOKIE", nil) then wrk.headers["Cookie"] = C.env("BENCH_COOKIE", nil) end

function init(args)
    local total = tonumber(C.env("BENCH_COUNT", "1000"))
    left = math.floor(total / C.nthreads)
    if tid < total % C.nthreads then left = left + 1 end
    for f in C.env("BENCH_COLLECT", "access_token"):gmatch("%S+") do
        fields[#fields + 1] = f
        outs[f] = assert(io.open(C.env("BENCH_COLLECT_OUT", "/tmp/bench") .. "." .. f:gsub(":", "_") .. "." .. tid, "w"))
    end
end

function request()
    left = left - 1
    if left < 0 then
        -- the runner stops wrk with a signal: write out what was collected first
        for _, o in pairs(outs) do o:flush() end
        wrk.thread:stop()
    end
    return wrk.format()
end

function response(status, headers, rbody)
    for _, f in ipairs(fields) do
        local v
        if f:sub(1, 9) == "location:" then
            local loc = headers["Location"] or headers["location"] or ""
            v = loc:match("[?&]" .. f:sub(10) .. "=([^&#]+)")
        elseif status == 200 then
            v = C.json_field(rbody, f)
        end
        if v then outs[f]:write(v, "\n") end
    end
end
