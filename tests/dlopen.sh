#!/bin/sh
# libstm from Python's ctypes (issue 9, item 3): tests/repro/ctypes_load.py
# loads this build's shared library twice, runs a transaction whose body is
# a Python callback, and dlcloses it.  Skipped (77) without python3, and in
# sanitizer builds (their runtime must be loaded first, which python is not).
lib=${STM_TEST_LIBDIR:-.libs}/libstm.so.0
py=$(command -v python3) || { echo "python3 missing: skipped"; exit 77; }
if ldd "$lib" | grep -Eq 'lib(asan|tsan|ubsan)'; then
  echo "sanitizer build: skipped"; exit 77
fi
exec "$py" "${srcdir:-.}/tests/repro/ctypes_load.py" "$lib"
