; Partition boot stub and architecture routines.
;
; The only assembly in the image. GRUB enters _start in 32-bit protected mode with paging off
; (Multiboot2 spec, "I386 machine state"); this stub checks the hand-over, builds identity page
; tables for the first 4 GiB, enables long mode and SSE, and calls the core library's
; partition_runtime_start. Everything else is C#. The arch_* routines below are the bodies of
; the Cpu seam's [RuntimeImport] methods (System V AMD64 calling convention: arguments in rdi,
; rsi, rdx, rcx, r8, r9; result in rax).

bits 32

MB2_MAGIC          equ 0xE85250D6
MB2_BOOT_MAGIC     equ 0x36D76289      ; in eax at entry
BOOT_STACK_SIZE    equ 64 * 1024
HEAP_SIZE          equ 16 * 1024 * 1024
COM1               equ 0x3F8

extern partition_runtime_start
extern partition_ap_main
extern partition_exception_handler
extern partition_resolve_interface
extern __modules_start
extern __modules_end

global _start

section .multiboot2 align=8
mb2_header:
    dd MB2_MAGIC
    dd 0                                ; architecture: i386 protected mode
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    ; end tag
    dw 0
    dw 0
    dd 8
mb2_header_end:

section .text.boot
_start:
    cli
    mov esp, boot_stack_top
    cmp eax, MB2_BOOT_MAGIC
    jne .not_multiboot2
    mov [boot_info], ebx

    ; Long mode needs CPUID leaf 0x80000001 EDX.LM (bit 29).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode

    call build_page_tables

    mov eax, cr4
    or eax, (1 << 5)                    ; PAE
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, 0xC0000080                 ; IA32_EFER
    rdmsr
    or eax, (1 << 8)                    ; LME
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG, WP, PE
    mov cr0, eax

    lgdt [boot_gdt_pointer]
    jmp 0x08:long_mode_entry

.not_multiboot2:
    mov esi, msg_not_multiboot2
    jmp fatal32
.no_long_mode:
    mov esi, msg_no_long_mode
    jmp fatal32

; Print the NUL-terminated string at esi on COM1 (already set up by the firmware or not: a
; 16550 at reset still transmits at some speed) and halt. Only for failures before long mode.
fatal32:
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    lodsb
    test al, al
    jz .halt
    mov dx, COM1
    out dx, al
    mov dx, COM1 + 5
    jmp .wait
.halt:
    cli
    hlt
    jmp .halt

; Identity map 0..4 GiB: 2 MiB pages, except the first 2 MiB, which uses 4 KiB pages so that
; page 0 can stay unmapped (a null dereference faults instead of reading the real-mode IVT).
; The top GiB holds the LAPIC, IOAPIC and other MMIO: mapped uncached (PCD|PWT).
build_page_tables:
    mov dword [pml4], pdpt + 0x3
    xor ecx, ecx
.pdpt_loop:
    mov eax, ecx
    shl eax, 12
    add eax, page_directories + 0x3
    mov [pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .pdpt_loop

    xor ecx, ecx                        ; 2048 PD entries cover 4 GiB
.pd_loop:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83                        ; present, writable, 2 MiB page
    cmp ecx, 1536                       ; 3 GiB and up: uncached
    jb .cached
    or eax, 0x18
.cached:
    mov [page_directories + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jb .pd_loop

    mov dword [page_directories], low_page_table + 0x3
    mov ecx, 1                          ; entry 0 (page 0) stays not present
.pt_loop:
    mov eax, ecx
    shl eax, 12
    or eax, 0x3
    mov [low_page_table + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jb .pt_loop
    ret

bits 64
long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top

    ; Generated code uses SSE: CR0.EM off, CR0.MP on; CR4.OSFXSR and OSXMMEXCPT on.
    mov rax, cr0
    and rax, ~(1 << 2)
    or rax, (1 << 1)
    mov cr0, rax
    mov rax, cr4
    or rax, (1 << 9) | (1 << 10)
    mov cr4, rax

    mov edi, [boot_info]
    mov rsi, heap
    mov rdx, heap + HEAP_SIZE
    mov rcx, __modules_start
    mov r8, __modules_end
    call partition_runtime_start
.idle:
    cli
    hlt
    jmp .idle

; ---------------------------------------------------------------------------------------------
; Exception entry. Each vector's stub pushes an error code (0 where the CPU pushes none), then
; the vector, then jumps to the common path, which saves the general registers and passes the
; frame to C#. The frame layout is mirrored by Partition.Kernel.Arch.InterruptFrame.

%macro EXCEPTION_NO_ERROR 1
exception_stub_%1:
    push 0
    push %1
    jmp exception_common
%endmacro

%macro EXCEPTION_WITH_ERROR 1
exception_stub_%1:
    push %1
    jmp exception_common
%endmacro

; Vectors 32-255 are interrupts (the CPU pushes no error code): the same path, which hands them
; to PhysicalInterrupts. They arrive only where the hypervisor opens an interrupt window
; (arch_accept_interrupts) or, in a guest, as a VM exit (acknowledged on exit, never through here).
section .text
%assign v 0
%rep 256
%if v = 8 || v = 10 || v = 11 || v = 12 || v = 13 || v = 14 || v = 17 || v = 21 || v = 29 || v = 30
    EXCEPTION_WITH_ERROR v
%else
    EXCEPTION_NO_ERROR v
%endif
%assign v v + 1
%endrep

exception_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    mov rbp, rsp
    and rsp, ~0xF
    call partition_exception_handler
    mov rsp, rbp
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

; ulong* arch_exception_stub_table(): the 256 stub addresses, for building the IDT.
global arch_exception_stub_table
arch_exception_stub_table:
    lea rax, [rel exception_stubs]
    ret

section .rodata
exception_stubs:
%assign v 0
%rep 256
    dq exception_stub_ %+ v
%assign v v + 1
%endrep

; ---------------------------------------------------------------------------------------------
; Interface dispatch. ILC's call sites load the dispatch cell into r11 and call through its
; first word, which starts out pointing here. Resolve the target in C#, keeping every argument
; register, then jump to it as if it had been called directly.
section .text
global RhpInitialDynamicInterfaceDispatch
RhpInitialDynamicInterfaceDispatch:
    push rdi
    push rsi
    push rdx
    push rcx
    push r8
    push r9
    sub rsp, 8 + 8 * 16
    movdqu [rsp + 0x00], xmm0
    movdqu [rsp + 0x10], xmm1
    movdqu [rsp + 0x20], xmm2
    movdqu [rsp + 0x30], xmm3
    movdqu [rsp + 0x40], xmm4
    movdqu [rsp + 0x50], xmm5
    movdqu [rsp + 0x60], xmm6
    movdqu [rsp + 0x70], xmm7
    mov rsi, r11
    call partition_resolve_interface
    movdqu xmm0, [rsp + 0x00]
    movdqu xmm1, [rsp + 0x10]
    movdqu xmm2, [rsp + 0x20]
    movdqu xmm3, [rsp + 0x30]
    movdqu xmm4, [rsp + 0x40]
    movdqu xmm5, [rsp + 0x50]
    movdqu xmm6, [rsp + 0x60]
    movdqu xmm7, [rsp + 0x70]
    add rsp, 8 + 8 * 16
    pop r9
    pop r8
    pop rcx
    pop rdx
    pop rsi
    pop rdi
    jmp rax

; ---------------------------------------------------------------------------------------------
; The write barrier ILC's code calls to copy a reference inside a struct copy. Its contract
; differs from a C call: RDI = destination, RSI = source, and on return both have advanced by
; 8, so a run of calls walks the struct (RCX is the only other register it may change). No
; GC, so the barrier itself is just the store. Written in C# it silently copied only the first
; reference and left the fields after it wrong (found when CoreRequest copies came out
; corrupted; RuntimeSelfTest checks it now).
global RhpByRefAssignRef
RhpByRefAssignRef:
    mov rcx, [rsi]
    mov [rdi], rcx
    add rdi, 8
    add rsi, 8
    ret

; ---------------------------------------------------------------------------------------------
; Architecture routines: the bodies of Partition.Kernel.Arch.Cpu (Cpu.BareMetal.cs).

global arch_cpuid, arch_read_msr, arch_write_msr, arch_in8, arch_out8, arch_in16, arch_out16
global arch_in32, arch_out32, arch_read_cr0, arch_read_cr2, arch_read_cr3, arch_read_cr4
global arch_write_cr0, arch_write_cr4, arch_load_gdt, arch_load_idt, arch_load_tr, arch_halt
global arch_disable_interrupts, arch_enable_interrupts, arch_pause, arch_read_tsc
global arch_read_rflags

; void arch_cpuid(uint leaf, uint subleaf, uint* out4)
arch_cpuid:
    push rbx
    mov r8, rdx
    mov eax, edi
    mov ecx, esi
    cpuid
    mov [r8], eax
    mov [r8 + 4], ebx
    mov [r8 + 8], ecx
    mov [r8 + 12], edx
    pop rbx
    ret

; ulong arch_read_msr(uint msr)
arch_read_msr:
    mov ecx, edi
    rdmsr
    shl rdx, 32
    or rax, rdx
    ret

; void arch_write_msr(uint msr, ulong value)
arch_write_msr:
    mov ecx, edi
    mov eax, esi
    mov rdx, rsi
    shr rdx, 32
    wrmsr
    ret

arch_in8:
    mov edx, edi
    xor eax, eax
    in al, dx
    ret

arch_out8:
    mov edx, edi
    mov eax, esi
    out dx, al
    ret

arch_in16:
    mov edx, edi
    xor eax, eax
    in ax, dx
    ret

arch_out16:
    mov edx, edi
    mov eax, esi
    out dx, ax
    ret

arch_in32:
    mov edx, edi
    in eax, dx
    ret

arch_out32:
    mov edx, edi
    mov eax, esi
    out dx, eax
    ret

arch_read_cr0:
    mov rax, cr0
    ret

arch_read_cr2:
    mov rax, cr2
    ret

arch_read_cr3:
    mov rax, cr3
    ret

arch_read_cr4:
    mov rax, cr4
    ret

arch_write_cr0:
    mov cr0, rdi
    ret

arch_write_cr4:
    mov cr4, rdi
    ret

arch_read_rflags:
    pushfq
    pop rax
    ret

; void arch_load_gdt(void* pointer, ushort codeSelector, ushort dataSelector)
; Loads the GDT and reloads every segment register, CS through a far return.
arch_load_gdt:
    lgdt [rdi]
    mov ax, dx
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    pop rax                             ; return address
    movzx rsi, si
    push rsi
    push rax
    retfq

arch_load_idt:
    lidt [rdi]
    ret

arch_load_tr:
    ltr di
    ret

arch_halt:
    hlt
    ret

; long arch_atomic_add(long* location, long value): returns the value before the add.
global arch_atomic_add
arch_atomic_add:
    mov rax, rsi
    lock xadd [rdi], rax
    ret

; int arch_compare_exchange(int* location, int value, int comparand): returns the old value.
global arch_compare_exchange
arch_compare_exchange:
    mov eax, edx
    lock cmpxchg [rdi], esi
    ret

; long arch_compare_exchange64(long* location, long value, long comparand)
global arch_compare_exchange64
arch_compare_exchange64:
    mov rax, rdx
    lock cmpxchg [rdi], rsi
    ret

; void arch_store_release(long* location, long value): a plain store (x86 keeps stores in
; order, so it releases what was written before it); as a call the compiler moves nothing past it.
global arch_store_release
arch_store_release:
    mov [rdi], rsi
    ret

; int arch_current_apic_id(): CPUID.1:EBX[31:24], the initial APIC ID.
global arch_current_apic_id
arch_current_apic_id:
    push rbx
    mov eax, 1
    cpuid
    mov eax, ebx
    shr eax, 24
    pop rbx
    ret

; void arch_zero(void* destination, ulong bytes): bytes a multiple of 8. REP STOSQ, the
; fastest general way to clear memory (partitions' RAM is zeroed before use and when it stops).
; void arch_unblock_nmis(): IRETQ to the next instruction with the current stack, flags and
; selectors. After a VM exit caused by an NMI, NMIs stay blocked until an IRET (SDM Vol. 3C,
; 28.2.1); this is that IRET.
; ulong arch_xgetbv(uint index), void arch_xsetbv(uint index, ulong value): XCRs (SDM Vol. 2D, XSETBV).
global arch_xgetbv, arch_xsetbv, arch_xsave_avx, arch_xrstor_avx
arch_xgetbv:
    mov ecx, edi
    xgetbv
    shl rdx, 32
    or rax, rdx
    ret

arch_xsetbv:
    mov ecx, edi
    mov rax, rsi
    mov rdx, rsi
    shr rdx, 32
    xsetbv
    ret

; void arch_xsave_avx(void* area) / arch_xrstor_avx(void* area): the AVX state (XSAVE
; component 2, the upper halves of YMM0-15) into or out of a standard-format XSAVE area, for
; whichever components of it XCR0 enables now (none without AVX). Needs CR4.OSXSAVE. The
; hypervisor's own code has no VEX instructions, so these registers are the guest's from
; one switch to the next: the VM exit and entry leave them alone (GuestMsrs switches them).
arch_xsave_avx:
    mov eax, XSAVE_AVX
    xor edx, edx
    xsave64 [rdi]
    ret

arch_xrstor_avx:
    mov eax, XSAVE_AVX
    xor edx, edx
    xrstor64 [rdi]
    ret

global arch_wbinvd
arch_wbinvd:
    wbinvd
    ret

global arch_unblock_nmis
arch_unblock_nmis:
    mov rax, rsp
    push qword 0x10                     ; SS: the kernel data selector
    push rax                            ; RSP as it was
    pushfq
    push qword 0x08                     ; CS: the kernel code selector
    lea rax, [rel .done]
    push rax
    iretq
.done:
    ret

; void arch_read_debug_registers(ulong* five): DR0, DR1, DR2, DR3, DR6
global arch_read_debug_registers
arch_read_debug_registers:
    mov rax, dr0
    mov [rdi], rax
    mov rax, dr1
    mov [rdi + 8], rax
    mov rax, dr2
    mov [rdi + 16], rax
    mov rax, dr3
    mov [rdi + 24], rax
    mov rax, dr6
    mov [rdi + 32], rax
    ret

; void arch_write_debug_registers(ulong* five): DR0, DR1, DR2, DR3, DR6
global arch_write_debug_registers
arch_write_debug_registers:
    mov rax, [rdi]
    mov dr0, rax
    mov rax, [rdi + 8]
    mov dr1, rax
    mov rax, [rdi + 16]
    mov dr2, rax
    mov rax, [rdi + 24]
    mov dr3, rax
    mov rax, [rdi + 32]
    mov dr6, rax
    ret

; ulong arch_read_dr6(void) / void arch_write_dr6(ulong value): DR6 alone (a vCPU that has not
; used its debug registers yet has only DR6 switched: a #DB in the guest sets it)
global arch_read_dr6, arch_write_dr6
arch_read_dr6:
    mov rax, dr6
    ret

arch_write_dr6:
    mov dr6, rdi
    ret

; void arch_copy(void* destination, void* source, ulong bytes)
global arch_copy
arch_copy:
    mov rcx, rdx
    rep movsb
    ret

global arch_zero
arch_zero:
    mov rcx, rsi
    shr rcx, 3
    xor eax, eax
    rep stosq
    ret

extern __image_end
global arch_image_end
arch_image_end:
    lea rax, [rel __image_end]
    ret

arch_disable_interrupts:
    cli
    ret

arch_enable_interrupts:
    sti
    ret

; void arch_accept_interrupts(): lets interrupts pending at this CPU's local APIC in, then shuts
; them out again. STI takes effect after the next instruction, so they are taken between the
; NOP and the CLI, where the caller (at a call boundary) has nothing live in caller-saved
; registers for a handler to disturb.
global arch_accept_interrupts
arch_accept_interrupts:
    sti
    nop
    cli
    ret

arch_pause:
    pause
    ret

; void arch_full_fence(void): no later load runs ahead of an earlier store (MFENCE)
global arch_full_fence
arch_full_fence:
    mfence
    ret

arch_read_tsc:
    rdtsc
    shl rdx, 32
    or rax, rdx
    ret

; VMX instructions. Each returns 0 on success, 1 on VMfailInvalid (CF: no current VMCS to
; hold an error number), 2 on VMfailValid (ZF: the VM-instruction error field says why)
; (SDM Vol. 3C, 31.2 "Conventions").
%macro VMX_STATUS 0
    jc %%fail_invalid
    jz %%fail_valid
    xor eax, eax
    ret
%%fail_invalid:
    mov eax, 1
    ret
%%fail_valid:
    mov eax, 2
    ret
%endmacro

global arch_vmxon, arch_vmxoff, arch_vmclear, arch_vmptrld, arch_vmread, arch_vmwrite, arch_invept, arch_invvpid
global arch_vmread_value, arch_vm_exit_address, arch_vm_skip_instruction
global arch_vm_enter

; int arch_vmxon(ulong physicalAddress)
arch_vmxon:
    push rdi
    vmxon [rsp]
    lea rsp, [rsp + 8]                  ; lea keeps the flags VMXON set
    VMX_STATUS

arch_vmxoff:
    vmxoff
    VMX_STATUS

; int arch_vmclear(ulong physicalAddress)
arch_vmclear:
    push rdi
    vmclear [rsp]
    lea rsp, [rsp + 8]
    VMX_STATUS

; int arch_vmptrld(ulong physicalAddress)
arch_vmptrld:
    push rdi
    vmptrld [rsp]
    lea rsp, [rsp + 8]
    VMX_STATUS

; int arch_vmread(ulong field, ulong* value)
arch_vmread:
    vmread rax, rdi
    mov [rsi], rax
    VMX_STATUS

; ulong arch_vmread_value(ulong field): the field's value (0 if VMREAD fails), for the exit path,
; whose fields always exist and whose VMCS is current.
arch_vmread_value:
    xor eax, eax
    vmread rax, rdi
    ret

; void arch_vm_skip_instruction(void): guest RIP += VM-exit instruction length, for an exit
; whose instruction the hypervisor has emulated (SDM Vol. 3C, 28.2.5).
arch_vm_skip_instruction:
    mov eax, 0x440C                     ; VM-exit instruction length
    vmread rdx, rax
    mov eax, 0x681E                     ; guest RIP
    vmread rcx, rax
    add rcx, rdx
    vmwrite rax, rcx
    ret

; ulong arch_vm_exit_address(void): where a VM exit lands (HOST_RIP), written with the host state.
arch_vm_exit_address:
    lea rax, [rel vm_exit_entry]
    ret

; int arch_vmwrite(ulong field, ulong value)
arch_vmwrite:
    vmwrite rdi, rsi
    VMX_STATUS

; int arch_invept(ulong type, void* descriptor)
arch_invept:
    invept rdi, [rsi]
    VMX_STATUS

; int arch_invvpid(ulong type, void* descriptor)
arch_invvpid:
    invvpid rdi, [rsi]
    VMX_STATUS

; int arch_vm_enter(GuestRegisters* guest, int launched, int (*exited)(void* context), void* context)
; Enters the guest of the current VMCS (VMRESUME if launched, else VMLAUNCH) with its general
; registers, CR2 and x87/SSE state from *guest (its AVX state is in the processor already:
; GuestMsrs switches it with the vCPU). After each VM exit the guest's registers (CR2 only
; when this returns) are saved back into *guest and exited(context) is called (the run loop's exit handling, in C#, on this
; stack): if it returns non-zero the guest is entered again at once with VMRESUME, without
; leaving this routine (the fast path: the run loop's own pre-entry work is not needed); if it
; returns 0 this returns 0. Returns 1/2 if an entry instruction itself failed (CF/ZF). The
; layout of GuestRegisters is mirrored by Partition.Kernel.GuestRegisters.
GR_RAX equ 0
GR_RBX equ 8
GR_RCX equ 16
GR_RDX equ 24
GR_RSI equ 32
GR_RDI equ 40
GR_RBP equ 48
GR_R8  equ 56
GR_R9  equ 64
GR_R10 equ 72
GR_R11 equ 80
GR_R12 equ 88
GR_R13 equ 96
GR_R14 equ 104
GR_R15 equ 112
GR_CR2 equ 120
GR_FXSAVE equ 128                       ; an XSAVE area: 512 bytes of FXSAVE, the 64-byte header, AVX at 576 (64-byte aligned)
XSAVE_AVX equ 4                         ; XSAVE component 2: the upper halves of YMM0-15
VMCS_HOST_RSP equ 0x6C14

; The frame while a guest runs (HOST_RSP points at its first slot, 16-byte aligned):
;   [rsp]      the register block (swapped with the guest's RDI at the exit)
;   [rsp + 8]  exited
;   [rsp + 16] context
;   above      RBX, RBP, R12-R15 of the caller, then the return address
; The guest's general registers from the block at RDI (RDI last).
%macro LOAD_GUEST_GPRS 0
    mov rax, [rdi + GR_RAX]
    mov rbx, [rdi + GR_RBX]
    mov rcx, [rdi + GR_RCX]
    mov rdx, [rdi + GR_RDX]
    mov rbp, [rdi + GR_RBP]
    mov r8,  [rdi + GR_R8]
    mov r9,  [rdi + GR_R9]
    mov r10, [rdi + GR_R10]
    mov r11, [rdi + GR_R11]
    mov r12, [rdi + GR_R12]
    mov r13, [rdi + GR_R13]
    mov r14, [rdi + GR_R14]
    mov r15, [rdi + GR_R15]
    mov rsi, [rdi + GR_RSI]
    mov rdi, [rdi + GR_RDI]
%endmacro

arch_vm_enter:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rcx                            ; context
    push rdx                            ; exited
    push rdi                            ; the exit path finds the register block here
    ; The VM exit returns to vm_exit_entry (HOST_RIP, written with the host state) with RSP
    ; exactly as it is now.
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    jbe .write_failed
    mov rax, [rdi + GR_CR2]
    mov cr2, rax
    ; CR2 stays the guest's while this routine runs (the hypervisor takes no page faults):
    ; it is saved only when the routine returns.
    fxrstor64 [rdi + GR_FXSAVE]
    test esi, esi
    jnz .resume
    LOAD_GUEST_GPRS
    vmlaunch
    jmp .entry_failed
.resume:
    LOAD_GUEST_GPRS
    vmresume
.entry_failed:
    ; Still in the host with the host's stack; the flags say how the instruction failed.
    mov eax, 1
    jc .restore
    mov eax, 2
    jmp .restore
.write_failed:
    mov eax, 2
.restore:
    pop rdi
    add rsp, 16                         ; exited, context
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; The VM exit, and the guest entered again at once when exited(context) says so (the fast
; path: VMRESUME straight from here). The x87/SSE state is saved and restored around the
; hypervisor's code, which uses SSE registers; the AVX upper halves are not (no VEX
; instruction in the hypervisor touches them).
vm_exit_entry:
    ; RSP is HOST_RSP: [rsp] is the register block. Swap it with the guest's RDI.
    xchg rdi, [rsp]
    mov [rdi + GR_RAX], rax
    mov [rdi + GR_RBX], rbx
    mov [rdi + GR_RCX], rcx
    mov [rdi + GR_RDX], rdx
    mov [rdi + GR_RSI], rsi
    mov [rdi + GR_RBP], rbp
    mov [rdi + GR_R8], r8
    mov [rdi + GR_R9], r9
    mov [rdi + GR_R10], r10
    mov [rdi + GR_R11], r11
    mov [rdi + GR_R12], r12
    mov [rdi + GR_R13], r13
    mov [rdi + GR_R14], r14
    mov [rdi + GR_R15], r15
    mov rax, [rsp]                      ; the guest's RDI
    mov [rdi + GR_RDI], rax
    mov [rsp], rdi                      ; the register block again, for the next entry
    fxsave64 [rdi + GR_FXSAVE]
    mov rdi, [rsp + 16]                 ; context
    call [rsp + 8]                      ; exited(context): RSP is 16-byte aligned here
    test eax, eax
    jz vm_exit_leave
    ; Enter again, with VMRESUME: HOST_RSP is this frame still.
    mov rdi, [rsp]
    fxrstor64 [rdi + GR_FXSAVE]
    LOAD_GUEST_GPRS
    vmresume
    jmp arch_vm_enter.entry_failed

vm_exit_leave:
    mov rdi, [rsp]
    mov rax, cr2
    mov [rdi + GR_CR2], rax
    add rsp, 24                         ; the register block, exited, context
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    xor eax, eax
    ret


; ---------------------------------------------------------------------------------------------
; Application-processor start-up. The boot CPU copies ap_trampoline_start..ap_trampoline_end to
; AP_TRAMPOLINE (below 1 MiB, page aligned: the SIPI vector is its page number), fills the
; mailbox at its end, and sends INIT-SIPI-SIPI. The AP starts here in real mode at
; AP_TRAMPOLINE:0, goes straight to long mode (PE and PG set together, with EFER.LME) on the
; boot CPU's page tables, and calls partition_ap_main(cpu index) on its own stack. Code here
; runs at AP_TRAMPOLINE, not where it was linked: it addresses only through AP_TRAMPOLINE.
AP_TRAMPOLINE equ 0x8000
%define AP(label) (AP_TRAMPOLINE + (label - ap_trampoline_start))

section .text
bits 16
ap_trampoline_start:
    cli
    xor ax, ax
    mov ds, ax
    lgdt [AP(ap_gdt_pointer)]
    mov eax, cr4
    or eax, (1 << 5)                    ; PAE
    mov cr4, eax
    mov eax, [AP(ap_cr3)]
    mov cr3, eax
    mov ecx, 0xC0000080                 ; IA32_EFER.LME
    rdmsr
    or eax, (1 << 8)
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16) | 1   ; PG, WP, PE
    mov cr0, eax
    jmp dword 0x08:AP(ap_long_mode)

bits 64
ap_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, [abs AP(ap_stack)]
    mov rax, cr0                        ; SSE, as on the boot CPU
    and rax, ~(1 << 2)
    or rax, (1 << 1)
    mov cr0, rax
    mov rax, cr4
    or rax, (1 << 9) | (1 << 10)
    mov cr4, rax
    mov edi, [abs AP(ap_cpu_index)]
    mov rax, [abs AP(ap_entry)]
    call rax
.halt:
    cli
    hlt
    jmp .halt

align 8
ap_gdt:
    dq 0
    dq 0x00AF9A000000FFFF
    dq 0x00CF92000000FFFF
ap_gdt_pointer:
    dw 23
    dd AP(ap_gdt)
align 8
ap_cr3:         dq 0
ap_stack:       dq 0
ap_entry:       dq 0
ap_cpu_index:   dq 0
ap_trampoline_end:

; void arch_ap_trampoline_info(ulong* info): start, end, and the mailbox offsets (CR3, stack,
; entry, CPU index), and the physical address the trampoline must be copied to.
global arch_ap_trampoline_info
arch_ap_trampoline_info:
    lea rax, [rel ap_trampoline_start]
    mov [rdi], rax
    lea rax, [rel ap_trampoline_end]
    mov [rdi + 8], rax
    mov qword [rdi + 16], ap_cr3 - ap_trampoline_start
    mov qword [rdi + 24], ap_stack - ap_trampoline_start
    mov qword [rdi + 32], ap_entry - ap_trampoline_start
    mov qword [rdi + 40], ap_cpu_index - ap_trampoline_start
    lea rax, [rel partition_ap_main]
    mov [rdi + 48], rax
    mov qword [rdi + 56], AP_TRAMPOLINE
    ret

section .data
; Stack-protector cookie that ILC's code compares against; any fixed non-zero value works
; without a separate per-boot random source.
global __security_cookie
__security_cookie:
    dq 0x2B992DDFA232D0C5

boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF               ; 0x08: 64-bit code
    dq 0x00CF92000000FFFF               ; 0x10: data
boot_gdt_end:
boot_gdt_pointer:
    dw boot_gdt_end - boot_gdt - 1
    dq boot_gdt
boot_info:
    dd 0
msg_not_multiboot2:
    db "Partition: not started by a Multiboot2 loader (bad magic in eax); halting", 13, 10, 0
msg_no_long_mode:
    db "Partition: this CPU has no long mode (CPUID 80000001h EDX.LM = 0); halting", 13, 10, 0

section .bss
alignb 4096
pml4:
    resb 4096
pdpt:
    resb 4096
page_directories:
    resb 4 * 4096
low_page_table:
    resb 4096
boot_stack:
    resb BOOT_STACK_SIZE
boot_stack_top:
alignb 4096
heap:
    resb HEAP_SIZE
