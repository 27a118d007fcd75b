/* stmbench: "libstm-itm", the libitm baseline's __transaction_atomic code
 * (bench/impl_itm.c) linked against libstm-itm instead of libitm, with
 * stm_itm_retry where libitm polls.  Built as a module (both libraries
 * export the same _ITM_ symbols, so they cannot share one link);
 * bench/impl_itm_stm_loader.c loads it with RTLD_DEEPBIND. */
#include <stm/itm.h>

#define ITM_IMPL_SYM bench_impl_libstm_itm_module
#define ITM_IMPL_NAME "libstm-itm"
#define ITM_IMPL_RETRY 1
__attribute__((visibility("default"))) extern const struct bench_impl ITM_IMPL_SYM;
#include "impl_itm.c"
