/** The process edges the CLI may touch, injectable so tests run `main` in-process. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stdin is a terminal (prompts need one). */
  interactive: boolean;
  /** Aborted on SIGINT, SIGTERM and SIGHUP. */
  signal: AbortSignal;
}

/** Global options shared by every command. */
export interface Globals {
  cluster?: string;
  stateDir?: string;
  /** --store: etcd://host:port[,…] or json. */
  store?: string;
  state?: string;
  debug?: boolean;
  output: 'text' | 'short' | 'json' | 'yaml' | 'ndjson';
  color: boolean;
  operationId?: string;
  acceptNewHostKeys?: boolean;
  drainTimeout?: string;
}
