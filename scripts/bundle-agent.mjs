// Builds dist/agent/hoist-agent.mjs, the single file `hoist agent deploy` uploads to nodes, and
// prints its size so that a change which drags orchestrator code into it shows up in the build.
import { buildAgentBundle } from '../dist/agent/bundle.js';
import { humanSize } from '../dist/human-size.js';

const bundle = await buildAgentBundle();
process.stderr.write(
  `agent bundle: ${bundle.path} (${humanSize(bundle.bytes)}, ${bundle.bytes} bytes, sha256 ${bundle.sha256.slice(0, 12)})\n`,
);
