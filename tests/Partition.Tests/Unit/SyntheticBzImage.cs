using System;
using System.Buffers.Binary;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// A fake bzImage for the loader's tests: a boot sector and setup sectors with a setup header
    /// at 0x1F1 laid out as boot.rst gives it, then a protected-mode "kernel" of recognisable bytes.
    /// Every header field is settable, so each refusal can be provoked on its own.
    /// </summary>
    public sealed class SyntheticBzImage
    {
        public byte SetupSects = 4;
        public ushort Version = 0x020F;
        public byte LoadFlags = 0x01;
        public ushort XLoadFlags = 0x03; // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
        public uint InitrdAddrMax = 0x7FFFFFFF;
        public uint KernelAlignment = 0x200000;
        public bool Relocatable = true;
        public byte MinAlignment = 21;
        public uint CmdlineSize = 2047;
        public ulong PrefAddress = 0x1000000;
        public uint InitSize = 0x800000;
        public ushort VidMode = 0xFFFF;

        /// <summary>The protected-mode code: a multiple of 16 bytes, each byte a function of its offset.</summary>
        public byte[] Payload = MakePayload(0x2000);

        public static byte[] MakePayload(int length)
        {
            var payload = new byte[length];
            for (int i = 0; i < length; i++)
                payload[i] = (byte)(i * 7 + 3);
            return payload;
        }

        public byte[] Build()
        {
            int setup = ((SetupSects == 0 ? 4 : SetupSects) + 1) * 512;
            var image = new byte[setup + Payload.Length];
            // Recognisable bytes everywhere in the setup code, so that a loader copying too much shows.
            for (int i = 0; i < setup; i++)
                image[i] = 0x5A;
            image[0x1F1] = SetupSects;
            W16(image, 0x1F2, 1); // root_flags
            W32(image, 0x1F4, (uint)(Payload.Length / 16)); // syssize
            W16(image, 0x1F8, 0); // ram_size
            W16(image, 0x1FA, VidMode);
            W16(image, 0x1FC, 0x0301); // root_dev
            W16(image, 0x1FE, 0xAA55);
            image[0x200] = 0xEB;
            image[0x201] = 0x6A; // header ends at 0x26C, as in 6.1
            W32(image, 0x202, 0x53726448); // "HdrS"
            W16(image, 0x206, Version);
            W32(image, 0x208, 0); // realmode_swtch
            W16(image, 0x20C, 0x1000); // start_sys_seg
            W16(image, 0x20E, 0x3E0); // kernel_version
            image[0x210] = 0; // type_of_loader
            image[0x211] = LoadFlags;
            W16(image, 0x212, 0x8000); // setup_move_size
            W32(image, 0x214, 0x100000); // code32_start
            W32(image, 0x218, 0); // ramdisk_image
            W32(image, 0x21C, 0); // ramdisk_size
            W32(image, 0x220, 0); // bootsect_kludge
            W16(image, 0x224, 0); // heap_end_ptr
            image[0x226] = 0;
            image[0x227] = 0;
            W32(image, 0x228, 0); // cmd_line_ptr
            W32(image, 0x22C, InitrdAddrMax);
            W32(image, 0x230, KernelAlignment);
            image[0x234] = (byte)(Relocatable ? 1 : 0);
            image[0x235] = MinAlignment;
            W16(image, 0x236, XLoadFlags);
            W32(image, 0x238, CmdlineSize);
            W32(image, 0x23C, 0); // hardware_subarch
            W64(image, 0x240, 0); // hardware_subarch_data
            W32(image, 0x248, 0x3AB); // payload_offset
            W32(image, 0x24C, 0x1000); // payload_length
            W64(image, 0x250, 0); // setup_data
            W64(image, 0x258, PrefAddress);
            W32(image, 0x260, InitSize);
            W32(image, 0x264, 0x190); // handover_offset
            W32(image, 0x268, 0x1700); // kernel_info_offset
            Payload.CopyTo(image, setup);
            return image;
        }

        private static void W16(byte[] b, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
        private static void W32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
        private static void W64(byte[] b, int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
    }
}
