import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Which local stack runs where. `npm start` holds `$ARGUS_HOME/argus.lock` (created exclusively) while it
 * runs: its pid, state, the ports it binds (by the variable that sets each), its addresses and its child
 * processes' pids. A lock whose pid is gone (or is no longer an Argus launcher) is stale, and the children
 * it names that are still running (an Argus killed with SIGKILL leaves them behind) are stopped.
 * A second start with another ARGUS_HOME on the same ports finds the first through a registry of running
 * stacks in the temporary directory (one small file per stack pointing at its lock).
 */

export const LOCK_FILE = 'argus.lock';

export interface StackChild {
  pid: number;
  restarts: number;
  /** Part of the child's command line that identifies it (a stale lock's leftovers are stopped only if it matches). */
  match?: string;
}

export interface StackLock {
  pid: number;
  state: 'starting' | 'running';
  startedAt: string;
  home: string;
  /** The ports this stack binds, by the environment variable that moves each. */
  ports: Record<string, number>;
  /** What `npm start` printed: [name, address]. */
  addresses: [string, string][];
  children: Record<string, StackChild>;
}

export interface HeldLock {
  readonly file: string;
  current(): StackLock;
  update(patch: Partial<Pick<StackLock, 'state' | 'addresses'>>): void;
  setChild(name: string, child: StackChild): void;
  /** Removes the lock and the registry entry (only if they are still this process's). */
  release(): void;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function registryDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `argus-stacks-${uid}`);
}

function commandLine(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's launcher is still running (where /proc exists, its command line is checked too: pids are reused). */
export function isLive(lock: Pick<StackLock, 'pid'>): boolean {
  if (lock.pid === process.pid || !alive(lock.pid)) return false;
  const cmdline = commandLine(lock.pid);
  return cmdline === null ? fs.existsSync('/proc') === false : /stack[/\\]start/.test(cmdline);
}

export function readLock(file: string): StackLock | null {
  try {
    const lock = JSON.parse(fs.readFileSync(file, 'utf8')) as StackLock;
    return typeof lock.pid === 'number' ? lock : null;
  } catch {
    return null;
  }
}

function writeAtomically(file: string, lock: StackLock): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(lock, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

/** Stops what a dead stack left running: its children whose command lines still match. */
async function stopLeftovers(stale: StackLock, say: (line: string) => void): Promise<void> {
  const leftovers = Object.entries(stale.children ?? {}).filter(([, child]) => {
    if (!alive(child.pid)) return false;
    const cmdline = commandLine(child.pid);
    return cmdline !== null && child.match !== undefined && cmdline.includes(child.match);
  });
  for (const [name, child] of leftovers) {
    say(`the previous Argus (pid ${stale.pid}) is gone but left its ${name} running (pid ${child.pid}): stopping it`);
    process.kill(child.pid, 'SIGTERM');
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && leftovers.some(([, child]) => alive(child.pid))) await delay(100);
  for (const [, child] of leftovers) if (alive(child.pid)) process.kill(child.pid, 'SIGKILL');
}

export type AcquireResult = { acquired: true; lock: HeldLock } | { acquired: false; running: StackLock };

/**
 * Takes `$home/argus.lock`, or finds the stack that holds it. A stack still starting is waited for (up to
 * `waitMs`) so the answer can carry its addresses. A stale lock is cleared first.
 */
export async function acquireLock(
  home: string,
  initial: Pick<StackLock, 'ports'>,
  options: { say?: (line: string) => void; waitMs?: number } = {},
): Promise<AcquireResult> {
  const say = options.say ?? (() => undefined);
  const file = path.join(home, LOCK_FILE);
  fs.mkdirSync(home, { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 180_000);
  let announcedWait = false;
  for (;;) {
    const mine: StackLock = {
      pid: process.pid,
      state: 'starting',
      startedAt: new Date().toISOString(),
      home,
      ports: initial.ports,
      addresses: [],
      children: {},
    };
    let fd: number | null = null;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== null) {
      try {
        fs.writeSync(fd, `${JSON.stringify(mine, null, 2)}\n`);
      } finally {
        fs.closeSync(fd);
      }
      return { acquired: true, lock: hold(file, mine) };
    }

    const existing = readLock(file);
    if (existing === null) {
      // Being written (exclusive create, then the content), or left unreadable: give a writer a moment.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 2_000) {
        await delay(100);
        continue;
      }
      say(`removing an unreadable lock file ${file}`);
      fs.rmSync(file, { force: true });
      continue;
    }
    if (isLive(existing)) {
      if (existing.state === 'running' || Date.now() > deadline) return { acquired: false, running: existing };
      if (!announcedWait) say(`Argus (pid ${existing.pid}) is starting in ${home}; waiting for it`);
      announcedWait = true;
      await delay(250);
      continue;
    }
    await stopLeftovers(existing, say);
    // Only the stale lock just read: a racing start may have replaced it meanwhile.
    const again = readLock(file);
    if (again && again.pid === existing.pid && again.startedAt === existing.startedAt) fs.rmSync(file, { force: true });
    removeRegistryEntry(existing.pid);
  }
}

function hold(file: string, initial: StackLock): HeldLock {
  let lock = initial;
  const entry = path.join(registryDir(), `${process.pid}.json`);
  try {
    fs.mkdirSync(registryDir(), { recursive: true });
    fs.writeFileSync(entry, JSON.stringify({ lock: file }));
  } catch {
    // Without the registry only a start on the same ARGUS_HOME finds this stack; still correct.
  }
  let released = false;
  const save = () => {
    if (!released) writeAtomically(file, lock);
  };
  return {
    file,
    current: () => lock,
    update(patch) {
      lock = { ...lock, ...patch };
      save();
    },
    setChild(name, child) {
      lock = { ...lock, children: { ...lock.children, [name]: child } };
      save();
    },
    release() {
      if (released) return;
      released = true;
      if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
      fs.rmSync(entry, { force: true });
    },
  };
}

function removeRegistryEntry(pid: number): void {
  fs.rmSync(path.join(registryDir(), `${pid}.json`), { force: true });
}

/** Another live stack (any ARGUS_HOME) that binds one of these ports, with the ports in common; stale entries are removed. */
export function findStackOnPorts(ports: number[]): { lock: StackLock; shared: number[] } | null {
  let entries: string[];
  try {
    entries = fs.readdirSync(registryDir()).filter((name) => /^\d+\.json$/.test(name));
  } catch {
    return null;
  }
  for (const name of entries) {
    const pid = Number(name.slice(0, -'.json'.length));
    if (pid === process.pid) continue;
    let lockFile: string | undefined;
    try {
      lockFile = (JSON.parse(fs.readFileSync(path.join(registryDir(), name), 'utf8')) as { lock?: string }).lock;
    } catch {
      // unreadable: treated as stale below
    }
    const lock = lockFile ? readLock(lockFile) : null;
    if (!lock || lock.pid !== pid || !isLive(lock)) {
      if (!alive(pid)) removeRegistryEntry(pid);
      continue;
    }
    const shared = Object.values(lock.ports).filter((port) => ports.includes(port));
    if (shared.length > 0) return { lock, shared };
  }
  return null;
}
