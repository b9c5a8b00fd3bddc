using NUnit.Framework;

// The one assembly-wide setting: at most two tests run at once. Each system test keeps one
// emulator busy on one host core, and the build machines have two.
[assembly: LevelOfParallelism(2)]
