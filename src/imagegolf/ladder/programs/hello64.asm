; The asm-elf64 rung: nasm -f elf64 hello64.asm && ld -o hello hello64.o
; Two Linux x86-64 system calls; the ladder writes message.inc (db lines) before assembling.
bits 64
global _start

section .text
_start:
    mov eax, 1                  ; write(
    mov edi, 1                  ;   stdout,
    lea rsi, [rel message]      ;   message,
    mov edx, message_length     ;   length)
    syscall
    mov eax, 60                 ; exit(0)
    xor edi, edi
    syscall

section .rodata
message:
%include "message.inc"
message_length equ $ - message
