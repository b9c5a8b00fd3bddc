using System;

namespace Partition.Configs
{
    /// <summary>
    /// The one entry point that both <c>partition check</c> and the hypervisor at boot use:
    /// parse, read into the model, validate against a machine, collect every error.
    /// </summary>
    public static class ConfigChecker
    {
        /// <summary>Checks against the machine the config's own "machine" section declares.</summary>
        public static ConfigResult Check(ReadOnlySpan<byte> utf8) => Check(utf8, default, useDeclaredMachine: true);

        /// <summary>Checks against <paramref name="facts"/> (a real machine, or a declared one with modules).</summary>
        public static ConfigResult Check(ReadOnlySpan<byte> utf8, MachineFacts facts) => Check(utf8, facts, useDeclaredMachine: false);

        private static ConfigResult Check(ReadOnlySpan<byte> utf8, MachineFacts facts, bool useDeclaredMachine)
        {
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
