/* Issue 9, row 4: load libstm with dlopen (as a plugin would), run a
 * transaction through the loaded symbols, unload, load again.
 * usage: dlopen_load [path-to-libstm.so.0] */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

typedef struct stm_tx stm_tx;
typedef struct { uintptr_t word; } stm_tvar;
typedef intptr_t (*stm_fn)(stm_tx *, void *);

#include <pthread.h>

static uintptr_t (*p_read)(stm_tx *, const stm_tvar *);
static void (*p_write)(stm_tx *, stm_tvar *, uintptr_t);

static intptr_t incr(stm_tx *tx, void *arg)
{
    stm_tvar *t = arg;
    p_write(tx, t, p_read(tx, t) + 1);
    return (intptr_t)p_read(tx, t);
}

static int round_trip(const char *path, int round)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        printf("round %d: dlopen failed: %s\n", round, dlerror());
        return 1;
    }
    intptr_t (*atomically)(stm_fn, void *) = (intptr_t (*)(stm_fn, void *))dlsym(h, "stm_atomically");
    const char *(*path_fn)(void) = (const char *(*)(void))dlsym(h, "stm_path");
    p_read = (uintptr_t (*)(stm_tx *, const stm_tvar *))dlsym(h, "stm_read");
    p_write = (void (*)(stm_tx *, stm_tvar *, uintptr_t))dlsym(h, "stm_write");
    stm_tvar *(*tvar_new)(uintptr_t) = (stm_tvar * (*)(uintptr_t))dlsym(h, "stm_tvar_new");
    void (*tvar_free)(stm_tvar *) = (void (*)(stm_tvar *))dlsym(h, "stm_tvar_free");
    stm_tvar t = {41};
    intptr_t r = atomically(incr, &t);
    /* a free starts liburcu's reclamation thread */
    tvar_free(tvar_new(1));
    printf("round %d: loaded, path %s, transaction returned %ld; ", round, path_fn(), (long)r);
    int rc = dlclose(h);
    void *again = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    printf("dlclose %d, %s\n", rc, again ? "still mapped (unload not supported)" : "unloaded");
    if (again)
        dlclose(again);
    return r == 42 ? 0 : 1;
}

static const char *lib_path;
static int bad;

/* a thread that uses the library and exits after the unload */
static void *user(void *arg)
{
    bad |= round_trip(lib_path, (int)(intptr_t)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    lib_path = argc > 1 ? argv[1] : "libstm.so.0";
    bad = round_trip(lib_path, 1);
    pthread_t t;
    pthread_create(&t, NULL, user, (void *)2);
    pthread_join(t, NULL);
    if (!bad)
        bad = round_trip(lib_path, 3);
    printf("%s\n", bad ? "FAILED" : "all rounds passed");
    return bad;
}
