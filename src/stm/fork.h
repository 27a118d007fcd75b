/* fork(): pthread_atfork handlers (fork.c) and what the registry
 * (thread.c) does for them. */
#ifndef STM_SRC_FORK_H
#define STM_SRC_FORK_H

/* Install the handlers; once, at start-up. */
void stm_fork_handlers_install(void);

/* The calling thread's liburcu reader record (recorded at registration). */
void *stm_rcu_reader_self(void);

/* Registry lock (and the stats and per-site stats locks) around fork().  In the child, every
 * descriptor but the caller's is dropped, and forget_reader(rec) is called
 * with each dropped thread's liburcu reader record. */
void stm_registry_fork_prepare(void);
void stm_registry_fork_parent(void);
void stm_registry_fork_child(void (*forget_reader)(void *rec));

#endif
