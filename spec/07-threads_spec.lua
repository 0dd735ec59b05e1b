-- 07-threads: the thread policy ("owner" refuses other OS threads without touching the state,
-- "any" lets them in) with libc's pthread_create and a compiled caller, and callbacks while a
-- coroutine runs and after it finished.
local cffi = require "cffi"
local util = require "support.util"

describe("threads", function()
  -- threads = "any" is for hosts that keep the Lua state to one thread at a time; these callers
  -- do: the main thread waits inside one native call while the other threads run.
  it("lets another pthread in under threads = 'any' (main waits in pthread_join)", function()
    local pthread_self = util.thread_id()
    local main_thread = pthread_self()
    local ran_in, ran_on
    local body = cffi.wrap(function(arg)
      ran_in, ran_on = arg, pthread_self()
      return arg + 1
    end, "void *(void *)", nil, { threads = "any" })
    local spawn_join = util.helper("helper_spawn_join", "int(void *, void *, void *)")
    local result = cffi.alloc(8)
    assert.equal(0, spawn_join(body, 41, result))
    assert.equal(41, ran_in)
    assert.are_not.equal(main_thread, ran_on)
    assert.equal(42, cffi.read(result, "void *"))
    local call_in_thread = util.helper("helper_call_in_thread", "int(void *, int)")
    local sq = cffi.wrap(function(x) return x * x end, "int(int)", nil, { threads = "any" })
    assert.equal(144, call_in_thread(sq, 12))
  end)

  it("runs under threads = 'any' from 8 pthreads that take turns through a mutex", function()
    local threads_seen, calls = {}, 0
    local pthread_self = util.thread_id()
    local cb = cffi.wrap(function(i)
      calls = calls + 1
      threads_seen[pthread_self()] = true
      return i * 2 + 1
    end, "int(int)", nil, { threads = "any" })
    local call_serialized = util.helper("helper_call_serialized", "long(void *, int, int)")
    -- each thread: sum over i < 500 of 2i+1 = 500^2
    assert.equal(8 * 500 * 500, call_serialized(cb, 8, 500))
    assert.equal(8 * 500, calls)
    local distinct = 0
    for _ in pairs(threads_seen) do distinct = distinct + 1 end
    assert.equal(8, distinct) -- finished threads keep their ids until joined
  end)

  it("refuses a foreign pthread under the default owner policy", function()
    if util.windows then
      pending("starts the thread with libc's pthread_create; the compiled caller below covers Windows")
      return
    end
    local out = util.child [[
      local cffi = require "cffi"
      local ran = false
      local body = cffi.wrap(function() ran = true; return 1 end, "void *(void *)", nil,
        { default = 99 })
      local tid = cffi.alloc(8)
      assert(cffi.call(cffi.sym("pthread_create"), "int(void *, void *, void *, void *)", nil,
        tid, nil, body, 0) == 0)
      local result = cffi.alloc(8)
      cffi.call(cffi.sym("pthread_join"), "int(unsigned long, void *)", nil,
        cffi.read(tid, "unsigned long"), result)
      print("ran", ran, "result", cffi.read(result, "void *"))
      print("same thread", body(0))
    ]]
    assert.matches("cffi: called from a foreign thread", out)
    assert.matches("ran%s+false%s+result%s+99\n", out)
    assert.matches("same thread%s+1\n", out)
  end)

  it("refuses a foreign caller of a compiled helper too", function()
    local out = util.child(string.format([[
      package.path = %q
      local cffi = require "cffi"
      local util = require "support.util"
      local cb = cffi.wrap(function(x) return x end, "int(int)", nil, { default = -5 })
      print("got", util.helper("helper_call_in_thread", "int(void *, int)")(cb, 3))
    ]], package.path))
    assert.matches("cffi: called from a foreign thread", out)
    assert.matches("got%s+%-5\n", out)
  end)

  it("runs callbacks while a coroutine runs and after it finished", function()
    local call_ii = util.helper("helper_call_ii", "int(void *, int, int)")
    local where = {}
    local cb = cffi.wrap(function(a, b)
      local co, main = coroutine.running()
      where[#where + 1] = main
      return a + b
    end, "int(int, int)")
    local co = coroutine.create(function(x)
      local r1 = call_ii(cb, x, 1)
      local y = coroutine.yield(r1)
      return call_ii(cb, y, 2) + cb(0, 0)
    end)
    local ok, r1 = coroutine.resume(co, 10)
    assert.is_true(ok)
    assert.equal(11, r1)
    local ok2, r2 = coroutine.resume(co, 20)
    assert.is_true(ok2)
    assert.equal(22, r2)
    assert.equal("dead", coroutine.status(co))
    assert.equal(7, call_ii(cb, 3, 4))
    -- every run was on the main thread, never on the coroutine
    for _, main in ipairs(where) do assert.is_true(main) end
    -- a callback wrapped inside a coroutine still works after it is gone
    local inner
    coroutine.wrap(function() inner = cffi.wrap(function(a, b) return a * b end, "int(int, int)") end)()
    collectgarbage()
    assert.equal(12, call_ii(inner, 3, 4))
  end)
end)
