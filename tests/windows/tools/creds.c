/* creds.exe: lists what the Windows Credential Manager holds, so the Windows
 * lane checks where tether.exe put a secret with a program of its own rather
 * than with tether.exe itself.
 *
 *   creds.exe            one line per generic credential:
 *                        <target> TAB <user name> TAB <blob bytes> TAB <blob in hex>
 *
 * Strings are printed in UTF-8. The blob is printed as it is stored (tether
 * stores UTF-16LE text); the test decodes it. Exit status 0, or 1 when the
 * store cannot be read. Built with mingw-w64 by tests/windows/run. */
#include <windows.h>
#include <wincred.h>
#include <stdio.h>

static void put_utf8(const wchar_t *s) {
    char buf[8 * 1024];
    int n;
    if (!s) return;
    n = WideCharToMultiByte(CP_UTF8, 0, s, -1, buf, sizeof buf, NULL, NULL);
    if (n > 1) fwrite(buf, 1, (size_t)(n - 1), stdout);
}

int wmain(void) {
    DWORD count = 0, i, j;
    PCREDENTIALW *creds = NULL;
    if (!CredEnumerateW(NULL, 0, &count, &creds)) {
        if (GetLastError() == ERROR_NOT_FOUND) return 0;
        fprintf(stderr, "CredEnumerateW failed: error %lu\n", GetLastError());
        return 1;
    }
    for (i = 0; i < count; i++) {
        if (creds[i]->Type != CRED_TYPE_GENERIC) continue;
        put_utf8(creds[i]->TargetName);
        fputc('\t', stdout);
        put_utf8(creds[i]->UserName);
        printf("\t%lu\t", creds[i]->CredentialBlobSize);
        for (j = 0; j < creds[i]->CredentialBlobSize; j++) printf("%02x", creds[i]->CredentialBlob[j]);
        fputc('\n', stdout);
    }
    CredFree(creds);
    return 0;
}
