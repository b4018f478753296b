/** How often the parent process is checked, in milliseconds. */
const CHECK_INTERVAL_MS = 500;

/**
 * Under `npx` / `npm exec` (npm sets `npm_command=exec`), calls `onOrphaned` once when the
 * parent process is gone. npm hands a SIGTERM it receives to the `sh -c` it runs the
 * command in, and that shell dies without passing it on: without this check the CLI
 * would keep running as an orphan, holding its socket and ports. The timer is unref'd.
 */
export function stopWhenOrphaned(onOrphaned: () => void, env: NodeJS.ProcessEnv = process.env): void {
  if (env.npm_command !== "exec") return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, CHECK_INTERVAL_MS);
  timer.unref();
}
