/** The Store contract on the JSON store (the etcd run is test/integration/store/etcd-store.test.ts). */
import { JsonStore } from '../../../src/store/json-store.js';
import { storeConformance } from '../../helpers/store-conformance.js';
import { cleanup, tempDir } from './fixtures.js';

let dir = '';
storeConformance([
  {
    name: 'JSON files',
    fresh: async () => {
      dir = await tempDir();
    },
    open: () => new JsonStore(dir),
    clear: () => cleanup(dir),
  },
]);
