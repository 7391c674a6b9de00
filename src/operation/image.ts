/**
 * The operation's target image, reopened by path in every later command and pinned by the
 * digest recorded at creation: another image at that path (rebuilt, edited, replaced) is
 * refused instead of silently changing what the operation installs.
 */
import { InputError } from '../errors.js';
import { type Image, openImage } from '../image/open.js';
import type { OperationRecord } from '../store/store.js';
import type { OperationEnv } from './env.js';

/** Opens the image on first use (closed with the command) and checks it against the pinned digest. */
export function operationImage(env: OperationEnv, op: OperationRecord): () => Promise<Image> {
  let opened: Promise<Image> | undefined;
  return () => {
    if (!opened) {
      if (!op.source) {
        return Promise.reject(
          new InputError('ERR_IMAGE_UNKNOWN', `operation ${op.id} does not record where its image is`, {
            hint: 'create the operation again with "hoist upgrade IMAGE"',
          }),
        );
      }
      const source = op.source;
      opened = openImage(source).then((image) => {
        if (op.imageDigest && image.digest !== op.imageDigest) {
          void image.close();
          throw imageChanged(op, source, image.digest);
        }
        return image;
      });
      env.onClose(async () => (await opened!.catch(() => undefined))?.close());
    }
    return opened;
  };
}

function imageChanged(op: OperationRecord, source: string, found: string): InputError {
  return new InputError(
    'ERR_IMAGE_CHANGED',
    `the image at ${source} is not the one operation ${op.id} was created with: it was ${op.imageDigest}, it is now ${found}`,
    {
      hint: 'put the original image back at that path, or roll the operation back ("hoist rollback") and create a new one with the new image',
    },
  );
}
