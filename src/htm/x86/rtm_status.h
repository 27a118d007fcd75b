/* Intel RTM abort status bits (Intel SDM vol. 1, 16.3.5).  Portable:
 * decode.c, the emulation and the tests use them on every architecture. */
#ifndef STM_SRC_HTM_X86_RTM_STATUS_H
#define STM_SRC_HTM_X86_RTM_STATUS_H

#define STM_RTM_EXPLICIT (1u << 0) /* xabort; code in bits 24..31 */
#define STM_RTM_RETRY (1u << 1)    /* the hardware thinks a retry may succeed */
#define STM_RTM_CONFLICT (1u << 2)
#define STM_RTM_CAPACITY (1u << 3)
#define STM_RTM_DEBUG (1u << 4)
#define STM_RTM_NESTED (1u << 5)
#define STM_RTM_CODE(s) (((s) >> 24) & 0xff)
#define STM_RTM_XABORT_STATUS(code) (STM_RTM_EXPLICIT | ((unsigned)(code) << 24))

#endif
