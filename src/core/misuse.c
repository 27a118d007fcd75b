#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "misuse.h"

void stm_fatal(const char *call, const char *fmt, ...)
{
    va_list ap;
    /* one fprintf per piece: stderr is unbuffered, so keep it to one line
     * as far as stdio allows */
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "libstm: %s: %s\n", call, msg);
    abort();
}
