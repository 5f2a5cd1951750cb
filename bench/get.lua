-- GET /questions/{id} over random ids.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
local ids
setup = b.setup
function init(args)
    b.init()
    ids = b.ids()
end
function request()
    return wrk.format("GET", "/questions/" .. b.pick(ids))
end
