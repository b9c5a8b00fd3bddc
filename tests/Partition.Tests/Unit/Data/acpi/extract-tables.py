#!/usr/bin/env python3
"""Extracts a machine's ACPI tables from a dump of its physical memory (from 0).

Usage: extract-tables.py RAM_DUMP OUTPUT_DIR

Finds the RSDP where an OS looks for it (the first KiB of the EBDA, then 0xE0000-0xFFFFF on
16-byte boundaries, ACPI 6.5 5.2.5.1), follows the RSDT or XSDT, the FADT's FACS and DSDT, and
writes each structure as it is in memory to OUTPUT_DIR/<SIG>-<address>.dat, with
OUTPUT_DIR/tables.txt listing "address signature file" per line. Not used by the tests, which
read what this wrote; kept so that the data can be made again (README.md beside it).
"""
import os
import struct
import sys


def checksum_ok(data):
    return sum(data) & 0xFF == 0


def find_rsdp(ram):
    ebda = struct.unpack_from("<H", ram, 0x40E)[0] << 4
    candidates = list(range(ebda, ebda + 1024, 16)) if 0x80000 <= ebda < 0xA0000 else []
    candidates += list(range(0xE0000, 0x100000, 16))
    for at in candidates:
        if ram[at:at + 8] == b"RSD PTR " and checksum_ok(ram[at:at + 20]):
            return at
    sys.exit("no RSDP in the EBDA or at 0xE0000-0xFFFFF")


def main():
    ram = open(sys.argv[1], "rb").read()
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    found = []

    def save(address, signature, data):
        name = "%s-%08X.dat" % (signature.replace(" ", "_"), address)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        found.append((address, signature, name))

    def table(address):
        length = struct.unpack_from("<I", ram, address + 4)[0]
        data = ram[address:address + length]
        signature = data[:4].decode("ascii")
        if not checksum_ok(data):
            sys.exit("bad checksum in %s at 0x%X" % (signature, address))
        save(address, signature, data)
        return signature, data

    rsdp = find_rsdp(ram)
    revision = ram[rsdp + 15]
    save(rsdp, "RSDP", ram[rsdp:rsdp + (36 if revision >= 2 else 20)])
    xsdt = struct.unpack_from("<Q", ram, rsdp + 24)[0] if revision >= 2 else 0
    root = xsdt or struct.unpack_from("<I", ram, rsdp + 16)[0]
    size = 8 if xsdt else 4
    signature, data = table(root)
    for at in range(36, len(data), size):
        address = struct.unpack_from("<Q" if size == 8 else "<I", data, at)[0]
        signature, entry = table(address)
        if signature == "FACP":
            facs = struct.unpack_from("<I", entry, 36)[0]
            dsdt = struct.unpack_from("<I", entry, 40)[0]
            if len(entry) >= 148:
                facs = struct.unpack_from("<Q", entry, 132)[0] or facs
                dsdt = struct.unpack_from("<Q", entry, 140)[0] or dsdt
            if facs:
                length = struct.unpack_from("<I", ram, facs + 4)[0]
                save(facs, "FACS", ram[facs:facs + length])
            if dsdt:
                table(dsdt)
    with open(os.path.join(out, "tables.txt"), "w") as f:
        for address, signature, name in sorted(found):
            f.write("0x%08X %s %s\n" % (address, signature, name))


main()
