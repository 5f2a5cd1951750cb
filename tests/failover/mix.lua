-- The load of `make failover-test` (scripts/failover.sh): anonymous
-- GET /questions/{id} over random ids and, FAILOVER_WRITE_PERCENT of the
-- time (default 30), POST /questions with the app key in BENCH_KEY, half
-- of those with an Idempotency-Key. Every acknowledged write (201) is
-- written down with its id, and every answer other than 2xx with its
-- status and Retry-After, to FAILOVER_ACKED-<thread>, one line each:
--   <unix seconds> 201 <question id>
--   <unix seconds> <status> <Retry-After or ->
-- so the script can look for each acknowledged question afterwards.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids, out
local write_percent = tonumber(os.getenv("FAILOVER_WRITE_PERCENT") or "30")
local posted = 0
setup = b.setup
function init(args)
    b.init()
    b.init_post()
    ids = b.ids()
    local path = assert(os.getenv("FAILOVER_ACKED"), "FAILOVER_ACKED is not set")
    out = assert(io.open(path .. "-" .. (bench_tid or 0), "w"))
    -- Line-buffered: wrk ends its threads without a callback to flush in.
    out:setvbuf("line")
end
function request()
    if math.random(100) > write_percent then
        return wrk.format("GET", "/questions/" .. b.pick(ids))
    end
    if math.random(2) == 1 then
        return b.post_question()
    end
    posted = posted + 1
    return b.post_question({
        ["Idempotency-Key"] = string.format("failover-%d-%d-%d",
            bench_tid or 0, posted, math.random(1000000000)),
    })
end
function response(status, headers, body)
    if status == 201 then
        local loc = headers["Location"] or headers["location"] or ""
        out:write(os.time(), " 201 ", loc:match("([0-9a-f%-]+)$") or "?", "\n")
    elseif status >= 300 then
        out:write(os.time(), " ", status, " ",
            headers["Retry-After"] or headers["retry-after"] or "-", "\n")
    end
end
