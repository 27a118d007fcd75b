/* Stand-in for liburcu's LGPL static header, for the ppc64le cross test
 * only (see ../urcu-memb.h): the reader record that src/stm/fork.c unlinks
 * in a child of fork().  The stand-in keeps no registry, so a record here
 * is a self-linked list node. */
#ifndef STM_TESTS_CROSS_URCU_STATIC_MEMB_H
#define STM_TESTS_CROSS_URCU_STATIC_MEMB_H

struct cds_list_head {
    struct cds_list_head *next, *prev;
};

static inline void cds_list_del(struct cds_list_head *e)
{
    if (e->next != NULL) {
        e->next->prev = e->prev;
        e->prev->next = e->next;
    }
}

struct urcu_reader {
    unsigned long ctr;
    struct cds_list_head node;
    unsigned int registered : 1;
};

#define URCU_TLS(name) (name)
/* one per thread, private to the one file that includes this header */
static __thread struct urcu_reader urcu_memb_reader;

#endif
