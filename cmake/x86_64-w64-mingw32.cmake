# x86_64-w64-mingw32.cmake - build cffi for x86-64 Windows on a Debian host with mingw-w64, and
# run its tests under wine64.
#
#   cmake -B build-win64 -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake
#
# Debian packages: gcc-mingw-w64-x86-64, g++-mingw-w64-x86-64 (the C++ exception test), wine64.
# Lua 5.4, Capstone and busted's C modules are cross-built from Debian's sources on first
# configure (cmake/mingw.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/mingw.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/emulator.cmake)
cffi_mingw_toolchain(TRIPLE x86_64-w64-mingw32 PROCESSOR x86_64)
# wine runs Windows programs on this processor, so nothing is skipped for emulation.
cffi_target_emulator(NAME "wine64" COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh
                     --path ${CFFI_MINGW_DEPS}/bin PROBE_SUFFIX .exe RUNS_NATIVE_CODE)
