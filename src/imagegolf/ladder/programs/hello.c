/* The C rungs of the seed's ladder: stdio, statically linked (glibc or musl).
 * The ladder writes message.h beside this file (MESSAGE and MESSAGE_LENGTH) before compiling;
 * fwrite, not puts, so the message may hold any bytes, NUL included. */
#include <stdio.h>

#include "message.h"

int main(void)
{
    return fwrite(MESSAGE, 1, MESSAGE_LENGTH, stdout) == MESSAGE_LENGTH && fflush(stdout) == 0 ? 0 : 1;
}
