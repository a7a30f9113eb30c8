/**
 * Imported first (`node --import tsx --import parent-guard.ts node/main.ts`)
 * into every TypeScript service the launcher starts: when the launcher dies
 * without stopping it (SIGKILL, a crash), its IPC channel closes and the
 * service stops itself the ordinary way, so no process outlives the stack.
 */
if (process.channel) {
  // The channel must not keep the service alive, nor end it when the service finishes on its own.
  process.channel.unref()
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
}
