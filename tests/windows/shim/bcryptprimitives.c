/* bcryptprimitives.dll for Wine 8: only ProcessPrng.
 *
 * Why: Rust's standard library (since 1.78, rust-lang/rust#121337) takes its
 * random numbers (the keys of every HashMap) from ProcessPrng in
 * bcryptprimitives.dll, which every Windows 10 and 11 has. Debian 12's Wine
 * (8.0) has no such DLL (Wine added it in 8.13), so without this shim any
 * Rust program, tether.exe included, fails to load under it ("Library
 * bcryptprimitives.dll ... not found", status c0000135). Real Windows never
 * needs this.
 *
 * What: ProcessPrng(data, len) fills `len` bytes from RtlGenRandom (advapi32's
 * SystemFunction036), the system's cryptographic generator, which Wine has.
 * Like the real one it never fails for a valid buffer; it returns FALSE only
 * if RtlGenRandom does.
 *
 * The Windows lane (tests/windows/run) builds it with mingw-w64 and copies it
 * into the throwaway Wine prefix's system32; it is never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
