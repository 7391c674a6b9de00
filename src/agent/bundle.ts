/**
 * Builds the single-file agent that `hoist agent deploy` uploads: src/agent/main.ts and every
 * dependency in one ESM file for Node 20, stamped with the package version.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ExitCode } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { AgentError } from './errors.js';

/** Options of `buildAgentBundle`. */
export interface BundleOptions {
  /** Output file; default `<package root>/dist/agent/hoist-agent.mjs`. */
  outFile?: string;
  minify?: boolean;
}

/** A built agent bundle. */
export interface AgentBundle {
  path: string;
  sha256: string;
  bytes: number;
  version: string;
}

// Bundled CommonJS dependencies (pino and its helpers) call `require` for Node built-ins, which
// an ES module does not have; this gives them one.
const BANNER = [
  '#!/usr/bin/env node',
  "import { createRequire as __hoistCreateRequire } from 'node:module';",
  'const require = __hoistCreateRequire(import.meta.url);',
].join('\n');

/** Builds the agent bundle and returns its path and sha256. */
export async function buildAgentBundle(options: BundleOptions = {}): Promise<AgentBundle> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = packageRoot();
  if (!root) throw new AgentError('ERR_AGENT_BUNDLE', `cannot find hoist's package.json above ${here}`, ExitCode.internal);
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  // Prefer the TypeScript source; a published build has only the compiled sibling.
  const source = path.join(root, 'src', 'agent', 'main.ts');
  const entry = existsSync(source) ? source : path.join(here, 'main.js');
  const outFile = path.resolve(options.outFile ?? path.join(root, 'dist', 'agent', 'hoist-agent.mjs'));
  try {
    await build({
      entryPoints: [entry],
      outfile: outFile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      define: { __HOIST_AGENT_VERSION__: JSON.stringify(version) },
      banner: { js: BANNER },
      minify: options.minify ?? false,
      legalComments: 'none',
      logLevel: 'silent',
    });
  } catch (err) {
    throw new AgentError('ERR_AGENT_BUNDLE', `cannot bundle the agent from ${entry}: ${(err as Error).message}`, ExitCode.internal, {
      hint: 'fix the build error above, then run the build again',
      cause: err,
    });
  }
  await fs.chmod(outFile, 0o755);
  const content = await fs.readFile(outFile);
  return { path: outFile, sha256: createHash('sha256').update(content).digest('hex'), bytes: content.length, version };
}
