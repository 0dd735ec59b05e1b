# i686-w64-mingw32.cmake - build cffi for x86-32 Windows on a Debian host with mingw-w64.
#
#   cmake -B build-win32 -DCMAKE_TOOLCHAIN_FILE=cmake/i686-w64-mingw32.cmake
#
# Debian package: gcc-mingw-w64-i686. Lua 5.4 and Capstone are cross-built from Debian's sources
# on first configure (cmake/mingw.cmake). 32-bit Windows programs need a wine that runs i386 code;
# where the kernel refuses i386 programs (as on the machines CI uses) the tests are built and
# reported as skipped with that reason (cmake/emulator.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/mingw.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/emulator.cmake)
cffi_mingw_toolchain(TRIPLE i686-w64-mingw32 PROCESSOR i686)
cffi_target_emulator(NAME "32-bit wine" COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh
                     --path ${CFFI_MINGW_DEPS}/bin PROBE_SUFFIX .exe RUNS_NATIVE_CODE OPTIONAL)
