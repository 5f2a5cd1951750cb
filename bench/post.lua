-- POST /questions with an app key.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local b = require "common"
setup = b.setup
function init(args)
    b.init()
    b.init_post()
end
request = b.post_question
