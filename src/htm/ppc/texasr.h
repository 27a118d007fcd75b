/* POWER TEXASR (Transaction EXception And Summary Register) fields, Power
 * ISA 2.07 Book II ch. 5.  Portable: decode.c and the tests use them on
 * every architecture.  IBM numbering: bit 0 is the most significant of the
 * 64, so IBM bit b is (texasr >> (63 - b)) & 1. */
#ifndef STM_SRC_HTM_PPC_TEXASR_H
#define STM_SRC_HTM_PPC_TEXASR_H

#include <stdint.h>

#define STM_TEXASR_BIT(b) ((uint64_t)1 << (63 - (b)))
/* bits 0..7: failure code; bit 7 (its least significant) = persistent.
 * tabort.'s code lands here, so our even codes read as transient. */
#define STM_TEXASR_CODE(t) ((unsigned)((t) >> 56) & 0xffu)
#define STM_TEXASR_PERSISTENT STM_TEXASR_BIT(7)
#define STM_TEXASR_DISALLOWED STM_TEXASR_BIT(8)
#define STM_TEXASR_NESTING_OVERFLOW STM_TEXASR_BIT(9)
#define STM_TEXASR_FOOTPRINT_OVERFLOW STM_TEXASR_BIT(10)
#define STM_TEXASR_SELF_CONFLICT STM_TEXASR_BIT(11)
#define STM_TEXASR_NONTX_CONFLICT STM_TEXASR_BIT(12)
#define STM_TEXASR_TX_CONFLICT STM_TEXASR_BIT(13)
#define STM_TEXASR_TLB_CONFLICT STM_TEXASR_BIT(14)
#define STM_TEXASR_IMPL_SPECIFIC STM_TEXASR_BIT(15)
#define STM_TEXASR_FETCH_CONFLICT STM_TEXASR_BIT(16)
#define STM_TEXASR_ABORT STM_TEXASR_BIT(31) /* tabort. executed */
#define STM_TEXASR_CONFLICTS                                                   \
    (STM_TEXASR_SELF_CONFLICT | STM_TEXASR_NONTX_CONFLICT | STM_TEXASR_TX_CONFLICT | \
     STM_TEXASR_TLB_CONFLICT | STM_TEXASR_FETCH_CONFLICT)

/* What qemu-ppc64le 7.2 reports for every tbegin. (measured, doc/FACTS.md):
 * failure code 0x01 (persistent), nesting overflow. */
#define STM_TEXASR_QEMU 0x014000003c000000ull

#endif
