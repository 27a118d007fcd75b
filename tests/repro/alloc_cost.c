/* Cost of the checked frees (issue 9, item 6): N transactions that each
 * allocate a 64-byte block and free the previous one, plus one
 * stm_tvar_new/stm_tvar_free pair, through the shared library.  Measure
 * with valgrind --tool=callgrind --toggle-collect=worker alloc_cost N. */
#include <stdio.h>
#include <stdlib.h>

#include <stm.h>

static stm_tvar head = STM_TVAR_INIT(0);

static intptr_t swap_block(stm_tx *tx, void *arg)
{
    void *old = stm_read_ptr(tx, &head);
    void *p = stm_alloc(tx, 64);
    if (p == NULL)
        abort();
    stm_write_ptr(tx, &head, p);
    stm_free(tx, old);
    return 0;
}

__attribute__((noinline)) void worker(long n);
__attribute__((noinline)) void worker(long n)
{
    for (long i = 0; i < n; i++) {
        stm_atomically(swap_block, NULL);
        stm_tvar_free(stm_tvar_new((uintptr_t)i));
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    worker(n);
    printf("path %s, %ld alloc/free transactions\n", stm_path(), n);
    return 0;
}
