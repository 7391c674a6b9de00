// Builds dist/hoist.mjs, the single file bin/hoist loads. Every hoist command starts a Node.js
// process, and loading some three hundred compiled modules one by one cost more than half a second
// of each; one minified file loads in a fraction of that. Native modules (ssh2's crypto binding)
// and etcd3 (loaded only when the etcd store is chosen, and whose gRPC stack reads its .proto
// files from its own folder) stay in node_modules.
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/hoist.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  external: ['etcd3', 'ssh2', 'cpu-features'],
  // Bundled CommonJS packages still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __hoistCreateRequire } from 'node:module'; const require = __hoistCreateRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: 'warning',
});
const bytes = result.metafile.outputs['dist/hoist.mjs'].bytes;
process.stderr.write(`cli bundle: dist/hoist.mjs (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
