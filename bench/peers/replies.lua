-- GET /questions/{id}/replies over random ids: a question's replies, the
-- endpoint medqa and both peers serve (the peers have no include=replies).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids
setup = b.setup
function init(args)
    b.init()
    ids = b.ids()
end
function request()
    return wrk.format("GET", "/questions/" .. b.pick(ids) .. "/replies")
end
