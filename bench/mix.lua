-- A 90/10 read/write mix: GET /questions/{id} over random ids, and one
-- request in ten a POST /questions with an app key.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids
setup = b.setup
function init(args)
    b.init()
    b.init_post()
    ids = b.ids()
end
function request()
    if math.random(10) == 1 then
        return b.post_question()
    end
    return wrk.format("GET", "/questions/" .. b.pick(ids))
end
