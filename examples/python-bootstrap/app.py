"""The workload: an ordinary Python service with no confspace code in it.

confspace-bootstrap has already decrypted its secrets before this runs: the database
password arrives in the environment, the API key as a file in a private tmpfs directory
($CONFSPACE_SECRETS_DIR). It prints what it got without printing the secrets.
"""
import hashlib
import os
import signal
import stat
import sys


def fingerprint(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:12]


def main() -> int:
    password = os.environ.get("DB_PASSWORD")
    secrets_dir = os.environ.get("CONFSPACE_SECRETS_DIR")
    if not password or not secrets_dir:
        print("app: DB_PASSWORD or CONFSPACE_SECRETS_DIR missing: start me under confspace-bootstrap", file=sys.stderr)
        return 3
    key_path = os.path.join(secrets_dir, "api-key")
    with open(key_path, "rb") as f:
        api_key = f.read()
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    dir_mode = stat.S_IMODE(os.stat(secrets_dir).st_mode)
    cmdline = open("/proc/self/cmdline", "rb").read()
    print(f"app: database password: {len(password)} characters, sha256 {fingerprint(password.encode())}")
    print(f"app: API key file {os.path.basename(key_path)}: mode {mode:o} in a {dir_mode:o} directory, sha256 {fingerprint(api_key)}")
    print(f"app: secrets in my command line: {password.encode() in cmdline or api_key in cmdline}")
    # A real service would now serve until SIGTERM; confspace-bootstrap forwards it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
