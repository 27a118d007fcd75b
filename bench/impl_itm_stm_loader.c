/* stmbench: the "libstm-itm" implementation, loaded from its module
 * (bench/impl_itm_stm.c) with RTLD_DEEPBIND, so that its _ITM_ calls bind
 * to libstm-itm while the libitm baseline in this binary keeps libitm's.
 * Loaded on first use; each measurement runs in its own process. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "stmbench.h"

/* A reference to a symbol only libstm-itm defines, so that the link keeps
 * the library (loaded at start-up: see bench/Makefile.inc). */
void stm_itm_retry(void);
void (*const stmbench_itm_keep)(void) = stm_itm_retry;

static const struct bench_impl *mod(void)
{
    static const struct bench_impl *m;
    if (m == NULL) {
        void *h = dlopen(STMBENCH_ITM_MODULE, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (h == NULL) {
            fprintf(stderr, "stmbench: libstm-itm module: %s\n", dlerror());
            exit(1);
        }
        m = dlsym(h, "bench_impl_libstm_itm_module");
        if (m == NULL) {
            fprintf(stderr, "stmbench: libstm-itm module: %s\n", dlerror());
            exit(1);
        }
    }
    return m;
}

static bool supports(enum bench_workload w) { return mod()->supports(w); }
static void setup(struct bench_world *wd) { mod()->setup(wd); }
static void transfer(struct bench_world *wd, size_t a, size_t b, intptr_t amt)
{
    mod()->transfer(wd, a, b, amt);
}
static intptr_t sum(struct bench_world *wd) { return mod()->sum(wd); }
static bool set_op(struct bench_world *wd, int op, uintptr_t key, unsigned level)
{
    return mod()->set_op(wd, op, key, level);
}
static bool queue_op(struct bench_world *wd, bool enq, uintptr_t *v)
{
    return mod()->queue_op(wd, enq, v);
}
static void stop(struct bench_world *wd) { mod()->stop(wd); }

const struct bench_impl bench_impl_libstm_itm = {
    .name = "libstm-itm", .supports = supports, .setup = setup,
    .transfer = transfer, .sum = sum, .set_op = set_op,
    .queue_op = queue_op, .stop = stop,
};
