/**
 * Reaching a Unix socket on a node. First choice is OpenSSH streamlocal forwarding
 * (`direct-streamlocal@openssh.com`), which needs no program on the node. When the server
 * refuses it (AllowStreamLocalForwarding no, or a non-root user who needs sudo for a root-only
 * socket) an exec channel runs a small relay between its stdin/stdout and the socket.
 *
 * The relay is, in order of preference: `node -e` (the agent needs Node on the node anyway),
 * `python3 -c`, then `socat`. `nc -U` is not used: its flags differ between netcat flavours and
 * several do not half-close. The relay writes one byte ("R") once connected, so a missing socket
 * is reported as an error here instead of surfacing later as an empty stream.
 */
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { UnreachableError } from '../errors.js';
import { openExecChannel } from './ssh-exec.js';
import { shellQuote, tailLines } from './transport.js';

const NODE_RELAY = `const s=require('net').connect(process.argv[1]);
s.on('connect',()=>{process.stdout.write('R');process.stdin.pipe(s);s.pipe(process.stdout);});
s.on('error',(e)=>{process.stderr.write(e.message+'\\n');process.exit(2);});
s.on('close',()=>process.exit(0));`;

const PYTHON_RELAY = `import os,select,socket,sys
def put(fd,d):
    while d:
        d=d[os.write(fd,d):]
s=socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    sys.stderr.write(str(e)+"\\n"); sys.exit(2)
put(1,b"R")
fds=[0,s.fileno()]
while True:
    r=select.select(fds,[],[])[0]
    if 0 in r:
        d=os.read(0,65536)
        if d: s.sendall(d)
        else: s.shutdown(socket.SHUT_WR); fds.remove(0)
    if s.fileno() in r:
        d=s.recv(65536)
        if not d: sys.exit(0)
        put(1,d)
`;

/**
 * The shell command of the relay for `socketPath`. `runtime`, a Node.js binary on the node (the
 * agent's), is tried first: the PATH of a sudo shell is not the login user's, and a node without
 * Node.js of its own has only the runtime hoist uploaded.
 */
export function relayCommand(socketPath: string, runtime?: string): string {
  const p = shellQuote(socketPath);
  const r = runtime === undefined ? undefined : shellQuote(runtime);
  return [
    // A missing socket is told by the shell: starting a relay program only to fail costs ~0.1 s of CPU.
    `[ -S ${p} ] || { echo "no socket at ${socketPath.replace(/[^A-Za-z0-9_./-]/g, '?')}" >&2; exit 2; }`,
    ...(r ? [`if [ -x ${r} ]; then exec ${r} -e ${shellQuote(NODE_RELAY)} ${p}; fi`] : []),
    `if command -v node >/dev/null 2>&1; then exec node -e ${shellQuote(NODE_RELAY)} ${p}; fi`,
    `if command -v python3 >/dev/null 2>&1; then exec python3 -c ${shellQuote(PYTHON_RELAY)} ${p}; fi`,
    `if command -v socat >/dev/null 2>&1; then printf R; exec socat - UNIX-CONNECT:${p}; fi`,
    `echo "no relay program on the node (node, python3 or socat)" >&2; exit 127`,
  ].join('\n');
}

/** The error for a socket that cannot be reached. */
export function socketError(node: string, socketPath: string, reason: string, cause?: unknown): UnreachableError {
  return new UnreachableError('ERR_SSH_SOCKET_UNAVAILABLE', `cannot connect to ${socketPath} on ${node}: ${reason}`, {
    node,
    cause,
    hint: `check that the process serving ${socketPath} runs on ${node} (for the agent: hoist agent status)`,
  });
}

/** A stream over streamlocal forwarding; rejects with ssh2's open failure as is. */
export function openStreamLocal(client: Client, socketPath: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.openssh_forwardOutStreamLocal(socketPath, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * A stream over an exec-channel relay; `line` is relayCommand() possibly wrapped for sudo.
 * `explain` may turn the relay's stderr into a more precise error (sudo refused it).
 */
export async function openRelay(
  client: Client,
  node: string,
  socketPath: string,
  line: string,
  explain?: (stderr: string) => Error | undefined,
): Promise<Duplex> {
  const channel = await openExecChannel(client, node, line);
  let stderr = '';
  const onStderr = (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  };
  channel.stderr.on('data', onStderr);
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      channel.removeListener('readable', onReadable);
      channel.removeListener('close', onClose);
      channel.removeListener('end', onClose);
    };
    const onReadable = () => {
      const marker = channel.read(1) as Buffer | null;
      if (marker === null) return;
      cleanup();
      if (marker.toString('latin1') === 'R') resolve();
      else reject(socketError(node, socketPath, 'the relay answered with unexpected data'));
    };
    const onClose = () => {
      cleanup();
      reject(explain?.(stderr) ?? socketError(node, socketPath, tailLines(stderr, 3).join('; ') || 'the relay exited'));
    };
    channel.on('readable', onReadable);
    channel.once('close', onClose);
    channel.once('end', onClose);
  });
  // Relay diagnostics after the handshake are not part of the byte stream; drop them.
  channel.stderr.removeListener('data', onStderr);
  channel.stderr.resume();
  return channel;
}
