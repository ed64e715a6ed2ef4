// swapper A B SECONDS: exchange the paths A and B (renameat2 RENAME_EXCHANGE, atomic) as fast as possible for
// SECONDS, then leave them as they were at the start (an even number of exchanges). Used to swap a symlink
// into a container's rootfs while a runtime resolves and mounts through it.
// Exit codes: 0 done (prints the number of exchanges), 2 usage, 3 an exchange failed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: swapper A B SECONDS\n");
        return 2;
    }
    double secs = atof(argv[3]);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long n = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (el >= secs && n % 2 == 0) break;
        if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) {
            fprintf(stderr, "swapper: exchange %s %s: %s\n", argv[1], argv[2], strerror(errno));
            return 3;
        }
        ++n;
    }
    printf("%lu\n", n);
    return 0;
}
