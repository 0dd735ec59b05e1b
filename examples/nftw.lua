-- nftw.lua - walk a directory tree with libc's nftw and a Lua callback.
--   LUA_CPATH="build/?.so;;" lua5.4 examples/nftw.lua [directory]
local cffi = require "cffi"

local root = arg[1] or "."
local FTW_D, FTW_PHYS = 1, 1 -- <ftw.h>: typeflag of a directory; do not follow symlinks

local files, dirs = 0, 0
local visit <close> = cffi.wrap(function(path, stat, typeflag, ftw)
  local level = cffi.read(ftw, "int", cffi.sizeof("int")) -- struct FTW { int base; int level; }
  if typeflag == FTW_D then dirs = dirs + 1 else files = files + 1 end
  print(string.rep("  ", level) .. path:match("[^/]*$") .. (typeflag == FTW_D and "/" or ""))
  return 0 -- keep walking
end, "int(const char *, const void *, int, void *)", nil, {
  on_error = function(msg) io.stderr:write("visit failed: ", msg, "\n"); return 1 end,
})

local rc = cffi.call(cffi.sym("nftw"), "int(const char *, void *, int, int)", nil,
                     root, visit, 16, FTW_PHYS)
print(string.format("%d directories, %d files (nftw returned %d)", dirs, files, rc))
