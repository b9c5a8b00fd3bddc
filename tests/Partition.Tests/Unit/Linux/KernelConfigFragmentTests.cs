using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    public class KernelConfigFragmentTests
    {
        private const string Fragment =
            "# comment\n" +
            "\n" +
            "CONFIG_SMP=y\n" +
            "CONFIG_NR_CPUS=8\n" +
            "CONFIG_LOCALVERSION=\"-partition\"\n" +
            "# CONFIG_MODULES is not set\n" +
            "CONFIG_PARAVIRT=n\n";

        [Test]
        public void Options_comments_and_blank_lines_are_told_apart()
        {
            var fragment = KernelConfigFragment.Parse(Fragment, "f.config");
            Assert.That(fragment.Options.Select(o => o.ToString()), Is.EqualTo(new[]
            {
                "CONFIG_SMP=y", "CONFIG_NR_CPUS=8", "CONFIG_LOCALVERSION=\"-partition\"",
                "# CONFIG_MODULES is not set", "# CONFIG_PARAVIRT is not set",
            }));
            Assert.That(fragment.Options.Select(o => o.Line), Is.EqualTo(new[] { 3, 4, 5, 6, 7 }));
        }

        [Test]
        public void A_final_config_with_every_option_meets_the_fragment()
        {
            var fragment = KernelConfigFragment.Parse(Fragment, "f.config");
            string final =
                "CONFIG_SMP=y\nCONFIG_NR_CPUS=8\nCONFIG_LOCALVERSION=\"-partition\"\n" +
                "# CONFIG_MODULES is not set\nCONFIG_X86=y\n"; // PARAVIRT absent: off
            Assert.That(fragment.FindUnmet(final), Is.Empty);
        }

        [Test]
        public void An_option_that_was_dropped_is_named_with_its_line()
        {
            // What merge_config.sh + olddefconfig leave when X86_X2APIC's dependencies are unmet.
            var fragment = KernelConfigFragment.Parse("CONFIG_SMP=y\nCONFIG_X86_X2APIC=y\nCONFIG_NR_CPUS=8\n", "tools/linux/guest.config");
            var unmet = fragment.FindUnmet("CONFIG_SMP=y\nCONFIG_NR_CPUS=64\n");
            Assert.That(unmet, Is.EqualTo(new[]
            {
                "tools/linux/guest.config:2: CONFIG_X86_X2APIC=y, but the final .config does not have it at all (its dependencies are not met)",
                "tools/linux/guest.config:3: CONFIG_NR_CPUS=8, but the final .config has CONFIG_NR_CPUS=64",
            }));
        }

        [Test]
        public void An_option_left_off_by_kconfig_is_named()
        {
            var fragment = KernelConfigFragment.Parse("CONFIG_ACPI=y\n", "g");
            Assert.That(fragment.FindUnmet("# CONFIG_ACPI is not set\n").Single(), Does.Contain("has '# CONFIG_ACPI is not set'"));
        }

        [Test]
        public void An_option_wanted_off_but_on_is_named()
        {
            var fragment = KernelConfigFragment.Parse("# CONFIG_MODULES is not set\n", "g");
            Assert.That(fragment.FindUnmet("CONFIG_MODULES=y\n").Single(), Is.EqualTo("g:1: # CONFIG_MODULES is not set, but the final .config has CONFIG_MODULES=y"));
        }

        [TestCase("SMP=y", TestName = "A line that is not an option is refused")]
        [TestCase("CONFIG_SMP=", TestName = "An option without a value is refused")]
        [TestCase("CONFIG_SMP=y\nCONFIG_SMP=n", TestName = "An option given twice is refused")]
        public void Malformed_fragments_are_refused_with_file_and_line(string text)
        {
            var error = Assert.Throws<FormatException>(() => KernelConfigFragment.Parse(text, "bad.config"));
            Assert.That(error.Message, Does.StartWith("bad.config:"));
        }

        [Test]
        public void The_guest_fragment_asks_for_what_a_partition_guest_needs()
        {
            string path = LinuxArtifacts.ConfigFragment(RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory), LinuxImage.Guest);
            var options = KernelConfigFragment.Parse(File.ReadAllText(path), path).Options.ToDictionary(o => o.Name, o => o.Value);
            foreach (string name in new[]
                     {
                         "64BIT", "SMP", "X86_X2APIC", "ACPI", "PNP", "PNPACPI", "SERIAL_8250", "SERIAL_8250_CONSOLE",
                         "SERIAL_8250_PNP", "BLK_DEV_INITRD", "BINFMT_ELF", "BINFMT_SCRIPT", "PROC_FS", "SYSFS",
                         "DEVTMPFS", "KERNEL_LZ4", "PRINTK", "EARLY_PRINTK",
                     })
            {
                Assert.That(options.GetValueOrDefault("CONFIG_" + name), Is.EqualTo("y"), name);
            }
            Assert.That(options["CONFIG_MODULES"], Is.EqualTo("n"));
        }

        [Test]
        public void The_host_fragment_asks_for_what_a_host_owning_a_pcs_devices_needs()
        {
            string path = LinuxArtifacts.ConfigFragment(RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory), LinuxImage.Host);
            var options = KernelConfigFragment.Parse(File.ReadAllText(path), path).Options.ToDictionary(o => o.Name, o => o.Value);
            foreach (string name in new[]
                     {
                         "64BIT", "SMP", "X86_X2APIC", "X86_IO_APIC", "HYPERVISOR_GUEST", "ACPI", "PNP", "PNPACPI", "PCI", "PCI_DIRECT",
                         "BLOCK", "ATA", "ATA_SFF", "ATA_BMDMA", "ATA_PIIX", "SCSI", "BLK_DEV_SD", "RTC_CLASS", "RTC_DRV_CMOS",
                         "SERIAL_8250", "SERIAL_8250_CONSOLE", "TTY", "PRINTK", "PRINTK_TIME", "BLK_DEV_INITRD", "BINFMT_ELF",
                         "BINFMT_SCRIPT", "PROC_FS", "SYSFS", "DEVTMPFS", "HIGH_RES_TIMERS", "NO_HZ_IDLE", "KERNEL_LZ4",
                     })
            {
                Assert.That(options.GetValueOrDefault("CONFIG_" + name), Is.EqualTo("y"), name);
            }
            Assert.That(options["CONFIG_MODULES"], Is.EqualTo("n"));
            Assert.That(options["CONFIG_PCI_MMCONFIG"], Is.EqualTo("n"), "configuration space through the ports the hypervisor filters");
            Assert.That(options["CONFIG_LOCALVERSION"], Is.EqualTo("\"-partition-host\""));
        }
    }
}
