// How `pnpm demo --keep` waits to be stopped. From a terminal, Ctrl-C is read as a key (raw
// mode), not delivered as SIGINT: the terminal would signal the whole foreground process
// group, and the shells pnpm runs the script through (sh -c, the node shim) die of that
// SIGINT after the demo exits 0, so pnpm reported "ELIFECYCLE Command failed". SIGINT and
// SIGTERM sent to this process (scripts: kill -TERM <pid>) also stop it; a repeated signal
// during cleanup is ignored instead of killing the process halfway.

const CTRL_C = 0x03;
const CTRL_D = 0x04;

/** Resolves on Ctrl-C or Ctrl-D typed in the terminal, or on SIGINT/SIGTERM. */
export function waitForStop(): Promise<void> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const raw = stdin.isTTY === true;
    const stop = () => {
      if (raw) {
        stdin.off("data", onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      resolve();
    };
    const onKey = (chunk: Buffer) => {
      if (chunk.includes(CTRL_C) || chunk.includes(CTRL_D)) stop();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (raw) {
      stdin.setRawMode(true);
      stdin.on("data", onKey);
      stdin.resume();
    }
  });
}
