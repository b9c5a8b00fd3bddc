using System;

namespace Partition.Configs
{
    /// <summary>
    /// The one entry point that both <c>partition check</c> and the hypervisor at boot use:
    /// parse, read into the model, validate against a machine, collect every error.
    /// </summary>
    public static class ConfigChecker
    {
        /// <summary>
        /// The largest config read, 1 MiB: the examples are a few KiB, and the parser's memory
        /// grows with its input (a copy and a node table), at boot as on the host. The host tool
        /// refuses a larger file before reading it; a larger module at boot is refused here.
        /// </summary>
        public const int MaxBytes = 1 << 20;

        /// <summary>The words both refusals use: "the config is N bytes, more than ...".</summary>
        public static string TooLarge(ulong bytes) =>
            string.Concat("the config is ", ConfigText.Decimal(bytes), " bytes, more than the limit of 1 MiB (1048576 bytes); a config is a few KiB");

        /// <summary>Checks against the machine the config's own "machine" section declares.</summary>
        public static ConfigResult Check(ReadOnlySpan<byte> utf8) => Check(utf8, default, useDeclaredMachine: true);

        /// <summary>Checks against <paramref name="facts"/> (a real machine, or a declared one with modules).</summary>
        public static ConfigResult Check(ReadOnlySpan<byte> utf8, MachineFacts facts) => Check(utf8, facts, useDeclaredMachine: false);

        private static ConfigResult Check(ReadOnlySpan<byte> utf8, MachineFacts facts, bool useDeclaredMachine)
        {
            if (utf8.Length > MaxBytes)
            {
                var empty = JsonDocument.Parse(ReadOnlySpan<byte>.Empty);
                var tooLarge = new ConfigErrorList(empty);
                tooLarge.AddAt(0, -1, TooLarge((ulong)utf8.Length));
                return new ConfigResult(empty, null, tooLarge.ToArray(), tooLarge.Count);
            }
            var document = JsonDocument.Parse(utf8);
            var errors = new ConfigErrorList(document);
            if (document.HasSyntaxError)
            {
                errors.AddAt(document.SyntaxErrorOffset, document.SyntaxErrorContainer, string.Concat("invalid JSON: ", document.SyntaxErrorMessage));
                return new ConfigResult(document, null, errors.ToArray(), errors.Count);
            }
            var configuration = new ConfigReader(document, errors).Read();
            if (useDeclaredMachine)
                facts = MachineFacts.Declared(configuration.Machine);
            new ConfigValidator(document, configuration, facts, errors).Validate();
            return new ConfigResult(document, configuration, errors.ToArray(), errors.Count);
        }
    }
}
