; The asm-elf32-ld rung: nasm -f elf hello32.asm
;   && ld -m elf_i386 -N -s -x -nostdlib -o hello hello32.o && strip --strip-all hello
; i386 int 0x80 system calls; the message sits in .text so ld -N makes a single segment.
; The ladder writes message.inc (db lines) before assembling.
bits 32
global _start

section .text
_start:
    mov eax, 4                  ; write(
    mov ebx, 1                  ;   stdout,
    mov ecx, message            ;   message,
    mov edx, message_length     ;   length)
    int 0x80
    mov eax, 1                  ; exit(0)
    xor ebx, ebx
    int 0x80
message:
%include "message.inc"
message_length equ $ - message
