#!/usr/bin/env bash
# Sets up a fresh Debian machine and builds, tests or runs Partition. Never asks for input.
#   ./bootstrap.sh run [--timeout=S]   boot the image in Bochs, serial console on this terminal
#                                      (what is typed, or piped in, goes to the console)
#   ./bootstrap.sh test                run every test; the last line is "N passed, N failed"
#                                      (first builds the Linux guest and host kernels: 5-11 min
#                                      each, once, then cached)
#   ./bootstrap.sh image               build artifacts/partition.iso
# Extra arguments after the verb are passed to Cake (e.g. --timeout=30 for run).
set -euo pipefail

usage() {
    echo "usage: $0 run|test|image [cake arguments...]" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
case "$1" in
    run) target=Run ;;
    test) target=Test ;;
    image) target=Image ;;
    *) usage ;;
esac
shift

cd "$(dirname "$(readlink -f "$0")")"

# Emulators and BIOS images (bochs*, vgabios), the ISO builder (grub-*, xorriso, mtools), the
# boot stub's assembler and the linker (nasm, lld), and QEMU for the boot test without VT-x.
# The Linux guest and host images (Cake target LinuxImages, tools/linux/README.md): the kernel source tarball
# (linux-source-6.1), what building it needs (build-essential, bc, bison, flex, libelf-dev,
# libssl-dev, lz4 for the kernel's compression, xz-utils to unpack the tarball) and the static
# busybox of the initramfs (busybox-static). The ACPI compiler iasl (acpica-tools) for the ACPI
# table tests.
packages=(bochs bochsbios vgabios bochs-sdl grub-pc-bin grub-common xorriso mtools lld nasm qemu-system-x86
          linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev lz4 xz-utils busybox-static
          acpica-tools)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "Installing Debian packages: ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "Not root and no sudo: install ${missing[*]} as root." >&2; exit 1; }
        sudo=(sudo -n) # -n: fail instead of prompting for a password
    fi
    "${sudo[@]}" apt-get update </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
fi

if ! command -v dotnet >/dev/null; then
    echo "The .NET SDK is not installed: install the version global.json names (see README.md, 'Build')." >&2
    exit 1
fi

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet tool restore </dev/null
if [[ "$target" == Run ]]; then
    # stdin stays: typed on a terminal, or piped in, it reaches the hypervisor's console. Nothing
    # waits for it: at its end (or from /dev/null) the run goes on.
    exec dotnet cake build.cake --target="$target" "$@"
fi
exec dotnet cake build.cake --target="$target" "$@" </dev/null
