# Issue 9, row 4: load libstm from Python's ctypes, run a transaction whose
# body is a Python callback, unload (ctypes has no dlclose of its own: call
# libc's), and load again.  usage: python3 ctypes_load.py [path]
import ctypes, sys

path = sys.argv[1] if len(sys.argv) > 1 else "libstm.so.0"
FN = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_void_p)
libdl = ctypes.CDLL(None)
libdl.dlclose.argtypes = [ctypes.c_void_p]

for rnd in (1, 2):
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        print(f"round {rnd}: load failed: {e}")
        sys.exit(1)
    lib.stm_read.restype = ctypes.c_size_t
    lib.stm_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.stm_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.stm_atomically.restype = ctypes.c_ssize_t
    lib.stm_atomically.argtypes = [FN, ctypes.c_void_p]
    lib.stm_path.restype = ctypes.c_char_p
    tvar = ctypes.c_size_t(41)

    def body(tx, arg):
        lib.stm_write(tx, arg, lib.stm_read(tx, arg) + 1)
        return lib.stm_read(tx, arg)

    cb = FN(body)
    r = lib.stm_atomically(cb, ctypes.addressof(tvar))
    print(f"round {rnd}: loaded, path {lib.stm_path().decode()}, transaction returned {r}, "
          f"TVar {tvar.value}; dlclose {libdl.dlclose(lib._handle)}")
    if r != 42:
        sys.exit(1)
