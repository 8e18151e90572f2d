# qemu-viommu: x86_64 device set. The default set (so q35/pc ACPI tables stay
# byte-identical to upstream's expected ones) less boards we do not test.
include ../i386-softmmu/default.mak
CONFIG_ISAPC=n
CONFIG_MICROVM=n
CONFIG_NITRO_ENCLAVE=n
CONFIG_XEN=n
