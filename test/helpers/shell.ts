/**
 * Run shell commands in a child process, the way a user would against a mount: never from the
 * test process itself (a process must not touch a FUSE mount served by its own event loop, and
 * the tests are about what tools see).
 */
import { spawn } from 'node:child_process';

export interface ShellResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ShellOptions {
  /** The shell for sh(): 'sh' (dash on Debian, the default) or 'bash'. */
  readonly shell?: 'sh' | 'bash';
  readonly cwd?: string;
  /** Added to this process's environment (LC_ALL=C is set so messages are the C locale's). */
  readonly env?: Record<string, string>;
  /** Kill the command (SIGKILL) and reject after this long; default 60 s. */
  readonly timeoutMs?: number;
  readonly input?: string;
}

/** `sh -c cmd` (dash on Debian), or `bash -c cmd` with `{ shell: 'bash' }`. */
export const sh = (cmd: string, opts?: ShellOptions): Promise<ShellResult> => run(opts?.shell ?? 'sh', ['-c', cmd], opts);

/** `bash -c cmd`: bash words write errors as "write error: <strerror>". */
export const bash = (cmd: string, opts?: ShellOptions): Promise<ShellResult> => run('bash', ['-c', cmd], opts);

/** Any program with arguments, no shell. */
export function run(file: string, args: readonly string[], opts: ShellOptions = {}): Promise<ShellResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, LC_ALL: 'C', ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A command that exits without reading its input makes the write fail with EPIPE: not an error here.
    child.stdin?.on('error', () => undefined).end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')}: no exit after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', e => (clearTimeout(timer), reject(e)));
    child.once('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr })));
  });
}
