using NUnit.Framework;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    public class GuestKernelCacheKeyTests
    {
        private static string Key(string fragment, string sourceVersion = "6.1.192-3", int recipe = 1) =>
            GuestKernelBuild.CacheKey(KernelConfigFragment.Parse(fragment, "guest.config"), sourceVersion, recipe);

        [Test]
        public void The_key_is_twelve_lowercase_hex_digits_and_stable()
        {
            string key = Key("CONFIG_SMP=y\n");
            Assert.That(key, Does.Match("^[0-9a-f]{12}$"));
            Assert.That(Key("CONFIG_SMP=y\n"), Is.EqualTo(key));
        }

        [TestCase("CONFIG_SMP=n\n", TestName = "A changed value changes the key")]
        [TestCase("CONFIG_SMP=y\nCONFIG_NR_CPUS=8\n", TestName = "An added option changes the key")]
        [TestCase("# CONFIG_SMP is not set\n", TestName = "An option turned off changes the key")]
        public void The_key_changes_when_the_fragment_does(string changed)
        {
            Assert.That(Key(changed), Is.Not.EqualTo(Key("CONFIG_SMP=y\n")));
        }

        [Test]
        public void Comments_and_blank_lines_leave_the_key_alone()
        {
            Assert.That(Key("# why SMP\n\nCONFIG_SMP=y\n"), Is.EqualTo(Key("CONFIG_SMP=y\n")));
        }

        [Test]
        public void The_key_changes_with_the_source_package_and_the_recipe()
        {
            string key = Key("CONFIG_SMP=y\n");
            Assert.That(Key("CONFIG_SMP=y\n", sourceVersion: "6.1.193-1"), Is.Not.EqualTo(key));
            Assert.That(Key("CONFIG_SMP=y\n", recipe: 2), Is.Not.EqualTo(key));
        }
    }
}
