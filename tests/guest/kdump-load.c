/*
 * qemu-viommu guest test: loads a kdump capture kernel with
 * kexec_file_load(2), KEXEC_FILE_ON_CRASH, so that a panic boots it
 * (busybox has no kexec, and Debian's kexec-tools needs Xen's libraries).
 * Usage: kdump-load VMLINUZ INITRD CMDLINE
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEXEC_FILE_ON_CRASH 0x2

int main(int argc, char **argv)
{
    int kernel, initrd;

    if (argc != 4) {
        fprintf(stderr, "usage: kdump-load VMLINUZ INITRD CMDLINE\n");
        return 2;
    }
    kernel = open(argv[1], O_RDONLY);
    initrd = open(argv[2], O_RDONLY);
    if (kernel < 0 || initrd < 0) {
        perror("kdump-load: open");
        return 1;
    }
    if (syscall(SYS_kexec_file_load, kernel, initrd, strlen(argv[3]) + 1,
                argv[3], KEXEC_FILE_ON_CRASH)) {
        perror("kdump-load: kexec_file_load");
        return 1;
    }
    return 0;
}
