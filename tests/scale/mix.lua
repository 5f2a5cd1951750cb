-- The load of `make scale-test` (scripts/scale.sh): 90 % anonymous
-- GET /questions/{id} over random ids, 10 % POST /questions with the app
-- key in BENCH_KEY. SCALE_IDEMPOTENT_PERCENT of the POSTs (default 50)
-- carry an Idempotency-Key, so the report shows both kinds across the
-- kill: nginx sends a keyed POST lost with its instance to the other one,
-- and cannot do so for a POST without a key.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids
local keyed_percent = tonumber(os.getenv("SCALE_IDEMPOTENT_PERCENT") or "50")
local posted = 0
setup = b.setup
function init(args)
    b.init()
    b.init_post()
    ids = b.ids()
end
function request()
    if math.random(10) ~= 1 then
        return wrk.format("GET", "/questions/" .. b.pick(ids))
    end
    if math.random(100) > keyed_percent then
        return b.post_question()
    end
    posted = posted + 1
    return b.post_question({
        ["Idempotency-Key"] = string.format("scale-%d-%d-%d", bench_tid or 0,
            posted, math.random(1000000000)),
    })
end
