/* The one Apple SDK header the macOS lint needs, for ring's C code
 * (include/ring-core/base.h: "which Apple OS is this"), so that
 * `cargo clippy --target aarch64-apple-darwin` runs on Linux with Debian's
 * clang and no Xcode. Only the macros ring reads, for macOS on Apple silicon;
 * see tests/macos/env. Never used to build anything that runs. */
#ifndef TETHER_SHIM_TARGET_CONDITIONALS_H
#define TETHER_SHIM_TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_CPU_ARM64 1
#endif
