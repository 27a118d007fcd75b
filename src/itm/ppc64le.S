/* libstm-itm's entry point on ppc64le (ELFv2): _ITM_beginTransaction and
 * the restart jump, as src/itm/x86_64.S does it on x86-64 (the protocol is
 * in src/itm/txn.c).
 *
 * _ITM_beginTransaction(properties) stores the non-volatile state the
 * caller expects to survive a call (r1 as it will be after the return, the
 * link register, the condition register, r14-r31, f14-f31, v20-v31) in a
 * struct stm_itm_jb on its own frame and calls stm_itm_begin(properties,
 * &jb).  stm_itm_longjmp(jb, action) restores it and branches to the saved
 * link register with the action in r3.  r2 needs no saving: a caller in
 * another module reloads it from its own frame after the call (the PLT
 * stub saved it there), and in this module it is our TOC anyway. */
#define FRAME 544 /* 32 (ELFv2 header) + 512 (struct stm_itm_jb) */
#define JB 32

	.abiversion 2
	.machine power8
	.text
	.p2align 4
	.globl	_ITM_beginTransaction
	.type	_ITM_beginTransaction, @function
_ITM_beginTransaction:
0:	addis	2, 12, .TOC.-0b@ha
	addi	2, 2, .TOC.-0b@l
	.localentry _ITM_beginTransaction, .-_ITM_beginTransaction
	mflr	0
	std	0, 16(1)
	stdu	1, -FRAME(1)
	addi	4, 1, JB
	addi	5, 1, FRAME
	std	5, 0(4)		/* the caller's r1 once we return */
	std	0, 16(4)	/* the return address */
	mfcr	0
	std	0, 24(4)
	std	14, 32(4)
	std	15, 40(4)
	std	16, 48(4)
	std	17, 56(4)
	std	18, 64(4)
	std	19, 72(4)
	std	20, 80(4)
	std	21, 88(4)
	std	22, 96(4)
	std	23, 104(4)
	std	24, 112(4)
	std	25, 120(4)
	std	26, 128(4)
	std	27, 136(4)
	std	28, 144(4)
	std	29, 152(4)
	std	30, 160(4)
	std	31, 168(4)
	stfd	14, 176(4)
	stfd	15, 184(4)
	stfd	16, 192(4)
	stfd	17, 200(4)
	stfd	18, 208(4)
	stfd	19, 216(4)
	stfd	20, 224(4)
	stfd	21, 232(4)
	stfd	22, 240(4)
	stfd	23, 248(4)
	stfd	24, 256(4)
	stfd	25, 264(4)
	stfd	26, 272(4)
	stfd	27, 280(4)
	stfd	28, 288(4)
	stfd	29, 296(4)
	stfd	30, 304(4)
	stfd	31, 312(4)
	li	0, 320
	stvx	20, 4, 0
	li	0, 336
	stvx	21, 4, 0
	li	0, 352
	stvx	22, 4, 0
	li	0, 368
	stvx	23, 4, 0
	li	0, 384
	stvx	24, 4, 0
	li	0, 400
	stvx	25, 4, 0
	li	0, 416
	stvx	26, 4, 0
	li	0, 432
	stvx	27, 4, 0
	li	0, 448
	stvx	28, 4, 0
	li	0, 464
	stvx	29, 4, 0
	li	0, 480
	stvx	30, 4, 0
	li	0, 496
	stvx	31, 4, 0
	bl	stm_itm_begin
	nop
	addi	1, 1, FRAME
	ld	0, 16(1)
	mtlr	0
	blr
	.size	_ITM_beginTransaction, .-_ITM_beginTransaction

	.p2align 4
	.globl	stm_itm_longjmp
	.hidden	stm_itm_longjmp
	.type	stm_itm_longjmp, @function
stm_itm_longjmp:
	.localentry stm_itm_longjmp, 0
	ld	14, 32(3)
	ld	15, 40(3)
	ld	16, 48(3)
	ld	17, 56(3)
	ld	18, 64(3)
	ld	19, 72(3)
	ld	20, 80(3)
	ld	21, 88(3)
	ld	22, 96(3)
	ld	23, 104(3)
	ld	24, 112(3)
	ld	25, 120(3)
	ld	26, 128(3)
	ld	27, 136(3)
	ld	28, 144(3)
	ld	29, 152(3)
	ld	30, 160(3)
	ld	31, 168(3)
	lfd	14, 176(3)
	lfd	15, 184(3)
	lfd	16, 192(3)
	lfd	17, 200(3)
	lfd	18, 208(3)
	lfd	19, 216(3)
	lfd	20, 224(3)
	lfd	21, 232(3)
	lfd	22, 240(3)
	lfd	23, 248(3)
	lfd	24, 256(3)
	lfd	25, 264(3)
	lfd	26, 272(3)
	lfd	27, 280(3)
	lfd	28, 288(3)
	lfd	29, 296(3)
	lfd	30, 304(3)
	lfd	31, 312(3)
	li	0, 320
	lvx	20, 3, 0
	li	0, 336
	lvx	21, 3, 0
	li	0, 352
	lvx	22, 3, 0
	li	0, 368
	lvx	23, 3, 0
	li	0, 384
	lvx	24, 3, 0
	li	0, 400
	lvx	25, 3, 0
	li	0, 416
	lvx	26, 3, 0
	li	0, 432
	lvx	27, 3, 0
	li	0, 448
	lvx	28, 3, 0
	li	0, 464
	lvx	29, 3, 0
	li	0, 480
	lvx	30, 3, 0
	li	0, 496
	lvx	31, 3, 0
	ld	0, 24(3)
	mtcr	0
	ld	0, 16(3)
	mtlr	0
	ld	1, 0(3)
	mr	3, 4
	blr
	.size	stm_itm_longjmp, .-stm_itm_longjmp

	.section .note.GNU-stack,"",@progbits
