/*
 * edu-storm: a burst of DMA faults for the guest fault-storm test.
 *
 * Usage: edu-storm IOVA [N]
 * Every edu device (1234:11e8, no driver) of the guest, up to N of them,
 * is made bus master and set to read 4 bytes at IOVA + i * 4 KiB (i being
 * its rank in sysfs order), an address its DMA domain does not map; then
 * all are started back to back, so that their transfers (each 100 ms of
 * the edu's time after its start) fault at about the same instant. Prints
 * "STORM <devices started>".
 *
 * Static, for the busybox initramfs (tests/guest/mkinitramfs.sh). A guest
 * program, not QEMU code: plain libc (strtol), no QEMU helpers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_DMA_RUN     1           /* direction bit 1 clear: RAM to edu */
#define EDU_BUFFER      0x40000     /* the edu's own buffer */
#define MAX_EDU         64

static int read_id(const char *dev, const char *file)
{
    char path[512], buf[16] = "";
    FILE *f;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, file);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        buf[0] = 0;
    }
    fclose(f);
    return (int)strtol(buf, NULL, 16);
}

/* PCI command: memory space and bus master on. */
static int enable_bus_master(const char *dev)
{
    char path[512];
    uint16_t cmd;
    int fd, ok;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
    fd = open(path, O_RDWR);
    if (fd < 0) {
        return -1;
    }
    ok = pread(fd, &cmd, 2, 4) == 2;
    cmd |= 6;
    ok = ok && pwrite(fd, &cmd, 2, 4) == 2;
    close(fd);
    return ok ? 0 : -1;
}

/* BAR 0, as volatile: each store is one MMIO write, in program order. */
static volatile uint64_t *map_bar0(const char *dev)
{
    char path[512];
    void *p;
    int fd;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", dev);
    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        return NULL;
    }
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    volatile uint64_t *bar[MAX_EDU];        /* MMIO: see map_bar0() */
    char *names[MAX_EDU];
    unsigned n = 0, max = MAX_EDU, started = 0;
    uint64_t iova;
    struct dirent *e;
    DIR *d;

    if (argc < 2) {
        fprintf(stderr, "usage: edu-storm IOVA [N]\n");
        return 2;
    }
    iova = strtoull(argv[1], NULL, 0);
    if (argc > 2) {
        max = strtoul(argv[2], NULL, 0);
        max = max > MAX_EDU ? MAX_EDU : max;
    }
    d = opendir("/sys/bus/pci/devices");
    if (!d) {
        perror("/sys/bus/pci/devices");
        return 1;
    }
    while ((e = readdir(d)) && n < MAX_EDU) {
        if (read_id(e->d_name, "vendor") == 0x1234 &&
            read_id(e->d_name, "device") == 0x11e8) {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    n = n < max ? n : max;
    for (unsigned i = 0; i < n; i++) {
        bar[i] = enable_bus_master(names[i]) ? NULL : map_bar0(names[i]);
        if (!bar[i]) {
            continue;
        }
        bar[i][EDU_DMA_SRC / 8] = iova + 0x1000ull * i;
        bar[i][EDU_DMA_DST / 8] = EDU_BUFFER;
        bar[i][EDU_DMA_COUNT / 8] = 4;
    }
    for (unsigned i = 0; i < n; i++) {
        if (bar[i]) {
            bar[i][EDU_DMA_CMD / 8] = EDU_DMA_RUN;
            started++;
        }
    }
    printf("STORM %u\n", started);
    return 0;
}
