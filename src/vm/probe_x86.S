/*
 * bsdx run: the KVM probe guest (amd64). A 512-byte boot sector that
 * switches to 64-bit long mode (PAE paging, EFER.LME, a 64-bit code
 * segment), writes "64\n" to COM1 and exits QEMU through isa-debug-exit.
 * bsdx boots it with -accel kvm: if "64" arrives within 10 s, KVM runs a
 * real guest. Rebuild probe_x86.bin with:
 *   zig cc -target x86-freestanding -c probe_x86.S -o probe.o
 *   zig ld.lld -Ttext=0x7c00 --oformat=binary probe.o -o probe_x86.bin
 */
  .code16
  .globl _start
_start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov $0x7c00, %sp
  /* page tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, 2 MiB identity */
  mov $0x1000, %di
  mov $0x1800, %cx
  xor %ax, %ax
  rep stosw
  movl $0x2003, 0x1000
  movl $0x3003, 0x2000
  movl $0x0083, 0x3000
  lgdtl gdtr
  mov %cr4, %eax
  or $0x20, %eax           /* CR4.PAE */
  mov %eax, %cr4
  mov $0x1000, %eax
  mov %eax, %cr3
  mov $0xc0000080, %ecx    /* EFER */
  rdmsr
  or $0x100, %eax          /* EFER.LME */
  wrmsr
  mov %cr0, %eax
  or $0x80000001, %eax     /* CR0.PG | CR0.PE */
  mov %eax, %cr0
  ljmpl $0x08, $long
  .code64
long:
  mov $0x3f8, %dx
  mov $'6', %al
  out %al, %dx
  mov $'4', %al
  out %al, %dx
  mov $'\n', %al
  out %al, %dx
  mov $0xf4, %dx           /* isa-debug-exit: QEMU exits with (0x2a << 1) | 1 */
  mov $0x2a, %al
  out %al, %dx
1:
  hlt
  jmp 1b
  .p2align 3
gdt:
  .quad 0
  .quad 0x00209a0000000000   /* 64-bit code */
  .quad 0x0000920000000000   /* data */
gdtr:
  .word gdtr - gdt - 1
  .long gdt
  .org 510
  .byte 0x55, 0xaa
