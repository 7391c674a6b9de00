// Builds dist/agent/hoist-agent.mjs, the single file `hoist agent deploy` uploads to nodes.
import { buildAgentBundle } from '../dist/agent/bundle.js';

const bundle = await buildAgentBundle();
process.stderr.write(`agent bundle: ${bundle.path} (${bundle.bytes} bytes, sha256 ${bundle.sha256.slice(0, 12)})\n`);
