using System;
using System.Collections.Generic;
using System.Text;

namespace Partition.Kernel
{
    /// <summary>
    /// The host tests' completion of the Cpu seam: a small recording machine. Each test thread
    /// has its own (tests run in parallel); <see cref="FakeCpu.Reset"/> gives a fresh one.
    /// </summary>
    public static unsafe partial class Cpu
    {
        public static partial void Cpuid(uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx)
        {
            FakeCpu.Current.Cpuid.TryGetValue((leaf, subleaf), out var r);
            (eax, ebx, ecx, edx) = r;
        }

        public static partial ulong ReadMsr(uint msr)
        {
            var state = FakeCpu.Current;
            if (!state.Msrs.TryGetValue(msr, out ulong value))
                throw new FakeCpuFault($"#GP: RDMSR of unknown MSR 0x{msr:X}");
            return value;
        }

        public static partial void WriteMsr(uint msr, ulong value)
        {
            FakeCpu.Current.Msrs[msr] = value;
            FakeCpu.Current.MsrWrites.Add((msr, value));
        }

        public static partial byte In8(ushort port) => FakeCpu.Current.ReadPort(port);
        public static partial void Out8(ushort port, byte value) => FakeCpu.Current.WritePort(port, value, 1);
        public static partial ushort In16(ushort port) => FakeCpu.Current.ReadPort16(port);
        public static partial void Out16(ushort port, ushort value) => FakeCpu.Current.WritePort(port, value, 2);
        public static partial uint In32(ushort port) => FakeCpu.Current.ReadPort32(port);
        public static partial void Out32(ushort port, uint value) => FakeCpu.Current.WritePort(port, value, 4);
        public static partial ulong ReadCr0() => FakeCpu.Current.Cr0;
        public static partial ulong ReadCr2() => FakeCpu.Current.Cr2;
        public static partial ulong ReadCr3() => FakeCpu.Current.Cr3;
        public static partial ulong ReadCr4() => FakeCpu.Current.Cr4;
        public static partial void WriteCr0(ulong value) => FakeCpu.Current.Cr0 = value;
        public static partial void WriteCr4(ulong value) => FakeCpu.Current.Cr4 = value;
        public static partial ulong ReadRflags() => 0x2;
        public static partial ulong ReadTsc() => FakeCpu.Current.Tsc++;
        public static partial void LoadGdt(void* pointer, ushort codeSelector, ushort dataSelector) => FakeCpu.Current.Log.Add("lgdt");
        public static partial void LoadIdt(void* pointer) => FakeCpu.Current.Log.Add("lidt");
        public static partial void LoadTaskRegister(ushort selector) => FakeCpu.Current.Log.Add($"ltr 0x{selector:X}");
        public static partial ulong ExceptionStub(int vector) => 0xFFFF_8000_0010_0000UL + (ulong)vector * 16;

        public static partial ulong ImageEnd() => 0x200000;
        public static partial void Zero(void* destination, ulong bytes) => System.Runtime.InteropServices.NativeMemory.Clear(destination, (nuint)bytes);
        public static partial void ReadDebugRegisters(ulong* five)
        {
            for (int i = 0; i < 5; i++)
                five[i] = FakeCpu.Current.DebugRegisters[i];
        }
        public static partial void WriteDebugRegisters(ulong* five)
        {
            for (int i = 0; i < 5; i++)
                FakeCpu.Current.DebugRegisters[i] = five[i];
        }
        public static partial ulong ReadDr6() => FakeCpu.Current.DebugRegisters[4];
        public static partial void WriteDr6(ulong value)
        {
            FakeCpu.Current.DebugRegisters[4] = value;
            FakeCpu.Current.Dr6Writes++;
        }
        public static partial void Copy(void* destination, void* source, ulong bytes) => System.Buffer.MemoryCopy(source, destination, bytes, bytes);
        public static partial long AtomicAdd(long* location, long value) => System.Threading.Interlocked.Add(ref *location, value) - value;
        public static partial long CompareExchange(long* location, long value, long comparand) => System.Threading.Interlocked.CompareExchange(ref *location, value, comparand);
        public static partial void StoreRelease(long* location, long value) => System.Threading.Volatile.Write(ref *location, value);
        public static partial long CompareExchange(ref long location, long value, long comparand) => System.Threading.Interlocked.CompareExchange(ref location, value, comparand);
        public static partial void StoreRelease(ref long location, long value) => System.Threading.Volatile.Write(ref location, value);
        public static partial long AtomicAdd(ref long location, long value) => System.Threading.Interlocked.Add(ref location, value) - value;
        public static partial int CurrentApicId() => FakeCpu.Current.CpuIndex;
        public static partial void ApTrampolineInfo(ulong* info) => throw new FakeCpuFault("no application processors in the host tests");
        public static partial void Halt() => throw new FakeCpuHalted();
        public static partial void UnblockNmis() => FakeCpu.Current.Log.Add("iretq (unblock NMIs)");
        public static partial void WriteBackAndInvalidateCaches() => FakeCpu.Current.Log.Add("wbinvd");
        public static partial ulong ReadXcr(uint index) => index == 0 ? FakeCpu.Current.Xcr0 : throw new FakeCpuFault("#GP: XGETBV of a reserved XCR");
        public static partial void WriteXcr(uint index, ulong value) => FakeCpu.Current.Xcr0 = value;
        public static partial void SaveAvx(byte* xsaveArea) => FakeCpu.Current.Log.Add($"xsave avx (xcr0 {FakeCpu.Current.Xcr0})");
        public static partial void RestoreAvx(byte* xsaveArea) => FakeCpu.Current.Log.Add($"xrstor avx (xcr0 {FakeCpu.Current.Xcr0})");
        public static partial void DisableInterrupts() => FakeCpu.Current.Log.Add("cli");
        public static partial void Pause() { }
        public static partial void FullFence() => System.Threading.Interlocked.MemoryBarrier();
        public static partial void AcceptInterrupts() { }
    }

    /// <summary>The state behind the fake Cpu.</summary>
    public sealed class FakeCpu
    {
        [ThreadStatic] private static FakeCpu t_current;

        public static FakeCpu Current => t_current ??= new FakeCpu();

        /// <summary>A fresh machine for the calling test thread, with a 16550 at COM1 that is always ready.</summary>
        public static FakeCpu Reset()
        {
            ConsoleRing.Discard();
            return t_current = new FakeCpu();
        }

        public Dictionary<(uint Leaf, uint Subleaf), (uint Eax, uint Ebx, uint Ecx, uint Edx)> Cpuid { get; } = new();
        public Dictionary<uint, ulong> Msrs { get; } = new();
        public List<(uint Msr, ulong Value)> MsrWrites { get; } = new();
        public List<string> Log { get; } = new();
        public List<(ushort Port, uint Value)> PortWrites { get; } = new();
        public StringBuilder Com1 { get; } = new();
        public ulong Cr0 { get; set; } = 0x80000011;
        public ulong Cr2 { get; set; }
        public ulong Cr3 { get; set; } = 0x108000;
        public ulong Cr4 { get; set; } = 0x20;
        public ulong Tsc { get; set; }

        public ulong Xcr0 { get; set; } = 1;

        /// <summary>DR0, DR1, DR2, DR3, DR6.</summary>
        public ulong[] DebugRegisters { get; } = new ulong[5];

        /// <summary>MOV to DR6 alone (a switch of a vCPU that has not used its debug registers).</summary>
        public int Dr6Writes { get; set; }
        public VmxInstructionStatus VmxOnResult { get; set; }

        /// <summary>The CPU the calling test is running on, for multi-CPU VMX scenarios.</summary>
        public int CpuIndex { get; set; }

        /// <summary>The software VMX of this machine.</summary>
        public VmxModel Vmx { get; } = new();

        /// <summary>What COM1 received, with the console's CR LF turned back into "\n".</summary>
        /// <summary>What reached COM1, once the console's ring has been pumped out (the fake UART is always ready).</summary>
        public string ConsoleText
        {
            get
            {
                HypervisorConsole.Flush();
                return Com1.ToString().Replace("\r\n", "\n");
            }
        }

        /// <summary>Devices on the fake machine's port bus (byte-wide), asked before the defaults below.</summary>
        public List<IFakePortDevice> PortDevices { get; } = new();

        internal byte ReadPort(ushort port)
        {
            if (IsConfigData(port, 1))
                return (byte)ReadConfigData(port);
            foreach (var device in PortDevices)
                if (device.Claims(port))
                    return device.Read(port);
            return port == 0x3F8 + 5 ? (byte)0x60 : (byte)0xFF; // LSR: THRE and TEMT set
        }

        /// <summary>
        /// PCI configuration space as the fake machine has it: (CONFIG_ADDRESS with bits 1:0 clear)
        /// to dword. Accesses to 0xCFC-0xCFF of any size read and write it for the last
        /// CONFIG_ADDRESS written (absent dwords read as all ones; writes to them are dropped).
        /// </summary>
        public Dictionary<uint, uint> PciConfig { get; } = new();

        internal ushort ReadPort16(ushort port) =>
            IsConfigData(port, 2) ? (ushort)ReadConfigData(port) : ReadPort(port);

        internal uint ReadPort32(ushort port) => IsConfigData(port, 4) ? ReadConfigData(port) : 0xFFFFFFFF;

        private static bool IsConfigData(ushort port, int size) => port >= 0xCFC && port + size <= 0xD00;

        private uint ConfigAddress()
        {
            for (int i = PortWrites.Count - 1; i >= 0; i--)
                if (PortWrites[i].Port == 0xCF8)
                    return PortWrites[i].Value & ~3u;
            return 0;
        }

        // The register's bytes from the port's on, shifted down as the port delivers them.
        private uint ReadConfigData(ushort port) =>
            (PciConfig.TryGetValue(ConfigAddress(), out uint value) ? value : 0xFFFFFFFF) >> (port - 0xCFC) * 8;

        internal void WritePort(ushort port, uint value, int size = 1)
        {
            PortWrites.Add((port, value));
            if (IsConfigData(port, size) && PciConfig.TryGetValue(ConfigAddress(), out uint old))
            {
                int shift = (port - 0xCFC) * 8;
                uint mask = (size == 4 ? 0xFFFF_FFFFu : size == 2 ? 0xFFFFu : 0xFFu) << shift;
                PciConfig[ConfigAddress()] = old & ~mask | value << shift & mask;
            }
            foreach (var device in PortDevices)
                if (device.Claims(port))
                    device.Write(port, (byte)value);
            if (port == 0x3F8 && (ReadLineControl() & 0x80) == 0)
                Com1.Append((char)value);
            if (port == 0x3F8 + 3)
                _lineControl = (byte)value;
        }

        private byte _lineControl;
        private byte ReadLineControl() => _lineControl;
    }

    /// <summary>A device a test puts on the fake machine's port bus (<see cref="FakeCpu.PortDevices"/>).</summary>
    public interface IFakePortDevice
    {
        bool Claims(ushort port);
        byte Read(ushort port);
        void Write(ushort port, byte value);
    }

    /// <summary>Thrown by the fake where the real CPU would raise #GP.</summary>
    public sealed class FakeCpuFault : Exception
    {
        public FakeCpuFault(string message) : base(message) { }
    }

    /// <summary>Thrown by the fake's HLT, so a test can observe that code stopped the CPU.</summary>
    public sealed class FakeCpuHalted : Exception
    {
        public FakeCpuHalted() : base("the CPU halted") { }
    }
}
