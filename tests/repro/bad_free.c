/* Issue 9, row 9: freeing memory libstm did not allocate.
 * usage: bad_free mmap       stm_free of a page-aligned mmap pointer
 *        bad_free tvar-alloc stm_tvar_free of stm_alloc memory */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <stm.h>

static intptr_t free_it(stm_tx *tx, void *arg)
{
    stm_free(tx, arg);
    return 0;
}

static intptr_t alloc_it(stm_tx *tx, void *arg)
{
    return (intptr_t)stm_alloc(tx, 16);
}

int main(int argc, char **argv)
{
    printf("path %s\n", stm_path());
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "tvar-alloc") == 0) {
        void *p = (void *)stm_atomically(alloc_it, NULL);
        stm_tvar_free(p);
        printf("stm_tvar_free(stm_alloc memory) returned silently\n");
        return 0;
    }
    /* a fresh mapping with nothing mapped just below it */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m, 4096);
    stm_atomically(free_it, m + 4096);
    printf("stm_free(mmap pointer) returned silently\n");
    return 0;
}
