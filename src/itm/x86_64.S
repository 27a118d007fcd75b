/* libstm-itm's entry point on x86-64: _ITM_beginTransaction and the
 * restart jump (see src/itm/txn.c for the protocol).
 *
 * _ITM_beginTransaction(uint32_t properties, ...) saves what the caller
 * expects to survive the call (the callee-saved registers rbx, rbp,
 * r12-r15, its stack pointer after the return, and the return address) in
 * a struct stm_itm_jb on its own stack and calls stm_itm_begin(properties,
 * &jb), which copies it and returns the action code.
 * stm_itm_longjmp(jb, action) restores that state and jumps to the saved
 * return address with the action in eax: _ITM_beginTransaction returns
 * again.  The caller-saved registers need no saving: they are dead across
 * a call.  A hardware transaction starts inside stm_itm_begin, so its
 * aborts resume there with this frame intact (the hardware restores the
 * stack it wrote). */
#if defined(__CET__) && (__CET__ & 1)
#define ENDBR endbr64
#else
#define ENDBR
#endif

	.text
	.p2align 4
	.globl	_ITM_beginTransaction
	.type	_ITM_beginTransaction, @function
_ITM_beginTransaction:
	.cfi_startproc
	ENDBR
	leaq	8(%rsp), %rax		/* the caller's sp once we return */
	subq	$72, %rsp		/* jb (64 bytes), 16-byte aligned call */
	.cfi_adjust_cfa_offset 72
	movq	%rax, 0(%rsp)
	movq	%rbx, 8(%rsp)
	movq	%rbp, 16(%rsp)
	movq	%r12, 24(%rsp)
	movq	%r13, 32(%rsp)
	movq	%r14, 40(%rsp)
	movq	%r15, 48(%rsp)
	movq	72(%rsp), %rcx		/* return address */
	movq	%rcx, 56(%rsp)
	movq	%rsp, %rsi
	call	stm_itm_begin		/* hidden: a direct call */
	addq	$72, %rsp
	.cfi_adjust_cfa_offset -72
	ret
	.cfi_endproc
	.size	_ITM_beginTransaction, .-_ITM_beginTransaction

	.p2align 4
	.globl	stm_itm_longjmp
	.hidden	stm_itm_longjmp
	.type	stm_itm_longjmp, @function
stm_itm_longjmp:
	.cfi_startproc
	ENDBR
	movl	%esi, %eax
	movq	8(%rdi), %rbx
	movq	16(%rdi), %rbp
	movq	24(%rdi), %r12
	movq	32(%rdi), %r13
	movq	40(%rdi), %r14
	movq	48(%rdi), %r15
	movq	56(%rdi), %rcx
	movq	0(%rdi), %rsp
	jmp	*%rcx
	.cfi_endproc
	.size	stm_itm_longjmp, .-stm_itm_longjmp

	.section .note.GNU-stack,"",@progbits
