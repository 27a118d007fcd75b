#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "misuse.h"

void stm_fatal(const char *call, const char *fmt, ...)
{
    va_list ap;
    /* formatted into a buffer and written with one write(2): one line, and
     * no stdio lock (the report may come from a signal handler that
     * interrupted stdio) */
    char msg[512];
    int n = snprintf(msg, sizeof msg, "libstm: %s: ", call);
    if (n < 0 || (size_t)n >= sizeof msg - 1)
        n = 0;
    va_start(ap, fmt);
    int m = vsnprintf(msg + n, sizeof msg - 1 - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof msg - 2)
        len = sizeof msg - 2;
    msg[len++] = '\n';
    (void)!write(STDERR_FILENO, msg, len);
    abort();
}
