/* lockfile.exe <path>: holds an exclusive LockFileEx lock on <path> until its
 * standard input ends.
 *
 * It takes the lock the way Rust's std::fs::File::lock does on Windows
 * (LockFileEx, LOCKFILE_EXCLUSIVE_LOCK, the whole file: offset 0, length
 * 2^64-1), so while it runs, a tether.exe that needs the same server's lock
 * (store::lock) must wait. The Windows lane uses it to put two bridges in
 * line behind a third process and check that they wait, then refresh once.
 * Prints "locked" on stdout once it holds the lock; exit status 1 when the
 * file cannot be opened or locked. Built with mingw-w64 by tests/windows/run. */
#include <windows.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv) {
    HANDLE file, in;
    OVERLAPPED at = {0};
    char buf[256];
    DWORD got;
    if (argc != 2) {
        fprintf(stderr, "usage: lockfile.exe <path>\n");
        return 2;
    }
    file = CreateFileW(argv[1], GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "cannot open the file: error %lu\n", GetLastError());
        return 1;
    }
    if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &at)) {
        fprintf(stderr, "cannot lock the file: error %lu\n", GetLastError());
        return 1;
    }
    printf("locked\n");
    fflush(stdout);
    in = GetStdHandle(STD_INPUT_HANDLE);
    while (ReadFile(in, buf, sizeof buf, &got, NULL) && got > 0) {
    }
    UnlockFileEx(file, 0, MAXDWORD, MAXDWORD, &at);
    CloseHandle(file);
    return 0;
}
