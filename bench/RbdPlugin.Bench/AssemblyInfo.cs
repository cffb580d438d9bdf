// Mounts, loop devices, rbd-fuse and /proc: the harness runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
