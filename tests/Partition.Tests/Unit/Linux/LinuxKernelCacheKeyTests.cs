using System.IO;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    public class LinuxKernelCacheKeyTests
    {
        private static string Key(string fragment, string sourceVersion = "6.1.192-3", int recipe = 1) =>
            LinuxKernelBuild.CacheKey(KernelConfigFragment.Parse(fragment, "guest.config"), sourceVersion, recipe);

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
        public void The_key_is_computed_as_it_always_was()
        {
            // A changed formula would rebuild every clone's kernels (minutes each) for nothing; the
            // guest's key must stay what it was before the host kernel shared this build.
            Assert.That(Key("CONFIG_SMP=y\n# CONFIG_MODULES is not set\n", "6.1.192-3", 2), Is.EqualTo("d821e0a40f1d"));
        }

        [Test]
        public void The_guest_and_host_kernels_have_keys_of_their_own_that_do_not_move()
        {
            var layout = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);
            string RealKey(LinuxImage image)
            {
                string path = LinuxArtifacts.ConfigFragment(layout, image);
                return LinuxKernelBuild.CacheKey(KernelConfigFragment.Parse(File.ReadAllText(path), path), "6.1.192-3", LinuxKernelBuild.RecipeVersion);
            }
            string guest = RealKey(LinuxImage.Guest);
            string host = RealKey(LinuxImage.Host);
            Assert.That(host, Is.Not.EqualTo(guest));
            Assert.That(RealKey(LinuxImage.Guest), Is.EqualTo(guest));
            Assert.That(RealKey(LinuxImage.Host), Is.EqualTo(host));
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
